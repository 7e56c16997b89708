// End-to-end tests of the web UI in a real browser against a real `okno demo` server: a
// request's whole life through the portal, the operator console and the agency workspace;
// the heat map; language; access control; escaping of citizens' text; form validation;
// screenshots of every main screen at desktop and phone sizes; the time to first render.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { strFromU8, unzipSync } from 'fflate';
import { after, before, describe, it } from 'node:test';
import { axeViolations, bundleWireSize, cellCentre, fileRequest, launch, mapDrawn, openPage, recordFigure, shoot, signIn, USERS, VIEWPORTS } from './harness.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A word no demo request contains, to find this run's request. */
const MARK = `e2e${Date.now().toString(36)}`;
function assertClean(page) {
  assert.deepEqual(page.problems, [], 'the page logged no errors');
}

describe('a request through its whole life', () => {
  const state = {};

  it('a citizen leaves the topic to Okno, places a pin, files the request and gets a tracking link', async () => {
    const page = await openPage(browser);
    await page.goto('/');
    // Searching narrows the catalog; not sure which topic fits, the citizen lets Okno choose.
    await page.getByLabel('Найдите тему по словам').fill('двор');
    await page.getByLabel('Тема', { exact: true }).getByRole('option', { name: 'Благоустройство двора' }).waitFor({ state: 'attached' });
    await page.getByLabel('Тема', { exact: true }).selectOption({ label: 'Не знаю — пусть Окно определит по описанию' });
    // The pin: click the map where the demo's central district lies.
    await page.getByTestId('portal-map').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid=portal-map] canvas'));
    await page.getByTestId('portal-map').click();
    await page.getByText(/\(\d+\.\d{5}, \d+\.\d{5}\)/).waitFor();
    await page.getByLabel('Адрес').fill('Невский пр., 1');
    await page.getByLabel('Описание').fill(`Во дворе глубокая яма на проезде, машины не проходят ${MARK}`);
    await page.getByLabel('Ваше имя').fill('Иванова А.');
    await page.getByLabel('Эл. почта для ответа').fill('citizen@example.org');
    await shoot(page, 'portal-desktop');
    await page.getByRole('button', { name: 'Отправить' }).click();
    await page.getByTestId('sent').waitFor();
    state.token = (await page.getByTestId('token').textContent()).trim();
    assert.match(page.url(), new RegExp(`/track/${state.token}`));
    await page.getByRole('heading', { name: /Обращение №\d+/ }).waitFor();
    state.id = Number((await page.getByRole('heading', { name: /Обращение №\d+/ }).textContent()).match(/\d+/)[0]);
    assert.ok(await page.getByText(MARK).isVisible(), 'the track page shows what was written');
    assert.equal(await page.getByText('citizen@example.org').count(), 0, 'the track page never shows the contact');
    await shoot(page, 'track-desktop');
    assertClean(page);
  });

  it('an operator triages it from the keyboard: the suggested topic routes it to its agency', async () => {
    const page = await openPage(browser);
    await signIn(page, USERS.operator);
    await page.goto('/console/triage');
    const items = page.getByTestId('triage').locator(':scope > li');
    const mine = items.filter({ hasText: MARK });
    await mine.waitFor();
    // j moves down until this request is the current one.
    while ((await mine.getAttribute('aria-current')) !== 'true') await page.keyboard.press('j');
    const choices = (await mine.locator('.choices > li').allTextContents()).map((c) => c.replace(/\s+/g, ' '));
    const pothole = choices.findIndex((c) => c.includes('Яма на дороге → Комитет по дорожному хозяйству'));
    assert.ok(pothole >= 0, `the model suggests the pothole service among ${JSON.stringify(choices)}`);
    // The words behind a choice are whole words of the request's text, not stems.
    const text = await mine.locator('.clip').textContent();
    const because = (await mine.locator('.choices > li').nth(pothole).locator('small').textContent()).replace(/^[^:]*:\s*/, '');
    for (const word of because.split(', ')) assert.ok(text.includes(word), `«${word}» is a word of «${text}»`);
    // A number key chooses; the same key again takes the choice.
    await page.keyboard.press(String(pothole + 1));
    await mine.getByRole('status').waitFor();
    await shoot(page, 'triage-desktop');
    assert.equal(await mine.count(), 1, 'one key press alone routes nothing');
    await page.keyboard.press(String(pothole + 1));
    await mine.waitFor({ state: 'detached' });
    assertClean(page);
  });

  it('an operator finds it by full-text search and sees the contact only on an audited reveal', async () => {
    const page = await openPage(browser);
    await signIn(page, USERS.operator);
    await page.goto('/console');
    await page.getByLabel('Слова в тексте или адресе').fill(MARK);
    await page.getByRole('button', { name: 'Применить' }).click();
    await page.getByRole('link', { name: String(state.id), exact: true }).click();
    await page.getByTestId('request-text').waitFor();
    assert.equal(await page.getByText('citizen@example.org').count(), 0, 'contact hidden until revealed');
    await page.getByRole('button', { name: /Показать контакты/ }).click();
    await page.getByTestId('contact').getByText('citizen@example.org').waitFor();
    await page.getByTestId('request-agency').getByText('Комитет по дорожному хозяйству', { exact: true }).waitFor();
    await page.getByTestId('timeline').getByText('Направлено в ведомство').last().waitFor();
    await shoot(page, 'request-desktop');
    assertClean(page);
  });

  it('the roads committee sees it in its queue and answers with a template', async () => {
    const page = await openPage(browser);
    await signIn(page, USERS.roads);
    assert.match(page.url(), /\/agency$/);
    await page.getByRole('link', { name: String(state.id), exact: true }).waitFor();
    await shoot(page, 'agency-desktop');
    await page.getByRole('link', { name: String(state.id), exact: true }).click();
    await page.locator('button[data-action=answer]').click();
    await page.getByRole('group', { name: 'Шаблоны ответов' }).getByRole('button').first().click();
    assert.match(await page.getByLabel(/Текст ответа/).inputValue(), /Работы выполнены/);
    await page.getByRole('button', { name: 'Выполнить: Ответить' }).click();
    await page.getByRole('status').getByText('Действие «Ответить» выполнено').waitFor();
    await page.getByText('Дан ответ').first().waitFor();
    assertClean(page);
  });

  it('the citizen sees the answer on the tracking page and rates it', async () => {
    const page = await openPage(browser);
    await page.goto(`/track/${state.token}`);
    await page.getByTestId('answer').getByText(/Работы выполнены/).waitFor();
    await page.getByRole('button', { name: '5 / 5' }).click();
    await page.getByTestId('rated').getByText('5 из 5').waitFor();
    assertClean(page);
  });

  it('the heat map shows the new request in its cell, and staff see it behind the cell', async () => {
    const page = await openPage(browser);
    await signIn(page, USERS.operator);
    // The pin was clicked at the portal map's centre; ask the API which cell counts the request
    // and look at that cell on the map.
    await page.goto('/console');
    const request = await page.evaluate(async (id) => (await fetch(`/api/v1/requests/${id}`)).json(), state.id);
    const centre = await cellCentre(page, state.id, request.coordinates.lat, request.coordinates.lon);
    await page.goto(`/map?lat=${centre.lat}&lon=${centre.lon}&zoom=12&window=7`);
    await mapDrawn(page);
    await page.getByTestId('map').click();
    const details = page.getByTestId('place-details');
    await details.waitFor();
    assert.match(await details.textContent(), /Обращений: [1-9]/);
    await details.getByRole('link', { name: `№${state.id}` }).waitFor();
    await shoot(page, 'map-cell-desktop');
    assertClean(page);
  });
});

