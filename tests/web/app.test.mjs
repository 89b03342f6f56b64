// Browser test of `hires serve` in real headless Chromium (Debian's /usr/bin/chromium), driven by
// playwright-core: drop an image, preview a crop with two models, upscale, move the slider,
// switch to 100 %, download, and compare the file with the CLI's. Run by CTest (tests/CMakeLists)
// as: node tests/web/app.test.mjs HIRES_BINARY [SCREENSHOT_DIR]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const hires = process.argv[2];
const shots = process.argv[3] || null;
const sample = join(here, '..', '..', 'samples', 'sample.png');
const work = mkdtempSync(join(tmpdir(), 'hires-web-test-'));
const step = (text) => console.log(`[ web ] ${text}`);

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(hires, ['serve', '--port', '0'], { env: { ...process.env, TMPDIR: work } });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/serving (http:\/\/\S+)/);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`hires serve exited ${code}: ${out}`)));
  });
}

const { child, url } = await startServer();
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('#model option[value="photo-x4"]', { state: 'attached' });
  assert.equal(new URL(page.url()).search, '', 'the token is taken out of the address bar');

  step('drop an image on the page');
  const bytes = readFileSync(sample).toString('base64');
  await page.evaluate(async (b64) => {
    const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([data], 'sample.png', { type: 'image/png' }));
    document.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, bytes);
  await page.waitForSelector('#images .item .verdict-good, #images .item [class^=verdict-]');
  const itemText = await page.textContent('#images .item');
  assert.match(itemText, /sample\.png/);
  assert.match(itemText, /240×160/);
  await page.waitForFunction(() => /→ 960×640/.test(document.querySelector('#plan').textContent));

  step('preview a crop with two models');
  await page.check('input[name=mode][value=preview]');
  for (const box of await page.$$('#variants input')) await box.uncheck();
  await page.check('#variants label:has-text("photo-x4") input');
  await page.check('#variants label:has-text("lanczos") input');
  await page.click('#preview');
  await page.waitForFunction(() => document.querySelector('#preview-results').dataset.seconds, null, { timeout: 60000 });
  const previews = await page.$$eval('#preview-results figure', (fs) => fs.map((f) => f.textContent));
  assert.equal(previews.length, 3, 'the original and two previews');
  assert.match(previews[1], /photo-x4/);
  assert.match(previews[2], /lanczos/);
  const sizes = await page.$$eval('#preview-results img', (is) => is.map((i) => [i.naturalWidth, i.naturalHeight]));
  assert.deepEqual(sizes, [[960, 640], [960, 640]], 'the default region (the whole 240x160 image) at 4x');
  const previewSeconds = Number(await page.getAttribute('#preview-results', 'data-seconds'));
  step(`preview shown in ${previewSeconds.toFixed(2)} s`);
  if (shots) await page.screenshot({ path: join(shots, 'preview.png') });

  step('upscale 2x');
  await page.selectOption('#size-mode', 'scale');
  await page.fill('#size-value', '2');
  await page.waitForFunction(() => /→ 480×320/.test(document.querySelector('#plan').textContent));
  await page.click('#run');
  await page.waitForFunction(() => /done: 480×320/.test(document.querySelector('#status').textContent), null, { timeout: 120000 });

  step('before/after slider and 100 %');
  await page.check('input[name=mode][value=slider]');
  await page.$eval('#split', (s) => { s.value = '30'; s.dispatchEvent(new Event('input')); });
  const ratio = await page.evaluate(() => window.devicePixelRatio);
  await page.check('input[name=zoom][value="1"]');
  const width = await page.$eval('#after', (i) => parseFloat(i.style.width));
  assert.equal(width, Math.round(480 / ratio), 'at 100 % one result pixel per device pixel');
  const clipLeft = await page.$eval('#after-clip', (c) => parseFloat(c.style.left));
  assert.equal(clipLeft, Math.round(480 / ratio) * 0.3, 'the slider moved the split');
  if (shots) await page.screenshot({ path: join(shots, 'compare.png') });

  step('download and compare with the CLI');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.equal(download.suggestedFilename(), 'sample-hires.png');
  const got = join(work, 'web.png');
  await download.saveAs(got);
  const cli = join(work, 'cli.png');
  const r = spawnSync(hires, [sample, '-o', cli, '-s', '2']);
  assert.equal(r.status, 0, String(r.stderr));
  assert.ok(readFileSync(got).equals(readFileSync(cli)), 'the download is byte for byte the CLI output');

  step('review heat map over the comparison');
  await page.click('#review');
  await page.waitForFunction(() => /^Review: (ok|warn|fail)$/.test(document.querySelector('#status').textContent));
  await page.check('#overlay');
  await page.waitForFunction(() => { const h = document.querySelector('#heat'); return !h.hidden && h.complete && h.naturalWidth > 0; });
  assert.equal(await page.$eval('#heat', (h) => h.naturalWidth), 480, 'the heat map covers the result');
  assert.match(await page.textContent('#findings'), /Resemblance \d+\.\d dB PSNR/);

  step('controls and presets from the option table (GET /api/options)');
  assert.equal(await page.getAttribute('#sharpen', 'max'), '5', 'the table gives sharpen its range');
  assert.equal(await page.getAttribute('#denoise', 'max'), '3', 'a control the page lacked is built');
  assert.deepEqual(await page.$$eval('#format option', (os) => os.map((o) => o.value)),
    ['', 'jpg', 'png', 'webp', 'tiff', 'avif']);
  await page.selectOption('#preset', 'product-web');
  assert.equal(await page.$eval('#size-mode', (s) => s.value), 'width');
  assert.equal(await page.$eval('#size-value', (s) => s.value), '2400');
  assert.equal(await page.$eval('#format', (s) => s.value), 'jpg');
  assert.ok(await page.isChecked('#srgb'));
  await page.fill('#denoise', '9');
  await page.waitForFunction(() => /denoise: '9' is not valid \(expected a whole number from 0 to 3\)/
    .test(document.querySelector('#plan').textContent));
  await page.fill('#denoise', '');

  step('keyboard and labels');
  const unlabelled = await page.$$eval('input:not([type=hidden]), select', (els) =>
    els.filter((e) => !e.closest('label') && !e.labels?.length && !e.getAttribute('aria-label') &&
      !e.classList.contains('visually-hidden')).map((e) => e.id || e.name));
  assert.deepEqual(unlabelled, [], 'every control has a label');
  await page.focus('#size-value');
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement && document.activeElement.id === 'run');
  }
  assert.ok(reached, 'Tab reaches the Upscale button');

  step('phone width');
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 392, `no sideways scrolling at phone width (page is ${overflow} px wide)`);
  if (shots) await page.screenshot({ path: join(shots, 'phone.png'), fullPage: true });
  assert.deepEqual(errors, [], 'no script errors');
  step('ok');
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
