// End to end: inviting a person by e-mail. The real server, with mail going
// to the SMTP sink (scripts/peers/smtp.sh), and Chromium: the demo admin
// invites an address from the members page and gets the link to copy; the
// worker e-mails the same link in the language the admin chose; a stranger's
// browser opens it, reads the invitation in that language, creates an account
// and lands in the workspace; the link then says it has been used.
// Screenshots go to target/e2e-screens/ for a person to look at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogue, eventually, launchBrowser, root, signIn, startServer, stopServer } from './support.mjs';

const es = catalogue('es');
const en = catalogue('en');
const screens = join(root, 'target/e2e-screens');
const axeSource = readFileSync(join(root, 'e2e/node_modules/axe-core/axe.min.js'), 'utf8');

/// Serious and critical accessibility violations on the page (axe-core).
async function axeViolations(page) {
  await page.addScriptTag({ content: axeSource });
  return page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const report = await axe.run(document, { resultTypes: ['violations'] });
    return report.violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => `${violation.id}: ${violation.help}`);
  });
}

function sinkVar(name) {
  const value = process.env[name];
  assert.ok(value, `${name} is not set: start the SMTP sink (scripts/peers/smtp.sh start; scripts/test.sh does it)`);
  return value;
}

/// A port free a moment ago, so the server's public address is known before it starts.
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function decodeQuotedPrintable(text) {
  const bytes = [];
  const joined = text.replace(/=\r\n/g, '');
  for (let index = 0; index < joined.length; index += 1) {
    if (joined[index] === '=' && /^[0-9A-F]{2}$/i.test(joined.slice(index + 1, index + 3))) {
      bytes.push(parseInt(joined.slice(index + 1, index + 3), 16));
      index += 2;
    } else {
      bytes.push(joined.charCodeAt(index));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/// The raw message the sink stored for `to`, once it is there.
function messageTo(maildir, to) {
  const directory = join(maildir, 'new');
  if (!existsSync(directory)) return null;
  for (const name of readdirSync(directory)) {
    const raw = readFileSync(join(directory, name), 'utf8');
    if (raw.startsWith(`X-Sink-Rcpt-To: ${to}\r\n`)) return raw;
  }
  return null;
}

let server;
let dataDir;
let browser;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'atalaya-e2e-invite-'));
  mkdirSync(screens, { recursive: true });
  const port = await freePort();
  server = await startServer({
    dataDir,
    demo: true,
    bind: `127.0.0.1:${port}`,
    env: {
      ATALAYA__SERVER__PUBLIC_URL: `http://127.0.0.1:${port}`,
      ATALAYA__MAIL__SMTP_URL: sinkVar('ATALAYA_TEST_SMTP_URL'),
      ATALAYA__MAIL__FROM: 'Atalaya <atalaya@example.org>',
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stopServer(server);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('invite by e-mail, accept as a new person, and the link is then used', async () => {
  const maildir = sinkVar('ATALAYA_TEST_SMTP_MAILDIR');
  const invitee = `nueva-${Date.now().toString(36)}@example.org`;

  // axe-core is injected as a script: the page's CSP would (rightly) refuse it.
  const adminContext = await browser.newContext({ locale: 'es-ES', viewport: { width: 1366, height: 900 }, bypassCSP: true });
  const admin = await adminContext.newPage();
  await admin.goto(`${server.url}/login`);
  await signIn(admin, server.credentials);
  await admin.goto(`${server.url}/w/cafe-aurora/members`);
  await admin.fill('input[name=email]', invitee);
  await admin.selectOption('#invite-role', 'manager');
  await admin.selectOption('#invite-lang', 'es');
  await Promise.all([admin.waitForNavigation(), admin.click('form[action$="/invitations"] button[type=submit]')]);
  const copied = await admin.inputValue('#invite-link');
  assert.match(copied, new RegExp(`^${server.url}/invite/[A-Za-z0-9_-]{43}$`));
  assert.ok((await admin.textContent('body')).includes(invitee), 'the pending invitation is listed');
  assert.deepEqual(await axeViolations(admin), [], 'the members page with a new link');
  await admin.screenshot({ path: join(screens, 'members-invited-es-1366.png'), fullPage: true });
  await admin.setViewportSize({ width: 390, height: 844 });
  const overflow = await admin.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the members page overflows a phone by ${overflow} px`);
  await admin.screenshot({ path: join(screens, 'members-invited-es-390.png'), fullPage: true });

  // The worker delivers the same link, in Spanish.
  const raw = await eventually('the invitation e-mail reaches the sink', () => messageTo(maildir, invitee), 30_000);
  const text = decodeQuotedPrintable(raw);
  assert.ok(text.includes(copied), 'the e-mail carries the link the admin copied');
  assert.ok(text.includes('te invita a unirte a'), 'the e-mail is in Spanish');

  // A stranger whose browser prefers English reads the invitation in Spanish.
  const guestContext = await browser.newContext({ locale: 'en-US', viewport: { width: 390, height: 844 }, bypassCSP: true });
  const guest = await guestContext.newPage();
  await guest.goto(copied);
  assert.equal(await guest.getAttribute('html', 'lang'), 'es');
  assert.equal((await guest.textContent('h1')).trim(), es('invite.title'));
  await guest.screenshot({ path: join(screens, 'invite-es-390.png'), fullPage: true });
  const guestOverflow = await guest.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(guestOverflow <= 0, `the invitation page overflows a phone by ${guestOverflow} px`);
  assert.deepEqual(await axeViolations(guest), [], 'the invitation page');
  const username = `nueva${Date.now().toString(36)}`;
  await guest.fill('#username', username);
  await guest.fill('#display_name', 'Nueva Gestora');
  await guest.fill('#password', 'una contraseña muy larga');
  await guest.fill('#password_confirm', 'una contraseña muy larga');
  await Promise.all([guest.waitForNavigation(), guest.click('form[action$="/register"] button[type=submit]')]);
  assert.equal(new URL(guest.url()).pathname, '/w/cafe-aurora');

  // Signed in now, without a language setting: the browser's English.
  await guest.goto(copied);
  assert.ok((await guest.textContent('main')).includes(en('invite.used')), 'the link is spent');
  await adminContext.close();
  await guestContext.close();
});
