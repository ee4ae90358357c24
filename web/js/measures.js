/*
** measures.js -- the Measures tab of an intersection: signal performance
** measures of a range of field time (the last 15 minutes, hour or four
** hours), from GET /api/measures, which runs the same engine as `greenwave
** measures --json` on the events in the store (docs/measures.md).
**
** Seven requests per range, in parallel: pcd (cycles, arrivals, and per
** phase AOG and platoon ratio), split (green per cycle and its termination,
** and per phase the gap/max/force-off counts), splitfail, volume, delay,
** tmc and redyellow.  Drawn:
**   - the Purdue coordination diagram, one panel per phase: each cycle's
**     green, yellow and red as bands from its begin green, each arrival a dot
**     at (its time of day, seconds since its cycle's begin green);
**   - arrivals on green and platoon ratio per phase (table with bars);
**   - the split monitor, one panel per phase: green per cycle, the point's
**     colour its termination (gap out, max out, force off), split failures
**     ringed;
**   - split failures and terminations per phase (table with bars);
**   - approach volumes per phase over time (veh/h, 15-minute bins);
**   - approach delay, one panel per phase: delay per vehicle in each bin;
**   - turning movement counts (a table: bins down, phase and movement
**     across) when the detector map names movements;
**   - yellow and red actuations per phase (table).
** Phases are signal groups: phase = group index + 1, named by their
** approach lanes.  The charts are plain canvas (a busy hour is thousands of
** dots; one pass each), redrawn when their card is resized.
*/
import * as api from './api.js';
import { el, num, clock } from './util.js';
import { approachName } from './map.js';

const RANGES = [[900, '15 min'], [3600, '1 h'], [14400, '4 h']];
const C = {
  bg: '#0d1217', grid: '#232d39', axis: '#8796a8', text: '#d7dee6',
  green: 'rgba(62,196,109,0.30)', yellow: 'rgba(242,193,46,0.55)', red: 'rgba(229,72,77,0.13)',
  dot: '#e8eef5',
};
const TERM = {
  'gap out': { colour: '#3ec46d', label: 'gap out' },
  'max out': { colour: '#e5484d', label: 'max out' },
  'force off': { colour: '#6c8cff', label: 'force off' },
  '-': { colour: '#8796a8', label: 'no termination event (fixed time)' },
};
export const phaseColour = (p) => `hsl(${(p * 83 + 170) % 360} 62% 62%)`;

/* "2026-11-29 00:00:47.0" (UTC, as the measures write it) to epoch seconds. */
const TRE = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(\.\d+)?/;
export function epochOf(s) {
  if (typeof s === 'number') return s;
  const m = TRE.exec(s || '');
  if (!m) return NaN;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000 + (m[7] ? Number(m[7]) : 0);
}

/* Phase p of the configuration: its group and approach. */
export function phaseNames(cfg) {
  const out = new Map();
  (cfg.groups || []).forEach((g, i) => {
    const gi = g.index ?? i;
    const ap = approachName(g.approach);
    out.set(gi + 1, { phase: gi + 1, group: gi, approach: ap, title: `Phase ${gi + 1}`, sub: `G${gi}${ap ? ' · ' + ap : ''}` });
  });
  return out;
}

/* ---- canvas helpers -------------------------------------------------------- */

function fitCanvas(canvas, h) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 800;
  canvas.style.height = h + 'px';
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.font = '11px system-ui, "DejaVu Sans", sans-serif';
  return { g, w, h };
}

/* "Nice" tick step for a span. */
function niceStep(span, n) {
  const raw = span / Math.max(1, n);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}
const TIME_STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200];
const timeStep = (span, n) => TIME_STEPS.find((s) => span / s <= n) || 14400;

