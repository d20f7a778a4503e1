// GraphiQL in a real browser with the network off:
//
//   node .ci/browser/graphiql.mjs path/to/iuc-graph [screenshot.png]
//
// Starts the binary on a free loopback port over a fresh SQLite database (seeded on start),
// opens GET /graphql in Debian's Chromium (headless, driven by playwright-core), runs the page's
// default query with the Run button and waits until the result pane shows the seed's data: the
// totalCount and the first pairing's title that the same query gives over plain HTTP; then
// prettifies a query and runs a subscription, which must go over the WebSocket on /graphql.
// Chromium resolves no name but 127.0.0.1 and has a proxy that refuses for anything not on
// loopback; every request it makes is recorded, and one that leaves loopback fails the test, as
// does an uncaught error in the page or a failed request. Prints the bytes GraphiQL's files took on
// the wire. CHROMIUM overrides the browser's path (default /usr/bin/chromium).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [binary, screenshot] = process.argv.slice(2);
if (!binary) {
  console.error('usage: node graphiql.mjs path/to/iuc-graph [screenshot.png]');
  process.exit(2);
}
const TIMEOUT_MS = 90_000;
// The whole run's limit: a hung browser must not hang CI.
const watchdog = setTimeout(() => {
  console.error('FAIL: the browser test did not finish in 5 minutes');
  server.kill('SIGKILL');
  process.exit(1);
}, 300_000);

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'iuc-browser-'));
const base = `http://127.0.0.1:${port}`;
const server = spawn(binary, ['serve'], {
  env: {
    ...process.env,
    DATABASE_URL: `sqlite://${join(dir, 'browser.db')}?mode=rwc`,
    IUC_ADDR: `127.0.0.1:${port}`,
    IUC_LOG: 'warn',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
let exited = false;
server.on('exit', () => {
  exited = true;
});
let browser;
let code = 1;
try {
  await waitReady();
  const expected = await expectedData();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      // No name resolves but the server's address, and anything not on loopback goes to a
      // proxy on a port nobody listens on (loopback bypasses proxies by default).
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      '--proxy-server=http://127.0.0.1:9',
      '--no-sandbox',
    ],
  });
  code = await check(browser, expected);
} catch (error) {
  console.error(`FAIL: ${error.stack || error}`);
} finally {
  if (browser) await browser.close();
  if (!exited) server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
// Not in the "N passed, N failed" form: .ci/run's closing count is cargo test's.
console.log(`GraphiQL in Chromium, offline: ${code === 0 ? 'ok' : 'FAILED'}`);
clearTimeout(watchdog);
process.exit(code);

async function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function waitReady() {
  for (let i = 0; i < 300 && !exited; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server did not become ready');
}

// What the default query's result must show, asked over plain HTTP.
async function expectedData() {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ pairings(first: 1) { totalCount nodes { title } } }' }),
  });
  const { data } = await res.json();
  const title = data?.pairings?.nodes?.[0]?.title;
  if (!title || !(data.pairings.totalCount > 0)) throw new Error('the seed has no pairings');
  return { totalCount: data.pairings.totalCount, title };
}

