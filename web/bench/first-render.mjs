// Times the situation screen's first render in headless Chromium against a running Okno:
// from navigation to the `okno-data-drawn` mark (the data layer drawn after MapLibre's first
// idle), over several fresh page loads; writes the median and the runs as JSON.
//   OKNO_URL=http://127.0.0.1:8080 node web/bench/first-render.mjs [--runs 7] [--path /map?…] [--out FILE] [--label TEXT]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { launch, mapDrawn, openPage } from '../e2e/harness.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, out: { type: 'string', default: 'bench-results/ui-first-render.json' }, label: { type: 'string', default: '' }, path: { type: 'string', default: '/map' } } });
const runs = Number(values.runs);
const browser = await launch();
const samples = [];
let count = 0;
for (let i = 0; i < runs; i++) {
  const page = await openPage(browser);
  await page.goto(values.path);
  count = await mapDrawn(page);
  samples.push(await page.evaluate(() => performance.getEntriesByName('okno-data-drawn')[0].startTime));
  await page.context().close();
}
await browser.close();
const sorted = [...samples].sort((a, b) => a - b);
const result = {
  label: values.label,
  url: `${process.env.OKNO_URL}${values.path}`,
  runs,
  requests_in_window: count,
  median_ms: Math.round(sorted[Math.floor(sorted.length / 2)]),
  min_ms: Math.round(sorted[0]),
  max_ms: Math.round(sorted[sorted.length - 1]),
  samples_ms: samples.map(Math.round),
};
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, JSON.stringify(result, null, 2));
console.log(JSON.stringify(result));
