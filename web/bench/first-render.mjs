// The time to first useful render of each main page: for each, fresh loads (a new browser
// context each, signed in as the page's user, nothing cached), from the start of navigation
// to the moment the page shows its data; the median, the fastest and the slowest. Also the
// bundle's size as the browser downloads it (gzip). Writes the figures beside the issue's
// target (every page but the map under 600 ms) as JSON.
//
//   OKNO_URL=http://127.0.0.1:8080 node web/bench/first-render.mjs [--runs 7] [--out FILE] [--path /map?…]
//
// `--path` times only the public situation map at that address (e.g. a year of a large
// database). scripts/bench-ui.sh starts a demo server and runs it.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { BASE, launch, signIn, USERS } from '../e2e/harness.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, out: { type: 'string', default: 'bench-results/ui-first-render.json' }, path: { type: 'string' } } });
const LOADS = Number(values.runs);
const TARGET_MS = 600;
const here = dirname(fileURLToPath(import.meta.url));
const out = values.out;

/** The main pages: who opens them and what shows they are ready. */
const MAIN_PAGES = [
  { name: 'portal', path: '/', user: null, ready: '#service option:nth-child(2)' },
  { name: 'situation map', path: '/map', user: 'operator', ready: 'body[data-map-drawn]' },
  { name: 'request list', path: '/console', user: 'operator', ready: 'table.requests tbody tr' },
  { name: 'deadline queues', path: '/console/queues', user: 'operator', ready: 'table.queues tbody tr' },
  { name: 'spike alerts', path: '/console/alerts', user: 'operator', ready: 'table.alerts tbody tr, .console p.muted' },
  { name: 'request page', path: '/console/requests/1', user: 'operator', ready: '[data-testid=request-text]' },
  { name: 'dashboards', path: '/dashboards', user: 'analyst', ready: 'table.scorecards tbody tr' },
  { name: 'agency workspace', path: '/agency', user: 'roads', ready: 'table tbody tr' },
];
const PAGES = values.path ? [{ name: 'situation map', path: values.path, user: null, ready: 'body[data-map-drawn]' }] : MAIN_PAGES;

/** The signed-in state of `user` (the session cookie and the UI's note that it signed in), to
 * start fresh contexts with. */
async function session(browser, user) {
  if (!user) return undefined;
  const context = await browser.newContext({ baseURL: BASE });
  const page = await context.newPage();
  await signIn(page, USERS[user]);
  const state = await context.storageState();
  await context.close();
  return state;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The gzip size of each file the UI's page loads (the built bundle in web/dist/assets). */
function bundleSizes() {
  const assets = join(here, '..', 'dist', 'assets');
  return Object.fromEntries(readdirSync(assets).map((f) => [f, gzipSync(readFileSync(join(assets, f))).length]));
}

const browser = await launch();
const pages = {};
for (const spec of PAGES) {
  const state = await session(browser, spec.user);
  const runs = [];
  for (let i = 0; i < LOADS; i++) {
    const context = await browser.newContext({ baseURL: BASE, storageState: state, viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    await page.goto(spec.path, { waitUntil: 'commit' });
    await page.waitForSelector(spec.ready, { state: 'attached', timeout: 60_000 });
    runs.push(Math.round(await page.evaluate(() => performance.now())));
    await context.close();
  }
  pages[spec.name] = { path: spec.path, median_ms: median(runs), fastest_ms: Math.min(...runs), slowest_ms: Math.max(...runs), runs_ms: runs };
  console.log(`${spec.name.padEnd(18)} median ${String(pages[spec.name].median_ms).padStart(5)} ms  (${runs.join(', ')})`);
}
await browser.close();

const bundle = bundleSizes();
const total = Object.values(bundle).reduce((a, b) => a + b, 0);
// What every page loads first (named in index.html); the rest (the map, the workbook writer)
// only when a page needs it.
const index = readFileSync(join(here, '..', 'dist', 'index.html'), 'utf8');
const entry = Object.entries(bundle).filter(([f]) => index.includes(f)).reduce((a, [, b]) => a + b, 0);
const report = {
  measured: new Date().toISOString(),
  server: BASE,
  loads_per_page: LOADS,
  target: `every page but the map under ${TARGET_MS} ms (issue 25)`,
  pages,
  median_over_target: Object.fromEntries(Object.entries(pages).map(([name, p]) => [name, Math.round((p.median_ms / TARGET_MS) * 100) / 100])),
  bundle_gzip_bytes: { every_page: entry, total, files: bundle },
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`bundle gzip: ${Math.round(entry / 1024)} KiB on every page, ${Math.round(total / 1024)} KiB with the map and the workbook writer; written ${out}`);
