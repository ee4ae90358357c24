/*
** alarms.js -- open alarms, newest first, with an Acknowledge button for
** operators.  Alarms raised while the page is open arrive on the feed and
** show at once (highlighted); "include closed" asks the store for history.
*/
import * as api from './api.js';
import { el, when, clock, rows, toast } from './util.js';

/* Detector alarms read better in words; the kind stays in the title. */
const KIND = {
  detector_stuck_on: 'detector stuck on',
  detector_no_activity: 'detector: no activity',
  detector_chatter: 'detector chatter',
};

export function mount(root, ctx) {
  const tbody = el('tbody');
  const all = el('input', { type: 'checkbox' });
  const info = el('span.muted');
  const canAck = ctx.can('operator');
  root.append(el('div.page',
    el('div.toolbar', el('h2', 'Alarms'), info, el('span.spacer'),
      el('label', all, ' include acknowledged and cleared'), el('button', { onclick: () => refresh() }, 'Refresh')),
    el('div.card', el('table.grid#alarm-list',
      el('thead', el('tr', el('th.num', 'Id'), el('th', 'Time'), el('th', 'Intersection'), el('th', 'Severity'),
        el('th', 'Kind'), el('th', 'Message'), el('th', 'Acknowledged'), el('th', 'Cleared'), el('th', ''))), tbody))));
  let history = null;
  let fresh = new Set();

  const t = (a) => (typeof a.t === 'number' && a.t < 86400 * 2 ? clock(a.t) : when(a.t));
  const draw = () => {
    const list = all.checked && history ? history : ctx.alarms;
    info.textContent = `${ctx.alarms.filter((a) => !a.acked_at && !a.cleared_at).length} open, unacknowledged`;
    tbody.replaceChildren(...list.map((a) => {
      const sev = String(a.severity || '').toLowerCase();
      const tr = el('tr', { dataset: { id: String(a.id ?? '') }, className: fresh.has(a) ? 'fresh' : '' },
        el('td.num', String(a.id ?? '')), el('td', t(a)),
        el('td', a.intersection_id ? el('a', { href: `#/i/${encodeURIComponent(a.intersection_id)}` },
          ctx.names.get(a.intersection_id) || a.intersection_id,
          ctx.names.has(a.intersection_id) ? el('small.muted.ixid', a.intersection_id) : '') : '–'),
        el('td', el('span.sev.sev-' + sev, sev || '–')), el('td', KIND[a.kind] ? el('span', { title: a.kind }, KIND[a.kind]) : a.kind || ''),
        el('td', a.message || ''),
        el('td', a.acked_by ? `${a.acked_by} ${when(a.acked_at)}` : ''), el('td', when(a.cleared_at)),
        el('td', canAck && !a.acked_at && a.id !== undefined
          ? el('button.small.ack', { onclick: (ev) => ack(a, ev.target) }, 'Acknowledge') : ''));
      return tr;
    }));
    if (!list.length) tbody.append(el('tr', el('td', { colSpan: 9, className: 'muted' }, 'No open alarms.')));
    fresh = new Set();
  };

  const ack = async (a, btn) => {
    btn.disabled = true;
    try {
      await api.post(`/api/alarms/${api.enc(String(a.id))}/ack`, {});
      a.acked_by = ctx.me.name;
      a.acked_at = new Date().toISOString();
      toast(`Alarm ${a.id} acknowledged`);
      ctx.alarmsChanged();
      if (all.checked) await refresh();
    } catch (e) {
      btn.disabled = false;
      toast(`Acknowledge failed: ${e.message}`, true);
    }
  };

  const refresh = async () => {
    if (all.checked) {
      try { history = rows(await api.get('/api/alarms?limit=500')); } catch (e) { toast(e.message, true); }
    }
    await ctx.loadAlarms();
  };
  all.addEventListener('change', refresh);
  const sub = (a) => { if (a) fresh.add(a); draw(); };
  ctx.alarmSubs.add(sub);
  draw();
  ctx.loadAlarms();
  return () => ctx.alarmSubs.delete(sub);
}
