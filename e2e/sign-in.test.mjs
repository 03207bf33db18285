// End to end: the real `atalaya` binary on a real port, with the demo
// workspace on a fresh SQLite file, driven in Debian's Chromium by
// playwright-core. A visitor whose browser prefers Spanish gets the Spanish
// sign-in page, switches to English, signs in with the demo credentials the
// server printed, sees the dashboard, and switches their preference back to
// Spanish. Expected strings come from the real catalogues, so rewording a
// label never breaks this test, but a missing translation does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const root = new URL('..', import.meta.url).pathname;
const bin = process.env.ATALAYA_BIN ?? join(root, 'target/debug/atalaya');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

function catalogue(code) {
  const text = readFileSync(join(root, `crates/atalaya-web/locales/${code}.txt`), 'utf8');
  const entries = new Map();
  for (const line of text.split('\n')) {
    const match = line.match(/^([a-z0-9_.]+)\s*=\s*(.*)$/);
    if (match) entries.set(match[1], match[2].trim());
  }
  return (key) => {
    assert.ok(entries.has(key), `missing ${code} translation for ${key}`);
    return entries.get(key);
  };
}
const es = catalogue('es');
const en = catalogue('en');

let server;
let dataDir;
let browser;
let baseUrl;
let credentials = {};

// Starts the server and resolves once it prints its address; the demo
// credentials are printed before that line.
function startServer() {
  dataDir = mkdtempSync(join(tmpdir(), 'atalaya-e2e-'));
  server = spawn(bin, ['--database-url', `sqlite://${dataDir}/e2e.db`, 'serve', '--bind', '127.0.0.1:0', '--demo'], {
    env: { ...process.env, ATALAYA__LOG__LEVEL: 'warn', ATALAYA__DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  server.stderr.on('data', (chunk) => { stderr += chunk; });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: server.stdout });
    lines.on('line', (line) => {
      const field = line.match(/^(username|password):\s*(\S+)/);
      if (field) credentials[field[1]] = field[2];
      const ready = line.match(/^Atalaya is listening on (\S+)/);
      if (ready) resolve(ready[1]);
    });
    server.on('exit', (code) => reject(new Error(`atalaya exited with ${code} before listening:\n${stderr}`)));
  });
}

before(async () => {
  baseUrl = await startServer();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.on('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
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
