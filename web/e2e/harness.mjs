// Shared pieces of the browser tests: Debian's Chromium driven by playwright-core against the
// running `okno demo` named by OKNO_URL, pages that record console errors, sign-in, and
// screenshots into web/artifacts/ (git-ignored) for people to look at.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { get as httpGet } from 'node:http';
import { chromium } from 'playwright-core';

/** The server under test. */
export const BASE = process.env.OKNO_URL ?? 'http://127.0.0.1:8080';
/** Where screenshots and figures go. */
export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

/** The demo's users (printed by `okno demo`; demonstration passwords only). */
export const USERS = {
  operator: ['operator', 'demo-operator-password'],
  roads: ['roads', 'demo-roads-password'],
  analyst: ['analyst', 'demo-analyst-password'],
};

/** Desktop and phone viewports of the screenshots. */
export const VIEWPORTS = { desktop: { width: 1400, height: 900 }, phone: { width: 390, height: 844 } };

/** Starts Chromium headless. */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-unsafe-swiftshader'],
  });
}

/** A fresh browser context (its own cookies and storage) with a page that records every console
 * error, failed script and violated Content-Security-Policy in `page.problems`. */
export async function openPage(browser, { viewport = VIEWPORTS.desktop, lang } = {}) {
  const context = await browser.newContext({ viewport, baseURL: BASE });
  if (lang) await context.addInitScript((l) => localStorage.setItem('okno.lang', l), lang);
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  return page;
}

/** Signs in through the login form as one of the demo users. */
export async function signIn(page, [login, password]) {
  await page.goto('/login');
  await page.getByLabel(/Логин|Login/).fill(login);
  await page.getByLabel(/Пароль|Password/).fill(password);
  await page.getByRole('button', { name: /^(Войти|Sign in)$/ }).last().click();
  await page.getByTestId('user').waitFor();
}

/** Saves a screenshot of the page as artifacts/NAME.png. */
export async function shoot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });
}

/** Waits until the situation screen has drawn its data layer; returns the count it shows. */
export async function mapDrawn(page) {
  await page.waitForFunction(() => document.body.dataset.mapDrawn !== undefined, null, { timeout: 60_000 });
  return Number(await page.evaluate(() => document.body.dataset.mapDrawn));
}

/** The centre of the heat-map cell (resolution 8, as the map draws at zoom 12) that counts
 * request `id`, filed near `lat`, `lon` in the last week: asked of the API as the signed-in
 * `page` (an H3 cell counts a request by the cell of its finest cell, whose coarser parent need
 * not contain the point itself, so the nearest cell is not always the one). */
export async function cellCentre(page, id, lat, lon) {
  const bbox = [lon - 0.02, lat - 0.01, lon + 0.02, lat + 0.01].join(',');
  const to = new Date(Date.now() + 3 * 3_600_000 + 86_400_000).toISOString().slice(0, 10);
  const from = new Date(Date.now() + 3 * 3_600_000 - 6 * 86_400_000).toISOString().slice(0, 10);
  const map = await (await fetch(`${BASE}/api/v1/analytics/heatmap?resolution=8&bbox=${bbox}&from=${from}&to=${to}`)).json();
  for (const f of map.features) {
    const ids = await page.evaluate(async (cell) => (await (await fetch(`/api/v1/requests?cell=${cell}&limit=500`)).json()).items.map((r) => r.id), f.properties.cell);
    if (ids.includes(id)) {
      const ring = f.geometry.coordinates[0].slice(0, -1);
      return { lon: ring.reduce((s, p) => s + p[0], 0) / ring.length, lat: ring.reduce((s, p) => s + p[1], 0) / ring.length };
    }
  }
  throw new Error(`no cell near ${lat}, ${lon} counts request ${id}`);
}

/** The bytes of a page's bundle as sent over the wire with gzip: the page, the scripts and
 * styles it names and the asset files in `loaded` (those it asked for later), as {file: bytes}. */
export async function bundleWireSize(path = '/', loaded = []) {
  const wire = (url) =>
    new Promise((resolve, reject) => {
      httpGet(new URL(url, BASE), { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        let bytes = 0;
        let body = '';
        res.on('data', (chunk) => {
          bytes += chunk.length;
          if (res.headers['content-encoding'] !== 'gzip') body += chunk;
        });
        res.on('end', () => resolve({ bytes, encoding: res.headers['content-encoding'], body }));
      }).on('error', reject);
    });
  const page = await (await fetch(new URL(path, BASE))).text();
  const files = [...new Set([...page.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]).concat(loaded))];
  const sizes = { [path]: (await wire(path)).bytes };
  for (const file of files) {
    const { bytes, encoding } = await wire(file);
    if (encoding !== 'gzip') throw new Error(`${file} was not sent gzip-compressed`);
    sizes[file] = bytes;
  }
  return sizes;
}

/** The accessibility violations axe-core (from web/node_modules) finds on the page as it stands:
 * [{id, impact, help, nodes}] — evaluated through the browser's debugging protocol, which the
 * page's Content-Security-Policy does not govern. */
export async function axeViolations(page) {
  const source = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  await page.evaluate(source);
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
}

/** Records a measured figure in artifacts/figures.json. */
export function recordFigure(name, value) {
  const path = join(ARTIFACTS, 'figures.json');
  const figures = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
  figures[name] = value;
  writeFileSync(path, JSON.stringify(figures, null, 2));
}

/** Files a request through the API as a citizen would through any client; returns it. */
export async function fileRequest(body) {
  const response = await fetch(`${BASE}/api/v1/requests`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'web', ...body }),
  });
  if (response.status !== 201) throw new Error(`filing failed: ${response.status} ${await response.text()}`);
  return response.json();
}