/* A panel: title, y ticks on the left, time ticks below.  Returns scales. */
function panel(g, box, o) {
  const L = 40;
  const T = 30;
  const B = 18;
  const R = 8;
  const px = box.x + L;
  const py = box.y + T;
  const pw = Math.max(10, box.w - L - R);
  const ph = Math.max(10, box.h - T - B);
  const X = (t) => px + ((t - o.x0) / (o.x1 - o.x0)) * pw;
  const Y = (v) => py + ph - ((v - o.y0) / (o.y1 - o.y0)) * ph;
  g.fillStyle = C.text;
  g.textBaseline = 'alphabetic';
  g.font = '600 12px system-ui, "DejaVu Sans", sans-serif';
  g.fillText(o.title, box.x + 4, box.y + 13);
  const tw = g.measureText(o.title).width;
  g.font = '11px system-ui, "DejaVu Sans", sans-serif';
  g.fillStyle = C.axis;
  if (o.sub) g.fillText(o.sub, box.x + 10 + tw, box.y + 13);
  if (o.right) {
    g.textAlign = 'right';
    g.fillStyle = C.text;
    g.fillText(o.right, box.x + box.w - R, box.y + 13);
    g.textAlign = 'left';
  }
  g.fillStyle = C.bg;
  g.fillRect(px, py, pw, ph);
  g.strokeStyle = C.grid;
  g.lineWidth = 1;
  g.fillStyle = C.axis;
  g.textBaseline = 'middle';
  g.textAlign = 'right';
  const ys = niceStep(o.y1 - o.y0, Math.max(2, Math.floor(ph / 28)));
  for (let v = Math.ceil(o.y0 / ys) * ys; v <= o.y1 + 1e-9; v += ys) {
    const y = Math.round(Y(v)) + 0.5;
    g.beginPath(); g.moveTo(px, y); g.lineTo(px + pw, y); g.stroke();
    g.fillText(num(v, ys < 1 ? 1 : 0), px - 5, y);
  }
  if (o.yLabel) {
    g.save();
    g.translate(box.x + 9, py + ph / 2);
    g.rotate(-Math.PI / 2);
    g.textAlign = 'center';
    g.fillText(o.yLabel, 0, 0);
    g.restore();
  }
  g.textAlign = 'center';
  g.textBaseline = 'top';
  const xs = timeStep(o.x1 - o.x0, Math.max(2, Math.floor(pw / 70)));
  for (let t = Math.ceil(o.x0 / xs) * xs; t <= o.x1; t += xs) {
    const x = Math.round(X(t)) + 0.5;
    g.beginPath(); g.moveTo(x, py); g.lineTo(x, py + ph); g.stroke();
    g.fillText(clock(t).slice(0, 5), x, py + ph + 4);
  }
  g.textAlign = 'left';
  g.textBaseline = 'alphabetic';
  if (o.empty) {
    g.fillStyle = C.axis;
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillText(o.empty, px + pw / 2, py + ph / 2);
    g.textAlign = 'left';
    g.textBaseline = 'alphabetic';
  }
  return { X, Y, px, py, pw, ph, clip() { g.save(); g.beginPath(); g.rect(px, py, pw, ph); g.clip(); } };
}

/* Panels in a grid: two columns when wide enough. */
function grid(w, n, panelH) {
  const cols = w >= 900 && n > 1 ? 2 : 1;
  const pw = w / cols;
  const boxes = [];
  for (let i = 0; i < n; i++) boxes.push({ x: (i % cols) * pw, y: Math.floor(i / cols) * panelH, w: pw - (cols > 1 ? 8 : 0), h: panelH - 8 });
  return { boxes, h: Math.max(1, Math.ceil(n / cols)) * panelH };
}

/* ---- the charts ------------------------------------------------------------ */

