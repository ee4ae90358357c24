/*
** plans.js -- the plan editor of one intersection: its stored plan versions
** (newest first), and a form for a new version: cycle, offset and one split
** per stage.  The form checks as the operator types (splits add up to the
** cycle, each split at least the stage's minimum green plus the yellow and
** all-red that follow, offset in [0, cycle)) but the server decides: a 422
** comes back with a message, shown next to the field it names.  A saved
** version is activated with its own button and confirm step.
*/
import * as api from './api.js';
import { el, num, when, rows, parsed, confirmDialog, toast } from './util.js';

/* The shortest split a stage may have: for every group that is green in it
** and stops at the end of it, its minimum green, its yellow and the longest
** all-red before a group of the next stage may start. */
export function minSplits(cfg) {
  const stages = cfg.stages || [];
  const groups = cfg.groups || [];
  const allred = cfg.allred_s || [];
  return stages.map((s, i) => {
    const next = stages[(i + 1) % stages.length] || { green: [] };
    const nextGreen = new Set(next.green || []);
    let need = 0;
    for (const g of s.green || []) {
      const grp = groups[g] || {};
      const mg = Number(grp.min_green_s) || 0;
      if (nextGreen.has(g) && stages.length > 1) { need = Math.max(need, mg); continue; }
      let ar = 0;
      for (const h of next.green || []) ar = Math.max(ar, Number((allred[g] || [])[h]) || 0);
      need = Math.max(need, mg + (Number(grp.yellow_s) || 0) + ar);
    }
    return need;
  });
}

