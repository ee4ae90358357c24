/*
** audit.js -- the audit log (operators and admins): who changed what, when,
** with the value before and after.  The newest 100 entries, filtered in the
** browser.
*/
import * as api from './api.js';
import { el, when, rows, parsed } from './util.js';

export function mount(root) {
  const tbody = el('tbody');
  const filter = el('input', { type: 'search', placeholder: 'Filter: user, action, target…', style: 'width:280px' });
  const info = el('span.muted');
  root.append(el('div.page',
    el('div.toolbar', el('h2', 'Audit log'), info, el('span.spacer'), filter,
      el('button', { onclick: () => load() }, 'Refresh')),
    el('div.card', el('table.grid#audit-list', el('thead', el('tr', el('th.num', 'Id'), el('th', 'Time'), el('th', 'User'),
      el('th', 'Action'), el('th', 'Target'), el('th', 'Before'), el('th', 'After'))), tbody))));
  let list = [];
  const show = (v) => {
    const p = parsed(v);
    if (p === null || p === undefined || p === '') return '';
    return el('pre.json', typeof p === 'string' ? p : JSON.stringify(p));
  };
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const sel = q ? list.filter((a) => [a.user, a.action, a.target].some((x) => String(x || '').toLowerCase().includes(q))) : list;
    info.textContent = `${sel.length} of the newest ${list.length}`;
    tbody.replaceChildren(...sel.map((a) => el('tr',
      el('td.num', String(a.id ?? '')), el('td', { style: 'white-space:nowrap' }, when(a.t)), el('td', a.user || ''),
      el('td', el('b.action', a.action || '')), el('td', a.target || ''), el('td', show(a.before)), el('td', show(a.after)))));
  };
  const load = async () => {
    try {
      list = rows(await api.get('/api/audit?limit=100'));
    } catch (e) {
      tbody.replaceChildren(el('tr', el('td', { colSpan: 7 }, el('span.error', e.message))));
      return;
    }
    draw();
  };
  filter.addEventListener('input', draw);
  load();
  return () => {};
}
