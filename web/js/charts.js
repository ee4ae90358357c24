/*
** charts.js -- the network charts view (delay, throughput and vehicles over
** the last hour, from the feed's history) and lineChart(), the small uPlot
** wrapper the other views use: dark axes, field-clock labels, resizing with
** its container, and new data without rebuilding the chart.
*/
import { el, clock } from './util.js';

const AXIS = { stroke: '#8796a8', grid: { stroke: '#232d39', width: 1 }, ticks: { stroke: '#2a3644', width: 1 } };

/* series: [{label, stroke, scale?, fill?, digits?}]; opts: {height, scales, axes: [{scale,label,side}]} */
export function lineChart(target, series, opts = {}) {
  const axes = [
    { ...AXIS, space: 70, values: (u, vals) => {
      /* Minutes when the ticks are a minute or more apart, else seconds too. */
      const step = vals.length > 1 ? vals[1] - vals[0] : 60;
      return vals.map((v) => (step >= 60 ? clock(v).slice(0, 5) : clock(v)));
    } },
    ...(opts.axes || [{ scale: 'y' }]).map((a) => ({ ...AXIS, scale: a.scale, label: a.label, side: a.side ?? 3,
      size: 56, labelSize: 18, grid: a.side === 1 ? { show: false } : AXIS.grid })),
  ];
  const scales = { x: { time: false } };
  for (const a of opts.axes || [{ scale: 'y' }]) scales[a.scale] = { auto: true, range: (u, lo, hi) => [Math.min(0, lo), hi > 0 ? hi * 1.1 : 1] };
  const u = new uPlot({
    width: Math.max(200, target.clientWidth || 600),
    height: opts.height || 200,
    scales,
    axes,
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    series: [{ label: 'time', value: (u2, v) => (v === null ? '' : clock(v)) },
      ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 1.5, scale: s.scale || 'y', fill: s.fill,
        spanGaps: true, points: { show: false }, value: (u2, v) => (v === null || v === undefined ? '–' : Number(v).toFixed(s.digits ?? 1)) }))],
  }, [[], ...series.map(() => [])], target);
  const ro = new ResizeObserver(() => {
    const w = target.clientWidth;
    if (w > 0 && Math.abs(w - u.width) > 2) u.setSize({ width: w, height: u.height });
  });
  ro.observe(target);
  return {
    set(data) { u.setData(data); },
    destroy() { ro.disconnect(); u.destroy(); },
  };
}

export function mount(root, ctx) {
  const d1 = el('div.chart#chart-delay');
  const d2 = el('div.chart#chart-thru');
  const info = el('span.muted');
  root.append(el('div.page',
    el('div.toolbar', el('h2', 'Network, last hour of field time'), el('span.spacer'), info),
    el('div.card', el('h3', 'Mean delay per vehicle'), d1),
    el('div.card', el('h3', 'Throughput and vehicles in the network'), d2)));
  const c1 = lineChart(d1, [{ label: 'mean delay (s)', stroke: '#f2c12e', fill: '#f2c12e18' }],
    { height: 240, axes: [{ scale: 'y', label: 's' }] });
  const c2 = lineChart(d2, [
    { label: 'throughput (veh/h)', stroke: '#5fa8d3', scale: 'v', digits: 0 },
    { label: 'vehicles', stroke: '#3ec46d', scale: 'n', digits: 0 },
  ], { height: 240, axes: [{ scale: 'v', label: 'veh/h' }, { scale: 'n', label: 'vehicles', side: 1 }] });
  const draw = () => {
    const n = ctx.feed.net;
    c1.set([n.t.slice(), n.delay.slice()]);
    c2.set([n.t.slice(), n.thru.slice(), n.vehicles.slice()]);
    info.textContent = n.t.length ? `${n.t.length} samples since ${clock(n.t[0])} (kept in this browser)` : 'waiting for the feed…';
  };
  draw();
  const off = ctx.feed.on('state', draw);
  return () => { off(); c1.destroy(); c2.destroy(); };
}
