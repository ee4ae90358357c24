/*
** users.js -- the admin's users panel: who may sign in and with which role
** (viewer: read only; operator: plans, modes, alarms; admin: also users).
*/
import * as api from './api.js';
import { el, when, rows, toast } from './util.js';

export function mount(root) {
  const tbody = el('tbody');
  const name = el('input', { name: 'name', placeholder: 'name', required: true, autocomplete: 'off' });
  const pass = el('input', { name: 'password', type: 'password', placeholder: 'password', required: true, autocomplete: 'new-password' });
  const role = el('select', { name: 'role' }, ...['viewer', 'operator', 'admin'].map((r) => el('option', { value: r }, r)));
  const err = el('p.error');
  const form = el('form.toolbar', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      try {
        await api.post('/api/users', { name: name.value.trim(), password: pass.value, role: role.value });
        toast(`User ${name.value.trim()} added`);
        name.value = pass.value = '';
        load();
      } catch (e) {
        err.textContent = e.message;
      }
    },
  }, name, pass, role, el('button.primary', { type: 'submit' }, 'Add user'));
  root.append(el('div.page', el('h2', 'Users'),
    el('div.row',
      el('div.card.grow', el('table.grid#user-list', el('thead', el('tr', el('th', 'Name'), el('th', 'Role'),
        el('th', 'Created'))), tbody)),
      el('div.card', el('h3', 'Add a user'), form, err))));
  const load = async () => {
    try {
      const list = rows(await api.get('/api/users'));
      tbody.replaceChildren(...list.map((u) => el('tr', el('td', u.name || ''), el('td', el('span.role', u.role || '')),
        el('td', when(u.created_at)))));
    } catch (e) {
      tbody.replaceChildren(el('tr', el('td', { colSpan: 3 }, el('span.error', e.message))));
    }
  };
  load();
  return () => {};
}