function drawPcd(canvas, d, names, range) {
  const phases = d.phaseList;
  const { boxes, h } = grid(canvas.clientWidth || 800, phases.length, 230);
  const { g } = fitCanvas(canvas, h);
  let ymax = 0;
  for (const cy of d.pcd.cycles) ymax = Math.max(ymax, cy.cycle_s);
  ymax = Math.max(30, Math.ceil((ymax * 1.02) / 10) * 10);
  let dots = 0;
  let bands = 0;
  phases.forEach((p, i) => {
    const cyc = d.pcd.cyclesBy.get(p) || [];
    const arr = d.pcd.arrivalsBy.get(p) || [];
    const s = d.pcd.summary.get(p);
    const nm = names.get(p) || { title: `Phase ${p}`, sub: '' };
    const right = s && (s.arrivals_green + s.arrivals_yellow + s.arrivals_red) > 0
      ? `AOG ${num(s.aog_pct, 0)} %  ·  PR ${num(s.platoon_ratio, 2)}  ·  ${num(s.arrivals_green + s.arrivals_yellow + s.arrivals_red)} arrivals`
      : '';
    const P = panel(g, boxes[i], { title: nm.title, sub: nm.sub, right, x0: range.from, x1: range.to, y0: 0, y1: ymax,
      yLabel: 's in cycle', empty: cyc.length ? '' : 'no complete cycles in this range' });
    P.clip();
    for (const cy of cyc) {
      const x0 = P.X(cy.t);
      const x1 = P.X(cy.t + cy.cycle_s);
      const w = Math.max(1, x1 - x0);
      g.fillStyle = C.red;
      g.fillRect(x0, P.Y(cy.cycle_s), w, P.Y(cy.green_s + cy.yellow_s) - P.Y(cy.cycle_s));
      g.fillStyle = C.yellow;
      g.fillRect(x0, P.Y(cy.green_s + cy.yellow_s), w, P.Y(cy.green_s) - P.Y(cy.green_s + cy.yellow_s));
      g.fillStyle = C.green;
      g.fillRect(x0, P.Y(cy.green_s), w, P.Y(0) - P.Y(cy.green_s));
    }
    /* Green and yellow ends as lines, as on the printed diagrams. */
    g.lineWidth = 1.2;
    for (const [key, col] of [['green_s', '#3ec46d'], ['end_s', '#f2c12e']]) {
      g.strokeStyle = col;
      g.beginPath();
      for (const cy of cyc) {
        const v = key === 'end_s' ? cy.green_s + cy.yellow_s : cy.green_s;
        g.moveTo(P.X(cy.t), P.Y(v));
        g.lineTo(P.X(cy.t + cy.cycle_s), P.Y(v));
      }
      g.stroke();
    }
    g.fillStyle = C.dot;
    for (const a of arr) g.fillRect(P.X(a.t) - 1.2, P.Y(a.c) - 1.2, 2.4, 2.4);
    g.restore();
    dots += arr.length;
    bands += cyc.length;
  });
  canvas.dataset.arrivals = String(dots);
  canvas.dataset.cycles = String(bands);
}

function drawSplit(canvas, d, names, range) {
  const phases = d.phaseList;
  const { boxes, h } = grid(canvas.clientWidth || 800, phases.length, 200);
  const { g } = fitCanvas(canvas, h);
  let ymax = 10;
  for (const cy of d.split.cycles) ymax = Math.max(ymax, cy.green_s);
  ymax = Math.ceil((ymax * 1.1) / 10) * 10;
  let points = 0;
  phases.forEach((p, i) => {
    const cyc = d.split.cyclesBy.get(p) || [];
    const nm = names.get(p) || { title: `Phase ${p}`, sub: '' };
    const s = d.split.summary.get(p);
    const right = s && s.cycles ? `green mean ${num(s.mean_green_s, 1)} s (${num(s.min_green_s, 0)}–${num(s.max_green_s, 0)})` : '';
    const P = panel(g, boxes[i], { title: nm.title, sub: nm.sub, right, x0: range.from, x1: range.to, y0: 0, y1: ymax,
      yLabel: 'green s', empty: cyc.length ? '' : 'no complete cycles in this range' });
    P.clip();
    if (s && s.cycles) {
      g.strokeStyle = '#5fa8d3';
      g.setLineDash([4, 4]);
      g.beginPath();
      g.moveTo(P.px, P.Y(s.mean_green_s));
      g.lineTo(P.px + P.pw, P.Y(s.mean_green_s));
      g.stroke();
      g.setLineDash([]);
    }
    const fails = d.failBy.get(p);
    for (const cy of cyc) {
      const x = P.X(cy.t);
      const y = P.Y(cy.green_s);
      g.fillStyle = (TERM[cy.termination] || TERM['-']).colour;
      g.beginPath();
      g.arc(x, y, 2.8, 0, 2 * Math.PI);
      g.fill();
      if (fails && fails.has(Math.round(cy.t * 10))) {
        g.strokeStyle = '#f08c3a';
        g.lineWidth = 1.5;
        g.beginPath();
        g.arc(x, y, 5.5, 0, 2 * Math.PI);
        g.stroke();
      }
    }
    points += cyc.length;
    g.restore();
  });
  canvas.dataset.cycles = String(points);
}

