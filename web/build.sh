#!/bin/sh
# build.sh -- installs the dashboard's npm dependencies (leaflet, uplot) and
# copies the files the browser needs into web/vendor/, so that the daemon
# serves everything itself and the dashboard loads nothing from outside.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
rm -rf vendor
mkdir -p vendor/images
cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css vendor/
cp node_modules/leaflet/dist/images/* vendor/images/
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css vendor/
echo "web/vendor: $(ls vendor | tr '\n' ' ')"