describe('the request page', () => {
  it('offers only the actions open now, each with its own checked form, and words refusals in Russian', async () => {
    const filed = await fileRequest({ service_code: 'pothole', text: `Яма на проезде ${MARK}-actions`, lat: 60.0324, lon: 30.5813 });
    const page = await openPage(browser);
    await signIn(page, USERS.operator);
    await page.goto(`/console/requests/${filed.id}`);
    await page.locator('button[data-action=route]').waitFor();
    const offered = await page.locator('button[data-action]').evaluateAll((buttons) => buttons.map((b) => b.dataset.action));
    // (the pothole service routes itself to the roads committee)
    for (const closed of ['close', 'rate', 'reopen', 'resume-deadline']) assert.ok(!offered.includes(closed), `${closed} is not offered to a routed request: ${offered}`);
    // Routing asks for the agency first, before anything is sent.
    await page.locator('button[data-action=route]').click();
    await page.getByRole('button', { name: 'Выполнить: Направить' }).click();
    await page.locator('#action-agency-error').getByText('обязательное поле').waitFor();
    await shoot(page, 'request-actions-desktop');
    // Someone else rejects it meanwhile; rejecting it again is refused, in Russian.
    await page.locator('button[data-action=reject]').click();
    await page.getByLabel(/Причина/).fill('Не по адресу');
    const other = await openPage(browser);
    await signIn(other, USERS.operator);
    await other.goto(`/console/requests/${filed.id}`);
    await other.locator('button[data-action=reject]').click();
    await other.getByLabel(/Причина/).fill('Повтор');
    await other.getByRole('button', { name: 'Выполнить: Отклонить' }).click();
    await other.getByRole('status').waitFor();
    await page.getByRole('button', { name: 'Выполнить: Отклонить' }).click();
    const text = await page.getByRole('alert').textContent();
    assert.match(text, /«Отклонить» недоступно: обращение в статусе «Отклонено»/);
    assert.doesNotMatch(text, /[a-z]{4,}/, `no English: ${text}`);
    const timeline = await page.getByTestId('timeline').textContent();
    assert.ok(!/\bweb\b/.test(timeline), `the citizen is named in Russian: ${timeline}`);
    // (the refused call is logged by the browser as a failed load, so the page is not "clean")
  });
});

