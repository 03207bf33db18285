// The interface's quality bars, on the real demo: every page of the demo in
// Spanish and English, on a 1366 px desktop and a 390 px phone, with no
// horizontal overflow, no console errors, no failed requests, no serious or
// critical accessibility violation (axe-core, injected into the page), and —
// on Spanish pages — no English string from the catalogues. Then the things a
// community manager does with the keyboard and the mouse: the phone menu,
// shortcuts, correcting a sentiment in place, a form that keeps its input
// after an error, and the dark theme. Screenshots of every page go to
// target/e2e-screens/ for a person to look at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogue, launchBrowser, root, signIn, startServer, stopServer } from './support.mjs';

const es = catalogue('es');
const en = catalogue('en');
const axeSource = readFileSync(join(root, 'e2e/node_modules/axe-core/axe.min.js'), 'utf8');
const screens = join(root, 'target/e2e-screens');

let server;
let dataDir;
let browser;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'atalaya-e2e-quality-'));
  mkdirSync(screens, { recursive: true });
  server = await startServer({ dataDir, demo: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stopServer(server);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/// Every page of the demo a member can open, with a name for its screenshot.
const PAGES = [
  ['dashboard', '/w/cafe-aurora'],
  ['dashboard-7', '/w/cafe-aurora?days=7'],
  ['mentions', '/w/cafe-aurora/mentions'],
  ['mentions-filtered', '/w/cafe-aurora/mentions?sentiment=negative&q=aurora'],
  ['mentions-none', '/w/cafe-aurora/mentions?q=zzzzzz'],
  ['topics', '/w/cafe-aurora/topics'],
  ['topic-new', '/w/cafe-aurora/topics/new'],
  ['topic-edit', '/w/cafe-aurora/topics/1'],
  ['sources', '/w/cafe-aurora/sources'],
  ['source-new', '/w/cafe-aurora/sources/new'],
  ['import', '/w/cafe-aurora/import'],
  ['accounts', '/w/cafe-aurora/accounts'],
  ['members', '/w/cafe-aurora/members'],
  ['settings', '/w/cafe-aurora/settings'],
  ['audit', '/w/cafe-aurora/audit'],
  ['search', '/w/cafe-aurora/search?q=aurora'],
  ['account', '/account'],
  ['workspaces', '/workspaces'],
  ['styleguide', '/styleguide'],
];

/// English catalogue strings that must never show on a Spanish page: those
/// that differ from their Spanish translation and are long enough to be
/// unmistakable (placeholders cut them into fragments).
function englishStrings() {
  const text = readFileSync(join(root, 'crates/atalaya-web/locales/en.txt'), 'utf8');
  const fragments = new Set();
  for (const line of text.split('\n')) {
    const match = line.match(/^([a-z0-9_.]+)\s*=\s*(.*)$/);
    if (!match) continue;
    const [, key, value] = match;
    let spanish;
    try { spanish = es(key); } catch { continue; }
    if (spanish === value) continue;
    for (const fragment of value.split(/\{[a-z_]+\}/)) {
      const trimmed = fragment.trim();
      // Two words or more and a dozen letters: "Sign out", not "OK" or a brand name.
      if (trimmed.length >= 12 && /\s/.test(trimmed) && !spanish.includes(trimmed)) fragments.add(trimmed);
    }
  }
  return [...fragments];
}
const ENGLISH = englishStrings();

async function newSignedInPage({ locale, width }) {
  const context = await browser.newContext({
    locale,
    viewport: { width, height: width < 500 ? 844 : 900 },
    // axe-core is injected as a script: the page's CSP would (rightly) refuse it.
    bypassCSP: true,
  });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    // A navigation cancels what the previous page was still loading: not a failure.
    if (request.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  await page.goto(server.url + '/login');
  await signIn(page, server.credentials);
  problems.length = 0;
  return { context, page, problems };
}

async function axeViolations(page) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const report = await axe.run(document, { resultTypes: ['violations'] });
    return report.violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => `${violation.id} (${violation.impact}): ${violation.help} — ${violation.nodes.slice(0, 3).map((node) => node.target.join(' ')).join(', ')}`);
  });
  return result;
}

