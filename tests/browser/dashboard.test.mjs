// dashboard.test.mjs -- end-to-end tests of the dashboard in a headless
// Chromium (playwright-core driving the system's browser), against a running
// daemon.  run.sh starts the daemon and sets GW_URL and the users' names and
// passwords; the tests run in order and share one browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const shots = path.join(here, 'screenshots');
const base = process.env.GW_URL || 'http://127.0.0.1:8089';
const admin = [process.env.GW_ADMIN || 'admin', process.env.GW_ADMIN_PW || 'admin'];
const viewer = [process.env.GW_VIEWER || 'view', process.env.GW_VIEWER_PW || 'view'];
const operator = [process.env.GW_OPERATOR || 'op', process.env.GW_OPERATOR_PW || 'op'];
const STEP = { timeout: 60000 };

let browser;
let page;
const problems = [];
let ixId = '';
let measId = ''; /* the intersection put under actuated control for the measures */

before(async () => {
  fs.mkdirSync(shots, { recursive: true });
  const args = ['--disable-gpu', '--disable-dev-shm-usage'];
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.setDefaultTimeout(20000);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/WebSocket|401|Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`); });
});

after(async () => { if (browser) await browser.close(); });

const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`) });

/* A screenshot of the whole view, however long: the page scrolls inside
** <main>, so the window is made as tall as its content for the picture. */
async function tallShot(name) {
  const h = await page.evaluate(() => document.getElementById('view').scrollHeight + 46);
  await page.setViewportSize({ width: 1440, height: Math.min(4000, Math.max(900, h)) });
  await page.waitForTimeout(500); /* the charts redraw at the new size */
  await shot(name);
  await page.setViewportSize({ width: 1440, height: 900 });
}

/* The API from inside the page, with the signed-in user's token. */
const call = (method, p, body) => page.evaluate(async ([m, u, b]) => {
  const r = await fetch(u, { method: m, headers: { Authorization: `Bearer ${sessionStorage.getItem('gw_token')}`,
    'Content-Type': 'application/json' }, body: b === undefined ? undefined : JSON.stringify(b) });
  return { status: r.status, body: await r.json().catch(() => null) };
}, [method, p, body]);

async function login([name, pw]) {
  await page.goto(base + '/#/map');
  await page.locator('#login-form').waitFor();
  await page.fill('#login-name', name);
  await page.fill('#login-password', pw);
  await page.click('#login-submit');
  await page.locator('#shell').waitFor();
  await page.waitForFunction((n) => document.getElementById('user-name').textContent === n, name);
}

async function logout() {
  await page.click('#logout');
  await page.locator('#login-form').waitFor();
}

/* The map's marker colours, as "id:status" joined. */
const markerPicture = () => page.evaluate(() => [...document.querySelectorAll('path.gw-ix')]
  .map((p) => `${p.dataset.id}:${p.dataset.status}:${p.getAttribute('fill')}`).join(' '));

test('a wrong password is refused and the right one lets an admin in', STEP, async () => {
  await page.goto(base + '/');
  await page.fill('#login-name', admin[0]);
  await page.fill('#login-password', 'not-the-password');
  await page.click('#login-submit');
  await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);
  assert.equal(await page.isVisible('#shell'), false);
  await login(admin);
  assert.equal(await page.textContent('#user-role'), 'admin');
  /* One intersection runs actuated from now on, so that its measures show
  ** gap-outs and max-outs by the time the Measures test looks at them. */
  const net = await call('GET', '/api/network');
  const sig = net.body.intersections.filter((i) => i.signalised).map((i) => i.id);
  measId = sig.includes('B1') ? 'B1' : sig[Math.min(1, sig.length - 1)];
  const r = await call('PUT', `/api/intersections/${encodeURIComponent(measId)}/mode`, { mode: 'actuated' });
  assert.equal(r.status, 200);
});

