/*
** api.js -- the one door to the daemon's REST API.  It keeps the session
** token in sessionStorage, sends it as a bearer token, turns the API's JSON
** errors ({"error":{"status","code","message"}}) into ApiError, and on any
** 401 tells the app to go back to the login screen.
*/

const KEY = 'gw_token';

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
    this.body = body;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export function token() { return sessionStorage.getItem(KEY) || ''; }
export function setToken(t) {
  if (t) sessionStorage.setItem(KEY, t);
  else sessionStorage.removeItem(KEY);
}

export async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network', `cannot reach the server (${e.message})`);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!res.ok) {
    const e = data && data.error ? data.error : {};
    const err = new ApiError(res.status, e.code, e.message || (typeof data === 'string' ? data : res.statusText), data);
    if (res.status === 401 && path !== '/api/login') onUnauthorized(err);
    throw err;
  }
  return data;
}

export const get = (p) => request('GET', p);
export const post = (p, b) => request('POST', p, b === undefined ? {} : b);
export const put = (p, b) => request('PUT', p, b);

export async function login(name, password) {
  const r = await request('POST', '/api/login', { name, password });
  const t = r && (r.token || r.session || r.access_token);
  if (!t) throw new ApiError(500, 'bad_login_reply', 'the server sent no token');
  setToken(t);
  return r;
}

export async function logout() {
  try { await request('POST', '/api/logout', {}); } catch { /* the session ends here anyway */ }
  setToken('');
}

export const enc = encodeURIComponent;
