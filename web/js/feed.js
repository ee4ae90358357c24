/*
** feed.js -- the live feed and the history the dashboard keeps of it.
**
** A WebSocket on /api/ws carries {"type":"state"} once a second and
** {"type":"alarm"} when one is raised.  When the socket drops it reconnects
** with backoff (1 s doubling to 30 s); while it is down GET /api/state is
** polled every 2 s, so the dashboard works behind a proxy that refuses
** WebSockets.  The feed is "live" while a state arrived in the last 5 s.
**
** History is kept client-side, trimmed by field time: the network figures
** and every intersection's queue for the last hour, and each signal group's
** lamp segments for the last 10 minutes (rebuilt from since_s, so a yellow
** shorter than the feed's period still shows).
*/
import * as api from './api.js';

const HOUR = 3600;
const LAMP_KEEP_S = 600;
const STALE_MS = 5000;

export class Feed {
  constructor() {
    this.state = null;
    this.byId = new Map();      /* intersection id -> its live state */
    this.lastAt = 0;            /* performance.now() of the last state */
    this.via = 'none';          /* "ws", "poll" or "none" */
    this.net = { t: [], vehicles: [], delay: [], thru: [], arrived: [] };
    this.queues = new Map();    /* id -> {t: [], q: []} */
    this.lamps = new Map();     /* id -> [[{start, lamp}], ...] per group */
    this.yellow = new Map();    /* id -> [yellow_s per group] (from configs) */
    this.handlers = { state: new Set(), alarm: new Set(), status: new Set() };
    this.ws = null;
    this.backoff = 1000;
    this.pollTimer = 0;
    this.retryTimer = 0;
    this.running = false;
    this.staleTimer = 0;
  }

  on(kind, fn) { this.handlers[kind].add(fn); return () => this.handlers[kind].delete(fn); }
  emit(kind, x) { for (const fn of this.handlers[kind]) { try { fn(x); } catch (e) { console.error(e); } } }

  live() { return this.state !== null && performance.now() - this.lastAt < STALE_MS; }

  start() {
    if (this.running) return;
    this.running = true;
    this.connect();
    this.staleTimer = setInterval(() => this.emit('status', this.status()), 1000);
    /* A first picture at once, without waiting for the socket. */
    this.pollOnce();
  }

  stop() {
    this.running = false;
    clearTimeout(this.retryTimer);
    clearInterval(this.pollTimer);
    clearInterval(this.staleTimer);
    this.pollTimer = 0;
    if (this.ws) { this.ws.onclose = null; this.ws.close(); this.ws = null; }
  }

  status() { return { live: this.live(), via: this.via, state: this.state }; }

  connect() {
    if (!this.running) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new WebSocket(`${proto}//${location.host}/api/ws?token=${encodeURIComponent(api.token())}`);
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.backoff = 1000;
      this.via = 'ws';
      this.stopPolling();
    };
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch { return; }
      if (m.type === 'alarm') this.emit('alarm', m.alarm || m);
      else if (m.type === 'state' || m.intersections) this.take(m);
    };
    ws.onclose = () => {
      this.ws = null;
      if (!this.running) return;
      if (!opened) this.backoff = Math.min(this.backoff * 2, 30000);
      this.startPolling();
      this.retry();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  retry() {
    clearTimeout(this.retryTimer);
    const wait = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, 30000);
    this.retryTimer = setTimeout(() => this.connect(), wait);
  }

  startPolling() {
    if (this.pollTimer) return;
    this.via = 'poll';
    this.pollTimer = setInterval(() => this.pollOnce(), 2000);
    this.emit('status', this.status());
  }

  stopPolling() {
    clearInterval(this.pollTimer);
    this.pollTimer = 0;
  }

  async pollOnce() {
    try {
      const s = await api.get('/api/state');
      if (s && this.running && (this.via !== 'ws' || !this.state)) this.take(s);
    } catch { /* stale shows it; a 401 has already gone to the login */ }
  }

  take(s) {
    if (this.state && s.t !== undefined && this.state.t !== undefined && s.t < this.state.t - 1 &&
        s.t > this.state.t - 80000) return; /* an old poll answer arriving late */
    this.state = s;
    this.lastAt = performance.now();
    const t = Number(s.t) || 0;
    const n = this.net;
    n.t.push(t);
    n.vehicles.push(s.vehicles ?? null);
    n.delay.push(s.mean_delay_s ?? null);
    n.thru.push(s.throughput_vph ?? null);
    n.arrived.push(s.arrived ?? null);
    trim(n, t - HOUR);
    for (const ix of s.intersections || []) {
      this.byId.set(ix.id, ix);
      this.record(ix, t);
    }
    this.emit('state', s);
    this.emit('status', this.status());
  }

  record(ix, t) {
    let q = this.queues.get(ix.id);
    if (!q) this.queues.set(ix.id, (q = { t: [], q: [], occ: [] }));
    const groups = ix.groups || [];
    q.t.push(t);
    q.q.push(groups.reduce((a, g) => a + (Number(g.queue) || 0), 0));
    q.occ.push(groups.length ? groups.reduce((a, g) => a + (Number(g.occupancy) || 0), 0) / groups.length : 0);
    trim(q, t - HOUR);

    let segs = this.lamps.get(ix.id);
    if (!segs) this.lamps.set(ix.id, (segs = []));
    const yel = this.yellow.get(ix.id);
    groups.forEach((g, i) => {
      const list = segs[i] || (segs[i] = []);
      const lamp = g.lamp || 'r';
      const start = t - (Number(g.since_s) || 0);
      const last = list[list.length - 1];
      if (!last) {
        list.push({ start, lamp });
      } else if (last.lamp !== lamp && start > last.start) {
        /* A yellow that fell between two frames: put it back before the red. */
        const y = yel ? yel[i] : 3;
        if (last.lamp === 'g' && lamp === 'r' && y > 0 && start - y > last.start) {
          list.push({ start: start - y, lamp: 'y' });
        }
        list.push({ start, lamp });
      } else if (last.lamp !== lamp) {
        list.push({ start: Math.max(last.start, t - 0.001), lamp });
      }
      while (list.length > 2 && list[1].start < t - LAMP_KEEP_S) list.shift();
    });
  }

  setYellow(id, ys) { this.yellow.set(id, ys); }
}

function trim(series, from) {
  const ts = series.t;
  let k = 0;
  while (k < ts.length && ts[k] < from) k++;
  if (k > 0) for (const key of Object.keys(series)) series[key].splice(0, k);
  /* Field time went backwards (a restart, midnight): start over. */
  const last = ts.length - 1;
  if (last > 0 && ts[last] < ts[last - 1]) for (const key of Object.keys(series)) series[key].splice(0, last);
}

export const feed = new Feed();