describe('duplicates', () => {
  it('an operator merges a twin into the original, and the twin’s citizen is sent to follow the original', async () => {
    const spot = { service_code: 'pothole', lat: 60.0375, lon: 30.5975 };
    const original = await fileRequest({ ...spot, text: `Глубокая яма на дороге у остановки ${MARK}` });
    const twin = await fileRequest({ ...spot, lat: spot.lat + 0.0003, text: `Яма на дороге возле остановки ${MARK}` });
    const page = await openPage(browser);
    await signIn(page, USERS.operator);
    await page.goto(`/console/requests/${twin.id}`);
    await page.locator(`button[data-merge="${original.id}"]`).click();
    await page.getByTestId('merged-into').getByText(`№${original.id}`).waitFor();
    await page.getByRole('link', { name: new RegExp(`№${original.id}`) }).first().click();
    await page.getByTestId('merged-here').getByRole('link', { name: `№${twin.id}` }).waitFor();
    assertClean(page);

    const citizen = await openPage(browser);
    await citizen.goto(`/track/${twin.token}`);
    await citizen.getByTestId('merged-into').getByRole('link').click();
    await citizen.getByRole('heading', { name: `Обращение №${original.id}` }).waitFor();
    assert.match(await citizen.getByTestId('followers').textContent(), /: 1$/);
    await shoot(citizen, 'followed-original-desktop');
    assertClean(citizen);
  });
});

describe('systemic problems', () => {
  it('the situation screen lists the demo’s recurring roof leak; an operator names it, gives it an owner and accepts it', async () => {
    const page = await openPage(browser);
    await signIn(page, USERS.operator);
    await page.goto('/map');
    await mapDrawn(page);
    const proposal = page.getByTestId('problems-panel').getByRole('link', { name: /крыш/i }).first();
    await proposal.click();
    await page.getByTestId('problem-members').getByText('9').waitFor();
    await page.getByTestId('problem-map').locator('canvas').waitFor();
    await page.locator('button[data-decision=accepted]').click();
    await page.getByText('Назовите проблему, чтобы принять её в работу').waitFor();
    await page.getByLabel('Название').fill('Протекает кровля дома в Центральном районе');
    await page.getByLabel('Ответственное ведомство').selectOption('housing');
    await page.locator('button[data-decision=accepted]').click();
    await page.getByTestId('problem-state').getByText('Принята в работу').waitFor();
    await page.getByTestId('problem-label').getByText('Протекает кровля дома в Центральном районе').waitFor();
    await page.getByTestId('problem-owner').getByText('Комитет по жилищно-коммунальному хозяйству').waitFor();
    await shoot(page, 'problem-desktop');
    await page.goto('/console/problems');
    await page.getByLabel('Статус').selectOption('accepted');
    await page.getByRole('link', { name: 'Протекает кровля дома в Центральном районе' }).waitFor();
    assertClean(page);
  });
});

