/*
** intersection.js -- one intersection: its live lamps as a phase timeline
** (each signal group's red/yellow/green over the last minutes, rebuilt from
** the feed), detector bars, the mode and the plan it runs, the last hour's
** queue beside the network delay, the detectors' 5-minute volumes, the
** detectors' health (with Take out / Restore for operators, detectors.js)
** and the operator's mode control (with a confirm step).  The Measures tab
** is measures.js, the Plans tab plans.js.
*/
import * as api from './api.js';
import { el, num, clock, rows, parsed, confirmDialog, toast, loadColour } from './util.js';
import { ixStatus, lampSpans, flagTag, approachName } from './map.js';
import { lineChart } from './charts.js';
import { renderPlans } from './plans.js';
import { renderMeasures } from './measures.js';
import { renderDetectorHealth } from './detectors.js';

const MODES = ['fixed', 'actuated', 'adaptive', 'maxpressure', 'hold', 'flash'];
const LAMP = { g: '#3ec46d', y: '#f2c12e', r: '#e5484d', o: '#3a4450' };
const WINDOW_S = 300;

export function mount(root, ctx, params) {
  const id = params[0];
  const tab = params[1] === 'plans' || params[1] === 'measures' ? params[1] : 'live';
  const title = el('h1', id);
  const head = el('div.ihead', el('a', { href: '#/map' }, '← Map'), title);
  const live = el('div.ihead');
  const base = `#/i/${encodeURIComponent(id)}`;
  const tabs = el('div.tabs',
    el('a#tab-live', { href: base, className: tab === 'live' ? 'active' : '' }, 'Live'),
    el('a#tab-measures', { href: `${base}/measures`, className: tab === 'measures' ? 'active' : '' }, 'Measures'),
    el('a#tab-plans', { href: `${base}/plans`, className: tab === 'plans' ? 'active' : '' }, 'Plans'));
  const body = el('div');
  const page = el('div.page', el('div.toolbar', head, el('span.spacer'), live), tabs, body);
  root.append(page);
  const cleanups = [];
  let alive = true;
  let cfgResp = null;

  const paintHead = (ix) => {
    if (!ix) return;
    const s = ixStatus(ix);
    live.replaceChildren(...[
      el('span.tag', `mode ${ix.mode}${ix.mode_param !== undefined && ix.mode_param !== null && ix.mode_param !== '' ? ' ' + fmtParam(ix.mode_param) : ''}`),
      flagTag(s.flag),
      el('span.muted', `stage ${ix.stage ?? '–'}${ix.target !== undefined && ix.target !== ix.stage ? ' → ' + ix.target : ''}`),
      el('span.muted', ix.plan_version ? `plan v${ix.plan_version}` : 'network program'),
      el('span', ...lampSpans(ix.state))].filter(Boolean));
  };

  ctx.config(id).then((r) => {
    if (!alive) return;
    cfgResp = r;
    const cfg = r.config || r;
    const name = r.name || cfg.name;
    title.replaceChildren(name && name !== id ? name : id, name && name !== id ? el('small.muted.ixid', id) : '');
    document.title = `${name && name !== id ? name : id} · Greenwave`;
    paintHead(ctx.feed.byId.get(id) || r.state);
    if (tab === 'plans') cleanups.push(renderPlans(body, ctx, id, r));
    else if (tab === 'measures') cleanups.push(renderMeasures(body, ctx, id, r));
    else cleanups.push(renderLive(body, ctx, id, r));
  }).catch((e) => {
    body.replaceChildren(el('p.error', e.status === 404 ? `No intersection ${id}.` : `Cannot load ${id}: ${e.message}`));
  });
  cleanups.push(ctx.feed.on('state', () => paintHead(ctx.feed.byId.get(id))));
  return () => {
    alive = false;
    document.title = 'Greenwave control centre';
    for (const c of cleanups) if (c) c();
    void cfgResp;
  };
}

function fmtParam(p) {
  return typeof p === 'object' ? JSON.stringify(p) : String(p);
}

