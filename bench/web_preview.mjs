// The web app's preview speed (issue 12: a 256x256 crop with the default model shows in under
// 2 s on 2 cores), measured as the user sees it: from the click on "Preview" to the image decoded
// in the browser (Debian's chromium via playwright-core), side by side with the same crop through
// lanczos (the floor: upload-free request, queue, encode, transfer, decode). Medians of N rounds.
// Also writes the screenshots of docs/web/ when given a folder.
// Usage: node bench/web_preview.mjs [rounds=7] [screenshot-dir]
// Needs scripts/setup-web-tests.sh (chromium, playwright-core) and ../shared/datasets/real.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = await import(join(root, 'tests/web/node_modules/playwright-core/index.mjs'));
const rounds = Number(process.argv[2] || 7);
const shots = process.argv[3] || null;
const real = join(root, '..', 'shared', 'datasets', 'real');
const photo = join(real, 'OST_009.png');  // 448x640: a 256x256 crop from its centre
const old = join(real, 'oldphoto3.png');  // a small damaged print, for the screenshots
if (!existsSync(photo)) { console.log('bench: ../shared/datasets/real is absent: skipping'); process.exit(0); }
const work = mkdtempSync(join(tmpdir(), 'hires-web-bench-'));
const child = spawn(join(root, 'build/hires'), ['serve', '--port', '0'], { env: { ...process.env, TMPDIR: work } });
const url = await new Promise((resolve) => {
  let out = '';
  child.stdout.on('data', (d) => { out += d; const m = out.match(/serving (http:\/\/\S+)/); if (m) resolve(m[1]); });
});
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(url);
  await page.waitForSelector('#model option[value="photo-x4"]', { state: 'attached' });
  await page.setInputFiles('#files', [photo, old]);
  await page.waitForFunction(() => document.querySelectorAll('#images .item [class^=verdict-]').length === 2);
  await page.click('#images li:first-child .item');
  await page.check('input[name=mode][value=preview]');
  const only = async (label) => {
    for (const box of await page.$$('#variants input')) await box.uncheck();
    await page.check(`#variants label:has-text("${label}") input`);
  };
  const measure = async () => {
    await page.$eval('#preview-results', (b) => { delete b.dataset.seconds; });
    await page.click('#preview');
    await page.waitForFunction(() => document.querySelector('#preview-results').dataset.seconds, null, { timeout: 60000 });
    return Number(await page.getAttribute('#preview-results', 'data-seconds'));
  };
  const times = { auto: [], lanczos: [] };
  for (let i = 0; i < rounds; i++) {
    for (const [key, label] of [['auto', 'auto'], ['lanczos', 'lanczos']]) {
      await only(label);
      times[key].push(await measure());
    }
  }
  const a = median(times.auto), l = median(times.lanczos);
  console.log(`256x256 crop of OST_009.png at 4x, click to decoded image, median of ${rounds}:`);
  console.log(`  default model (auto): ${a.toFixed(2)} s   lanczos: ${l.toFixed(2)} s   ratio ${(a / l).toFixed(1)}x`);
  console.log(`  all auto: ${times.auto.map((t) => t.toFixed(2)).join(' ')}`);
  if (shots) {
    // The old photo: faithful model, full clean-up and lanczos side by side.
    await page.click('#images li:nth-child(2) .item');
    for (const box of await page.$$('#variants input')) await box.uncheck();
    for (const label of ['photo-x4', 'restore-x4 @ 1', 'lanczos']) await page.check(`#variants label:has-text("${label}") input`);
    await page.selectOption('#enlarge', 'nearest');
    await measure();
    await page.screenshot({ path: join(shots, 'preview.png') });
    await page.selectOption('#restore', '1');
    await page.click('#run');
    await page.waitForFunction(() => /done:/.test(document.querySelector('#status').textContent), null, { timeout: 120000 });
    await page.check('input[name=mode][value=slider]');
    await page.$eval('#split', (s) => { s.value = '50'; s.dispatchEvent(new Event('input')); });
    await page.screenshot({ path: join(shots, 'compare.png') });
    await page.click('#review');
    await page.waitForFunction(() => /Review:/.test(document.querySelector('#status').textContent));
    await page.check('input[name=mode][value=side]');
    await page.screenshot({ path: join(shots, 'side-by-side.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(shots, 'phone.png') });
  }
} finally {
  await browser.close();
  child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
