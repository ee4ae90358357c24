/*
** map.js -- the city map: every lane of the network on a canvas (a city has
** thousands), every signalised intersection as a marker coloured by its
** live state, approach lanes coloured by occupancy or queue, and beside it a
** dense list of the intersections.  Coordinates are the network's own metres
** (L.CRS.Simple, y grows north), so no tiles are needed.
**
** Markers use the SVG renderer (about a hundred of them) so each is a DOM
** node with data-id and data-status; lanes use the canvas renderer.  An
** intersection with a detector out of control gets a small red badge beside
** its marker (counts from detectors.js, asked for every 30 s).
*/
import { el, num, loadColour } from './util.js';
import { health, failedTag, isDetectorAlarm } from './detectors.js';

const FILL = { allred: '#e5484d', yellow: '#f2c12e', green: '#3ec46d', dark: '#555d66' };
const RING = { failsafe: '#d24dd6', flash: '#f2c12e', hold: '#6c8cff', fallback: '#e5484d', transition: '#f08c3a' };
const QUEUE_FULL = 12; /* vehicles that paint a lane fully red */

/* What an intersection's marker shows: the lamps (all-red, some yellow,
** some green) and, above that, a highlight for the states that want an
** operator's eye. */
export function ixStatus(ix) {
  const lamps = String(ix.state || '');
  const fill = !lamps ? 'dark' : /[gG]/.test(lamps) ? 'green' : /[yY]/.test(lamps) ? 'yellow' : /^[oO]+$/.test(lamps) ? 'dark' : 'allred';
  let flag = '';
  if (ix.failsafe) flag = 'failsafe';
  else if (ix.mode === 'flash' || ix.flash) flag = 'flash';
  else if (ix.mode === 'hold') flag = 'hold';
  else if (ix.fallback) flag = 'fallback';
  else if (ix.transition) flag = 'transition';
  return { fill, flag, colour: FILL[fill], ring: RING[flag] || '#0d1217' };
}

export function lampSpans(state) {
  return Array.from(String(state || '')).map((c) => {
    const k = c === 'G' || c === 'g' ? 'g' : c === 'y' || c === 'Y' ? 'y' : c === 'r' || c === 'R' || c === 's' ? 'r' : 'o';
    return el('span.lamp.' + k, { title: c });
  });
}

/* A group's approach for people: the edges of its lanes ("A1A0_0,A1A0_1"
** becomes "A1A0"). */
export function approachLanes(a) {
  if (Array.isArray(a)) return a.filter((x) => typeof x === 'string' && x);
  return typeof a === 'string' ? a.split(/[,\s]+/).filter(Boolean) : [];
}
export function approachName(a) {
  return [...new Set(approachLanes(a).map((l) => l.replace(/_\d+$/, '')))].join(' + ');
}

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/* The marker's tooltip: the junction's name, its id small. */
function tipHtml(i, failed = 0) {
  const name = i.name && i.name !== i.id ? `<b>${escapeHtml(i.name)}</b> <small class="muted">${escapeHtml(i.id)}</small>`
    : `<b>${escapeHtml(i.id)}</b>`;
  return failed > 0 ? `${name}<br><span class="tipbad">${failed} detector${failed > 1 ? 's' : ''} out of control</span>` : name;
}

/* Failed detectors of an intersection: the live state's count when it has
** one, else the last one polled. */
export function failedCount(ctx, id) {
  const ix = ctx.feed.byId.get(id);
  if (ix && typeof ix.detectors_failed === 'number') return ix.detectors_failed;
  return health.failed(id);
}

export function flagTag(flag) {
  const label = { failsafe: 'fail-safe', transition: 'changing' }[flag] || flag;
  return flag ? el('span.tag.' + flag, label) : null;
}