function drawVolume(canvas, d, names, range) {
  const bins = d.volume.bins;
  const { g, w } = fitCanvas(canvas, 240);
  let ymax = 0;
  for (const b of bins) ymax = Math.max(ymax, b.vph);
  ymax = ymax > 0 ? ymax * 1.12 : 100;
  const P = panel(g, { x: 0, y: 0, w, h: 232 }, {
    title: 'Vehicles per hour by phase', sub: `detector-ons in ${num(d.volume.binS / 60)}-minute bins; dashed: a bin the range ends inside`,
    x0: range.from, x1: range.to, y0: 0, y1: ymax, yLabel: 'veh/h', empty: bins.length ? '' : 'no events in this range' });
  P.clip();
  g.lineWidth = 2;
  for (const p of d.phaseList) {
    const list = d.volume.binsBy.get(p) || [];
    if (!list.length) continue;
    g.strokeStyle = phaseColour(p);
    g.beginPath();
    let partial = null;
    list.forEach((b, k) => {
      const x0 = P.X(b.t);
      const x1 = P.X(b.t + b.bin_s);
      const y = P.Y(b.vph);
      if (k === 0) g.moveTo(x0, y); else g.lineTo(x0, y);
      /* A bin still open at the end of the range counts part of its width:
      ** dashed, as it will rise. */
      if (b.t + b.bin_s > range.to + 1) partial = { x0, x1, y };
      else g.lineTo(x1, y);
    });
    g.stroke();
    if (partial) {
      g.setLineDash([3, 3]);
      g.beginPath();
      g.moveTo(partial.x0, partial.y);
      g.lineTo(partial.x1, partial.y);
      g.stroke();
      g.setLineDash([]);
    }
  }
  g.restore();
  /* Legend, top right of the plot. */
  let x = P.px + 8;
  g.font = '11px system-ui, "DejaVu Sans", sans-serif';
  for (const p of d.phaseList) {
    const s = d.volume.summary.get(p);
    const label = `${(names.get(p) || {}).title || 'Phase ' + p}${s ? ' · ' + num(s.detector_ons) + ' veh' : ''}`;
    g.fillStyle = phaseColour(p);
    g.fillRect(x, P.py + 8, 14, 3);
    g.fillStyle = C.text;
    g.textBaseline = 'middle';
    g.fillText(label, x + 18, P.py + 10);
    x += 26 + g.measureText(label).width;
  }
  g.textBaseline = 'alphabetic';
}

function drawDelay(canvas, d, names, range) {
  const phases = d.phaseList;
  const { boxes, h } = grid(canvas.clientWidth || 800, phases.length, 180);
  const { g } = fitCanvas(canvas, h);
  let ymax = 0;
  for (const b of d.delay.bins) ymax = Math.max(ymax, b.avg_delay_s);
  ymax = Math.max(20, Math.ceil((ymax * 1.1) / 10) * 10);
  let bars = 0;
  phases.forEach((p, i) => {
    const list = d.delay.binsBy.get(p) || [];
    const s = d.delay.summary.get(p);
    const nm = names.get(p) || { title: `Phase ${p}`, sub: '' };
    const right = s && s.arrivals ? `${num(s.total_delay_veh_h, 2)} veh·h  ·  ${num(s.avg_delay_s, 1)} s/veh  ·  max ${num(s.max_delay_s, 0)} s` : '';
    const P = panel(g, boxes[i], { title: nm.title, sub: nm.sub, right, x0: range.from, x1: range.to, y0: 0, y1: ymax,
      yLabel: 's/veh', empty: list.some((b) => b.arrivals) ? '' : 'no arrivals in this range' });
    P.clip();
    g.fillStyle = phaseColour(p);
    for (const b of list) {
      if (!b.arrivals) continue;
      const x0 = P.X(b.t);
      const x1 = P.X(b.t + b.bin_s);
      const w = Math.max(1, (x1 - x0) * 0.8);
      g.fillRect(x0 + (x1 - x0) * 0.1, P.Y(b.avg_delay_s), w, P.Y(0) - P.Y(b.avg_delay_s));
      bars++;
    }
    g.restore();
  });
  canvas.dataset.bins = String(bars);
}

/* ---- data ------------------------------------------------------------------- */

function byPhase(list) {
  const m = new Map();
  for (const x of list) {
    if (!m.has(x.phase)) m.set(x.phase, []);
    m.get(x.phase).push(x);
  }
  return m;
}
const summaries = (r) => new Map((r.phases || []).map((s) => [s.phase, s]));