function renderLive(body, ctx, id, r) {
  const cfg = r.config || r;
  const groups = cfg.groups || [];
  const canvas = el('canvas.timeline#timeline');
  const bars = el('div.bars#detectors');
  const modeCard = el('div.card#mode-card', { style: 'min-width:300px' });
  const planCard = el('div.card', { style: 'min-width:300px' });
  const qDiv = el('div.chart#chart-queue');
  const vDiv = el('div.chart#chart-volume');
  const vInfo = el('span.muted');
  const healthCard = el('div.card#detector-card');
  body.append(el('div.page', { style: 'padding:0' },
    el('div.card', el('div.toolbar', el('h3', 'Phase timeline, last 5 minutes'), el('span.spacer'),
      el('span.muted', 'rows: signal groups · green / yellow / red')), canvas),
    el('div.row',
      el('div.card.grow', el('h3', 'Detectors: occupancy and queue per group'), bars),
      modeCard, planCard),
    healthCard,
    el('div.row',
      el('div.card.grow', { style: 'flex-basis:420px' }, el('h3', 'Queue here and network delay, last hour'), qDiv),
      el('div.card.grow', { style: 'flex-basis:420px' }, el('div.toolbar', el('h3', 'Detector volumes, 5-minute'), el('span.spacer'), vInfo), vDiv))));

  /* ---- timeline ------------------------------------------------------- */
  const drawTimeline = () => {
    const dpr = window.devicePixelRatio || 1;
    const rowH = 16;
    const left = 170;
    const w = canvas.clientWidth || 800;
    const h = groups.length * rowH + 22;
    canvas.style.height = h + 'px';
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    const g2 = canvas.getContext('2d');
    g2.scale(dpr, dpr);
    g2.font = '11px system-ui, sans-serif';
    g2.textBaseline = 'middle';
    const st = ctx.feed.state;
    const now = st ? Number(st.t) : 0;
    const t0 = now - WINDOW_S;
    const x = (t) => left + ((t - t0) / WINDOW_S) * (w - left - 8);
    const segs = ctx.feed.lamps.get(id) || [];
    groups.forEach((g, i) => {
      const y = i * rowH;
      g2.fillStyle = '#8796a8';
      const label = `G${g.index ?? i} ${approachName(g.approach)}`;
      g2.fillText(label.length > 22 ? label.slice(0, 21) + '…' : label, 4, y + rowH / 2);
      g2.fillStyle = '#0d1217';
      g2.fillRect(left, y + 2, w - left - 8, rowH - 4);
      const list = segs[i] || [];
      for (let k = 0; k < list.length; k++) {
        const a = Math.max(list[k].start, t0);
        const b = k + 1 < list.length ? list[k + 1].start : now;
        if (b <= t0) continue;
        g2.fillStyle = LAMP[list[k].lamp] || LAMP.o;
        g2.fillRect(x(a), y + 3, Math.max(1, x(b) - x(a)), rowH - 6);
      }
    });
    const y = groups.length * rowH + 4;
    g2.fillStyle = '#8796a8';
    g2.strokeStyle = '#2a3644';
    for (let t = Math.ceil(t0 / 60) * 60; t <= now; t += 60) {
      g2.beginPath();
      g2.moveTo(x(t), 0);
      g2.lineTo(x(t), y);
      g2.stroke();
      g2.fillText(clock(t).slice(0, 5), x(t) - 14, y + 9);
    }
  };

  /* ---- detector bars ---------------------------------------------------- */
  const drawBars = (ix) => {
    if (!ix) return;
    const gs = ix.groups || [];
    bars.replaceChildren(...gs.map((g, i) => {
      const occ = Math.max(0, Math.min(1, Number(g.occupancy) || 0));
      const cg = groups[i] || {};
      return el('div.bar', { title: cg.approach ? `approach ${approachName(cg.approach)}` : '' },
        el('span', el('span.lamp.' + (g.lamp || 'r')), ` G${cg.index ?? i}`),
        el('div.track', el('div.fill', { style: `width:${(occ * 100).toFixed(1)}%;background:${loadColour(occ)}` })),
        el('span.num', `${(occ * 100).toFixed(0)} %`),
        el('span.num.muted', `${num(g.queue)} q`));
    }));
  };

  /* ---- mode and plan ---------------------------------------------------- */
  const drawMode = (ix) => {
    const cur = ix || r.state || {};
    const info = el('dl.kv',
      el('dt', 'Mode'), el('dd#cur-mode', cur.mode ?? r.mode ?? '–'),
      el('dt', 'Parameter'), el('dd', fmtParam(cur.mode_param ?? r.mode_param ?? '–')),
      el('dt', 'Stage'), el('dd', `${cur.stage ?? '–'}${cur.target !== undefined ? ' (target ' + cur.target + ')' : ''}`),
      el('dt', 'Fail-safe'), el('dd', cur.failsafe ? el('span.tag.failsafe', 'fail-safe') : 'no'));
    modeCard.replaceChildren(el('h3', 'Mode'), info);
    if (!ctx.can('operator')) return;
    const sel = el('select#mode-select', ...MODES.map((m) => el('option', { value: m, selected: m === (cur.mode || r.mode) }, m)));
    const stageSel = el('select#mode-stage', ...(cfg.stages || []).map((s, i) => el('option', { value: String(s.index ?? i) }, `stage ${s.index ?? i}`)));
    const stageLbl = el('label', 'Hold stage', stageSel);
    const err = el('p.error');
    const sync = () => { stageLbl.hidden = sel.value !== 'hold'; };
    sel.addEventListener('change', sync);
    sync();
    const apply = el('button.primary#mode-apply', {
      onclick: async () => {
        const mode = sel.value;
        const param = mode === 'hold' ? Number(stageSel.value) : null;
        const what = mode === 'hold' ? `hold stage ${param}` : mode;
        const danger = mode === 'flash' || mode === 'hold';
        const ok = await confirmDialog(`Change ${id} to ${what}?`,
          el('p', `The controller of ${id} switches to `, el('b', what),
            ' at its next safe moment. The change is recorded in the audit log under your name.'), 'Change mode', danger);
        if (!ok) return;
        err.textContent = '';
        try {
          await api.put(`/api/intersections/${api.enc(id)}/mode`, param === null ? { mode } : { mode, param });
          toast(`${id}: mode ${what} requested`);
        } catch (e) {
          err.textContent = e.message;
        }
      },
    }, 'Apply…');
    modeCard.append(el('div.modectl', { style: 'margin-top:10px' }, el('label', 'New mode', sel), stageLbl, apply), err);
  };
  let lastMode = '';
  const maybeMode = (ix) => {
    const key = ix ? `${ix.mode}|${fmtParam(ix.mode_param)}|${ix.stage}|${ix.target}|${ix.failsafe}` : '';
    if (key === lastMode) return;
    lastMode = key;
    const focused = modeCard.contains(document.activeElement);
    if (!focused) drawMode(ix);
  };
  drawMode(ctx.feed.byId.get(id));

  /* The plan running: the stored version when one is active, else the
  ** network's own program from the configuration. */
  const drawPlan = (body, version) => {
    const stages = cfg.stages || [];
    const splits = body ? body.splits_s || [] : stages.map((s) => Number(s.green_s) || 0);
    const cyc = Number(body ? body.cycle_s : cfg.cycle_s) || splits.reduce((a, b) => a + b, 0) || 1;
    planCard.replaceChildren(el('h3', 'Plan running'),
      el('dl.kv', el('dt', 'Version'), el('dd#plan-version', version ? `v${version}` : 'network program'),
        el('dt', 'Cycle'), el('dd', `${num(cyc, 0)} s`),
        el('dt', 'Offset'), el('dd', `${num(body ? body.offset_s : cfg.offset_s, 0)} s`),
        el('dt', body ? 'Splits' : 'Greens'), el('dd.mono', splits.map((x) => num(x, 0)).join(' · '))),
      el('div.splitbar', { style: 'margin-top:8px' }, ...splits.map((x, i) => el('div', {
        style: `width:${(100 * x) / cyc}%;background:hsl(${(195 + i * 53) % 360} 35% 58%)`,
        title: `stage ${stages[i] ? stages[i].index ?? i : i}: ${x} s` }, String(stages[i] ? stages[i].index ?? i : i)))),
      el('p', el('a', { href: `#/i/${encodeURIComponent(id)}/plans` }, 'Edit plans →')));
  };
  let planShown = null;
  const loadPlan = async (version) => {
    planShown = version ?? null;
    if (!version) { drawPlan(null, null); return; }
    try {
      const list = rows(await api.get(`/api/intersections/${api.enc(id)}/plans`));
      const p = list.find((x) => Number(x.version) === Number(version));
      drawPlan(p ? parsed(p.body) : null, version);
    } catch {
      drawPlan(null, null);
    }
  };
  loadPlan((ctx.feed.byId.get(id) || r.state || {}).plan_version ?? r.plan_version);

  /* ---- charts ------------------------------------------------------------ */
  const qc = lineChart(qDiv, [
    { label: 'queue here (veh)', stroke: '#f08c3a', scale: 'q', digits: 0 },
    { label: 'network mean delay (s)', stroke: '#f2c12e', scale: 'd' },
  ], { height: 200, axes: [{ scale: 'q', label: 'veh' }, { scale: 'd', label: 's', side: 1 }] });
  const drawQueue = () => {
    const q = ctx.feed.queues.get(id);
    const n = ctx.feed.net;
    if (!q) return;
    /* Both series sampled on the same frames; align the network's by time. */
    const at = new Map(n.t.map((t, k) => [t, n.delay[k]]));
    qc.set([q.t.slice(), q.q.slice(), q.t.map((t) => at.get(t) ?? null)]);
  };
  drawQueue();

  let vc = null;
  const loadVolumes = async () => {
    const st = ctx.feed.state;
    const nowEpoch = st && st.epoch ? Number(st.epoch) : Date.now() / 1000;
    const to = Math.floor(nowEpoch);
    const from = to - 3600;
    let data;
    try {
      data = rows(await api.get(`/api/aggregates?intersection=${api.enc(id)}&period=300&from=${from}&to=${to}`));
    } catch (e) {
      vInfo.textContent = e.message;
      return;
    }
    const tKey = ['t', 't0', 'start', 'period_start', 'from', 'time'].find((k) => data[0] && k in data[0]) || 't';
    const vKey = ['volume', 'count', 'vehicles', 'n'].find((k) => data[0] && k in data[0]) || 'volume';
    const dKey = ['detector_id', 'detector', 'id'].find((k) => data[0] && k in data[0]) || 'detector_id';
    const dets = [...new Set(data.map((d) => d[dKey]))].slice(0, 8);
    const ts = [...new Set(data.map((d) => Number(d[tKey])))].sort((a, b) => a - b);
    const idx = new Map(ts.map((t, k) => [t, k]));
    const ys = dets.map(() => ts.map(() => null));
    for (const d of data) {
      const k = dets.indexOf(d[dKey]);
      if (k >= 0) ys[k][idx.get(Number(d[tKey]))] = Number(d[vKey]);
    }
    /* Stored times are epoch seconds; the axis shows time of day. */
    const xs = ts.map((t) => (t > 86400 * 2 ? t % 86400 : t));
    if (vc) vc.destroy();
    vDiv.replaceChildren();
    if (!dets.length) {
      vInfo.textContent = 'no aggregates stored yet for the last hour';
      return;
    }
    vInfo.textContent = `${dets.length} detector${dets.length > 1 ? 's' : ''}`;
    vc = lineChart(vDiv, dets.map((d, k) => ({ label: String(d), stroke: `hsl(${(k * 67 + 200) % 360} 60% 62%)`, digits: 0 })),
      { height: 200, axes: [{ scale: 'y', label: 'veh / 5 min' }] });
    vc.set([xs, ...ys]);
  };
  loadVolumes();
  const volTimer = setInterval(loadVolumes, 60000);

  const onState = () => {
    const ix = ctx.feed.byId.get(id);
    drawTimeline();
    drawBars(ix);
    maybeMode(ix);
    if (ix && (ix.plan_version ?? null) !== planShown) loadPlan(ix.plan_version);
    drawQueue();
  };
  onState();
  const off = ctx.feed.on('state', onState);
  const ro = new ResizeObserver(drawTimeline);
  ro.observe(canvas);
  const offHealth = renderDetectorHealth(healthCard, ctx, id, cfg);
  return () => { off(); offHealth(); ro.disconnect(); clearInterval(volTimer); qc.destroy(); if (vc) vc.destroy(); };
}