for (const [lang, locale] of [['es', 'es-ES'], ['en', 'en-US']]) {
  for (const width of [1366, 390]) {
    test(`every page in ${lang} at ${width} px: no overflow, no errors, accessible${lang === 'es' ? ', no English' : ''}`, async () => {
      const { context, page, problems } = await newSignedInPage({ locale, width });
      const failures = [];
      for (const [name, path] of PAGES) {
        problems.length = 0;
        const response = await page.goto(server.url + path, { waitUntil: 'networkidle' });
        assert.equal(response.status(), 200, `${path}: HTTP ${response.status()}`);
        assert.equal(await page.getAttribute('html', 'lang'), lang, path);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        if (overflow > 0) failures.push(`${path}: ${overflow} px of horizontal overflow`);
        const violations = await axeViolations(page);
        for (const violation of violations) failures.push(`${path}: ${violation}`);
        if (lang === 'es') {
          const text = await page.evaluate(() => document.body.innerText);
          for (const english of ENGLISH) {
            if (text.includes(english)) failures.push(`${path}: English on a Spanish page: "${english}"`);
          }
        }
        for (const problem of problems) failures.push(`${path}: ${problem}`);
        await page.screenshot({ path: join(screens, `${name}-${lang}-${width}.png`), fullPage: true });
      }
      await context.close();
      assert.deepEqual(failures, [], failures.join('\n'));
    });
  }
}

test('the sign-in page and an unknown page are accessible and translated', async () => {
  for (const [lang, locale] of [['es', 'es-ES'], ['en', 'en-US']]) {
    const context = await browser.newContext({ locale, viewport: { width: 390, height: 844 }, bypassCSP: true });
    const page = await context.newPage();
    await page.goto(server.url + '/login');
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    assert.deepEqual(await axeViolations(page), []);
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), 0);
    await page.screenshot({ path: join(screens, `sign-in-${lang}-390.png`), fullPage: true });
    await signIn(page, server.credentials);
    const missing = await page.goto(server.url + '/w/cafe-aurora/nothing-here');
    assert.equal(missing.status(), 404);
    const t = lang === 'es' ? es : en;
    assert.ok((await page.textContent('main')).includes(t('error.not_found')));
    assert.deepEqual(await axeViolations(page), []);
    await context.close();
  }
});

test('on a phone the menu opens the sidebar and leads to a section', async () => {
  const { context, page } = await newSignedInPage({ locale: 'es-ES', width: 390 });
  await page.goto(server.url + '/w/cafe-aurora');
  assert.equal(await page.isVisible('#sidebar .nav-link[href$="/topics"]'), false, 'the sidebar starts closed');
  await page.click('.menu-toggle');
  await page.waitForSelector('#sidebar .nav-link[href$="/topics"]', { state: 'visible' });
  await Promise.all([page.waitForNavigation(), page.click('#sidebar .nav-link[href$="/topics"]')]);
  assert.match(page.url(), /\/topics$/);
  assert.equal((await page.textContent('main h1')).trim(), es('topics.title'));
  await context.close();
});

test('keyboard shortcuts: help, go to, move through the feed', async () => {
  const { context, page } = await newSignedInPage({ locale: 'en-US', width: 1366 });
  await page.goto(server.url + '/w/cafe-aurora');
  await page.keyboard.press('?');
  await page.waitForSelector('#shortcuts-dialog[open]');
  assert.ok((await page.textContent('#shortcuts-dialog')).includes(en('shortcuts.next_previous')));
  await page.keyboard.press('Escape');
  await page.waitForSelector('#shortcuts-dialog:not([open])', { state: 'attached' });
  await Promise.all([page.waitForNavigation(), (async () => { await page.keyboard.press('g'); await page.keyboard.press('m'); })()]);
  assert.match(page.url(), /\/mentions$/);
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  const selected = await page.$$eval('.feed .mention', (items) => items.findIndex((item) => item.classList.contains('selected')));
  assert.equal(selected, 1, 'j twice selects the second mention');
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'global-search');
  await context.close();
});