function prepare(pcd, split, sf, vol, delay, tmc, ry, names) {
  const cyc = (r) => (r.cycles || []).map((c) => ({ ...c, t: epochOf(c.start) }));
  const P = { cycles: cyc(pcd), summary: summaries(pcd) };
  P.cyclesBy = byPhase(P.cycles);
  P.arrivalsBy = new Map();
  for (const a of pcd.arrivals || []) {
    let l = P.arrivalsBy.get(a.phase);
    if (!l) P.arrivalsBy.set(a.phase, (l = []));
    l.push({ t: epochOf(a.t), c: a.cycle_t_s, s: a.state });
  }
  const S = { cycles: cyc(split), summary: summaries(split) };
  S.cyclesBy = byPhase(S.cycles);
  const F = { cycles: cyc(sf), summary: summaries(sf) };
  const failBy = new Map();
  for (const c of F.cycles) {
    if (!c.split_failure) continue;
    if (!failBy.has(c.phase)) failBy.set(c.phase, new Set());
    failBy.get(c.phase).add(Math.round(c.t * 10));
  }
  const bins = (vol.bins || []).map((b) => ({ ...b, t: epochOf(b.start) }));
  const V = { bins, binsBy: byPhase(bins), summary: summaries(vol), binS: bins.length ? bins[0].bin_s : 900 };
  const dbins = (delay.bins || []).map((b) => ({ ...b, t: epochOf(b.start) }));
  const D = { bins: dbins, binsBy: byPhase(dbins), summary: summaries(delay) };
  const T = { bins: (tmc.bins || []).map((b) => ({ ...b, t: epochOf(b.start) })), phases: tmc.phases || [], note: tmc.note };
  const R = { summary: summaries(ry) };
  /* Every phase of the configuration, and any other the log has. */
  const set = new Set(names.keys());
  for (const r of [pcd, split, sf, vol]) for (const s of r.phases || []) set.add(s.phase);
  const phaseList = [...set].sort((a, b) => a - b);
  return { pcd: P, split: S, sf: F, failBy, volume: V, delay: D, tmc: T, ry: R, phaseList,
    events: Math.max(pcd.events || 0, split.events || 0), truncated: [pcd, split, sf, vol, delay, tmc, ry].some((r) => r.truncated),
    mapped: pcd.detectors_mapped };
}

/* ---- tables ----------------------------------------------------------------- */

function pctBar(v, colour, mark) {
  const x = Math.max(0, Math.min(100, Number(v) || 0));
  return el('div.mbar', el('div.mfill', { style: `width:${x}%;background:${colour}` }),
    mark !== undefined ? el('div.mmark', { style: `left:${Math.max(0, Math.min(100, mark))}%`, title: `g/C ${num(mark, 0)} %` }) : null);
}

function aogTable(d, names) {
  const tbody = el('tbody');
  for (const p of d.phaseList) {
    const s = d.pcd.summary.get(p);
    const nm = names.get(p) || { title: `Phase ${p}`, approach: '' };
    const n = s ? s.arrivals_green + s.arrivals_yellow + s.arrivals_red : 0;
    const pr = s ? Number(s.platoon_ratio) : NaN;
    tbody.append(el('tr', { dataset: { phase: String(p) } },
      el('td', el('i.swatch', { style: `background:${phaseColour(p)}` }), el('b', String(p)), el('small.muted', ` G${p - 1}`)),
      el('td.muted.approach', nm.approach || ''),
      el('td.num', num(s ? s.cycles : 0)),
      el('td.num', num(n)),
      el('td.num', n ? num(s.aog_pct, 1) : '–'),
      el('td', n ? pctBar(s.aog_pct, '#3ec46d', 100 * s.green_share) : el('span.muted', n === 0 && s ? 'no arrivals' : '')),
      el('td.num', s && s.cycles ? num(100 * s.green_share, 0) : '–'),
      el('td.num', n ? el('b', { style: `color:${pr >= 1 ? '#3ec46d' : pr >= 0.5 ? '#f2c12e' : '#f08c3a'}` }, num(pr, 2)) : '–')));
  }
  return el('table.grid.measures#aog-table', el('thead', el('tr', el('th', 'Phase'), el('th', 'Approach'), el('th.num', 'Cycles'),
    el('th.num', 'Arrivals'), el('th.num', 'AOG %'), el('th', { style: 'width:32%' }, 'On green (tick: green share g/C)'),
    el('th.num', 'g/C %'), el('th.num', 'Platoon ratio'))), tbody);
}

