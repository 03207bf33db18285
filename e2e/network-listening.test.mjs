// End to end, issue 5's "done means": in the demo workspace, a community
// manager connects a Bluesky account (on a real local Bluesky network: PLC,
// PDS and AppView from @atproto/dev-env, started by scripts/peers/bluesky.sh)
// and adds a search source; a fan's posts then appear among the mentions,
// matched to the brand topic, analysed and highlighted. Then the server is
// killed (SIGKILL) right after "Check now", at varying moments of the poll,
// and restarted, three times: every post ends up stored exactly once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogue, eventually, launchBrowser, signIn, startServer, stopServer } from './support.mjs';

const en = catalogue('en');
const pds = process.env.ATALAYA_TEST_BLUESKY_PDS_URL;
const slug = 'cafe-aurora';
// Loopback peers must be admitted explicitly: the SSRF guard refuses them otherwise.
const settings = {
  ATALAYA__SOURCES__ALLOW_PRIVATE: '["127.0.0.1/32", "::1/128", "localhost"]',
  ATALAYA__SOURCES__DUE_CHECK_SECS: '1',
  ATALAYA__WORKERS__POLL_INTERVAL_MS: '200',
  ATALAYA__WORKERS__LEASE_SECS: '3',
};

let dataDir;
let server;
let browser;
let page;

async function xrpc(name, { body, token, query } = {}) {
  const url = new URL(`${pds}/xrpc/${name}`);
  for (const [key, value] of Object.entries(query ?? {})) url.searchParams.set(key, value);
  const response = await fetch(url, {
    method: body ? 'POST' : 'GET',
    headers: {
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  assert.ok(response.ok, `${name}: HTTP ${response.status} ${text}`);
  return JSON.parse(text);
}

const unique = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`.slice(-10);

async function createAccount(prefix) {
  const handle = `${prefix}${unique()}.test`;
  const password = `pw-${handle}`;
  const created = await xrpc('com.atproto.server.createAccount', {
    body: { handle, password, email: `${handle.replace(/\./g, '-')}@example.com` },
  });
  return { handle, password, did: created.did, token: created.accessJwt };
}

async function post(account, text) {
  await xrpc('com.atproto.repo.createRecord', {
    token: account.token,
    body: {
      repo: account.did,
      collection: 'app.bsky.feed.post',
      record: { $type: 'app.bsky.feed.post', text, langs: ['es'], createdAt: new Date().toISOString() },
    },
  });
}

async function indexed(account, word, count) {
  await eventually(`the AppView indexing ${count} posts with ${word}`, async () => {
    const found = await xrpc('app.bsky.feed.searchPosts', { token: account.token, query: { q: word, limit: '100' } });
    return found.posts.length >= count;
  });
}

/// The texts of the mentions the mentions page lists for a full-text search.
async function mentionTexts(word) {
  await page.goto(`${server.url}/w/${slug}/mentions?q=${word}`);
  return page.$$eval('.mention .mention-text', (nodes) => nodes.map((node) => node.textContent.trim()));
}

before(async () => {
  assert.ok(pds, 'ATALAYA_TEST_BLUESKY_PDS_URL is not set: start the local Bluesky network with '
    + '`scripts/peers/bluesky.sh start` and `eval "$(scripts/peers/bluesky.sh env)"` (scripts/test.sh does)');
  dataDir = mkdtempSync(join(tmpdir(), 'atalaya-e2e-net-'));
  server = await startServer({ dataDir, demo: true, env: settings });
  browser = await launchBrowser();
  page = await (await browser.newContext({ locale: 'en-US' })).newPage();
  await page.goto(server.url + '/login');
  await signIn(page, server.credentials);
});

after(async () => {
  await browser?.close();
  await stopServer(server);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('a connected Bluesky account listens, and a killed server loses and duplicates nothing', async () => {
  const brand = await createAccount('aurora');
  const fan = await createAccount('fan');
  const word = `aur${unique()}`;
  const texts = [0, 1, 2].map((n) => `Un cold brew buenísimo en Café Aurora, me encanta ${word} ${n}`);
  for (const text of texts) await post(fan, text);
  await indexed(fan, word, texts.length);

  // Connect the brand's account with its (app) password.
  await page.goto(`${server.url}/w/${slug}/accounts`);
  // The PDS address is an advanced option, folded away for most people.
  await page.click('details:has(#bluesky-service) > summary');
  await page.fill('#bluesky-service', pds);
  await page.fill('#bluesky-handle', brand.handle);
  await page.fill('#bluesky-password', brand.password);
  await Promise.all([page.waitForNavigation(), page.click('form:has(#bluesky-handle) button[type=submit]')]);
  const accounts = await page.textContent('main');
  assert.ok(accounts.includes(brand.handle), `the account is listed:\n${accounts}`);
  assert.ok(accounts.includes(en('account_state.connected')), `and connected:\n${accounts}`);

  // Add a Bluesky search source through it.
  await page.goto(`${server.url}/w/${slug}/sources/new`);
  await page.selectOption('#source-kind', 'bluesky_search');
  await page.fill('#source-name', 'Bluesky search');
  const accountOption = await page.$eval('#source-account', (select, handle) =>
    [...select.options].find((option) => option.textContent.includes(handle))?.value, brand.handle);
  assert.ok(accountOption, 'the account is offered for the source');
  await page.selectOption('#source-account', accountOption);
  await page.fill('#source-query', word);
  await Promise.all([page.waitForNavigation(), page.click('form:has(#source-kind) button[type=submit]')]);

  // The posts arrive among the mentions: matched, analysed, highlighted.
  try {
    await eventually('the three posts among the mentions', async () => (await mentionTexts(word)).length === 3);
  } catch (error) {
    await page.goto(`${server.url}/w/${slug}/sources`);
    console.error(await page.textContent('main'), server.stderr());
    throw error;
  }
  const card = await page.textContent('.mention');
  assert.ok(card.includes('Café Aurora'), `matched to the brand topic:\n${card}`);
  assert.ok(card.includes(fan.handle), `with its author:\n${card}`);
  assert.ok(await page.$('.mention mark'), 'the matching words are highlighted');
  assert.ok(await page.$('.mention .chip[class*="sentiment-"]'), 'and the sentiment is analysed');

  // Kill the server during polls, three times, and restart it on the same database.
  let expected = [...texts];
  for (const round of [1, 2, 3]) {
    const more = [0, 1, 2, 3, 4].map((n) => `Ronda ${round}: otro café en Café Aurora ${word} ${round}${n}`);
    for (const text of more) await post(fan, text);
    expected = expected.concat(more);
    await indexed(fan, word, expected.length);
    await page.goto(`${server.url}/w/${slug}/sources`);
    await Promise.all([
      page.waitForNavigation(),
      (async () => {
        const item = page.locator('li.health-item', { hasText: 'Bluesky search' });
        await item.locator('details.menu > summary').click();
        await item.locator('form[action$="/check"] button').click();
      })(),
    ]);
    // A different moment of the poll each round: before it starts, while it fetches, while it stores.
    await new Promise((resolve) => setTimeout(resolve, [300, 1100, 1600][round - 1]));
    await stopServer(server, 'SIGKILL');
    server = await startServer({ dataDir, env: settings });
  }
  await eventually(`all ${expected.length} posts stored`, async () => (await mentionTexts(word)).length >= expected.length);
  const stored = await mentionTexts(word);
  assert.deepEqual([...stored].sort(), [...expected].sort(), 'every post exactly once');
});
