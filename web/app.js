// hires web app: the page's behaviour. Plain JavaScript, no build step; talks to the JSON API of
// `hires serve` (server/api.cpp). The access token travels in a cookie set when the page opens.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { info: null, images: [], selected: null, rect: null, planTimer: 0 };

async function api(path, options = {}) {
  const res = await fetch(path, { credentials: 'same-origin', ...options });
  const type = res.headers.get('Content-Type') || '';
  const body = type.startsWith('application/json') ? await res.json() : null;
  if (!res.ok) throw new Error((body && body.error) || `${res.status} ${res.statusText}`);
  return body;
}
const postJson = (path, body) => api(path, {
  method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

function say(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}
const fmtBytes = (n) => n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} KB`;
const fmtTime = (s) => s >= 90 ? `${Math.round(s / 60)} min` : `${Math.max(1, Math.round(s))} s`;

// ---- settings -----------------------------------------------------------------------------

// The option controls come from the server's option table (GET /api/options): each web option
// is the control whose id is its key with dashes (sharpen, max-bytes, color-fix); the ones the
// page has no control for are added to the fieldset of their group. Limits, choices, defaults and
// hints are the table's, so the form and `hires --help` never disagree.
const control = (key) => $(key.replace(/_/g, '-'));
const webOptions = () => state.options.options.filter((o) => o.web && o.group !== 'size' && o.key !== 'method');
const label = (key) => key[0].toUpperCase() + key.slice(1).replace(/_/g, ' ');

function buildControls() {
  for (const o of webOptions()) {
    let c = control(o.key);
    const box = document.querySelector(`fieldset[data-group="${o.group}"]`);
    if (!c && box) {
      c = o.type === 'flag' ? el('input', { type: 'checkbox', id: o.key.replace(/_/g, '-') })
        : o.type === 'choice' ? el('select', { id: o.key.replace(/_/g, '-') })
          : el('input', { type: 'text', id: o.key.replace(/_/g, '-') });
      box.append(o.type === 'flag' ? el('label', {}, c, ` ${label(o.key)}`) : el('label', {}, `${label(o.key)} `, c));
    }
    if (!c) continue;
    c.title = o.help;
    if (o.type === 'choice' && c.tagName === 'SELECT') {
      const keep = [...c.options].filter((opt) => opt.value === '');
      c.textContent = '';
      for (const opt of keep) c.append(opt);
      for (const v of o.choices) c.append(el('option', { value: v }, v.toUpperCase()));
    } else if ((o.type === 'integer' || o.type === 'number') && c.tagName === 'INPUT') {
      c.type = 'number';
      if (o.min !== undefined) { c.min = String(o.min); c.max = String(o.max); }
      c.step = o.type === 'integer' ? '1' : 'any';
    }
    if (o.type !== 'flag' && c.tagName === 'INPUT') {
      if (o.default !== undefined) c.placeholder = String(o.default);
      else if (o.example) c.placeholder = `e.g. ${o.example}`;
      else c.placeholder = 'default';
    }
  }
}

function readOptions() {
  const o = { model: $('model').value };
  const mode = $('size-mode').value;
  if (mode !== 'default') o.size = { mode, value: $('size-value').value.trim() };
  for (const spec of webOptions()) {
    const c = control(spec.key);
    if (!c) continue;
    if (spec.type === 'flag') { if (c.checked) o[spec.key] = true; continue; }
    const t = c.value.trim();
    if (t === '') continue;
    o[spec.key] = (spec.type === 'integer' || spec.type === 'number') && t !== '' && !Number.isNaN(Number(t)) ? Number(t) : t;
  }
  return o;
}

// A preset fills the form with its values (the same ones `hires --preset NAME` uses), in the
// option table's terms: {"width": 2400, "format": "jpg", "srgb": true}.
function applyPreset(name) {
  const preset = state.options.presets.find((p) => p.name === name);
  if (!preset) return;
  for (const [key, value] of Object.entries(preset.values)) {
    const spec = state.options.options.find((o) => o.key === key);
    if (spec && spec.group === 'size') { $('size-mode').value = key; $('size-value').value = String(value); continue; }
    const c = key === 'method' ? $('model') : control(key);
    if (!c) continue;
    if (c.type === 'checkbox') c.checked = Boolean(value); else c.value = String(value);
  }
  schedulePlan();
}

function schedulePlan() {
  clearTimeout(state.planTimer);
  state.planTimer = setTimeout(refreshPlan, 150);
}

async function refreshPlan() {
  const img = state.selected;
  if (!img || !img.id) { $('plan').textContent = ''; return; }
  try {
    const p = await postJson(`/api/images/${img.id}/plan`, { options: readOptions() });
    const notes = p.notices.length ? ` ${p.notices.join(' ')}` : '';
    $('plan').textContent = `${img.width}×${img.height} → ${p.width}×${p.height} ${p.format.toUpperCase()}` +
      `${p.dpi ? ` at ${Math.round(p.dpi)} DPI` : ''}: ${p.plan}.${p.reason ? ` ${p.reason}.` : ''}${notes}`;
    $('plan').classList.remove('error');
  } catch (e) {
    $('plan').textContent = e.message;
    $('plan').classList.add('error');
  }
}

// ---- images -------------------------------------------------------------------------------

function renderItem(img) {
  const meta = el('span', { class: 'meta' });
  if (img.error) meta.textContent = img.error;
  else if (!img.id) meta.textContent = 'uploading…';
  else {
    const c = img.check;
    meta.append(`${img.width}×${img.height} · `,
      el('span', { class: `verdict-${c.verdict}` }, c.verdict.replace('_', ' ')), ` · ${c.content}`);
    if (img.jobText) meta.append(el('br'), img.jobText);
  }
  const button = el('button', { type: 'button', class: `item${img.error ? ' failed' : ''}`,
    'aria-current': String(state.selected === img), onclick: () => select(img) },
  el('img', { alt: '', src: img.id ? `/api/images/${img.id}/thumbnail` : '' }),
  el('span', {}, el('span', { class: 'name' }, img.name), el('br'), meta));
  if (img.progress !== undefined) button.append(el('progress', { max: '1', value: String(img.progress) }));
  const li = el('li', {}, button);
  if (img.li) img.li.replaceWith(li); else $('images').append(li);
  img.li = li;
}

async function addFiles(files) {
  const added = [];
  for (const file of files) {
    const img = { name: file.name };
    state.images.push(img);
    renderItem(img);
    added.push(upload(img, file));
  }
  if (!state.selected && state.images.length) select(state.images[state.images.length - files.length]);
  await Promise.all(added);
  updateButtons();
}

async function upload(img, file) {
  try {
    const r = await api(`/api/images?name=${encodeURIComponent(file.name)}`, {
      method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: file });
    Object.assign(img, r);
  } catch (e) {
    img.error = e.message;
  }
  renderItem(img);
  if (state.selected === img) select(img);
}

function select(img) {
  state.selected = img;
  for (const i of state.images) if (i.li) i.li.firstChild.setAttribute('aria-current', String(i === img));
  $('empty').hidden = true;
  showFindings(img);
  if (img.id) {
    const src = `/api/images/${img.id}/original`;
    for (const id of ['before', 'side-before', 'pick-image']) if ($(id).getAttribute('src') !== src) $(id).src = src;
    if (!state.rect || state.rect.image !== img.id) {
      const w = Math.min(256, img.width), h = Math.min(256, img.height);
      state.rect = { image: img.id, x: Math.floor((img.width - w) / 2), y: Math.floor((img.height - h) / 2), width: w, height: h };
    }
    drawRect();
  }
  showResult();
  updateButtons();
  schedulePlan();
}

function showFindings(img) {
  const box = $('findings');
  box.textContent = '';
  if (img.error) { box.append(el('p', { class: 'error' }, img.error)); return; }
  if (!img.check) return;
  const c = img.check;
  box.append(el('h2', {}, 'What the image shows'));
  const list = el('ul');
  for (const f of c.findings) {
    if (f.severity === 'info') continue;
    list.append(el('li', { class: `sev-${f.severity}` }, f.message));
  }
  if (!list.children.length) list.append(el('li', {}, 'No problems found.'));
  box.append(list, el('p', {}, `Recommended: ${c.recommendation.plan}. ${c.recommendation.reason}.`));
  if (img.review) {
    const r = img.review;
    box.append(el('h2', {}, `Review: ${r.verdict}`),
      el('p', {}, `Resemblance ${r.psnr.toFixed(1)} dB PSNR, SSIM ${r.ssim.toFixed(3)}.`));
    const reasons = el('ul');
    for (const t of r.reasons) reasons.append(el('li', {}, t));
    box.append(reasons);
  }
}

function updateButtons() {
  const img = state.selected;
  const ready = img && img.id;
  const running = img && img.job && ['queued', 'running'].includes(img.jobState);
  $('run').disabled = !ready || running;
  $('cancel').disabled = !running;
  $('preview').disabled = !ready;
  $('review').disabled = !(img && img.result);
  const dl = $('download');
  if (img && img.result) {
    dl.href = `${img.result.url}?download=1`;
    dl.setAttribute('download', img.result.download_name);
    dl.setAttribute('aria-disabled', 'false');
  } else {
    dl.removeAttribute('href');
    dl.setAttribute('aria-disabled', 'true');
  }
  $('run-all').disabled = !state.images.some((i) => i.id && !['queued', 'running'].includes(i.jobState));
  $('zip').disabled = !state.images.some((i) => i.result);
}

// ---- jobs -----------------------------------------------------------------------------------

async function poll(jobId, onUpdate) {
  for (;;) {
    const j = await api(`/api/jobs/${jobId}`);
    onUpdate(j);
    if (!['queued', 'running'].includes(j.state)) return j;
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function run(img) {
  if (!img.id) return;
  img.result = null; img.review = null;
  try {
    const { job } = await postJson(`/api/images/${img.id}/run`, { options: readOptions() });
    img.job = job; img.jobState = 'queued'; img.progress = 0;
    updateButtons();
    const final = await poll(job, (j) => {
      img.jobState = j.state; img.progress = j.progress;
      img.jobText = j.state === 'queued' ? 'waiting in the queue'
        : j.state === 'running' ? `${Math.round(j.progress * 100)} %${j.eta_seconds !== undefined ? `, about ${fmtTime(j.eta_seconds)} left` : ''}` : '';
      renderItem(img);
      if (state.selected === img) say(`${img.name}: ${img.jobText}`);
    });
    delete img.progress;
    if (final.state === 'done') {
      img.result = final.outputs[0];
      img.jobText = `done: ${img.result.width}×${img.result.height}, ${fmtBytes(img.result.bytes)}, ${img.result.model}`;
      if (state.selected === img) say(`${img.name}: ${img.jobText}`);
    } else {
      img.jobText = final.state === 'cancelled' ? 'cancelled' : final.error;
      if (state.selected === img) say(`${img.name}: ${img.jobText}`, final.state === 'failed');
    }
  } catch (e) {
    img.jobState = 'failed'; img.jobText = e.message;
    if (state.selected === img) say(e.message, true);
  }
  renderItem(img);
  if (state.selected === img) { showResult(); showFindings(img); }
  updateButtons();
}

async function review() {
  const img = state.selected;
  if (!img || !img.result) return;
  say('Reviewing the result…');
  try {
    img.review = await postJson(`/api/jobs/${img.job}/review`, {});
    $('heat').src = img.review.heatmap;
    $('overlay').disabled = false;
    say(`Review: ${img.review.verdict}`);
    showFindings(img);
  } catch (e) { say(e.message, true); }
}

// ---- viewer: before/after, side by side, zoom, pan ---------------------------------------

function mode() { return document.querySelector('input[name=mode]:checked').value; }
function zoomChoice() { return document.querySelector('input[name=zoom]:checked').value; }

function showResult() {
  const img = state.selected;
  const m = mode();
  $('slider-view').hidden = m !== 'slider' || !img || !img.id;
  $('side-view').hidden = m !== 'side' || !img || !img.id;
  $('preview-view').hidden = m !== 'preview' || !img || !img.id;
  if (!img || !img.id) return;
  const r = img.result;
  for (const id of ['after', 'side-after']) {
    const src = r ? r.url : `/api/images/${img.id}/original`;
    if ($(id).getAttribute('src') !== src) $(id).src = src;
  }
  $('heat').hidden = !($('overlay').checked && img.review);
  if (!img.review) { $('overlay').checked = false; $('overlay').disabled = true; }
  layout();
  if (m === 'preview') drawRect();
}

function layout() {
  const img = state.selected;
  if (!img || !img.id) return;
  const W = img.result ? img.result.width : img.width;
  const H = img.result ? img.result.height : img.height;
  const smooth = $('enlarge').value === 'smooth';
  for (const id of ['before', 'side-before']) $(id).classList.toggle('nearest', !smooth);
  const ports = mode() === 'side' ? [...document.querySelectorAll('.sync')] : [$('slider-port')];
  const port = ports[0];
  let z = Number(zoomChoice());
  if (zoomChoice() === 'fit') z = Math.min(1, (port.clientWidth - 4) / W, (port.clientHeight - 4) / H) || 1;
  // CSS pixels for 100 %: one image pixel per device pixel.
  if (zoomChoice() !== 'fit') z /= window.devicePixelRatio || 1;
  const w = Math.round(W * z), h = Math.round(H * z);
  for (const id of ['before', 'after', 'heat', 'side-before', 'side-after']) {
    $(id).style.width = `${w}px`; $(id).style.height = `${h}px`;
  }
  $('slider-canvas').style.width = `${w}px`; $('slider-canvas').style.height = `${h}px`;
  $('after-clip').style.left = `${w * $('split').value / 100}px`;
  $('after').style.left = `${-w * $('split').value / 100}px`;
  $('after-clip').style.width = `${w - w * $('split').value / 100}px`;
}

// Drag to pan; the side-by-side panes follow each other.
function pannable(port) {
  let start = null;
  port.addEventListener('pointerdown', (e) => {
    start = { x: e.clientX, y: e.clientY, left: port.scrollLeft, top: port.scrollTop };
    port.setPointerCapture(e.pointerId);
  });
  port.addEventListener('pointermove', (e) => {
    if (!start) return;
    port.scrollLeft = start.left - (e.clientX - start.x);
    port.scrollTop = start.top - (e.clientY - start.y);
  });
  port.addEventListener('pointerup', () => { start = null; });
  port.addEventListener('scroll', () => {
    const group = port.classList.contains('sync') ? '.sync' : port.classList.contains('sync-preview') ? '.sync-preview' : null;
    if (!group) return;
    for (const other of document.querySelectorAll(group)) {
      if (other !== port && (other.scrollLeft !== port.scrollLeft || other.scrollTop !== port.scrollTop)) {
        other.scrollLeft = port.scrollLeft; other.scrollTop = port.scrollTop;
      }
    }
  });
}

// ---- preview: a region, several models ------------------------------------------------------

function drawRect() {
  const img = state.selected, r = state.rect, pick = $('pick-image');
  if (!img || !r || !pick.clientWidth) return;
  const s = pick.clientWidth / img.width;
  Object.assign($('pick-rect').style, { left: `${r.x * s}px`, top: `${r.y * s}px`,
    width: `${r.width * s}px`, height: `${r.height * s}px` });
}

function pickRegion() {
  const pick = $('pick-image');
  let from = null;
  const toImage = (e) => {
    const box = pick.getBoundingClientRect(), img = state.selected, s = img.width / box.width;
    return { x: Math.max(0, Math.min(img.width, (e.clientX - box.left) * s)),
      y: Math.max(0, Math.min(img.height, (e.clientY - box.top) * s)) };
  };
  pick.parentElement.addEventListener('pointerdown', (e) => {
    if (!state.selected) return;
    from = toImage(e); pick.parentElement.setPointerCapture(e.pointerId); e.preventDefault();
  });
  pick.parentElement.addEventListener('pointermove', (e) => {
    if (!from) return;
    const to = toImage(e), img = state.selected;
    let w = Math.min(512, Math.abs(to.x - from.x)), h = Math.min(512, Math.abs(to.y - from.y));
    w = Math.max(16, Math.round(w)); h = Math.max(16, Math.round(h));
    const x = Math.round(Math.min(from.x, to.x)), y = Math.round(Math.min(from.y, to.y));
    state.rect = { image: img.id, x: Math.min(x, img.width - w), y: Math.min(y, img.height - h),
      width: Math.min(w, img.width), height: Math.min(h, img.height) };
    drawRect();
  });
  pick.parentElement.addEventListener('pointerup', () => { from = null; });
}

function fillVariants() {
  const box = $('variants');
  const choices = [{ model: 'auto', label: 'auto (as a full run)', on: true }];
  for (const m of state.info.models) {
    if (m.name.startsWith('restore')) {
      choices.push({ model: m.name, restore: 0.5, label: `${m.name} @ 0.5`, on: m.name === 'restore-x4' });
      choices.push({ model: m.name, restore: 1, label: `${m.name} @ 1`, on: false });
    } else choices.push({ model: m.name, label: m.name, on: m.name === 'photo-x4' });
  }
  choices.push({ model: 'lanczos', label: 'lanczos (no AI)', on: true });
  choices.forEach((c, i) => {
    const input = el('input', { type: 'checkbox', value: String(i) });
    input.checked = c.on;
    input.addEventListener('change', () => {
      const on = box.querySelectorAll('input:checked');
      if (on.length > 4) { input.checked = false; say('Compare at most four at once.', true); }
    });
    box.append(el('label', {}, input, ` ${c.label}`));
  });
  state.variants = choices;
}

async function preview() {
  const img = state.selected;
  if (!img || !img.id) return;
  const chosen = [...$('variants').querySelectorAll('input:checked')].map((i) => state.variants[Number(i.value)]);
  if (!chosen.length) { say('Pick at least one model to preview.', true); return; }
  const variants = chosen.map((c) => (c.restore !== undefined ? { model: c.model, restore: c.restore } : { model: c.model }));
  const box = $('preview-results');
  box.textContent = '';
  say('Rendering the preview…');
  const t0 = performance.now();
  try {
    const { job, rect } = await postJson(`/api/images/${img.id}/preview`,
      { options: readOptions(), rect: state.rect, variants });
    const final = await poll(job, (j) => say(`Preview: ${Math.round(j.progress * 100)} %`));
    if (final.state !== 'done') throw new Error(final.error || final.state);
    const first = final.outputs.find((o) => o.width);
    const scale = first ? first.width / rect.width : 4;
    const ratio = window.devicePixelRatio || 1;
    // Each at 100 % (one pixel per device pixel) in its own pane; the panes pan together.
    const pane = (content, caption) => {
      const port = el('div', { class: 'viewport sync-preview', tabindex: '0', 'aria-label': `${caption}, drag to pan` }, content);
      pannable(port);
      return el('figure', {}, port, el('figcaption', {}, caption));
    };
    // The original region, enlarged as chosen (nearest or smooth) to the same size.
    const canvas = el('canvas', { width: String(Math.round(rect.width * scale)), height: String(Math.round(rect.height * scale)) });
    canvas.style.width = `${canvas.width / ratio}px`;
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingEnabled = $('enlarge').value === 'smooth';
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage($('pick-image'), rect.x, rect.y, rect.width, rect.height, 0, 0, canvas.width, canvas.height);
    box.append(pane(canvas, `original (${$('enlarge').value})`));
    const loads = final.outputs.map((o) => {
      if (o.error) { box.append(el('figure', {}, el('p', { class: 'error' }, `${o.label}: ${o.error}`))); return null; }
      const im = el('img', { alt: `preview with ${o.label}`, src: o.url });
      im.style.width = `${o.width / ratio}px`;
      box.append(pane(im, `${o.label} → ${o.model}`));
      return im.decode().catch(() => {});
    });
    await Promise.all(loads);
    // Start the panes at the region's centre (they follow each other).
    const port = box.querySelector('.sync-preview');
    if (port) { port.scrollLeft = (port.scrollWidth - port.clientWidth) / 2; port.scrollTop = (port.scrollHeight - port.clientHeight) / 2; }
    say(`Preview ready in ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
    box.dataset.seconds = String((performance.now() - t0) / 1000);
  } catch (e) { say(`Preview: ${e.message}`, true); }
}