function failTable(d, names) {
  const tbody = el('tbody');
  for (const p of d.phaseList) {
    const f = d.sf.summary.get(p);
    const t = d.split.summary.get(p);
    const nm = names.get(p) || { approach: '' };
    const meas = f ? f.measured_cycles : 0;
    const fails = f ? f.split_failures : 0;
    const go = t ? t.gap_outs : 0;
    const mo = t ? t.max_outs : 0;
    const fo = t ? t.force_offs : 0;
    const nt = go + mo + fo;
    const seg = (n, col) => (n ? el('div', { style: `width:${(100 * n) / nt}%;background:${col}`, title: String(n) }) : null);
    tbody.append(el('tr', { dataset: { phase: String(p) } },
      el('td', { title: nm.approach || '' }, el('i.swatch', { style: `background:${phaseColour(p)}` }), el('b', String(p)),
        el('small.muted', ` G${p - 1}`)),
      el('td.num', num(meas)),
      el('td.num', fails ? el('b', { style: 'color:#f08c3a' }, num(fails)) : '0'),
      el('td.num', meas ? num((100 * fails) / meas, 0) : '–'),
      el('td', meas ? pctBar((100 * fails) / meas, '#f08c3a') : ''),
      el('td.num', num(go)), el('td.num', num(mo)), el('td.num', num(fo)),
      el('td', nt ? el('div.mbar.stack', seg(go, TERM['gap out'].colour), seg(mo, TERM['max out'].colour),
        seg(fo, TERM['force off'].colour)) : el('span.muted', 'none logged'))));
  }
  return el('table.grid.measures#fail-table', el('thead', el('tr', el('th', 'Phase'),
    el('th.num', 'Cycles'), el('th.num', 'Split failures'), el('th.num', '%'), el('th', { style: 'width:18%' }, ''),
    el('th.num', 'Gap out'), el('th.num', 'Max out'), el('th.num', 'Force off'), el('th', { style: 'width:18%' }, 'Terminations'))), tbody);
}

/* Turning movement counts as on a count sheet: one row per bin, one column
** per phase and movement, totals below. */
function tmcTable(d, names) {
  if (!d.tmc.phases.length) return el('p.muted#tmc-none', d.tmc.note || 'No turning movement counts in this range.');
  const cols = [];
  for (const s of d.tmc.phases) for (const m of s.movements || []) cols.push({ phase: s.phase, movement: m.movement, total: m.count });
  const key = (p, m) => `${p}/${m}`;
  const rows = new Map();
  for (const b of d.tmc.bins) {
    if (!rows.has(b.t)) rows.set(b.t, new Map());
    rows.get(b.t).set(key(b.phase, b.movement), b.count);
  }
  const tbody = el('tbody');
  for (const [t, cells] of [...rows].sort((a, b) => a[0] - b[0])) {
    let sum = 0;
    const tds = cols.map((c) => { const v = cells.get(key(c.phase, c.movement)) || 0; sum += v; return el('td.num', num(v)); });
    tbody.append(el('tr', el('td', clock(t).slice(0, 5)), ...tds, el('td.num', el('b', num(sum)))));
  }
  const grand = cols.reduce((a, c) => a + c.total, 0);
  const tfoot = el('tfoot', el('tr', el('th', 'Total'), ...cols.map((c) => el('th.num', num(c.total))), el('th.num', num(grand))));
  return el('table.grid.measures#tmc-table',
    el('thead', el('tr', el('th', 'Bin start'), ...cols.map((c) => el('th.num', { title: (names.get(c.phase) || {}).approach || '' },
      el('i.swatch', { style: `background:${phaseColour(c.phase)}` }), `${c.phase} ${c.movement}`)), el('th.num', 'All'))),
    tbody, tfoot);
}

