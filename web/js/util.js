/*
** util.js -- small helpers every view shares: building DOM nodes, formatting
** field time and numbers, the confirm dialog and the toast.  No framework:
** views build their nodes with el() and replace them when data changes.
*/

/* el("div.card#x", {onclick}, child, ...): a tag with optional .classes and
** #id, attributes or properties, and children (strings become text). */
export function el(spec, attrs, ...kids) {
  const m = /^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i.exec(spec);
  const node = document.createElement((m && m[1]) || 'div');
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === '.') node.classList.add(part.slice(1));
      else node.id = part.slice(1);
    }
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    kids.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k in node && k !== 'list' && k !== 'type') node[k] = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  append(node, kids);
  return node;
}

function append(node, kids) {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    if (Array.isArray(k)) append(node, k);
    else node.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
}

/* Field time: seconds after midnight as HH:MM:SS (wraps at a day). */
export function clock(t) {
  if (!Number.isFinite(t)) return '--:--:--';
  const s = Math.floor(((t % 86400) + 86400) % 86400);
  const p = (n) => String(n).padStart(2, '0');
  return `${p(Math.floor(s / 3600))}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}`;
}

/* A stored time (epoch seconds, or an ISO text) as "YYYY-MM-DD HH:MM:SS" UTC. */
export function when(v) {
  if (v === null || v === undefined || v === '') return '';
  let d;
  if (typeof v === 'number') d = new Date(v * 1000);
  else if (/^\d+(\.\d+)?$/.test(v)) d = new Date(Number(v) * 1000);
  else d = new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toISOString().replace('T', ' ').slice(0, 19);
}

export function num(v, digits = 0) {
  if (v === null || v === undefined || !Number.isFinite(Number(v))) return '–';
  return Number(v).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/* The API answers lists either as an array or as {something: [...]}. */
export function rows(x) {
  if (Array.isArray(x)) return x;
  if (x && typeof x === 'object') {
    for (const v of Object.values(x)) if (Array.isArray(v)) return v;
  }
  return [];
}

/* A JSON column may come back parsed or as text. */
export function parsed(v) {
  if (typeof v !== 'string') return v;
  try { return JSON.parse(v); } catch { return v; }
}

const ROLES = { viewer: 0, operator: 1, admin: 2 };
export function atLeast(role, min) {
  return (ROLES[role] ?? -1) >= (ROLES[min] ?? 99);
}

/* A modal confirm step: resolves true on Confirm, false on Cancel/Escape. */
export function confirmDialog(title, body, okLabel = 'Confirm', danger = false) {
  const modal = document.getElementById('modal');
  const ok = document.getElementById('modal-ok');
  const cancel = document.getElementById('modal-cancel');
  document.getElementById('modal-title').textContent = title;
  const b = document.getElementById('modal-body');
  b.replaceChildren(typeof body === 'string' ? el('p', body) : body);
  ok.textContent = okLabel;
  ok.className = danger ? 'danger' : 'primary';
  modal.hidden = false;
  ok.focus();
  return new Promise((resolve) => {
    const done = (v) => {
      modal.hidden = true;
      ok.onclick = cancel.onclick = null;
      document.removeEventListener('keydown', key);
      resolve(v);
    };
    const key = (e) => { if (e.key === 'Escape') done(false); };
    ok.onclick = () => done(true);
    cancel.onclick = () => done(false);
    document.addEventListener('keydown', key);
  });
}

let toastTimer = 0;
export function toast(msg, isError = false) {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.className = 'toast' + (isError ? ' err' : '');
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, isError ? 6000 : 3000);
}

/* Colour of a 0..1 load: calm blue-grey through yellow to red. */
export function loadColour(x) {
  const v = Math.max(0, Math.min(1, x || 0));
  if (v < 0.05) return '#3a4a5c';
  const stops = [[0.05, [62, 196, 109]], [0.45, [242, 193, 46]], [0.75, [240, 140, 58]], [1, [229, 72, 77]]];
  for (let i = 1; i < stops.length; i++) {
    const [x1, c1] = stops[i];
    const [x0, c0] = stops[i - 1];
    if (v <= x1) {
      const f = (v - x0) / (x1 - x0);
      const c = c0.map((a, j) => Math.round(a + (c1[j] - a) * f));
      return `rgb(${c[0]},${c[1]},${c[2]})`;
    }
  }
  return 'rgb(229,72,77)';
}