test('the map shows the intersections and their colours follow the live feed', STEP, async () => {
  await page.goto(base + '/#/map');
  await page.waitForFunction(() => document.querySelectorAll('path.gw-ix').length > 0);
  const n = await page.locator('path.gw-ix').count();
  assert.ok(n >= 4, `expected signalised intersections on the map, saw ${n}`);
  /* Wait until every marker has had a live state, then until the picture changes. */
  await page.waitForFunction(() => [...document.querySelectorAll('path.gw-ix')].every((p) => p.dataset.status !== 'unknown'));
  const first = await markerPicture();
  let changed = false;
  for (let i = 0; i < 40 && !changed; i++) {
    await page.waitForTimeout(1000);
    changed = (await markerPicture()) !== first;
  }
  assert.ok(changed, 'the marker colours never changed');
  await page.waitForFunction(() => /^live/.test(document.getElementById('st-live').textContent));
  assert.match(await page.textContent('#st-clock'), /^\d\d:\d\d:\d\d$/);
  assert.ok((await page.locator('#ix-list tbody tr').count()) === n, 'the side list has one row per marker');
  await shot('map');
});

test('clicking an intersection opens its view with the phase timeline', STEP, async () => {
  ixId = await page.locator('path.gw-ix').first().getAttribute('data-id');
  await page.locator('#ix-list tbody tr').first().click();
  ixId = decodeURIComponent((await page.evaluate(() => location.hash)).split('/')[2]);
  await page.waitForFunction((id) => location.hash === `#/i/${encodeURIComponent(id)}`, ixId);
  await page.locator('#timeline').waitFor();
  await page.locator('#detectors .bar').first().waitFor();
  await page.locator('#mode-apply').waitFor();
  assert.ok((await page.textContent('.ihead h1')).includes(ixId));
  await page.waitForTimeout(2500); /* a few frames onto the timeline */
  await shot('intersection');
});

test('a plan with a bad split is refused by the server; fixed, it is saved and activated', STEP, async () => {
  await page.click('#tab-plans');
  await page.locator('#plan-save').waitFor();
  /* A plan that the safety rules accept, from the configuration's minimums. */
  const plan = await page.evaluate(async (id) => {
    const { minSplits } = await import('/js/plans.js');
    const r = await fetch(`/api/intersections/${encodeURIComponent(id)}`, { headers: { Authorization: `Bearer ${sessionStorage.getItem('gw_token')}` } });
    const cfg = (await r.json()).config;
    const mins = minSplits(cfg).map((m) => Math.ceil(m));
    const n = mins.length;
    const cycle = Math.max(Math.ceil(cfg.cycle_s || 0), mins.reduce((a, b) => a + b, 0) + 20 * n);
    const extra = cycle - mins.reduce((a, b) => a + b, 0);
    const splits = mins.map((m, i) => m + Math.floor(extra / n) + (i === 0 ? extra % n : 0));
    return { cycle, splits };
  }, ixId);
  assert.ok(plan.splits.length >= 2, 'the intersection has at least two stages');
  const fillPlan = async (splits) => {
    await page.fill('input[name=cycle_s]', String(plan.cycle));
    await page.fill('input[name=offset_s]', '0');
    for (let i = 0; i < splits.length; i++) await page.fill(`input[name=split_${i}]`, String(splits[i]));
  };
  const bad = plan.splits.slice();
  bad[1] += bad[0] - 1;
  bad[0] = 1;
  await fillPlan(bad);
  await page.fill('input[name=note]', 'browser test: too short a split');
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/plans') && r.request().method() === 'POST'),
    page.click('#plan-save'),
  ]);
  assert.equal(res.status(), 422);
  const message = (await res.json()).error.message;
  assert.ok(message.length > 0);
  await page.waitForFunction((m) => [...document.querySelectorAll('#plan-editor .error')].some((e) => e.textContent.includes(m)), message);
  await shot('plan-editor-refused');

  await fillPlan(plan.splits);
  await page.fill('input[name=note]', 'browser test: a valid plan');
  const [ok] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/plans') && r.request().method() === 'POST'),
    page.click('#plan-save'),
  ]);
  assert.equal(ok.status(), 201);
  const version = (await ok.json()).version;
  await page.locator('#plan-activate').waitFor();
  await page.locator(`#plan-list tr[data-version="${version}"]`).waitFor();
  await page.click('#plan-activate');
  await page.locator('#modal-ok').click();
  await page.waitForFunction(() => /is active/.test(document.getElementById('plan-saved').textContent));
  await page.locator(`#plan-list tr[data-version="${version}"] .tag.active`).waitFor();
  await shot('plan-editor');
});