// ---- start ----------------------------------------------------------------------------------

async function start() {
  // The token came in the address; the server keeps it in a cookie, so take it out of sight.
  if (location.search.includes('token=')) history.replaceState(null, '', '/');
  try {
    [state.info, state.options] = await Promise.all([api('/api/info'), api('/api/options')]);
  } catch (e) { say(e.message, true); return; }
  buildControls();
  for (const m of state.info.models) $('model').append(el('option', { value: m.name }, `${m.name} (${m.scale}x${m.builtin ? ', built in' : ''})`));
  for (const m of state.info.methods) $('model').append(el('option', { value: m }, `${m} (no AI)`));
  for (const p of state.options.presets) $('preset').append(el('option', { value: p.name, title: p.description }, p.name));
  fillVariants();

  $('files').addEventListener('change', (e) => { addFiles([...e.target.files]); e.target.value = ''; });
  let depth = 0;
  document.addEventListener('dragenter', (e) => { e.preventDefault(); depth++; $('drop-overlay').hidden = false; });
  document.addEventListener('dragleave', () => { if (--depth <= 0) { depth = 0; $('drop-overlay').hidden = true; } });
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault(); depth = 0; $('drop-overlay').hidden = true;
    if (e.dataTransfer.files.length) addFiles([...e.dataTransfer.files]);
  });
  $('options').addEventListener('input', schedulePlan);
  $('options').addEventListener('submit', (e) => e.preventDefault());
  $('preset').addEventListener('change', (e) => applyPreset(e.target.value));
  $('run').addEventListener('click', () => run(state.selected));
  $('run-all').addEventListener('click', () => { for (const i of state.images) if (i.id && !['queued', 'running'].includes(i.jobState)) run(i); });
  $('cancel').addEventListener('click', async () => {
    const img = state.selected;
    if (img && img.job) { try { await api(`/api/jobs/${img.job}`, { method: 'DELETE' }); } catch (e) { say(e.message, true); } }
  });
  $('review').addEventListener('click', review);
  $('zip').addEventListener('click', () => {
    const jobs = state.images.filter((i) => i.result).map((i) => i.job);
    if (jobs.length) location.href = `/api/zip?jobs=${jobs.join(',')}`;
  });
  $('preview').addEventListener('click', preview);
  for (const r of document.querySelectorAll('input[name=mode], input[name=zoom]')) r.addEventListener('change', showResult);
  $('enlarge').addEventListener('change', layout);
  $('split').addEventListener('input', layout);
  $('overlay').addEventListener('change', showResult);
  $('pick-image').addEventListener('load', drawRect);
  for (const p of document.querySelectorAll('.viewport')) pannable(p);
  pickRegion();
  window.addEventListener('resize', () => { layout(); drawRect(); });
  for (const id of ['after', 'side-after']) $(id).addEventListener('load', layout);
  updateButtons();
}

start();