export function mount(root, ctx) {
  const mapDiv = el('div#map');
  const filter = el('input', { type: 'search', placeholder: 'Filter intersections', style: 'flex:1' });
  const tbody = el('tbody');
  const table = el('table.grid#ix-list',
    el('thead', el('tr', el('th', 'Intersection'), el('th', 'Mode'), el('th.num', 'Stage'), el('th', 'Lamps'),
      el('th.num', 'Queue'))), tbody);
  const count = el('span.muted');
  const legend = el('div.legend',
    el('span', el('i', { style: `background:${FILL.green}` }), 'green'),
    el('span', el('i', { style: `background:${FILL.yellow}` }), 'change'),
    el('span', el('i', { style: `background:${FILL.allred}` }), 'all-red'),
    el('span', el('i', { style: `background:transparent;border:2px solid ${RING.transition}` }), 'changing stage'),
    el('span', el('i', { style: `background:transparent;border:2px solid ${RING.failsafe}` }), 'fail-safe'),
    el('span', el('i', { style: `background:transparent;border:2px solid ${RING.flash}` }), 'flash'),
    el('span', el('i', { style: `background:transparent;border:2px solid ${RING.hold}` }), 'hold'),
    el('span', el('i', { style: `background:transparent;border:2px solid ${RING.fallback}` }), 'fallback'),
    el('span', el('i.bar', { style: 'background:linear-gradient(90deg,#3ec46d,#f2c12e,#e5484d)' }), 'approach load'));
  root.append(el('div.mapview', mapDiv,
    el('aside.side', el('div.head', filter, count), el('div.list', table), legend)));

  const map = L.map(mapDiv, { crs: L.CRS.Simple, minZoom: -5, maxZoom: 4, zoomSnap: 0.25, attributionControl: false,
    preferCanvas: false });
  const canvas = L.canvas({ padding: 0.3 });
  const svg = L.svg({ padding: 0.3 });
  const markers = new Map();   /* id -> circleMarker */
  const badges = new Map();    /* id -> failed-detector badge marker */
  const approaches = [];       /* {line, ix, group} */
  const names = new Map();
  let alive = true;

  const ll = (x, y) => L.latLng(y, x);

  ctx.network().then(async (net) => {
    if (!alive) return;
    const [x0, y0, x1, y1] = net.bounds || [0, 0, 1000, 1000];
    map.fitBounds(L.latLngBounds(ll(x0, y0), ll(x1, y1)), { padding: [20, 20] });
    const byEdge = new Map();
    const byLane = new Map();
    for (const lane of net.lanes || []) {
      if (!lane.shape || lane.shape.length < 2) continue;
      const w = Math.max(1, Math.min(4, (Number(lane.width) || 3.2) / 2));
      const line = L.polyline(lane.shape.map(([x, y]) => ll(x, y)),
        { renderer: canvas, color: '#3a4a5c', weight: w, opacity: 0.9, interactive: false });
      line.addTo(map);
      byLane.set(lane.id, { lane, line });
      if (!byEdge.has(lane.edge)) byEdge.set(lane.edge, []);
      byEdge.get(lane.edge).push(lane.id);
    }
    const sig = (net.intersections || []).filter((i) => i.signalised);
    for (const i of net.intersections || []) {
      names.set(i.id, i.name || i.id);
      if (i.signalised) continue;
      L.circleMarker(ll(i.x, i.y), { renderer: canvas, radius: 2, color: '#5b6b7d', weight: 1, fillOpacity: 1,
        interactive: false }).addTo(map);
    }
    for (const i of sig) {
      const m = L.circleMarker(ll(i.x, i.y), { renderer: svg, radius: 7, weight: 3, color: '#0d1217',
        fillColor: FILL.dark, fillOpacity: 1, className: 'gw-ix' });
      m.addTo(map);
      m.bindTooltip(tipHtml(i), { direction: 'top', offset: [0, -6] });
      m.on('click', () => { location.hash = `#/i/${encodeURIComponent(i.id)}`; });
      const p = m.getElement();
      if (p) { p.dataset.id = i.id; p.dataset.status = 'unknown'; }
      markers.set(i.id, m);
    }
    buildList(sig);
    paint(ctx.feed.state);
    sigIds = sig.map((i) => i.id);
    pollHealth();
    /* Which lanes feed which signal group: configs, a few at a time. */
    const queue = sig.slice();
    const worker = async () => {
      while (queue.length && alive) {
        const i = queue.shift();
        let r;
        try { r = await ctx.config(i.id); } catch { continue; }
        if (!alive) return;
        linkApproaches(i, r.config || r, byLane, byEdge);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    paint(ctx.feed.state);
  }).catch((e) => {
    mapDiv.replaceChildren(el('p.error', { style: 'padding:16px' }, `Cannot load the network: ${e.message}`));
  });

  function linkApproaches(i, cfg, byLane, byEdge) {
    const seen = new Set();
    const add = (laneId, group) => {
      const l = byLane.get(laneId);
      if (!l || seen.has(laneId + '/' + group)) return;
      seen.add(laneId + '/' + group);
      approaches.push({ line: l.line, ix: i.id, group });
    };
    for (const d of cfg.detectors || []) if (d.lane) add(d.lane, d.group);
    /* An approach names lanes or edges, several separated by commas. */
    for (const g of cfg.groups || []) {
      for (const a of approachLanes(g.approach)) {
        if (byLane.has(a)) add(a, g.index);
        else if (byEdge.has(a)) for (const lid of byEdge.get(a)) add(lid, g.index);
      }
    }
    /* No named approach: lanes that end at the intersection, coloured by the
    ** intersection as a whole. */
    if (!seen.size) {
      for (const { lane } of byLane.values()) {
        const [ex, ey] = lane.shape[lane.shape.length - 1];
        const [sx, sy] = lane.shape[0];
        if (Math.hypot(ex - i.x, ey - i.y) < 25 && Math.hypot(sx - i.x, sy - i.y) > 30) add(lane.id, -1);
      }
    }
  }

  function buildList(sig) {
    const q = filter.value.trim().toLowerCase();
    const st = ctx.feed;
    tbody.replaceChildren();
    let n = 0;
    for (const i of sig) {
      const name = names.get(i.id) || i.id;
      if (q && !i.id.toLowerCase().includes(q) && !name.toLowerCase().includes(q)) continue;
      n++;
      const tr = el('tr.clickable', { dataset: { id: i.id }, onclick: () => { location.hash = `#/i/${encodeURIComponent(i.id)}`; } });
      tr.append(el('td.name', { title: name !== i.id ? `${name} (${i.id})` : name },
        el('div.nm', el('b', name), el('span.det')), name !== i.id ? el('small.muted.ixid', i.id) : null),
        el('td.mode'), el('td.num.stage'), el('td.lamps'), el('td.num.queue'));
      fillRow(tr, st.byId.get(i.id));
      tbody.append(tr);
    }
    count.textContent = `${n} signalised`;
    for (const tr of tbody.children) {
      const f = failedCount(ctx, tr.dataset.id);
      if (f > 0) tr.querySelector('.det').replaceChildren(failedTag(f));
    }
  }

  function fillRow(tr, ix) {
    if (!ix) return;
    const s = ixStatus(ix);
    const c = tr.children;
    c[1].replaceChildren(ix.mode || '', ' ', flagTag(s.flag) || '');
    c[2].textContent = ix.stage ?? '';
    c[3].replaceChildren(...lampSpans(ix.state));
    c[4].textContent = num((ix.groups || []).reduce((a, g) => a + (Number(g.queue) || 0), 0));
  }

  /* ---- failed detectors ---------------------------------------------------- */
  let sigIds = [];
  const sigById = new Map();
  const paintHealth = (id) => {
    const n = failedCount(ctx, id);
    const m = markers.get(id);
    const b = badges.get(id);
    const tr = tbody.querySelector(`tr[data-id="${CSS.escape(id)}"]`);
    if (tr) { const d = tr.querySelector('.det'); if (d) d.replaceChildren(failedTag(n) || ''); }
    if (!m) return;
    if (n > 0 && !b) {
      const icon = L.divIcon({ className: 'gw-detfail', html: `<span data-id="${escapeHtml(id)}">D</span>`,
        iconSize: [13, 13], iconAnchor: [-3, 16] });
      const bm = L.marker(m.getLatLng(), { icon, interactive: false, keyboard: false, zIndexOffset: 1000 }).addTo(map);
      badges.set(id, bm);
    } else if (n === 0 && b) {
      b.remove();
      badges.delete(id);
    }
    const bm = badges.get(id);
    if (bm && bm.getElement()) bm.getElement().title = `${n} detector${n > 1 ? 's' : ''} out of control`;
    const net = sigById.get(id);
    if (net) m.setTooltipContent(tipHtml(net, n));
  };
  const pollHealth = () => health.loadAll(sigIds, () => alive);
  const healthTimer = setInterval(pollHealth, 30000);
  const offHealth = health.on(paintHealth);
  const offAlarm = ctx.feed.on('alarm', (a) => {
    if (isDetectorAlarm(a) && a.intersection_id) health.load(a.intersection_id).catch(() => {});
  });
  ctx.network().then((net) => { for (const i of net.intersections || []) sigById.set(i.id, i); }).catch(() => {});

  function paint(state) {
    if (!state) return;
    const byId = ctx.feed.byId;
    for (const [id, m] of markers) {
      const ix = byId.get(id);
      if (!ix) continue;
      const s = ixStatus(ix);
      m.setStyle({ fillColor: s.colour, color: s.ring, weight: s.flag && s.flag !== 'transition' ? 4 : 2.5 });
      const p = m.getElement();
      if (p) { p.dataset.status = s.flag || s.fill; p.dataset.fill = s.colour; }
    }
    for (const a of approaches) {
      const ix = byId.get(a.ix);
      if (!ix) continue;
      const gs = ix.groups || [];
      let load = 0;
      if (a.group >= 0 && gs[a.group]) {
        const g = gs[a.group];
        load = Math.max(Number(g.occupancy) || 0, (Number(g.queue) || 0) / QUEUE_FULL);
      } else if (gs.length) {
        load = Math.max(...gs.map((g) => Math.max(Number(g.occupancy) || 0, (Number(g.queue) || 0) / QUEUE_FULL)));
      }
      a.line.setStyle({ color: loadColour(load) });
    }
    for (const tr of tbody.children) fillRow(tr, byId.get(tr.dataset.id));
    /* A count the state carries itself wins over the polled one. */
    for (const ix of state.intersections || []) {
      if (typeof ix.detectors_failed === 'number' && (ix.detectors_failed > 0) !== badges.has(ix.id)) paintHealth(ix.id);
    }
  }

  filter.addEventListener('input', () => ctx.network().then((net) => buildList((net.intersections || []).filter((i) => i.signalised))));
  const off = ctx.feed.on('state', paint);
  const ro = new ResizeObserver(() => map.invalidateSize());
  ro.observe(mapDiv);
  return () => { alive = false; off(); offHealth(); offAlarm(); clearInterval(healthTimer); ro.disconnect(); map.remove(); };
}
