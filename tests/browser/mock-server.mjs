// mock-server.mjs -- a small stand-in for `greenwave serve`, used while
// developing the dashboard: it serves web/ and the REST API over a 3x3 grid
// whose signals cycle in field time.  It has no WebSocket, so the dashboard
// runs on its polling fallback.  The browser tests run against the real
// daemon; `node mock-server.mjs PORT` is for working on the pages alone.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.resolve(here, '../../web');
const port = Number(process.argv[2] || 8089);
const speed = 10;
const t0 = 8 * 3600;
const started = Date.now();
const epochDay = Math.floor(Date.now() / 86400000) * 86400;
const fieldT = () => t0 + ((Date.now() - started) / 1000) * speed;

const users = new Map([['admin', { pw: 'admin', role: 'admin' }], ['op', { pw: 'op', role: 'operator' }],
  ['view', { pw: 'view', role: 'viewer' }]]);
const sessions = new Map();
const audit = [];
const alarms = [];
const plans = new Map();

// A 3x3 grid, 300 m apart; each intersection has 4 groups (N, E, S, W) and
// two stages (N-S, E-W).
const ids = [];
const lanes = [];
const inters = [];
for (let r = 0; r < 3; r++) {
  for (let c = 0; c < 3; c++) {
    const id = `J${r}${c}`;
    ids.push(id);
    inters.push({ id, name: `Street ${r + 1} / Avenue ${c + 1}`, x: 100 + c * 300, y: 100 + r * 300, signalised: true });
  }
}
for (const i of inters) {
  for (const [dx, dy, dir] of [[0, 1, 'N'], [1, 0, 'E'], [0, -1, 'S'], [-1, 0, 'W']]) {
    const edge = `${i.id}_in_${dir}`;
    for (let k = 0; k < 2; k++) {
      const off = (k + 1) * 3.2;
      const ox = dy !== 0 ? -dy * off : 0;
      const oy = dx !== 0 ? dx * off : 0;
      lanes.push({ id: `${edge}_${k}`, edge, width: 3.2,
        shape: [[i.x + dx * 140 + ox, i.y + dy * 140 + oy], [i.x + dx * 12 + ox, i.y + dy * 12 + oy]] });
    }
  }
}
const config = (i) => ({
  id: i.id, name: i.name, x: i.x, y: i.y, nlinks: 8,
  groups: ['N', 'E', 'S', 'W'].map((d, g) => ({ index: g, links: [2 * g, 2 * g + 1], min_green_s: 7, yellow_s: 3,
    approach: `${i.id}_in_${d}` })),
  allred_s: [[0, 2, 0, 2], [2, 0, 2, 0], [0, 2, 0, 2], [2, 0, 2, 0]],
  conflict: [[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]],
  stages: [{ index: 0, green: [0, 2], minor: [], green_s: 30, min_s: 12, max_s: 50 },
    { index: 1, green: [1, 3], minor: [], green_s: 30, min_s: 12, max_s: 50 }],
  cycle_s: 60, offset_s: 0,
  detectors: ['N', 'E', 'S', 'W'].map((d, g) => ({ id: `D_${i.id}_${d}`, group: g, lane: `${i.id}_in_${d}_0` })),
});
const modes = new Map(ids.map((id) => [id, { mode: 'fixed', param: null, plan: null }]));

function ixState(i, t) {
  const m = modes.get(i.id);
  const k = inters.indexOf(i);
  const tc = (t + k * 7) % 60;
  let lamps;
  let stage = tc < 30 ? 0 : 1;
  if (m.mode === 'flash') lamps = ['y', 'y', 'y', 'y'];
  else {
    if (m.mode === 'hold') stage = Number(m.param) || 0;
    const ph = m.mode === 'hold' ? 0 : tc % 30;
    const g = ph < 25 ? 'g' : ph < 28 ? 'y' : 'r';
    lamps = [0, 1, 2, 3].map((gi) => (gi % 2 === stage ? g : 'r'));
  }
  return {
    id: i.id, state: lamps.map((l) => l + l).join(''), stage, target: stage, mode: m.mode, mode_param: m.param,
    plan_version: m.plan, failsafe: k === 8, transition: false,
    groups: lamps.map((l, gi) => ({ lamp: l, since_s: tc % 30 < 25 ? tc % 30 : (tc % 30) - 25,
      queue: l === 'r' ? Math.round((tc % 30) / 3 + gi) : 1, occupancy: l === 'r' ? 0.2 + 0.02 * (tc % 30) : 0.1 })),
  };
}
function state() {
  const t = fieldT();
  return { type: 'state', t, epoch: epochDay + t, speed, vehicles: 400 + Math.round(50 * Math.sin(t / 300)),
    arrived: Math.round(t - t0), mean_delay_s: 20 + 5 * Math.sin(t / 200), throughput_vph: 1800 + 100 * Math.cos(t / 250),
    alarms_open: alarms.filter((a) => !a.acked_at && !a.cleared_at).length,
    intersections: inters.map((i) => ixState(i, t)), loop: { steps: 0 } };
}
alarms.push({ id: 1, t: epochDay + t0 - 60, intersection_id: 'J22', kind: 'failsafe', severity: 'critical',
  message: 'conflicting greens requested; fail-safe flash', acked_by: null, acked_at: null, cleared_at: null });

