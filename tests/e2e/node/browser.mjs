// A headless Chromium for the end-to-end suite, driven by JSON lines on stdin (tests/e2e/browser.py).
//
//   node tests/e2e/node/browser.mjs            (CHROMIUM: the browser, default /usr/bin/chromium)
//
// Debian's chromium through `playwright-core`, never a downloaded browser, with the flags that
// keep it off the network on its own (no background requests, updates, sync, QUIC). Prints
// `{"ready": true, "version": ...}` once the browser runs, then answers each command line
//   {"id": 1, "cmd": "goto", "page": "p1", "url": "http://127.0.0.1:8787/"}
// with one line {"id": 1, "ok": true, "result": ...} or {"id": 1, "ok": false, "error": "..."}.
// Commands (contexts are separate cookie jars; pages belong to a context):
//   newContext {options}             -> context id (Playwright context options, JSON)
//   newPage {context}                -> page id
//   closeContext {context}
//   goto {page, url}                 -> {url, status}
//   fill {page, selector, value}     click {page, selector}     waitForSelector {page, selector, state}
//   waitForURL {page, prefix | regex, timeout} -> url
//   url {page}  content {page} (HTML)  text {page, selector} (innerText)
//   evaluate {page, fn, arg}         -> the value of `(fn)(arg)` in the page (JSON)
//   navigations {page}               -> [{url, status, location}] main-frame document responses
//   cookies {context, urls}  addCookies {context, cookies}  clearCookies {context}
//   screenshot {page, path}          close
// Ends when stdin closes, or on SIGTERM.

import readline from 'node:readline';

import { chromium } from 'playwright-core';

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--metrics-recording-only',
  '--no-pings',
];
const DEFAULT_TIMEOUT = 15_000;

const contexts = new Map();
const pages = new Map(); // id -> {page, navigations}
let serial = 0;

function pageOf(msg) {
  const entry = pages.get(msg.page);
  if (!entry) throw new Error(`no page ${msg.page}`);
  return entry.page;
}

function contextOf(msg) {
  const context = contexts.get(msg.context);
  if (!context) throw new Error(`no context ${msg.context}`);
  return context;
}

function urlPredicate(msg) {
  if (typeof msg.prefix === 'string') return (u) => u.href.startsWith(msg.prefix);
  if (typeof msg.regex === 'string') {
    const re = new RegExp(msg.regex, msg.flags ?? '');
    return (u) => re.test(u.href);
  }
  throw new Error('waitForURL needs prefix or regex');
}

async function handle(browser, msg) {
  switch (msg.cmd) {
    case 'newContext': {
      const context = await browser.newContext(msg.options ?? {});
      context.setDefaultTimeout(msg.timeout ?? DEFAULT_TIMEOUT);
      const id = `c${++serial}`;
      contexts.set(id, context);
      return id;
    }
    case 'newPage': {
      const context = contextOf(msg);
      const page = await context.newPage();
      const id = `p${++serial}`;
      const navigations = [];
      page.on('response', (response) => {
        const request = response.request();
        if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
          navigations.push({ url: response.url(), status: response.status(), location: response.headers().location ?? null });
        }
      });
      pages.set(id, { page, navigations, context: msg.context });
      return id;
    }
    case 'closeContext': {
      const context = contextOf(msg);
      contexts.delete(msg.context);
      for (const [id, entry] of pages) if (entry.context === msg.context) pages.delete(id);
      await context.close();
      return null;
    }
    case 'goto': {
      const response = await pageOf(msg).goto(msg.url, { waitUntil: msg.waitUntil ?? 'load' });
      return { url: pageOf(msg).url(), status: response ? response.status() : null };
    }
    case 'fill':
      await pageOf(msg).fill(msg.selector, msg.value);
      return null;
    case 'click':
      await pageOf(msg).click(msg.selector);
      return null;
    case 'waitForSelector':
      await pageOf(msg).waitForSelector(msg.selector, { state: msg.state ?? 'visible' });
      return null;
    case 'waitForURL': {
      const page = pageOf(msg);
      await page.waitForURL(urlPredicate(msg), { timeout: msg.timeout ?? DEFAULT_TIMEOUT, waitUntil: msg.waitUntil ?? 'load' });
      return page.url();
    }
    case 'url':
      return pageOf(msg).url();
    case 'content':
      return pageOf(msg).content();
    case 'text':
      return pageOf(msg).innerText(msg.selector ?? 'body');
    case 'evaluate': {
      // The function's source is compiled here and sent to the page as a function.
      const fn = new Function(`return (${msg.fn});`)();
      if (typeof fn !== 'function') throw new Error('evaluate needs a function');
      return pageOf(msg).evaluate(fn, msg.arg ?? null);
    }
    case 'navigations':
      return pages.get(msg.page)?.navigations ?? [];
    case 'cookies':
      return contextOf(msg).cookies(msg.urls ?? []);
    case 'addCookies':
      await contextOf(msg).addCookies(msg.cookies);
      return null;
    case 'clearCookies':
      await contextOf(msg).clearCookies();
      return null;
    case 'screenshot':
      await pageOf(msg).screenshot({ path: msg.path, fullPage: true });
      return msg.path;
    default:
      throw new Error(`unknown command ${msg.cmd}`);
  }
}

function reply(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ARGS,
  });
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await browser.close().catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', close);
  reply({ ready: true, version: browser.version() });

  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch (err) {
      reply({ id: null, ok: false, error: `bad command line: ${err.message}` });
      continue;
    }
    if (msg.cmd === 'close') {
      reply({ id: msg.id, ok: true, result: null });
      break;
    }
    try {
      reply({ id: msg.id, ok: true, result: (await handle(browser, msg)) ?? null });
    } catch (err) {
      reply({ id: msg.id, ok: false, error: String(err.message ?? err) });
    }
  }
  await close();
}

main().catch((err) => {
  process.stderr.write(`browser driver: ${err.stack ?? err}\n`);
  process.exit(1);
});