test('a sentiment is corrected in place, without a reload', async () => {
  const { context, page } = await newSignedInPage({ locale: 'es-ES', width: 1366 });
  await page.goto(server.url + '/w/cafe-aurora/mentions');
  const first = page.locator('.feed .mention').first();
  const id = await first.getAttribute('id');
  const before = await first.locator('.mention-tags .chip').first().getAttribute('class');
  const target = before.includes('sentiment-positive') ? 'negative' : 'positive';
  // A marker on the page survives only if the page is not reloaded.
  await page.evaluate(() => { window.__notReloaded = true; });
  await first.locator('details.menu > summary').click();
  await first.locator(`button[name="sentiment"][value="${target}"]`).click();
  await page.waitForSelector(`#${id} .mention-tags .chip.sentiment-${target}`);
  assert.equal(await page.evaluate(() => window.__notReloaded), true, 'no reload');
  const chip = await page.textContent(`#${id} .mention-tags .chip.sentiment-${target}`);
  assert.ok(chip.includes(es('mentions.corrected')), chip);
  await page.waitForSelector('.toast');
  assert.ok((await page.textContent('.toast')).includes(es(`sentiment.${target}`)));
  await context.close();
});

test('a topic with a query error comes back with the input and the error under the field', async () => {
  const { context, page } = await newSignedInPage({ locale: 'es-ES', width: 1366 });
  await page.goto(server.url + '/w/cafe-aurora/topics/new');
  await page.fill('#topic-name', 'Aurora sin cerrar');
  await page.fill('#topic-query', '"café aurora');
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.click('form:has(#topic-name) button[type=submit]'),
  ]);
  assert.equal(response.status(), 422);
  assert.equal(await page.inputValue('#topic-name'), 'Aurora sin cerrar');
  assert.equal(await page.inputValue('#topic-query'), '"café aurora');
  assert.equal(await page.getAttribute('#topic-query', 'aria-invalid'), 'true');
  assert.ok(await page.isVisible('#query-error'), 'the error is under the query');
  await context.close();
});

test('the dark theme follows the account setting', async () => {
  const { context, page } = await newSignedInPage({ locale: 'en-US', width: 1366 });
  await page.goto(server.url + '/account');
  await page.check('input[name=theme][value=dark]');
  await Promise.all([page.waitForNavigation(), page.click('form:has(input[name=theme]) button[type=submit]')]);
  await page.goto(server.url + '/w/cafe-aurora');
  assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.notEqual(background, 'rgb(244, 246, 248)', 'the page is not the light background');
  assert.deepEqual(await axeViolations(page), [], 'dark is accessible too');
  await page.screenshot({ path: join(screens, 'dashboard-dark-en-1366.png'), fullPage: true });
  await page.goto(server.url + '/account');
  await page.check('input[name=theme][value=auto]');
  await Promise.all([page.waitForNavigation(), page.click('form:has(input[name=theme]) button[type=submit]')]);
  await context.close();
});

