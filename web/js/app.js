/*
** app.js -- the dashboard's entry point: login and logout, the hash router
** that mounts one view at a time into <main>, the header status bar, and the
** shared stores every view reads (who is logged in, the live feed, the
** network, intersection configs, open alarms).
**
** Routes: #/map, #/i/ID (intersection), #/i/ID/measures (performance
** measures), #/i/ID/plans (plan editor), #/alarms, #/charts, #/audit,
** #/users.
*/
import * as api from './api.js';
import { feed } from './feed.js';
import { clock, num, rows, atLeast, toast } from './util.js';
import * as mapView from './map.js';
import * as ixView from './intersection.js';
import * as alarmsView from './alarms.js';
import * as chartsView from './charts.js';
import * as auditView from './audit.js';
import * as usersView from './users.js';

const $ = (id) => document.getElementById(id);

/* Shared stores handed to every view. */
export const ctx = {
  me: null,
  feed,
  networkP: null,
  configs: new Map(),
  names: new Map(),     /* intersection id -> display name, from the network */
  alarms: [],
  alarmSubs: new Set(),
  network() {
    if (!this.networkP) {
      this.networkP = api.get('/api/network').then((net) => {
        for (const i of net.intersections || []) if (i.name && i.name !== i.id) this.names.set(i.id, i.name);
        return net;
      }).catch((e) => { this.networkP = null; throw e; });
    }
    return this.networkP;
  },
  async config(id) {
    if (!this.configs.has(id)) {
      const p = api.get(`/api/intersections/${api.enc(id)}`).then((r) => {
        const cfg = r.config || r;
        feed.setYellow(id, (cfg.groups || []).map((g) => Number(g.yellow_s) || 0));
        return r;
      });
      this.configs.set(id, p);
      p.catch(() => this.configs.delete(id));
    }
    return this.configs.get(id);
  },
  can(min) { return this.me && atLeast(this.me.role, min); },
  async loadAlarms() {
    try {
      this.alarms = rows(await api.get('/api/alarms?open=1'));
    } catch (e) {
      if (e.status !== 401) console.warn('alarms:', e.message);
    }
    this.alarmsChanged();
  },
  alarmsChanged(fresh) {
    const n = this.alarms.filter((a) => !a.acked_at && !a.cleared_at).length;
    const b = $('alarm-badge');
    b.textContent = String(n);
    b.hidden = n === 0;
    for (const fn of this.alarmSubs) fn(fresh);
  },
};

const views = {
  map: mapView, i: ixView, alarms: alarmsView, charts: chartsView, audit: auditView, users: usersView,
};

let unmount = null;
let lastAlarmSync = 0;

function route() {
  if (!ctx.me) return;
  const parts = (location.hash.replace(/^#\/?/, '') || 'map').split('/').map(decodeURIComponent);
  let name = parts[0];
  if (!views[name]) name = 'map';
  const need = { audit: 'operator', users: 'admin' }[name];
  if (need && !ctx.can(need)) name = 'map';
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.dataset.view === name || (name === 'i' && a.dataset.view === 'map'));
  }
  if (unmount) { try { unmount(); } catch (e) { console.error(e); } }
  const main = $('view');
  main.replaceChildren();
  main.scrollTop = 0;
  unmount = views[name].mount(main, ctx, parts.slice(1)) || null;
}

function showLogin(msg) {
  feed.stop();
  if (unmount) { try { unmount(); } catch { /* leaving anyway */ } unmount = null; }
  ctx.me = null;
  ctx.networkP = null;
  ctx.configs.clear();
  $('shell').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = msg || '';
  $('login-password').value = '';
  $('login-name').focus();
}

async function enter() {
  try {
    ctx.me = await api.get('/api/me');
  } catch (e) {
    showLogin(e.status === 401 ? '' : e.message);
    return;
  }
  $('login').hidden = true;
  $('shell').hidden = false;
  $('user-name').textContent = ctx.me.name;
  $('user-role').textContent = ctx.me.role;
  document.body.dataset.role = ctx.me.role;
  for (const a of document.querySelectorAll('#nav a[data-min-role]')) a.hidden = !ctx.can(a.dataset.minRole);
  feed.start();
  ctx.loadAlarms();
  ctx.network().then(() => ctx.alarmsChanged()).catch(() => { /* the map says so */ });
  route();
}

function paintStatus({ live, via, state }) {
  const pill = $('st-live');
  pill.textContent = live ? (via === 'poll' ? 'live (poll)' : 'live') : 'stale';
  pill.className = 'pill ' + (live ? (via === 'poll' ? 'polling' : 'live') : 'stale');
  if (!state) return;
  $('st-clock').textContent = clock(state.t);
  $('st-date').textContent = state.epoch ? ' ' + new Date(state.epoch * 1000).toISOString().slice(0, 10) : '';
  $('st-veh').textContent = num(state.vehicles);
  $('st-delay').textContent = num(state.mean_delay_s, 1);
  $('st-thru').textContent = num(state.throughput_vph);
  $('st-alarms').textContent = num(state.alarms_open);
  const open = ctx.alarms.filter((a) => !a.acked_at && !a.cleared_at).length;
  if (state.alarms_open !== undefined && state.alarms_open !== open && performance.now() - lastAlarmSync > 10000) {
    lastAlarmSync = performance.now();
    ctx.loadAlarms();
  }
}

feed.on('status', paintStatus);
feed.on('alarm', (a) => {
  if (a && a.id !== undefined && ctx.alarms.some((x) => x.id === a.id)) return;
  ctx.alarms.unshift(a);
  ctx.alarmsChanged(a);
  const where = a.intersection_id ? ctx.names.get(a.intersection_id) || a.intersection_id : '';
  toast(`Alarm ${where ? where + ': ' : ''}${a.message || a.kind || ''}`, true);
});

api.setUnauthorizedHandler(() => {
  if (ctx.me) { api.setToken(''); showLogin('Your session ended: please sign in again.'); }
});

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const btn = $('login-submit');
  btn.disabled = true;
  $('login-error').textContent = '';
  try {
    await api.login($('login-name').value.trim(), $('login-password').value);
    await enter();
  } catch (e) {
    $('login-error').textContent = e.status === 401 ? 'Wrong name or password.' : e.message;
  } finally {
    btn.disabled = false;
  }
});

$('logout').addEventListener('click', async () => {
  await api.logout();
  location.hash = '#/map';
  showLogin('Signed out.');
});

window.addEventListener('hashchange', route);

if (api.token()) enter();
else showLogin();