// Loads the page, runs the default query, checks what the result pane shows and where every
// request went. 0 when all is well.
async function check(browser, expected) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const problems = [];
  const requests = []; // every request, to check where it went
  page.on('pageerror', (e) => problems.push(`uncaught error in the page: ${e.message}`));
  // GraphiQL only logs a warning when prettify fails.
  page.on('console', (m) => {
    if (/prettif/i.test(m.text())) problems.push(`console: ${m.text().split('\n')[0]}`);
  });
  context.on('request', (r) => requests.push(r));
  context.on('requestfailed', (r) =>
    problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`),
  );
  context.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`);
  });
  const res = await page.goto(`${base}/graphql`, { timeout: TIMEOUT_MS });
  if (res?.status() !== 200) throw new Error(`GET /graphql answered ${res?.status()}`);
  // The default query is in the editor once Monaco has loaded.
  await page.locator('.graphiql-query-editor').getByText('pairings').first().waitFor({ timeout: TIMEOUT_MS });
  await page.locator('.graphiql-execute-button').click();
  const pane = page.locator('.graphiql-response');
  let shown = '';
  try {
    await pane.getByText(expected.title).first().waitFor({ timeout: TIMEOUT_MS });
  } catch {
    problems.push(`the result pane does not show the first pairing's title "${expected.title}"`);
  }
  // Monaco draws spaces as no-break spaces.
  shown = (await pane.innerText()).replace(/\u00a0/g, ' ');
  if (!shown.includes(`"totalCount": ${expected.totalCount}`)) {
    problems.push(`the result pane does not show "totalCount": ${expected.totalCount}`);
  }
  if (screenshot) await page.screenshot({ path: screenshot });
  const firstVisit = await wireBytes(page); // before prettify loads prettier
  await checkPrettify(page, problems);
  await checkSubscription(page, problems);
  await page.waitForTimeout(500); // let late requests (workers) be recorded
  for (const r of requests) {
    const { protocol, hostname } = new URL(r.url());
    if (!['data:', 'blob:'].includes(protocol) && hostname !== '127.0.0.1') {
      problems.push(`a request was sent off loopback: ${r.url()}`);
    }
  }
  console.log(firstVisit);
  await context.close();
  for (const p of problems) console.error(`FAIL: ${p}`);
  if (problems.length > 0) console.error(`the result pane showed:\n${shown.slice(0, 2000)}`);
  return problems.length === 0 ? 0 : 1;
}

// The query editor's text, set through Monaco (which GraphiQL exposes as __MONACO).
async function setQuery(page, text) {
  await page.evaluate((text) => {
    const models = globalThis.__MONACO.editor.getModels();
    models.find((m) => m.getLanguageId() === 'graphql').setValue(text);
  }, text);
}

// Prettify (prettier, loaded on first use from its own chunks) reformats the query.
async function checkPrettify(page, problems) {
  await setQuery(page, '{pairings(first:1){totalCount}}');
  await page.locator('[aria-label^="Prettify"]').click();
  const expected = '{\n  pairings(first: 1) {\n    totalCount\n  }\n}';
  const text = () =>
    page.evaluate(() => {
      const models = globalThis.__MONACO.editor.getModels();
      return models.find((m) => m.getLanguageId() === 'graphql').getValue().trim();
    });
  for (let i = 0; i < TIMEOUT_MS / 100 && (await text()) !== expected; i++) {
    await page.waitForTimeout(100);
  }
  if ((await text()) !== expected) problems.push(`prettify gave ${JSON.stringify(await text())}`);
}

// A subscription goes over the WebSocket on /graphql (graphql-transport-ws): the server
// acknowledges the connection and GraphiQL sends the operation. (No change happens here, so no
// event comes; tests/websocket.rs checks the events.)
async function checkSubscription(page, problems) {
  const frames = [];
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => frames.push(`sent ${f.payload}`));
    ws.on('framereceived', (f) => frames.push(`received ${f.payload}`));
  });
  await setQuery(page, 'subscription Feed { changes { cursor record action } }');
  // GraphiQL reads the operation's type (HTTP or WebSocket) from its parse of the editor, done
  // after a debounce; the tab takes the operation's name once that is done.
  await page.locator('.graphiql-tab').getByText('Feed').waitFor({ timeout: TIMEOUT_MS });
  await page.locator('.graphiql-execute-button').click();
  const subscribed = () =>
    frames.some((f) => f.includes('connection_ack')) &&
    frames.some((f) => f.startsWith('sent') && f.includes('"subscribe"'));
  for (let i = 0; i < TIMEOUT_MS / 100 && !subscribed(); i++) await page.waitForTimeout(100);
  if (!subscribed()) problems.push(`no subscription over the WebSocket: ${frames.join(' | ')}`);
}

// The bytes GraphiQL's own files took on the wire (headers and body, as encoded; 0 for a file
// taken from the browser's cache), from the page's Resource Timing entries, which include the
// workers' scripts (Playwright's request sizes leave those out).
async function wireBytes(page) {
  await page.waitForTimeout(500); // the workers start after the editors
  return page.evaluate(() => {
    const files = performance
      .getEntriesByType('resource')
      .filter((e) => new URL(e.name).pathname.startsWith('/graphiql/') && e.transferSize > 0);
    const bytes = files.reduce((sum, e) => sum + e.transferSize, 0);
    return `GraphiQL's files: ${files.length} fetched, ${bytes} bytes on the wire`;
  });
}