describe('the situation screen', () => {
  it('draws the data layer with no base map, and reports the time to first render', async () => {
    const page = await openPage(browser);
    await signIn(page, USERS.operator);
    const started = Date.now();
    await page.goto('/map');
    const count = await mapDrawn(page);
    const wall = Date.now() - started;
    const drawnAt = await page.evaluate(() => performance.getEntriesByName('okno-data-drawn')[0]?.startTime);
    assert.ok(count > 0, 'the demo region has requests in the last 30 days');
    assert.ok(drawnAt > 0, 'the data layer was drawn');
    recordFigure('situation_first_render_ms', { navigation_to_data_drawn_ms: Math.round(drawnAt), wall_ms: wall, requests_in_window: count });
    // What the page loaded: its own files and those it asked for (the map's).
    const loaded = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => p.startsWith('/assets/')));
    const bundle = await bundleWireSize('/map', loaded);
    const total = Object.values(bundle).reduce((a, b) => a + b, 0);
    assert.ok(Object.keys(bundle).some((f) => f.endsWith('.js')) && Object.keys(bundle).some((f) => f.endsWith('.css')), 'the page loads its script and style');
    recordFigure('bundle_gzip_bytes', { total, files: bundle });
    // The demo's heating failure in the Gatchina district is found as a spike.
    const alerts = page.getByTestId('alerts-panel').getByRole('listitem');
    await alerts.filter({ hasText: 'Гатчинский район' }).first().waitFor();
    await shoot(page, 'map-desktop');
    const before = await alerts.count();
    await alerts.first().getByRole('button', { name: 'Принять' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=alerts-panel] li').length === n - 1, before);
    await page.getByText('Территории', { exact: true }).click();
    await page.locator('select[name=measure]').selectOption('per_1000');
    await page.waitForFunction(() => document.querySelector('[data-testid=map-total]'));
    await shoot(page, 'map-territories-desktop');
    assertClean(page);
  });

  it('colours only places with requests, writes out its scale, and says when a window is empty', async () => {
    const page = await openPage(browser);
    await page.goto('/map?window=7');
    await mapDrawn(page);
    const classes = await page.getByTestId('legend').getByRole('listitem').allTextContents();
    const table = page.getByTestId('places-table');
    await table.locator('summary').click();
    const counts = (await table.locator('tbody tr td:first-of-type').allTextContents()).map((c) => Number(c.replace(/\D/g, '')));
    const fewest = Math.min(...counts.filter((c) => c > 0));
    assert.match(classes[0], new RegExp(`^\\D*${fewest}(\\D|$)`), `the first class starts at the fewest requests a place has (${fewest}): ${classes.join(' | ')}`);
    assert.ok(classes.at(-1).includes('нет обращений'), `places with none are shown as such: ${classes.join(' | ')}`);
    await page.locator('select[name=measure]').selectOption('change');
    await page.getByTestId('legend').getByText(/%/).first().waitFor();
    await page.goto('/map?end=2015-01-01&window=7');
    await mapDrawn(page);
    await page.getByTestId('map-total').getByText(/обращений нет/).waitFor();
    assert.equal(await page.getByTestId('legend').count(), 0, 'no scale for an empty map');
    assertClean(page);
  });

  it('lists behind a place the very requests its count counts, and keeps the place current', async () => {
    const page = await openPage(browser);
    await signIn(page, USERS.operator);
    await page.goto('/map');
    await mapDrawn(page);
    await page.getByText('Территории', { exact: true }).click();
    await page.locator('select[name=category]').selectOption('roads');
    await page.locator('select[name=status]').selectOption('open');
    await page.waitForLoadState('networkidle');
    const table = page.getByTestId('places-table');
    await table.locator('summary').click();
    // The place with the fewest requests (but some), so that its whole list fits one page.
    const counts = (await table.locator('tbody tr td:first-of-type').allTextContents()).map((c) => Number(c.replace(/\D/g, '')));
    const row = counts.reduce((best, c, i) => (c > 0 && (best < 0 || c < counts[best]) ? i : best), -1);
    assert.ok(row >= 0 && counts[row] <= 20, `a territory with a few open road requests: ${counts}`);
    const place = table.locator('tbody tr').nth(row);
    const name = (await place.locator('th').textContent()).trim();
    await place.getByRole('button').click();
    const details = page.getByTestId('place-details');
    await details.getByRole('heading', { name }).waitFor();
    await details.getByText(`Обращений: ${counts[row]}`).waitFor();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=place-details] li').length === n, counts[row]);
    for (const badge of await details.locator('.badge').allTextContents()) {
      assert.ok(!['Закрыто', 'Отклонено', 'Дубликат'].includes(badge.trim()), `only open requests: ${badge}`);
    }
    await shoot(page, 'map-place-desktop');
    // Another window: the chosen place stays chosen, with this window's count (as the table has it).
    const total = await page.getByTestId('map-total').textContent();
    await page.locator('select[name=window]').selectOption('90');
    await page.waitForFunction((before) => document.querySelector('[data-testid=map-total]')?.textContent !== before, total);
    await page.waitForFunction((place) => {
      const row = [...document.querySelectorAll('[data-testid=places-table] tbody tr')].find((r) => r.querySelector('th')?.textContent?.trim() === place);
      const count = row?.querySelector('td')?.textContent?.replace(/\D/g, '');
      return !!count && !!document.querySelector('[data-testid=place-details]')?.textContent?.includes(`Обращений: ${count}`);
    }, name);
    // Hexagons: a territory is no longer on the map, so it is no longer chosen.
    await page.getByLabel('Соты', { exact: true }).check();
    await details.waitFor({ state: 'detached' });
    assertClean(page);
  });

  it('draws the year before on the series, with dates and a scale in the reader’s language', async () => {
    const page = await openPage(browser, { lang: 'en' });
    await page.goto('/map?window=90');
    await mapDrawn(page);
    const chart = page.locator('.chart').first();
    await chart.locator('.line-before').waitFor({ state: 'attached' });
    const caption = await chart.locator('figcaption').textContent();
    assert.match(caption, /a year before/);
    assert.doesNotMatch(caption, /\d{4}-\d{2}-\d{2}/, 'dates are written for people');
    assert.doesNotMatch(await page.locator('body').textContent(), /max \d/);
    await shoot(page, 'map-english-desktop');
    assertClean(page);
  });

  it('is public without the staff panels, and reads on a phone', async () => {
    const page = await openPage(browser, { viewport: VIEWPORTS.phone });
    await page.goto('/map');
    await mapDrawn(page);
    assert.equal(await page.getByTestId('alerts-panel').count(), 0);
    await shoot(page, 'map-phone');
    assertClean(page);
  });
});

