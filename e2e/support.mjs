// What the end-to-end tests share: the real `atalaya` binary started on a
// real port (and killed, and restarted), the UI catalogues, Chromium, and
// waiting for something to become true with a deadline instead of a sleep.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const root = new URL('..', import.meta.url).pathname;
const bin = process.env.ATALAYA_BIN ?? join(root, 'target/debug/atalaya');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/// A UI catalogue (`es` or `en`) as a lookup that fails on a missing key.
export function catalogue(code) {
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

/// Starts `atalaya serve` on a free port with its database and data in
/// `dataDir`; resolves once it prints its address. `demo` loads the demo
/// workspace (its printed credentials are returned). `env` adds settings;
/// `bind` picks the address (a port chosen beforehand, for a `public_url`).
export function startServer({ dataDir, demo = false, env = {}, bind = '127.0.0.1:0' }) {
  const args = ['--database-url', `sqlite://${dataDir}/e2e.db`, 'serve', '--bind', bind];
  if (demo) args.push('--demo');
  const child = spawn(bin, args, {
    env: { ...process.env, ATALAYA__LOG__LEVEL: 'warn', ATALAYA__DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const credentials = {};
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const field = line.match(/^(username|password):\s*(\S+)/);
      if (field) credentials[field[1]] = field[2];
      const ready = line.match(/^Atalaya is listening on (\S+)/);
      if (ready) resolve({ child, url: ready[1], credentials, stderr: () => stderr });
    });
    child.on('exit', (code) => reject(new Error(`atalaya exited with ${code} before listening:\n${stderr}`)));
  });
}

/// Stops a server started by `startServer`: SIGTERM (graceful) or SIGKILL (a crash).
export async function stopServer(server, signal = 'SIGTERM') {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.on('exit', resolve));
  server.child.kill(signal);
  await exited;
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/// Signs in on the sign-in page (the page must be on it).
export async function signIn(page, { username, password }) {
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('form.stacked button[type=submit]')]);
}

/// Retries `attempt` until it returns a truthy value; fails after `timeoutMs`.
export async function eventually(what, attempt, timeoutMs = 60_000) {
  const started = Date.now();
  let last;
  for (;;) {
    last = await attempt();
    if (last) return last;
    assert.ok(Date.now() - started < timeoutMs, `${what}: not true within ${timeoutMs} ms`);
    // The interval between checks, not a wait for readiness.
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
