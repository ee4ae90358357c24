# Makefile -- the front door to Greenwave's build, tests and benchmarks.
#
# CMake does the real building; this file only names the usual jobs and the
# build directories they use, so that a fresh clone needs one command:
#
#   make run     install what is missing, build (build/, Release) and start
#                the control centre on the demo city (greenwave serve --city
#                phnom-penh, database var/greenwave.db, created if absent)
#   make test    build/ with warnings as errors and ctest; then build-asan/
#                (AddressSanitizer + UBSan) and ctest; then build-fuzz/ (clang,
#                libFuzzer): replay the fuzz seeds and fuzz each parser
#                FUZZ_SECONDS seconds
#   make build   just build build/
#   make fuzz    just the fuzzing part of make test
#   make bench   Greenwave beside SUMO on BENCH_SCENARIO (bench/README.md)
#   make clean   remove the build directories and the fuzzers' working corpus
#
# Every job runs scripts/setup.sh first, which installs missing Debian
# packages (root needed once) and otherwise returns at once.  The steps of
# `make test` run in order and stop at the first failure; `make -k test` goes
# on with the other build directories and reports each failure.
JOBS ?= 2
FUZZ_SECONDS ?= 20
CITY ?= phnom-penh
LISTEN ?= 127.0.0.1:8080
BENCH_SCENARIO ?= grid4x4
CTEST = ctest --output-on-failure -j$(JOBS)
# Leaks are errors in the sanitizer build, and UBSan stops at its first report
# with a stack trace, so that ctest sees a failure instead of a log line.
SAN_ENV = ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# CMake's makefiles run under this one: spare their "Entering directory" lines.
MAKEFLAGS += --no-print-directory

.PHONY: all setup build run test test-release test-asan test-fuzz fuzz-build fuzz-replay \
        fuzz-run fuzz bench clean
.NOTPARALLEL:

all: build

setup:
	@scripts/setup.sh

# A plain build for people: warnings stay warnings.
build: setup
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGW_WERROR=OFF
	cmake --build build -j$(JOBS)
	web/build.sh

run: build
	./build/greenwave serve --city $(CITY) --listen $(LISTEN) --db sqlite:var/greenwave.db

test: setup test-release test-asan test-fuzz

test-release:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGW_WERROR=ON
	cmake --build build -j$(JOBS)
	web/build.sh
	cd build && $(CTEST)

test-asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Release -DGW_SANITIZE=ON -DGW_WERROR=ON
	cmake --build build-asan -j$(JOBS)
	cd build-asan && $(SAN_ENV) $(CTEST) -LE browser

# The fuzz build compiles only the fuzz targets.  Its ctest replays their
# seeds and saved crash inputs; then each target fuzzes for FUZZ_SECONDS.
test-fuzz: fuzz-build fuzz-replay fuzz-run

fuzz-build:
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Release -DGW_FUZZ=ON -DGW_WERROR=ON
	cmake --build build-fuzz -j$(JOBS) --target fuzz

fuzz-replay: fuzz-build
	cd build-fuzz && $(SAN_ENV) $(CTEST) -L fuzz

fuzz-run: fuzz-build
	scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

fuzz: setup test-fuzz

bench: build
	bench/sim-vs-sumo.sh $(BENCH_SCENARIO)

clean:
	rm -rf build build-asan build-fuzz tests/fuzz/corpus-run