test('the audit view shows the plan being created and activated by admin', STEP, async () => {
  await page.goto(base + '/#/audit');
  await page.locator('#audit-list tbody tr').first().waitFor();
  const rows = await page.$$eval('#audit-list tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  const has = (action) => rows.some((r) => r[2] === admin[0] && r[3] === action);
  assert.ok(has('plan.create'), 'no plan.create by admin in the audit view');
  assert.ok(has('plan.activate'), 'no plan.activate by admin in the audit view');
  await shot('audit');
});

test('the Measures tab draws the coordination diagram and the split monitor', { timeout: 120000 }, async () => {
  /* Enough field time for an actuated hour's worth of cycles: twenty
  ** minutes after the start (the daemon starts at 00:00). */
  await page.waitForFunction(() => {
    const t = document.getElementById('st-clock').textContent.split(':').map(Number);
    return t.length === 3 && t[0] * 3600 + t[1] * 60 + t[2] >= 1200;
  }, null, { timeout: 100000, polling: 1000 });
  await page.goto(`${base}/#/i/${encodeURIComponent(measId)}`);
  await page.click('#tab-measures');
  await page.waitForFunction(() => location.hash.endsWith('/measures'));
  await page.waitForFunction(() => Number(document.querySelector('#pcd')?.dataset.cycles) > 0);
  assert.equal(await page.isVisible('#measures-empty'), false);
  const pcd = await page.evaluate(() => ({ ...document.getElementById('pcd').dataset }));
  assert.ok(Number(pcd.arrivals) > 0, 'the coordination diagram has no arrivals');
  assert.ok(Number(await page.getAttribute('#split-monitor', 'data-cycles')) > 0, 'the split monitor has no cycles');
  /* AOG per phase: every phase of the configuration has a row, some with arrivals. */
  const aog = await page.$$eval('#aog-table tbody tr', (trs) => trs.map((tr) => Number(tr.children[3].textContent.replace(/,/g, ''))));
  assert.ok(aog.length >= 2 && aog.some((n) => n > 0), `arrivals per phase: ${aog}`);
  /* Actuated control logs its terminations. */
  const term = await page.$$eval('#fail-table tbody tr', (trs) => trs.map((tr) => [5, 6, 7].map((k) => Number(tr.children[k].textContent))));
  assert.ok(term.some((r) => r[0] + r[1] + r[2] > 0), 'no gap-out, max-out or force-off in the split monitor');
  assert.match(await page.textContent('#measures-range'), /field time/);
  await tallShot('measures');
});

test('an operator takes a detector out and puts it back; the map marks it; the audit shows both', STEP, async () => {
  await logout();
  await login(operator);
  await page.goto(`${base}/#/i/${encodeURIComponent(measId)}`);
  const row = page.locator('#detector-health tbody tr[data-status=ok]').first();
  await row.waitFor();
  const det = await row.getAttribute('data-id');
  const sel = `#detector-health tbody tr[data-id="${det}"]`;
  await page.locator(`${sel} button.take-out`).click();
  assert.match(await page.textContent('#modal-title'), /Take detector .* out/);
  await page.locator('#modal-ok').click();
  await page.locator(`${sel}[data-status=failed]`).waitFor();
  /* The server's own list says so too (the loop takes it at its next step). */
  await page.waitForFunction(async ([id, d]) => {
    const r = await fetch(`/api/intersections/${encodeURIComponent(id)}/detectors`,
      { headers: { Authorization: `Bearer ${sessionStorage.getItem('gw_token')}` } });
    const x = (await r.json()).find((y) => y.id === d);
    return x && x.status === 'failed' && x.reason === 'operator';
  }, [measId, det], { polling: 500 });
  await page.locator(`${sel}[data-status=failed]`).waitFor();
  assert.match(await page.textContent(sel), /taken out by an operator/);
  await page.evaluate(() => { document.getElementById('toast').hidden = true; });
  await tallShot('detectors');

  await page.goto(base + '/#/map');
  await page.locator(`.gw-detfail span[data-id="${measId}"]`).waitFor();
  await page.locator(`#ix-list tr[data-id="${measId}"] .detfail`).waitFor();

  await page.goto(`${base}/#/i/${encodeURIComponent(measId)}`);
  await page.locator(`${sel} button.restore`).click();
  await page.locator('#modal-ok').click();
  await page.locator(`${sel}[data-status=ok]`).waitFor();
  await page.waitForFunction(async ([id, d]) => {
    const r = await fetch(`/api/intersections/${encodeURIComponent(id)}/detectors`,
      { headers: { Authorization: `Bearer ${sessionStorage.getItem('gw_token')}` } });
    const x = (await r.json()).find((y) => y.id === d);
    return x && x.status === 'ok';
  }, [measId, det], { polling: 500 });

  await page.goto(base + '/#/audit');
  await page.locator('#audit-list tbody tr').first().waitFor();
  const rows = await page.$$eval('#audit-list tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  const has = (action) => rows.some((r) => r[2] === operator[0] && r[3] === action && r[4] === det);
  assert.ok(has('detector.fail'), `no detector.fail of ${det} by ${operator[0]} in the audit view`);
  assert.ok(has('detector.restore'), `no detector.restore of ${det} by ${operator[0]} in the audit view`);
});

test('the alarms list loads', STEP, async () => {
  await page.goto(base + '/#/alarms');
  await page.locator('#alarm-list tbody tr').first().waitFor();
  assert.ok(await page.isVisible('#alarm-list'));
  await shot('alarms');
});

test('the network charts draw from the feed history', STEP, async () => {
  await page.goto(base + '/#/charts');
  await page.locator('#chart-delay .uplot').waitFor();
  await page.locator('#chart-thru .uplot').waitFor();
  await shot('network');
});

test('a viewer sees no edit controls', STEP, async () => {
  await logout();
  await login(viewer);
  assert.equal(await page.isVisible('#nav a[data-view=audit]'), false);
  assert.equal(await page.isVisible('#nav a[data-view=users]'), false);
  await page.goto(`${base}/#/i/${encodeURIComponent(ixId)}`);
  await page.locator('#mode-card .kv').waitFor();
  assert.equal(await page.locator('#mode-apply').count(), 0);
  await page.locator('#detector-health tbody tr[data-status]').first().waitFor();
  assert.equal(await page.locator('#detector-health button').count(), 0);
  await page.click('#tab-plans');
  await page.locator('#readonly-note').waitFor();
  assert.equal(await page.locator('#plan-save').count(), 0);
  assert.equal(await page.locator('#plan-list button').count(), 0);
  await page.goto(base + '/#/alarms');
  await page.locator('#alarm-list tbody tr').first().waitFor();
  assert.equal(await page.locator('#alarm-list button.ack').count(), 0);
});

test('a session the server no longer knows goes back to the login', STEP, async () => {
  await page.evaluate(() => sessionStorage.setItem('gw_token', 'no-such-session'));
  await page.goto(base + '/#/map');
  await page.reload();
  await page.locator('#login-form').waitFor();
  assert.equal(await page.isVisible('#shell'), false);
});

test('no script errors on the way', () => {
  assert.deepEqual(problems, []);
});