function redYellowTable(d, names) {
  const tbody = el('tbody');
  for (const p of d.phaseList) {
    const s = d.ry.summary.get(p);
    const nm = names.get(p) || { approach: '' };
    tbody.append(el('tr', { dataset: { phase: String(p) } },
      el('td', { title: nm.approach || '' }, el('i.swatch', { style: `background:${phaseColour(p)}` }), el('b', String(p)),
        el('small.muted', ` G${p - 1}`)),
      el('td.num', num(s ? s.cycles : 0)),
      el('td.num', num(s ? s.yellow_actuations : 0)),
      el('td.num', s && s.red_actuations ? el('b', { style: 'color:#e5484d' }, num(s.red_actuations)) : '0'),
      el('td.num', num(s ? s.red_clearance_actuations : 0))));
  }
  return el('table.grid.measures#redyellow-table', el('thead', el('tr', el('th', 'Phase'), el('th.num', 'Cycles'),
    el('th.num', 'On yellow'), el('th.num', 'On red'), el('th.num', 'In red clearance'))), tbody);
}

const legend = (items) => el('div.mlegend', ...items.map(([kind, colour, label]) => el('span',
  el('i.' + kind, { style: kind === 'ring' || kind === 'line' ? `border-color:${colour}` : `background:${colour}` }), label)));

/* ---- the tab ---------------------------------------------------------------- */