const send = (res, status, obj) => {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(obj));
};
const fail = (res, status, code, message) => send(res, status, { error: { status, code, message } });
const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml' };

function validate(cfg, b) {
  if (!(b.cycle_s > 0)) return 'cycle_s must be positive';
  if (!Array.isArray(b.splits_s) || b.splits_s.length !== cfg.stages.length) return `splits_s needs ${cfg.stages.length} values`;
  for (let s = 0; s < b.splits_s.length; s++) {
    if (b.splits_s[s] < 12) return `stage ${s}: split ${b.splits_s[s]} s leaves less than the minimum green 7 s after yellow 3 s and all-red 2 s`;
  }
  const sum = b.splits_s.reduce((a, x) => a + x, 0);
  if (Math.abs(sum - b.cycle_s) > 1e-6) return `splits add up to ${sum} s, not the cycle ${b.cycle_s} s`;
  if (!(b.offset_s >= 0 && b.offset_s < b.cycle_s)) return 'offset_s must lie in [0, cycle_s)';
  return null;
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  let body = '';
  for await (const chunk of req) body += chunk;
  let json = {};
  try { json = body ? JSON.parse(body) : {}; } catch { return fail(res, 400, 'bad_json', 'body is not JSON'); }
  if (!p.startsWith('/api/')) {
    const f = path.join(webDir, p === '/' ? 'index.html' : path.normalize(p).replace(/^([/\\])+/, ''));
    if (!f.startsWith(webDir) || !fs.existsSync(f) || fs.statSync(f).isDirectory()) { res.writeHead(404); return res.end('not found'); }
    res.writeHead(200, { 'Content-Type': MIME[path.extname(f)] || 'application/octet-stream' });
    return res.end(fs.readFileSync(f));
  }
  const route = `${req.method} ${p}`;
  if (route === 'GET /api/health') return send(res, 200, { ok: true });
  if (route === 'POST /api/login') {
    const u = users.get(json.name);
    if (!u || u.pw !== json.password) return fail(res, 401, 'bad_login', 'wrong name or password');
    const tok = crypto.randomBytes(16).toString('hex');
    sessions.set(tok, json.name);
    return send(res, 200, { token: tok, name: json.name, role: u.role });
  }
  const tok = (req.headers.authorization || '').replace(/^Bearer /, '');
  const who = sessions.get(tok);
  if (!who) return fail(res, 401, 'unauthorized', 'sign in first');
  const role = users.get(who).role;
  const rank = { viewer: 0, operator: 1, admin: 2 }[role];
  const need = (r) => (rank < r ? (fail(res, 403, 'forbidden', 'your role may not do this'), true) : false);
  const log = (action, target, before, after) => audit.unshift({ id: audit.length + 1, t: Date.now() / 1000, user: who, action, target, before, after });
  let m;
  if (route === 'POST /api/logout') { sessions.delete(tok); return send(res, 200, {}); }
  if (route === 'GET /api/me') return send(res, 200, { name: who, role });
  if (route === 'GET /api/network') return send(res, 200, { bounds: [-50, -50, 750, 750], lanes, intersections: inters });
  if (route === 'GET /api/state') return send(res, 200, state());
  if ((m = /^GET \/api\/intersections\/([^/]+)$/.exec(route))) {
    const i = inters.find((x) => x.id === decodeURIComponent(m[1]));
    if (!i) return fail(res, 404, 'not_found', 'no such intersection');
    const md = modes.get(i.id);
    return send(res, 200, { config: config(i), mode: md.mode, mode_param: md.param, plan_version: md.plan, state: ixState(i, fieldT()) });
  }
  if ((m = /^PUT \/api\/intersections\/([^/]+)\/mode$/.exec(route))) {
    if (need(1)) return;
    const md = modes.get(decodeURIComponent(m[1]));
    if (!md) return fail(res, 404, 'not_found', 'no such intersection');
    if (!['fixed', 'actuated', 'adaptive', 'maxpressure', 'hold', 'flash'].includes(json.mode)) return fail(res, 422, 'bad_mode', 'unknown mode');
    log('mode.set', m[1], { mode: md.mode }, { mode: json.mode, param: json.param ?? null });
    md.mode = json.mode;
    md.param = json.param ?? null;
    return send(res, 200, { mode: md.mode });
  }
  if ((m = /^(GET|POST) \/api\/intersections\/([^/]+)\/plans$/.exec(route))) {
    const id = decodeURIComponent(m[2]);
    const i = inters.find((x) => x.id === id);
    if (!i) return fail(res, 404, 'not_found', 'no such intersection');
    const list = plans.get(id) || [];
    if (m[1] === 'GET') return send(res, 200, list.slice().reverse());
    if (need(1)) return;
    const why = validate(config(i), json);
    if (why) return fail(res, 422, 'invalid_plan', why);
    const version = list.length + 1;
    const row = { intersection_id: id, version, body: { cycle_s: json.cycle_s, offset_s: json.offset_s, splits_s: json.splits_s },
      created_at: Date.now() / 1000, created_by: who, note: json.note || '', active: false };
    list.push(row);
    plans.set(id, list);
    log('plan.create', `${id}/v${version}`, null, row.body);
    return send(res, 201, { version });
  }
  if ((m = /^POST \/api\/intersections\/([^/]+)\/plans\/(\d+)\/activate$/.exec(route))) {
    if (need(1)) return;
    const id = decodeURIComponent(m[1]);
    const list = plans.get(id) || [];
    const row = list.find((r) => r.version === Number(m[2]));
    if (!row) return fail(res, 404, 'not_found', 'no such plan');
    for (const r of list) r.active = r === row;
    modes.get(id).plan = row.version;
    log('plan.activate', `${id}/v${row.version}`, null, { version: row.version });
    return send(res, 200, { version: row.version });
  }
  if (route === 'GET /api/alarms') {
    return send(res, 200, url.searchParams.get('open') ? alarms.filter((a) => !a.cleared_at) : alarms);
  }
  if ((m = /^POST \/api\/alarms\/(\d+)\/ack$/.exec(route))) {
    if (need(1)) return;
    const a = alarms.find((x) => x.id === Number(m[1]));
    if (!a) return fail(res, 404, 'not_found', 'no such alarm');
    a.acked_by = who;
    a.acked_at = Date.now() / 1000;
    log('alarm.ack', String(a.id), null, null);
    return send(res, 200, {});
  }
  if (route === 'GET /api/aggregates') {
    const id = url.searchParams.get('intersection');
    const to = Number(url.searchParams.get('to')) || epochDay + fieldT();
    const out = [];
    for (let s = Math.floor((to - 3600) / 300) * 300; s < to; s += 300) {
      for (const d of ['N', 'E', 'S', 'W']) out.push({ detector_id: `D_${id}_${d}`, intersection_id: id, period_s: 300, start: s, volume: 40 + Math.round(20 * Math.sin(s / 900 + d.charCodeAt(0))), occupancy: 0.2 });
    }
    return send(res, 200, out);
  }
  if (route === 'GET /api/audit') { if (need(1)) return; return send(res, 200, audit.slice(0, 100)); }
  if (route === 'GET /api/users') { if (need(2)) return; return send(res, 200, [...users].map(([name, u]) => ({ name, role: u.role, created_at: started / 1000 }))); }
  if (route === 'POST /api/users') {
    if (need(2)) return;
    if (!json.name || !json.password) return fail(res, 400, 'bad_user', 'name and password are required');
    users.set(json.name, { pw: json.password, role: json.role || 'viewer' });
    log('user.add', json.name, null, { role: json.role });
    return send(res, 201, { name: json.name });
  }
  return fail(res, 404, 'not_found', `no route ${route}`);
});
server.listen(port, '127.0.0.1', () => console.log(`mock greenwave on http://127.0.0.1:${port}/`));