describe('spike alerts', () => {
  it('lead from the list to their place and days on the map and to their requests, and say where they went', async () => {
    const page = await openPage(browser);
    await signIn(page, USERS.operator);
    await page.goto('/console/alerts');
    // The situation screen's test acknowledged one: it is under "acknowledged" now.
    await page.locator('.console select').first().selectOption('acknowledged');
    const table = page.locator('table.alerts');
    // The acknowledged list is in (the new one, shown first, has alerts to accept).
    await page.waitForFunction(() => {
      const buttons = [...document.querySelectorAll('table.alerts button')].map((b) => b.textContent);
      return buttons.includes('Закрыть') && !buttons.includes('Принять');
    });
    const first = table.locator('tbody > tr').first();
    const topic = (await first.locator('th').textContent()).trim();
    const place = (await first.locator('td').nth(0).textContent()).trim();
    const period = (await first.locator('td').nth(1).textContent()).trim();
    // That alert's row wherever the list puts it (it reloads as alerts change).
    const alertRow = (list) => list.filter({ has: page.getByRole('rowheader', { name: topic }) }).filter({ hasText: place }).filter({ hasText: period }).first();
    const row = alertRow(table.locator('tbody > tr'));
    await row.getByRole('button', { name: 'Обращения' }).click();
    await table.locator('table.requests tbody tr').first().waitFor();
    await shoot(page, 'alerts-desktop');
    await row.getByRole('button', { name: 'Закрыть' }).click();
    await page.getByRole('status').getByText(`Всплеск «${topic}» теперь в списке «Закрытые».`).waitFor();
    await page.locator('.console select').first().selectOption('resolved');
    await shoot(page, 'alerts-resolved-desktop');
    const resolved = alertRow(page.locator('table.alerts tbody > tr'));
    await resolved.getByRole('link', { name: 'На карте' }).click();
    await mapDrawn(page);
    if (place !== 'весь регион') await page.getByTestId('place-details').getByRole('heading', { name: place }).waitFor();
    assert.notEqual(await page.locator('select[name=category]').inputValue(), '', 'the alert’s topic is the filter');
    await shoot(page, 'alert-on-map-desktop');
    assertClean(page);
  });
});