export function renderMeasures(body, ctx, id, r) {
  const cfg = r.config || r;
  const names = phaseNames(cfg);
  let rangeS = 3600;
  const btns = RANGES.map(([s, label]) => el('button.small', { dataset: { range: String(s) }, onclick: () => { rangeS = s; load(); } }, label));
  const rangeInfo = el('span.muted#measures-range');
  const status = el('span#measures-status');
  const pcdCanvas = el('canvas.mchart#pcd');
  const splitCanvas = el('canvas.mchart#split-monitor');
  const volCanvas = el('canvas.mchart#volume-chart');
  const delayCanvas = el('canvas.mchart#delay-chart');
  const aogBox = el('div');
  const failBox = el('div');
  const tmcBox = el('div');
  const ryBox = el('div');
  const emptyNote = el('p.empty#measures-empty', { hidden: true });
  const phaseKey = el('div.mlegend.phases',
    ...[...names.values()].map((n) => el('span', el('i', { style: `background:${phaseColour(n.phase)}` }), el('b', n.title), ` ${n.sub}`)));
  const cards = el('div.page', { style: 'padding:0' },
    el('div.card', el('div.toolbar', el('h3', 'Purdue coordination diagram'), el('span.spacer'),
      legend([['box', C.green, 'green'], ['box', C.yellow, 'yellow'], ['box', '#e5484d55', 'red'], ['dot', C.dot, 'arrival (detector-on)']])),
    el('p.note', 'Each dot is a vehicle reaching a stop-bar detector, at its time of day (x) and seconds since its phase\'s begin green (y); bands show each cycle\'s green, yellow and red.'),
    pcdCanvas),
    el('div.row',
      el('div.card.grow', { style: 'flex-basis:560px' }, el('h3', 'Arrivals on green and platoon ratio'), aogBox,
        el('p.note', 'AOG % = arrivals on green / all arrivals; platoon ratio = AOG / green share (g/C): above 1, vehicles arrive in the green.')),
      el('div.card.grow', { style: 'flex-basis:560px' }, el('h3', 'Split failures and phase terminations'), failBox,
        el('p.note', 'A split failure: green occupancy ≥ 79 % and occupancy in the first 5 s of red ≥ 79 %.'))),
    el('div.card', el('div.toolbar', el('h3', 'Split monitor: green per cycle'), el('span.spacer'),
      legend([...Object.values(TERM).map((t) => ['dot', t.colour, t.label]), ['ring', '#f08c3a', 'split failure'],
        ['line', '#5fa8d3', 'mean green']])), splitCanvas),
    el('div.card', el('h3', 'Approach volumes'), volCanvas),
    el('div.card', el('h3', 'Approach delay'),
      el('p.note', 'Each vehicle reaching a detector on red waits until the next begin green of its phase; on green or yellow it waits 0 s. Bars: delay per vehicle in each bin.'),
      delayCanvas),
    el('div.row',
      el('div.card.grow', { style: 'flex-basis:560px' }, el('h3', 'Turning movement counts'), tmcBox,
        el('p.note', 'Detector-ons of lane-by-lane detectors by the movement of their lane (L left, T through, R right; TR, TL shared lanes).')),
      el('div.card.grow', { style: 'flex-basis:420px' }, el('h3', 'Yellow and red actuations'), ryBox,
        el('p.note', 'Detector-ons during the yellow and the red of each phase, over its complete cycles; with stop-bar detectors, vehicles that entered on yellow or red.'))));
  body.append(el('div.page', { style: 'padding:0' },
    el('div.card.mhead', el('div.toolbar', el('span.seg', ...btns), rangeInfo, el('span.spacer'), status,
      el('button.small', { onclick: () => load() }, 'Refresh')), phaseKey),
    emptyNote, cards));
  cards.hidden = true; /* until the first answer */

  let alive = true;
  let data = null;
  let range = null;
  let seq = 0;
  const draw = () => {
    if (!data || !alive) return;
    drawPcd(pcdCanvas, data, names, range);
    drawSplit(splitCanvas, data, names, range);
    drawVolume(volCanvas, data, names, range);
    drawDelay(delayCanvas, data, names, range);
  };

  async function load() {
    for (const b of btns) b.classList.toggle('active', Number(b.dataset.range) === rangeS);
    const st = ctx.feed.state;
    const to = Math.floor(st && st.epoch ? Number(st.epoch) : Date.now() / 1000);
    const from = to - rangeS;
    const my = ++seq;
    rangeInfo.textContent = `${clock(from)} – ${clock(to)} field time, ${new Date(to * 1000).toISOString().slice(0, 10)}`;
    status.className = 'muted';
    status.textContent = 'loading…';
    const q = (m) => api.get(`/api/measures?signal=${api.enc(id)}&measure=${m}&from=${from}&to=${to}`);
    let res;
    try {
      res = await Promise.all(['pcd', 'split', 'splitfail', 'volume', 'delay', 'tmc', 'redyellow'].map(q));
    } catch (e) {
      if (my !== seq || !alive) return;
      status.className = 'error';
      status.textContent = `cannot load measures: ${e.message}`;
      if (!data) {
        emptyNote.hidden = false;
        emptyNote.textContent = `The measures could not be computed: ${e.message}`;
      }
      return;
    }
    if (my !== seq || !alive) return;
    data = prepare(...res, names);
    /* The charts start where the data does when the range reaches back before
    ** it (a centre started twenty minutes ago): no empty hour on the left. */
    const first = Math.min(...[data.pcd.cycles[0], data.split.cycles[0], data.volume.bins[0]]
      .filter(Boolean).map((x) => x.t));
    const x0 = Number.isFinite(first) && first > from + 60 ? Math.max(from, Math.floor(first / 60) * 60) : from;
    range = { from: x0, to };
    const bits = [`${num(data.events)} events`, `${num(data.pcd.cycles.length)} phase cycles`,
      `${num(data.pcd.arrivalsBy.size ? [...data.pcd.arrivalsBy.values()].reduce((a, l) => a + l.length, 0) : 0)} arrivals`];
    status.replaceChildren(bits.join(' · '),
      data.truncated ? el('span.tag.flash', { style: 'margin-left:6px' }, 'truncated: range has more events than one answer holds') : '',
      !data.mapped ? el('span.tag.flash', { style: 'margin-left:6px' }, 'no detector map: arrivals not counted') : '');
    status.className = 'muted';
    if (x0 > from) rangeInfo.append(el('small', ` (data from ${clock(x0).slice(0, 5)})`));
    const empty = !data.events;
    emptyNote.hidden = !empty;
    emptyNote.textContent = empty ? `No events in this range (${clock(from)} – ${clock(to)}): the store has nothing for ${id} yet.` : '';
    cards.hidden = empty;
    aogBox.replaceChildren(aogTable(data, names));
    failBox.replaceChildren(failTable(data, names));
    tmcBox.replaceChildren(tmcTable(data, names));
    ryBox.replaceChildren(redYellowTable(data, names));
    draw();
    body.dataset.loaded = String(my);
  }

  load();
  /* The window follows the field clock while the tab is open. */
  const timer = setInterval(() => { if (!document.hidden) load(); }, 60000);
  let last = 0;
  const ro = new ResizeObserver(() => {
    const w = pcdCanvas.clientWidth;
    if (Math.abs(w - last) > 2) { last = w; draw(); }
  });
  ro.observe(pcdCanvas);
  return () => { alive = false; clearInterval(timer); ro.disconnect(); };
}