export function renderPlans(body, ctx, id, r) {
  const cfg = r.config || r;
  const stages = cfg.stages || [];
  const mins = minSplits(cfg);
  const canEdit = ctx.can('operator');
  const tbody = el('tbody');
  const listCard = el('div.card.grow', { style: 'flex-basis:520px' },
    el('h3', 'Plan versions'),
    el('table.grid#plan-list', el('thead', el('tr', el('th.num', 'Ver'), el('th', ''), el('th.num', 'Cycle'),
      el('th.num', 'Offset'), el('th', 'Splits (s)'), el('th', 'Created'), el('th', 'By'), el('th', 'Note'),
      canEdit ? el('th', '') : null)), tbody));
  const editor = el('div.card#plan-editor', { style: 'flex-basis:420px;flex-grow:1' });
  body.append(el('div.row', editor, listCard));
  let plans = [];

  const load = async () => {
    try {
      plans = rows(await api.get(`/api/intersections/${api.enc(id)}/plans`));
    } catch (e) {
      tbody.replaceChildren(el('tr', el('td', { colSpan: 9 }, el('span.error', e.message))));
      return;
    }
    tbody.replaceChildren(...plans.map((p) => {
      const b = parsed(p.body) || {};
      const active = p.active === true || p.active === 1 || p.active === '1' || p.active === 't';
      return el('tr', { dataset: { version: String(p.version) } },
        el('td.num', el('b', String(p.version))),
        el('td', active ? el('span.tag.active', 'active') : ''),
        el('td.num', num(b.cycle_s)), el('td.num', num(b.offset_s)),
        el('td.mono', (b.splits_s || []).join(' · ')),
        el('td', { style: 'white-space:nowrap' }, when(p.created_at)), el('td', p.created_by || ''), el('td', p.note || ''),
        canEdit ? el('td', { style: 'white-space:nowrap' },
          el('button.small', { onclick: () => fill(b), title: 'Copy into the editor' }, 'Edit copy'), ' ',
          active ? null : el('button.small.activate', { onclick: () => activate(p.version) }, 'Activate')) : null);
    }));
    if (!plans.length) tbody.append(el('tr', el('td', { colSpan: 9, className: 'muted' }, 'No stored plans: the network\'s own program runs.')));
  };

  const activate = async (version) => {
    const ok = await confirmDialog(`Activate plan v${version} at ${id}?`,
      'The controller moves to the new plan through a safe transition; the change is audited.', 'Activate');
    if (!ok) return false;
    try {
      await api.post(`/api/intersections/${api.enc(id)}/plans/${api.enc(String(version))}/activate`, {});
      toast(`${id}: plan v${version} activated`);
      ctx.configs.delete(id);
      await load();
      return true;
    } catch (e) {
      toast(`Activate failed: ${e.message}`, true);
      return false;
    }
  };

  if (!canEdit) {
    editor.append(el('h3', 'Plan editor'), el('p.muted#readonly-note', `Read only: your role (${ctx.me.role}) may look at plans but not change them.`));
    load();
    return () => {};
  }

  /* ---- the form ----------------------------------------------------------- */
  const field = (label, input, hint) => {
    const err = el('div.error');
    return { node: el('div.field', el('label', label, input), hint ? el('div.hint', hint) : null, err), input, err };
  };
  const mk = (name, v) => el('input', { type: 'number', name, step: '1', min: '0', value: v ?? '' });
  const cycle = field('Cycle (s)', mk('cycle_s', cfg.cycle_s));
  const offset = field('Offset (s)', mk('offset_s', cfg.offset_s ?? 0), 'in [0, cycle)');
  const splits = stages.map((s, i) => field(`Stage ${s.index ?? i} split (s)`, mk(`split_${i}`, s.green_s),
    `min ${num(mins[i], 1)} s · groups ${(s.green || []).join(', ') || '–'}`));
  const note = el('input', { name: 'note', placeholder: 'Why this change (kept in the audit log)', style: 'width:100%' });
  const sum = el('span.muted#split-sum');
  const bar = el('div.splitbar', { style: 'margin:4px 0' });
  const general = el('p.error#plan-error');
  const saved = el('div#plan-saved');
  const save = el('button.primary#plan-save', { type: 'submit' }, 'Save as new version');
  const form = el('form.form', { novalidate: true },
    el('h3', 'New plan version'),
    el('div.fields', cycle.node, offset.node),
    el('div.fields', ...splits.map((f) => f.node)),
    bar, sum,
    el('label', 'Note', note),
    el('div.toolbar', save, el('span.spacer')), general, saved);
  editor.append(form);

  const all = [cycle, offset, ...splits];
  const values = () => ({
    cycle_s: Number(cycle.input.value),
    offset_s: Number(offset.input.value),
    splits_s: splits.map((f) => Number(f.input.value)),
  });

  /* Advisory checks, as the operator types. */
  const check = () => {
    const v = values();
    for (const f of all) { f.err.textContent = ''; f.input.classList.remove('invalid'); }
    const bad = (f, msg) => { f.err.textContent = msg; f.input.classList.add('invalid'); };
    let n = 0;
    if (!(v.cycle_s > 0)) { bad(cycle, 'the cycle must be positive'); n++; }
    if (!(v.offset_s >= 0 && v.offset_s < v.cycle_s)) { bad(offset, `the offset must lie in [0, ${v.cycle_s || 'cycle'})`); n++; }
    splits.forEach((f, i) => {
      const x = v.splits_s[i];
      if (!Number.isFinite(x) || f.input.value === '') { bad(f, 'required'); n++; }
      else if (x < mins[i] - 1e-9) { bad(f, `below the minimum ${num(mins[i], 1)} s (min green + yellow + all-red)`); n++; }
    });
    const total = v.splits_s.reduce((a, b) => a + (b || 0), 0);
    const diff = total - v.cycle_s;
    sum.textContent = `splits add up to ${num(total, 1)} s of a ${num(v.cycle_s, 1)} s cycle` +
      (Math.abs(diff) > 1e-6 ? ` (${diff > 0 ? '+' : ''}${num(diff, 1)} s)` : ' ✓');
    sum.className = Math.abs(diff) > 1e-6 ? 'error' : 'ok';
    if (Math.abs(diff) > 1e-6) n++;
    bar.replaceChildren(...v.splits_s.map((x, i) => el('div', {
      style: `width:${(100 * Math.max(0, x || 0)) / Math.max(total, v.cycle_s, 1)}%;background:hsl(${(195 + i * 53) % 360} 35% 58%)` },
    String(stages[i] ? stages[i].index ?? i : i))));
    return n;
  };
  const fill = (b) => {
    if (b.cycle_s !== undefined) cycle.input.value = b.cycle_s;
    if (b.offset_s !== undefined) offset.input.value = b.offset_s;
    (b.splits_s || []).forEach((x, i) => { if (splits[i]) splits[i].input.value = x; });
    saved.replaceChildren();
    general.textContent = '';
    check();
    editor.scrollIntoView({ block: 'nearest' });
  };
  form.addEventListener('input', () => { saved.replaceChildren(); check(); });

  /* Which field a server message speaks of: "stage N" -> that split. */
  const place = (msg) => {
    const m = /stage\s*#?\s*(\d+)/i.exec(msg);
    if (m) {
      const k = Number(m[1]);
      let i = stages.findIndex((s, j) => (s.index ?? j) === k);
      if (i < 0 && k >= 1 && k <= stages.length) i = k - 1;
      if (i >= 0) return splits[i];
    }
    if (/offset/i.test(msg)) return offset;
    if (/cycle|sum|add up/i.test(msg)) return cycle;
    return null;
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    check();
    general.textContent = '';
    saved.replaceChildren();
    save.disabled = true;
    const v = values();
    try {
      const res = await api.post(`/api/intersections/${api.enc(id)}/plans`, { ...v, note: note.value });
      const ver = res && res.version;
      const act = el('button.primary#plan-activate', { type: 'button' }, `Activate v${ver}`);
      act.addEventListener('click', async () => {
        act.disabled = true;
        if (await activate(ver)) saved.replaceChildren(el('span.ok', `Plan v${ver} is active.`));
        else act.disabled = false;
      });
      saved.replaceChildren(el('span.ok', `Saved as version ${ver}. `), act);
      await load();
    } catch (e) {
      const f = e.status === 422 ? place(e.message) : null;
      if (f) {
        f.err.textContent = e.message;
        f.err.classList.add('server-error');
        f.input.classList.add('invalid');
        f.input.focus();
      }
      general.textContent = f ? 'The server refused the plan: see the marked field.' : e.message;
      if (!f) general.classList.add('server-error');
    } finally {
      save.disabled = false;
    }
  });

  check();
  load();
  return () => {};
}