describe('deadline control and the request list', () => {
  it('lead from an agency’s count to its requests, and keep the choice and the dates in the address', async () => {
    const page = await openPage(browser);
    await signIn(page, USERS.operator);
    await page.goto('/console/queues');
    const count = page.locator('table.queues').getByRole('button', { name: / — Просрочено: / }).first();
    const agency = (await count.getAttribute('aria-label')).replace(/^.* — Просрочено: /, '');
    const n = Number((await count.textContent()).replace(/\D/g, ''));
    await count.click();
    await page.getByRole('heading', { name: `Просрочено — ${agency}` }).waitFor();
    assert.match(page.url(), /queue=overdue&agency=/);
    const rows = page.locator('table.requests tbody tr');
    // The list holds the requests the count counts (and only the agency's).
    await page.waitForFunction((want) => document.querySelectorAll('table.requests tbody tr').length === want, Math.min(n, 50));
    for (const shown of await rows.locator('td:nth-child(5)').allTextContents()) assert.equal(shown.trim(), agency);
    await page.reload();
    await page.getByRole('heading', { name: `Просрочено — ${agency}` }).waitFor();
    await shoot(page, 'queues-agency-desktop');
    // What is on the screen, saved as CSV: the header and one line per request.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Скачать CSV' }).last().click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    assert.ok(csv.startsWith('\ufeff№,Создано,Тема,Текст,Ведомство,Статус,Срок\r\n'), csv.slice(0, 80));
    assert.equal(csv.trim().split('\r\n').length, Math.min(n, 50) + 1);
    assert.ok(csv.includes(agency));
    // And as a workbook: the same rows, the request numbers as numbers.
    const [workbook] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Скачать XLSX' }).last().click()]);
    assert.match(workbook.suggestedFilename(), /\.xlsx$/);
    const files = unzipSync(readFileSync(await workbook.path()));
    const sheet = strFromU8(files['xl/worksheets/sheet1.xml']);
    assert.equal(sheet.match(/<row /g).length, Math.min(n, 50) + 1, 'a header and a row per request');
    assert.match(sheet, /<c r="A2"(?![^>]*t="(s|inlineStr|str)")[^>]*><v>\d+<\/v><\/c>/, 'the request number is a number');
    assert.ok(Object.entries(files).some(([name, bytes]) => name.startsWith('xl/') && strFromU8(bytes).includes(agency)), 'the agency is written');
    // The request list: filed between two days, kept in the address.
    await page.goto('/console');
    const to = new Date(Date.now() + 3 * 3_600_000).toISOString().slice(0, 10);
    const from = new Date(Date.now() + 3 * 3_600_000 - 2 * 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('Поданы с').fill(from);
    await page.getByLabel('по', { exact: true }).fill(to);
    await page.getByRole('button', { name: 'Применить' }).click();
    await page.waitForFunction(() => window.location.search.includes('from='));
    await page.reload();
    assert.equal(await page.getByLabel('Поданы с').inputValue(), from);
    await page.locator('table.requests tbody tr').first().waitFor();
    assertClean(page);
  });
});

describe('every screen', () => {
  it('switches between Russian and English and keeps the choice', async () => {
    const page = await openPage(browser);
    await page.goto('/');
    await page.getByRole('heading', { name: 'Сообщите о проблеме' }).waitFor();
    await page.getByLabel('Язык').selectOption('en');
    await page.getByRole('heading', { name: 'Report a problem' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    await page.reload();
    await page.getByRole('heading', { name: 'Report a problem' }).waitFor();
    await shoot(page, 'portal-english-desktop');
    assertClean(page);
  });

  it('has no accessibility violations axe-core can find, on every main page', async () => {
    const filed = await fileRequest({ service_code: 'pothole', text: `Яма у дома ${MARK}-axe`, lat: 60.0324, lon: 30.5813 });
    const found = {};
    const check = async (page, name, path, ready) => {
      await page.goto(path);
      await page.locator(ready).first().waitFor({ state: 'attached' });
      if (path.startsWith('/map')) await mapDrawn(page);
      found[name] = await axeViolations(page);
    };
    const citizen = await openPage(browser);
    await check(citizen, 'portal', '/', 'form.report');
    await check(citizen, 'track', `/track/${filed.token}`, 'h1');
    await check(citizen, 'public map', '/map', '[data-testid=map-total]');
    const operator = await openPage(browser);
    await signIn(operator, USERS.operator);
    for (const [name, path, ready] of [
      ['situation screen', '/map', '[data-testid=map-total]'],
      ['console', '/console', 'table.requests'],
      ['request', `/console/requests/${filed.id}`, '[data-testid=request-text]'],
      ['triage', '/console/triage', '[data-testid=triage]'],
      ['queues', '/console/queues', 'table.queues'],
      ['alerts', '/console/alerts', '.console select'],
      ['problems', '/console/problems', '.console'],
      ['dashboards', '/dashboards', 'table.scorecards'],
    ]) await check(operator, name, path, ready);
    const agency = await openPage(browser);
    await signIn(agency, USERS.roads);
    await check(agency, 'agency', '/agency', 'h1');
    const counts = Object.fromEntries(Object.entries(found).map(([page, violations]) => [page, violations.length]));
    recordFigure('axe_violations', counts);
    const serious = Object.entries(found).flatMap(([page, violations]) => violations.filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) => `${page}: ${v.id} ${v.nodes}`));
    assert.deepEqual(serious, [], 'no serious or critical violation');
    assert.deepEqual(Object.entries(found).filter(([, v]) => v.length > 0).map(([page, v]) => `${page}: ${v.map((x) => x.id)}`), [], 'no violation at all');
  });

  it('saves screenshots at desktop and phone sizes', async () => {
    for (const [size, viewport] of Object.entries(VIEWPORTS)) {
      const page = await openPage(browser, { viewport });
      await signIn(page, USERS.operator);
      for (const [name, path, ready] of [
        ['console', '/console', 'table.requests'],
        ['queues', '/console/queues', 'table.queues'],
        ['dashboards', '/dashboards', 'table.scorecards'],
        ['portal', '/', 'form.report'],
      ]) {
        await page.goto(path);
        await page.locator(ready).waitFor();
        await shoot(page, `${name}-${size}`);
      }
      assertClean(page);
    }
  });
});

describe('dashboards', () => {
  it('ranks agencies or territories, and shows one territory’s dynamics and channels', async () => {
    const page = await openPage(browser);
    await signIn(page, USERS.analyst);
    await page.goto('/dashboards');
    await page.getByRole('heading', { name: 'Рейтинг ведомств' }).waitFor();
    await page.locator('table.scorecards').getByRole('rowheader', { name: 'Комитет по дорожному хозяйству' }).waitFor();
    await page.getByLabel('Территории', { exact: true }).check();
    await page.getByRole('heading', { name: 'Рейтинг территорий' }).waitFor();
    const vsevolozhsky = page.locator('table.scorecards tbody tr').filter({ has: page.getByRole('rowheader', { name: 'Всеволожский район' }) });
    await vsevolozhsky.waitFor();
    // Requests per 1,000 residents: the row's requests over its population (571,142 people).
    const cells = await vsevolozhsky.locator('td').allTextContents();
    const received = Number(cells[1].replace(/\s/g, ''));
    assert.equal(cells[2], (received / 571.142).toLocaleString('ru-RU', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
    const region = await page.locator('.bars').textContent();
    await page.getByLabel('Динамика и каналы:').selectOption({ label: 'Гатчинский район' });
    await page.waitForFunction((before) => document.querySelector('.bars')?.textContent !== before, region);
    await shoot(page, 'dashboards-territory-desktop');
    // Another period: kept in the address, the league counts fewer days.
    await page.getByLabel('7 дн.').check();
    await page.waitForFunction(() => window.location.search.includes('days=7'));
    await page.waitForFunction((before) => {
      const row = [...document.querySelectorAll('table.scorecards tbody tr')].find((r) => r.querySelector('th')?.textContent === 'Всеволожский район');
      return row && Number(row.querySelectorAll('td')[1].textContent.replace(/\s/g, '')) < before;
    }, received);
    await page.reload();
    assert.ok(await page.getByLabel('7 дн.').isChecked(), 'the period survives a reload');
    // Printed: the content only.
    await page.emulateMedia({ media: 'print' });
    assert.ok(!(await page.locator('header.top').isVisible()) && !(await page.getByRole('button', { name: 'Скачать CSV' }).isVisible()), 'no navigation or buttons on paper');
    assert.ok(await page.locator('table.scorecards').isVisible());
    await shoot(page, 'dashboards-print');
    await page.emulateMedia({ media: 'screen' });
    // From a row to its requests in the period.
    await page.locator('table.scorecards').getByRole('link', { name: 'Всеволожский район' }).click();
    await page.waitForURL(/\/console\?territory=41612000&from=/);
    await page.locator('table.requests tbody tr').first().waitFor();
    assert.equal(await page.getByLabel('Территория').inputValue(), '41612000');
    assertClean(page);
  });
});

describe('the portal', () => {
  it('names the districts on its map, finds a place by the beginnings of its words and puts the pin there', async () => {
    const page = await openPage(browser, { viewport: VIEWPORTS.phone });
    await page.goto('/');
    await page.locator('.map-label', { hasText: 'Гатчинский район' }).waitFor();
    const address = page.getByRole('combobox', { name: 'Адрес' });
    await address.fill('гатчина ленина');
    await page.getByRole('option', { name: /^г\. Гатчина, ул\. Ленина улица/ }).waitFor();
    await shoot(page, 'portal-address-phone');
    await address.press('ArrowDown');
    await address.press('Enter');
    assert.equal(await address.inputValue(), 'г. Гатчина, ул. Ленина');
    assert.equal(await page.locator('#address-places [role=option]').count(), 0, 'the suggestions close');
    await page.locator('#place-error').getByText(/\(59\.5\d+, 30\.1\d+\)/).waitFor();
    // A district is found too, in the page's language.
    await page.getByLabel('Язык').selectOption('en');
    await page.getByRole('combobox', { name: 'Address' }).fill('vsevol');
    await page.getByRole('option', { name: /^Vsevolozhsky District territory/ }).waitFor();
    await shoot(page, 'portal-address-english-phone');
    assertClean(page);
  });
});

describe('access and safety', () => {
  it('an agency user cannot open another agency’s request', async () => {
    const other = await fileRequest({ service_code: 'water', text: `Нет холодной воды в доме ${MARK}`, lat: 60.0324, lon: 30.5813 });
    assert.equal(other.agency, 'water');
    const page = await openPage(browser);
    await signIn(page, USERS.roads);
    await page.goto(`/console/requests/${other.id}`);
    await page.getByRole('alert').getByText(/Нет доступа/).waitFor();
    assert.equal(await page.getByText(`Нет холодной воды в доме ${MARK}`).count(), 0, 'the text is not shown');
    await page.goto('/console');
    await page.getByText('Нет доступа').waitFor();
    page.problems = page.problems.filter((p) => !/403/.test(p));
    assertClean(page);
  });

  it('renders citizens’ HTML and script as text in the portal, the console and the map', async () => {
    const payload = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> ${MARK}xss`;
    const filed = await fileRequest({
      service_code: 'pothole',
      text: `Яма ${payload}`,
      address: `<b onmouseover="window.__xss=3">ул. Тестовая</b><svg onload="window.__xss=4">`,
      lat: 60.0376,
      lon: 30.5914,
    });
    const page = await openPage(browser);
    await page.goto(`/track/${filed.token}`);
    await page.getByText(`${MARK}xss`, { exact: false }).first().waitFor();
    assert.ok((await page.locator('.citizen-text').first().textContent()).includes('<img src=x'), 'shown as typed');
    await signIn(page, USERS.operator);
    await page.goto(`/console?q=${MARK}xss`);
    await page.locator('table.requests').getByText(`${MARK}xss`, { exact: false }).waitFor();
    await page.goto(`/console/requests/${filed.id}`);
    await page.getByTestId('request-text').waitFor();
    const centre = await cellCentre(page, filed.id, 60.0376, 30.5914);
    await page.goto(`/map?lat=${centre.lat}&lon=${centre.lon}&zoom=12&window=7`);
    await mapDrawn(page);
    await page.getByTestId('map').click();
    await page.getByTestId('place-details').getByText(`${MARK}xss`, { exact: false }).waitFor();
    assert.equal(await page.evaluate(() => window.__xss), undefined, 'no injected code ran');
    // A text a spreadsheet would run as a formula is saved as text.
    await fileRequest({ service_code: 'pothole', text: `=HYPERLINK("http://x.example";"яма") ${MARK}formula`, lat: 60.0376, lon: 30.5914 });
    await page.goto(`/console?q=${MARK}formula`);
    await page.locator('table.requests').getByText(`${MARK}formula`, { exact: false }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Скачать CSV' }).click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    assert.ok(csv.includes(`"'=HYPERLINK(""http://x.example"";""яма"") ${MARK}formula"`), csv);
    assertClean(page);
  });

  it('the portal checks the form in the browser and shows the server’s objections beside the fields', async () => {
    const page = await openPage(browser);
    await page.goto('/');
    await page.getByRole('button', { name: 'Отправить' }).click();
    await page.locator('#service-error').getByText('Обязательное поле').waitFor();
    await page.locator('#text-error').waitFor();
    await page.locator('#place-error').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'service', 'focus goes to the first wrong field');
    await page.getByLabel('Тема', { exact: true }).selectOption('pothole');
    await page.getByLabel('Адрес').fill('ул. Садовая, 5');
    await page.getByLabel('Описание').fill('Яма на дороге у дома, глубокая');
    await page.getByLabel('Телефон').fill('позвоните мне');
    await page.getByRole('button', { name: 'Отправить' }).click();
    await page.locator('#phone-error').getByText('неверный формат').waitFor();
    await shoot(page, 'portal-errors-desktop');
    page.problems = page.problems.filter((p) => !/422/.test(p));
    assertClean(page);
  });
});
