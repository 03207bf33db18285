// End to end: the real `atalaya` binary on a real port, with the demo
// workspace on a fresh SQLite file, driven in Debian's Chromium by
// playwright-core. A visitor whose browser prefers Spanish gets the Spanish
// sign-in page, switches to English, signs in with the demo credentials the
// server printed, sees the dashboard, and switches their preference back to
// Spanish. Expected strings come from the real catalogues, so rewording a
// label never breaks this test, but a missing translation does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogue, launchBrowser, startServer, stopServer } from './support.mjs';

const es = catalogue('es');
const en = catalogue('en');

let server;
let dataDir;
let browser;
let baseUrl;
let credentials = {};

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'atalaya-e2e-'));
  server = await startServer({ dataDir, demo: true });
  baseUrl = server.url;
  credentials = server.credentials;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stopServer(server);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('sign in, switch language, see the dashboard', async () => {
  assert.ok(credentials.username && credentials.password, 'the demo printed its credentials');
  const context = await browser.newContext({ locale: 'es-ES' });
  const page = await context.newPage();

  // An anonymous visitor is sent to the sign-in page, in the negotiated language.
  await page.goto(baseUrl + '/');
  assert.match(new URL(page.url()).pathname, /login/);
  assert.equal(await page.getAttribute('html', 'lang'), 'es');
  assert.equal((await page.textContent('h1')).trim(), es('sign_in.title'));

  // Switch to English before signing in.
  await Promise.all([page.waitForNavigation(), page.selectOption('#lang-switch', 'en')]);
  if ((await page.getAttribute('html', 'lang')) !== 'en') {
    // Without JavaScript auto-submit the form still has its button.
    await Promise.all([page.waitForNavigation(), page.click('.lang-switch button[type=submit]')]);
  }
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal((await page.textContent('h1')).trim(), en('sign_in.title'));

  // A wrong password is refused, in English.
  await page.fill('#username', credentials.username);
  await page.fill('#password', 'not the password');
  await Promise.all([page.waitForNavigation(), page.click('form.stacked button[type=submit]')]);
  assert.ok(await page.isVisible('[role=alert]'), 'a wrong password shows an error');

  // The right one reaches the dashboard of the demo workspace.
  await page.fill('#username', credentials.username);
  await page.fill('#password', credentials.password);
  await Promise.all([page.waitForNavigation(), page.click('form.stacked button[type=submit]')]);
  await page.waitForSelector('main h1');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  const body = await page.textContent('main');
  assert.ok(body.includes('Café Aurora'), `the dashboard shows the demo workspace:\n${body}`);
  assert.ok(await page.isVisible(`nav >> text=${en('nav.dashboard')}`), 'navigation is in English');

  // Choose Spanish in the account settings: every page follows.
  await page.goto(baseUrl + '/account');
  await page.selectOption('select[name=ui_lang]', 'es');
  await Promise.all([page.waitForNavigation(), page.click('form:has(select[name=ui_lang]) button[type=submit]')]);
  await page.goto(baseUrl + '/');
  await page.waitForSelector('main h1');
  assert.equal(await page.getAttribute('html', 'lang'), 'es');
  assert.ok(await page.isVisible(`nav >> text=${es('nav.dashboard')}`), 'navigation is in Spanish');

  await context.close();
});
