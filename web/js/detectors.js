/*
** detectors.js -- detector health: which detectors of an intersection are in
** the control loop and which are out (stuck on, no activity, chatter, or
** taken out by an operator), the table the intersection view shows with its
** Take out / Restore buttons, and the per-intersection failed counts the map
** marks with a badge.
**
** GET /api/intersections/{id}/detectors answers
**   [{"id","channel","group","phase","lane","status":"ok"|"failed",
**     "reason":null|"stuck_on"|"no_activity"|"chatter"|"operator","since"}]
** and POST /api/detectors/{id}/fail | /restore (operators, audited) change
** one.  The counts are kept here, shared by the views: the map asks for every
** signalised intersection now and then, the intersection view for its own
** every few seconds, and a detector alarm on the feed refreshes its
** intersection at once.
*/
import * as api from './api.js';
import { el, num, clock, rows, confirmDialog, toast, loadColour } from './util.js';
import { approachName } from './map.js';

export const REASON = {
  stuck_on: 'stuck on',
  no_activity: 'no activity',
  chatter: 'chatter',
  operator: 'taken out by an operator',
};

/* id -> {list, failed, at}; listeners get the id that changed. */
export const health = {
  byId: new Map(),
  subs: new Set(),
  missing: false, /* the server has no detector routes: stop asking */
  on(fn) { this.subs.add(fn); return () => this.subs.delete(fn); },
  failed(id) { const h = this.byId.get(id); return h ? h.failed : 0; },
  async load(id) {
    if (this.missing) return null;
    let list;
    try {
      list = rows(await api.get(`/api/intersections/${api.enc(id)}/detectors`));
    } catch (e) {
      if (e.status === 404 && /route/i.test(e.message)) this.missing = true;
      throw e;
    }
    const failed = list.filter((d) => d.status === 'failed').length;
    const prev = this.byId.get(id);
    this.byId.set(id, { list, failed, at: performance.now() });
    if (!prev || prev.failed !== failed || JSON.stringify(prev.list) !== JSON.stringify(list)) {
      for (const fn of this.subs) { try { fn(id); } catch (err) { console.error(err); } }
    }
    return list;
  },
  /* Every id, four requests at a time; errors leave the old counts. */
  async loadAll(ids, alive = () => true) {
    const queue = ids.slice();
    const worker = async () => {
      while (queue.length && alive() && !this.missing) {
        const id = queue.shift();
        try { await this.load(id); } catch { /* next time */ }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  },
};

export const isDetectorAlarm = (a) => a && /^detector_/.test(String(a.kind || ''));

/* Seconds as "4 min", "2 h 05 min", "35 s". */
export function span(s) {
  if (!Number.isFinite(s) || s < 0) return '';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/* The detector health card of one intersection.  Returns a cleanup. */
export function renderDetectorHealth(card, ctx, id, cfg) {
  const groups = cfg.groups || [];
  const tbody = el('tbody');
  const info = el('span.muted');
  const err = el('p.error');
  const canEdit = ctx.can('operator');
  card.append(
    el('div.toolbar', el('h3', 'Detector health'), el('span.spacer'), info),
    el('table.grid#detector-health', el('thead', el('tr',
      el('th', 'Detector'), el('th.num', 'Channel'), el('th', 'Phase'), el('th', 'Lane'), el('th', 'Status'),
      el('th', 'Reason'), el('th', 'Since'), el('th', { style: 'width:170px' }, 'Group occupancy now'),
      canEdit ? el('th', '') : null)), tbody),
    err);
  let alive = true;
  let list = null;
  const occCells = [];

  const paintOcc = () => {
    const ix = ctx.feed.byId.get(id);
    const gs = (ix && ix.groups) || [];
    for (const { g, fill, txt } of occCells) {
      const occ = Math.max(0, Math.min(1, Number((gs[g] || {}).occupancy) || 0));
      fill.style.width = `${(occ * 100).toFixed(1)}%`;
      fill.style.background = loadColour(occ);
      txt.textContent = `${(occ * 100).toFixed(0)} %`;
    }
  };

  const act = async (d, verb) => {
    const out = verb === 'fail';
    const ph = d.phase ?? (Number(d.group) + 1);
    const ok = await confirmDialog(out ? `Take detector ${d.id} out?` : `Restore detector ${d.id}?`,
      el('p', out
        ? ['Detector ', el('b', d.id), ` (channel ${d.channel}, phase ${ph}) stops feeding the controller of ${id}: `,
          'its phase runs on recall (actuated) or on its program split (adaptive) until it is restored. ',
          'The change is recorded in the audit log under your name.']
        : ['Detector ', el('b', d.id), ` feeds the controller of ${id} again from its next step. `,
          'The change is recorded in the audit log under your name.']),
      out ? 'Take out' : 'Restore', out);
    if (!ok) return;
    err.textContent = '';
    try {
      const res = await api.post(`/api/detectors/${api.enc(d.id)}/${verb}`, {});
      toast(out ? `${d.id} taken out of control` : `${d.id} restored`);
      /* The loop takes the change at its next step: show the answer until
      ** the list agrees (or a few seconds have passed). */
      pending.set(d.id, { status: (res && res.status) || (out ? 'failed' : 'ok'),
        reason: out ? (res && res.reason) || 'operator' : null, until: performance.now() + 4000 });
      draw();
      setTimeout(refresh, 1200);
      setTimeout(refresh, 3500);
    } catch (e) {
      err.textContent = `${out ? 'Take out' : 'Restore'} ${d.id}: ${e.message}`;
    }
    refresh();
  };

  /* The server's list, with the changes just made that it has not taken yet. */
  const pending = new Map();
  const merged = () => list.map((d) => {
    const p = pending.get(d.id);
    if (!p) return d;
    if (d.status === p.status || performance.now() > p.until) { pending.delete(d.id); return d; }
    const since = p.status === 'failed' && ctx.feed.state ? Number(ctx.feed.state.epoch) : null;
    return { ...d, status: p.status, reason: p.reason, since };
  });

  const draw = () => {
    occCells.length = 0;
    if (!list) return;
    const shown = merged();
    const ep = ctx.feed.state ? Number(ctx.feed.state.epoch) : NaN;
    const failed = shown.filter((d) => d.status === 'failed').length;
    info.replaceChildren(failed ? el('span.tag.failed', `${failed} of ${shown.length} out of control`)
      : `${shown.length} detector${shown.length === 1 ? '' : 's'}, all in control`);
    if (!shown.length) {
      tbody.replaceChildren(el('tr', el('td.muted', { colSpan: canEdit ? 9 : 8 }, 'This intersection has no detectors.')));
      return;
    }
    tbody.replaceChildren(...shown.map((d) => {
      const g = Number(d.group);
      const bad = d.status === 'failed';
      const fill = el('div.fill');
      const txt = el('span.num');
      occCells.push({ g, fill, txt });
      const since = d.since !== null && d.since !== undefined ? Number(d.since) : NaN;
      return el('tr', { dataset: { id: d.id, status: d.status || '' }, className: bad ? 'failed' : '' },
        el('td.mono', d.id),
        el('td.num', String(d.channel ?? '')),
        el('td', { title: groups[g] ? approachName(groups[g].approach) : '' }, `${d.phase ?? g + 1}`,
          el('small.muted', ` G${g}`)),
        el('td.mono.muted', d.lane || ''),
        el('td', el('span.tag.' + (bad ? 'failed' : 'ok'), bad ? 'failed' : 'ok')),
        el('td', bad ? REASON[d.reason] || d.reason || '' : ''),
        el('td', { style: 'white-space:nowrap' }, Number.isFinite(since)
          ? [clock(since), Number.isFinite(ep) ? el('small.muted', ` for ${span(ep - since)}`) : null] : ''),
        el('td', el('div.bar.occ', el('div.track', fill), txt)),
        canEdit ? el('td', bad
          ? el('button.small.restore', { onclick: () => act(d, 'restore') }, 'Restore…')
          : el('button.small.take-out', { onclick: () => act(d, 'fail') }, 'Take out…')) : null);
    }));
    paintOcc();
  };

  const refresh = async () => {
    try {
      const l = await health.load(id);
      if (!alive || !l) return;
      list = l;
      draw();
    } catch (e) {
      if (!alive) return;
      if (health.missing) {
        tbody.replaceChildren(el('tr', el('td.muted', { colSpan: 9 }, 'This server does not report detector health.')));
      } else {
        info.textContent = `cannot load: ${e.message}`;
      }
    }
  };
  refresh();
  const timer = setInterval(refresh, 5000);
  const offState = ctx.feed.on('state', () => {
    paintOcc();
    /* "for N min" follows the field clock. */
    if (list && list.some((d) => d.status === 'failed')) {
      for (const tr of tbody.children) {
        const d = list.find((x) => x.id === tr.dataset.id && x.status === 'failed');
        const small = tr.children[6] && tr.children[6].querySelector('small');
        if (d && small && ctx.feed.state) small.textContent = ` for ${span(Number(ctx.feed.state.epoch) - Number(d.since))}`;
      }
    }
  });
  const offAlarm = ctx.feed.on('alarm', (a) => { if (isDetectorAlarm(a) && a.intersection_id === id) refresh(); });
  return () => { alive = false; clearInterval(timer); offState(); offAlarm(); };
}

/* A count for lists: "2 det out". */
export function failedTag(n) {
  return n > 0 ? el('span.tag.failed.detfail', { title: `${n} detector${n > 1 ? 's' : ''} out of control` },
    `${num(n)} det out`) : null;
}