test('a new topic searches the stored mentions: its card shows the backfill, then what it found', async () => {
  const { context, page, problems } = await newSignedInPage({ locale: 'en-US', width: 1366 });
  await page.goto(server.url + '/w/cafe-aurora/topics/new');
  await page.fill('#topic-name', 'Terrace');
  await page.fill('#topic-query', 'terraza');
  await Promise.all([page.waitForNavigation(), page.click('form:has(#topic-name) button[type=submit]')]);
  assert.ok((await page.textContent('.toast')).includes(en('done.topic_created')));
  assert.match(page.url(), /\/topics$/, 'the confirmation is said once: a reload does not repeat it');
  const card = page.locator('.topic-card', { has: page.locator('h2', { hasText: 'Terrace' }) });
  assert.equal(await card.locator('.backfill').count(), 1, 'the new card says the stored mentions are being searched');
  // The cards refresh themselves (htmx, every 2 s) until the backfill is done.
  await card.locator('.backfill-done').waitFor({ timeout: 60_000 });
  const said = await card.locator('.backfill-done').innerText();
  const found = Number(said.match(/^([\d,]+) mention/)[1].replace(/,/g, ''));
  assert.ok(found > 0, `the demo has terrace mentions: ${said}`);
  await page.reload();
  const count = await card.locator('.topic-figures .figure').innerText();
  assert.doesNotMatch(count, /^0 /, `the card counts them: ${count}`);
  await page.screenshot({ path: join(screens, 'topics-backfilled-en-1366.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await context.close();
});

test('an administrator changes the workspace time zone and languages', async () => {
  const { context, page } = await newSignedInPage({ locale: 'es-ES', width: 390 });
  await page.goto(server.url + '/w/cafe-aurora/settings');
  await page.selectOption('#settings-time-zone', 'America/Mexico_City');
  await page.check('input[name=language_pt]');
  await Promise.all([page.waitForNavigation(), page.click('form:has(#settings-name) button[type=submit]')]);
  await page.waitForSelector('.toast');
  assert.equal(await page.inputValue('#settings-time-zone'), 'America/Mexico_City');
  assert.equal(await page.isChecked('input[name=language_pt]'), true);
  assert.ok((await page.textContent('form:has(#settings-name)')).includes('America/Mexico_City'), 'the local time is said in the new zone');
  // Back as the demo was, for whoever looks at the demo next.
  await page.selectOption('#settings-time-zone', 'Europe/Madrid');
  await page.uncheck('input[name=language_pt]');
  await Promise.all([page.waitForNavigation(), page.click('form:has(#settings-name) button[type=submit]')]);
  assert.equal(await page.isChecked('input[name=language_pt]'), false);
  await context.close();
});

test("a workspace is created from the interface in the browser's time zone", async () => {
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'America/Bogota', viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  await page.goto(server.url + '/login');
  await signIn(page, server.credentials);
  await page.goto(server.url + '/workspaces');
  assert.equal(await page.inputValue('#ws-time-zone'), 'America/Bogota', 'the time zone comes from the browser');
  await page.fill('#name', 'Aurora Norte');
  await page.fill('#slug', 'aurora-norte');
  await Promise.all([page.waitForNavigation(), page.click('form:has(#slug) button[type=submit]')]);
  assert.match(page.url(), /\/w\/aurora-norte/);
  assert.ok(await page.isVisible('.empty-state'), 'a new workspace says what to do first');
  await page.goto(server.url + '/w/aurora-norte/settings');
  assert.equal(await page.inputValue('#settings-time-zone'), 'America/Bogota');
  await context.close();
});

test('members: a role is changed from its list and a member removed', async () => {
  const { context, page } = await newSignedInPage({ locale: 'en-US', width: 1366 });
  page.on('dialog', (dialog) => dialog.accept());
  await page.goto(server.url + '/w/cafe-aurora/members');
  const row = page.locator('li.person', { hasText: 'Oliver Grant' });
  await Promise.all([page.waitForNavigation(), row.locator('select[name=role]').selectOption('contributor')]);
  await page.waitForSelector('.toast');
  assert.equal(await page.locator('li.person', { hasText: 'Oliver Grant' }).locator('select[name=role]').inputValue(), 'contributor');
  await Promise.all([page.waitForNavigation(), page.locator('li.person', { hasText: 'Oliver Grant' }).locator('form[action$="/remove"] button').click()]);
  assert.equal(await page.locator('li.person', { hasText: 'Oliver Grant' }).count(), 0, 'removed');
  await page.goto(server.url + '/w/cafe-aurora/audit');
  const log = await page.textContent('main');
  assert.ok(/oliver\.viewer|Oliver Grant/.test(log), `the change and the removal are in the activity log: ${log.slice(0, 400)}`);
  await context.close();
});

test('the server logs to a pipe in plain text, without colour codes', () => {
  const log = server.stderr();
  assert.ok(log.length > 0, 'the server logged something');
  assert.equal(log.includes('\u001b['), false, `ANSI escape codes in a piped log: ${JSON.stringify(log.slice(0, 300))}`);
});

test('check now polls a source at once and shows it happening, then its result', async () => {
  const { context, page } = await newSignedInPage({ locale: 'en-US', width: 1366 });
  await page.goto(server.url + '/w/cafe-aurora/sources');
  const row = page.locator('.health-item', { has: page.locator('a', { hasText: 'Blog Cafetero' }) });
  await row.locator('details.menu > summary').click();
  await Promise.all([page.waitForNavigation(), row.locator('form[action$="/check"] button').click()]);
  assert.ok((await page.textContent('.toast')).includes(en('done.source_check').slice(0, 20)));
  // The worker answers within seconds; the list refreshes itself until then.
  await page.waitForFunction(
    () => !document.querySelector('.chip.checking'),
    null,
    { timeout: 30_000 },
  );
  const meta = await row.locator('.health-meta').innerText();
  assert.match(meta, /Checked (just now|\d+ seconds? ago)/, meta);
  assert.ok(await row.locator('.health-error').isVisible(), 'the failure and its reason are shown');
  await context.close();
});
