// End-to-end harness: starts the demo CRMs (and optionally the api-server),
// launches Debian Chromium with the built extension, and collects every error
// from every context (pages, extension pages, the service worker).
//
// Rules kept here so tests stay deterministic on a loaded 2-core machine:
// - never sleep: wait on a ready line, a DOM signal or an event;
// - timeouts are failure bounds only (TIMEOUT_MS, generous);
// - a missing prerequisite (Chromium, dist/extension, a binary) is a FAILURE
//   with a message, never a skip.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { chromium } from 'playwright-core';

/** Repository root (tests/e2e/../..). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Upper bound for any single wait. Only reached when something is broken. */
export const TIMEOUT_MS = Number(process.env.MPT_E2E_TIMEOUT_MS || 30_000);
/** Bound of one whole test (node:test option `timeout`): a hung test fails instead of hanging the run. */
export const TEST_TIMEOUT_MS = 6 * TIMEOUT_MS;
/** Where screenshots and logs of failed tests go. */
export const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');

const resolveFromRoot = (p) => (path.isAbsolute(p) ? p : path.join(ROOT, p));

// ---------------------------------------------------------------- children

const children = new Set();
const tempDirs = new Set();

function cleanupSync() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* already gone */ }
  }
  children.clear();
  for (const d of tempDirs) {
    try { rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
  }
  tempDirs.clear();
}
process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => { cleanupSync(); process.exit(128 + 2); });
}

/** A fresh temporary directory, removed when the process exits. */
export function freshTempDir(prefix) {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/**
 * Spawns `bin args` and resolves with the first stdout line that parses as JSON
 * with `event === "listening"`. Rejects (with the stderr tail) if the process
 * exits first or TIMEOUT_MS passes.
 */
function spawnUntilListening(name, bin, args, env) {
  if (!existsSync(bin)) {
    return Promise.reject(new Error(
      `${name}: binary not found at ${bin}. Build it first (e.g. \`cargo build -p ${name}\`) ` +
      `or point the env var at it.`,
    ));
  }
  const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`no ready line within ${TIMEOUT_MS} ms`), TIMEOUT_MS);
    const lines = readline.createInterface({ input: child.stdout });
    function fail(why) {
      clearTimeout(timer);
      lines.close();
      reject(new Error(`${name}: ${why}\n--- stderr tail ---\n${stderr}`));
    }
    child.once('error', (e) => fail(`spawn failed: ${e.message}`));
    child.once('exit', (code, sig) => fail(`exited (code ${code}, signal ${sig}) before it was ready`));
    const events = [];
    lines.on('line', (line) => {
      let msg;
      try { msg = JSON.parse(line); } catch { return; }
      if (msg && typeof msg.event === 'string') events.push(msg);
      if (msg && msg.event === 'listening') {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.once('exit', () => children.delete(child));
        // Keep draining stdout so the child never blocks on a full pipe.
        lines.removeAllListeners('line');
        lines.on('line', () => {});
        resolve({ child, ready: msg, events, stderr: () => stderr });
      }
    });
  });
}

async function stopChild(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
  children.delete(child);
}

/**
 * Starts the demo CRMs (always) and the api-server (when `apiServer: true`, on
 * `apiBind`, default a free loopback port, with a fresh data dir).
 * Returns `{ mptCrm, amsCrm, apiUrl, apiEvents, dataDir, stop() }`; `apiEvents` are
 * the JSON lines the server printed up to its ready line (e.g. the `demo` event).
 */
export async function startServices({ apiServer = false, apiBind = '127.0.0.1:0' } = {}) {
  const crmBin = resolveFromRoot(process.env.MPT_DEMO_CRM_BIN || 'target/debug/mpt-demo-crm');
  const crm = await spawnUntilListening('mpt-demo-crm', crmBin,
    ['--mpt-port', '0', '--ams-port', '0', '--exit-with-stdin'], {});
  const out = { mptCrm: crm.ready.mpt_crm, amsCrm: crm.ready.ams_crm, apiUrl: null, apiEvents: [], dataDir: null };
  let api = null;
  if (apiServer) {
    const bin = resolveFromRoot(process.env.MPT_API_SERVER_BIN || 'target/debug/mpt-api-server');
    out.dataDir = freshTempDir('mpt-e2e-data-');
    try {
      api = await spawnUntilListening('mpt-api-server', bin, ['serve', '--demo'], {
        MPT_BIND: apiBind,
        MPT_DATA_DIR: out.dataDir,
        // The demo tenant's CRM connectors point at this run's demo CRMs.
        MPT_DEMO_MPT_CRM_URL: out.mptCrm,
        MPT_DEMO_AMS_CRM_URL: out.amsCrm,
      });
    } catch (e) {
      await stopChild(crm.child);
      throw e;
    }
    out.apiUrl = api.ready.url;
    out.apiEvents = api.events;
  }
  /**
   * Stops the api-server (`signal`: SIGKILL for a crash, SIGTERM for a clean stop) and
   * resolves once it exited; `startApi()` starts it again on the same address and data.
   */
  out.killApi = async (signal = 'SIGKILL') => {
    if (!api || api.child.exitCode !== null || api.child.signalCode !== null) return;
    const exited = new Promise((r) => api.child.once('exit', r));
    api.child.kill(signal);
    await exited;
    children.delete(api.child);
  };
  out.startApi = async () => {
    const bin = resolveFromRoot(process.env.MPT_API_SERVER_BIN || 'target/debug/mpt-api-server');
    api = await spawnUntilListening('mpt-api-server', bin, ['serve', '--demo'], {
      MPT_BIND: new URL(out.apiUrl).host,
      MPT_DATA_DIR: out.dataDir,
      MPT_DEMO_MPT_CRM_URL: out.mptCrm,
      MPT_DEMO_AMS_CRM_URL: out.amsCrm,
    });
  };
  out.stop = async () => {
    await Promise.all([stopChild(crm.child), api && stopChild(api.child)]);
  };
  return out;
}

/** GET a JSON document (ground truth, APIs). */
export async function getJson(url, headers = {}) {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}: ${await res.text()}`);
  return res.json();
}

/**
 * Polls `fn` every 100 ms until it returns something truthy, which it returns. An error `fn`
 * throws counts as "not yet"; when `timeout` ms pass, the last value or error is reported.
 */
export async function eventually(what, fn, timeout = TIMEOUT_MS) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e instanceof Error ? e.message : e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeout} ms (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The demo tenant's admin and agent (api-server `serve --demo`, see api-server/src/seed.rs). */
export const DEMO_ADMIN = { email: 'admin@demo.mpt-phone.test', password: 'demo-admin-pass' };
export const DEMO_AGENT = { email: 'agent@demo.mpt-phone.test', password: 'demo-agent-pass' };

/** The demo admin's access token per server (sign-ins are rate limited: one per server). */
const adminTokens = new Map();

async function demoAdminToken(apiUrl, fresh) {
  if (fresh || !adminTokens.has(apiUrl)) {
    const r = await fetch(`${apiUrl}/api/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(DEMO_ADMIN),
    });
    if (!r.ok) throw new Error(`sign-in as ${DEMO_ADMIN.email}: HTTP ${r.status}: ${await r.text()}`);
    adminTokens.set(apiUrl, (await r.json()).access_token);
  }
  return adminTokens.get(apiUrl);
}

/**
 * `fetch(apiUrl + path, init)` as the demo admin, signed in once per server (again when the
 * token is refused: it expired, or the server started from scratch).
 */
export async function asDemoAdmin(apiUrl, path, init = {}) {
  const send = async (fresh) => fetch(`${apiUrl}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...init.headers, authorization: `Bearer ${await demoAdminToken(apiUrl, fresh)}` },
  });
  const r = await send(false);
  return r.status === 401 ? send(true) : r;
}

/**
 * Resolves once the server rings the agent `email` for inbound calls (`available` in
 * `GET /api/admin/agents`). A phone's Device can be registered before its presence reached
 * the server, which applies presence at most once a second per agent
 * (api-server/src/presence.rs): a call placed in between goes to voicemail.
 */
export async function untilAvailable(apiUrl, email, timeout = TIMEOUT_MS) {
  await eventually(`${email} available on the server`, async () => {
    const r = await asDemoAdmin(apiUrl, '/api/admin/agents');
    if (!r.ok) throw new Error(`GET /api/admin/agents: HTTP ${r.status}: ${await r.text()}`);
    return (await r.json()).find((a) => a.email === email)?.available;
  }, timeout);
}

/** The ground truth of a demo page: `truth(base, '/contacts')`. */
export function truth(base, pagePath) {
  return getJson(`${base}/__truth${pagePath}`);
}

// ---------------------------------------------------------------- browser

/** Checks Chromium and the built extension; throws a clear error if either is missing. */
export function prerequisites({ extensionDir } = {}) {
  const executablePath = process.env.CHROME_PATH || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath}: install Debian's chromium package ` +
      'or set CHROME_PATH to a Chromium/Chrome binary.');
  }
  const dir = resolveFromRoot(extensionDir || process.env.MPT_EXTENSION_DIR || 'dist/extension');
  const manifestPath = path.join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new Error(`No built extension at ${dir} (manifest.json missing): run \`cargo xtask build\` ` +
      'or set MPT_EXTENSION_DIR.');
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  return { executablePath, extensionDir: dir, manifest };
}

function describeConsole(msg) {
  const loc = msg.location();
  const where = loc && loc.url ? ` (${loc.url}:${loc.lineNumber})` : '';
  return `${msg.text()}${where}`;
}

/**
 * Launches Chromium with the extension in a fresh profile (or in `userDataDir`, to relaunch one).
 * Returns a session: { context, extensionId, serviceWorker, manifest, errors, log,
 *   openPage(url), openPopup(), waitForServiceWorkerReady(), saveArtifacts(name), close() }.
 * `errors` collects uncaught exceptions and console.error from every context.
 */
export async function launchBrowser({ extensionDir, userDataDir: profileDir } = {}) {
  const pre = prerequisites({ extensionDir });
  // Chromium lists an extension's offscreen document as a target of type "other",
  // which Playwright ignores unless told otherwise: with this, the offscreen
  // document (the softphone's audio) is a page whose console and exceptions we see.
  process.env.PW_CHROMIUM_ATTACH_TO_OTHER ??= '1';
  // A given profile relaunches the same browser state (a restart); else a fresh one.
  const userDataDir = profileDir || freshTempDir('mpt-e2e-profile-');
  const dir = pre.extensionDir;
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: pre.executablePath,
    headless: true,
    ignoreDefaultArgs: ['--disable-extensions'],
    timeout: TIMEOUT_MS,
    args: [
      `--disable-extensions-except=${dir}`,
      `--load-extension=${dir}`,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      '--allow-loopback-in-peer-connection',
    ],
  });
  context.setDefaultTimeout(TIMEOUT_MS);
  context.setDefaultNavigationTimeout(TIMEOUT_MS);
  const errors = [];
  const log = [];
  const stamp = () => new Date().toISOString().slice(11, 23);
  // Chrome's own report that it kept a cross-origin frame from taking focus: our call
  // panel is such a frame over the CRM, and its fields' `autofocus` (which focuses them in
  // the popup) must not steal the agent's focus from the CRM page. Wanted behaviour, logged
  // as a console error by the browser, not by our code.
  const BROWSER_INTERVENTIONS = [
    /^Blocked autofocusing on a <\w+> element in a cross-origin subframe\.( \(chrome-extension:\/\/[a-p]{32}\/panel\/[^)]*\))?$/,
  ];
  const record = (where, kind, text) => {
    log.push(`${stamp()} [${where}] ${kind}: ${text}`);
    if (kind === 'error' && BROWSER_INTERVENTIONS.some((re) => re.test(text))) return;
    if (kind === 'error' || kind === 'exception') errors.push({ where, kind, text });
  };
  const pageName = (page) => {
    try { return page.url() || 'about:blank'; } catch { return 'page'; }
  };
  const watchPage = (page) => {
    page.on('console', (msg) => record(pageName(page), msg.type(), describeConsole(msg)));
    page.on('pageerror', (err) => record(pageName(page), 'exception', err.stack || String(err)));
    page.on('crash', () => record(pageName(page), 'exception', 'page crashed'));
  };
  const watchedWorkers = new WeakSet();
  const watchWorker = (worker) => {
    if (watchedWorkers.has(worker)) return;
    watchedWorkers.add(worker);
    worker.on('console', (msg) => record(`sw ${worker.url()}`, msg.type(), describeConsole(msg)));
    // Playwright reports a worker's console but not its uncaught exceptions:
    // listen inside the worker and read them back in collectErrors().
    worker.evaluate(() => {
      if (self.__mptE2eErrors) return;
      const errs = (self.__mptE2eErrors = []);
      const text = (x) => (x && (x.stack || x.message)) || String(x);
      self.addEventListener('error', (e) => errs.push(`uncaught: ${text(e.error || e.message)}`));
      self.addEventListener('unhandledrejection', (e) => errs.push(`unhandled rejection: ${text(e.reason)}`));
    }).catch(() => { /* the worker stopped meanwhile */ });
    workers.add(worker);
    worker.once('close', () => workers.delete(worker));
  };
  const workers = new Set();
  context.on('page', watchPage);
  context.pages().forEach(watchPage);
  context.on('weberror', (e) => {
    const p = e.page();
    const err = e.error();
    // Page errors are also reported by 'pageerror'; keep those without a page only.
    if (!p) record('context', 'exception', err && (err.stack || err.message));
  });
  context.on('serviceworker', watchWorker);
  context.serviceWorkers().forEach(watchWorker);

  const session = {
    context,
    userDataDir,
    manifest: pre.manifest,
    extensionDir: dir,
    errors,
    log,
    extensionId: null,
    serviceWorker: null,
    /** Adds the uncaught exceptions seen inside live service workers to `errors`; returns `errors`. */
    async collectErrors() {
      for (const w of workers) {
        const seen = await w.evaluate(() => (self.__mptE2eErrors || []).splice(0)).catch(() => []);
        for (const text of seen) record(`sw ${w.url()}`, 'exception', text);
      }
      return errors;
    },
    /** Resolves once the service worker's `self.mptReady` settles. */
    async waitForServiceWorkerReady() {
      const ok = await session.serviceWorker.evaluate(async () => {
        if (!self.mptReady) return 'self.mptReady is not defined';
        await self.mptReady;
        return true;
      });
      if (ok !== true) throw new Error(`service worker not ready: ${ok}`);
    },
    /** Opens `url` in a new tab and waits for its load event. */
    async openPage(url) {
      const page = await context.newPage();
      await page.goto(url, { waitUntil: 'load', timeout: TIMEOUT_MS });
      return page;
    },
    /** The popup (manifest's action.default_popup) opened as a tab. */
    async openPopup() {
      const popup = (pre.manifest.action && pre.manifest.action.default_popup) || 'popup/popup.html';
      return session.openPage(`chrome-extension://${session.extensionId}/${popup}`);
    },
    /** Screenshot of every open page + the console log, under tests/artifacts/<name>/. */
    async saveArtifacts(name) {
      const safe = name.replace(/[^a-z0-9._-]+/gi, '_').slice(0, 100);
      const out = path.join(ARTIFACTS, safe);
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out, { recursive: true });
      await session.collectErrors().catch(() => {});
      let i = 0;
      for (const page of context.pages()) {
        i += 1;
        try {
          await page.screenshot({ path: path.join(out, `page-${i}.png`), timeout: 10_000 });
          log.push(`page-${i}.png = ${page.url()}`);
        } catch (e) {
          log.push(`page-${i}: screenshot failed: ${e.message}`);
        }
      }
      writeFileSync(path.join(out, 'console.log'), log.join('\n') + '\n');
      return out;
    },
    async close() {
      await context.close().catch(() => {});
    },
  };

  // The extension id is the host of its service worker's URL.
  let sw = context.serviceWorkers().find((w) => w.url().startsWith('chrome-extension://'));
  if (!sw) {
    sw = await context.waitForEvent('serviceworker', {
      predicate: (w) => w.url().startsWith('chrome-extension://'),
      timeout: TIMEOUT_MS,
    }).catch(async (e) => {
      await session.close();
      throw new Error(`the extension's service worker never started (${e.message}); ` +
        `check ${dir}/manifest.json and the console of chrome://extensions`);
    });
  }
  watchWorker(sw);
  session.serviceWorker = sw;
  session.extensionId = new URL(sw.url()).host;
  return session;
}

// ---------------------------------------------------------------- page signals

/**
 * Waits until the content script reports `data-mpt-phone="ready"` (watched with a
 * MutationObserver on <html>'s attributes, no polling).
 */
export async function waitForContentReady(page, timeout = TIMEOUT_MS) {
  const r = await page.evaluate((timeout) => new Promise((resolve) => {
    const root = document.documentElement;
    const t0 = performance.now();
    const done = (ok) => { obs.disconnect(); clearTimeout(timer); resolve({ ok, state: root.dataset.mptPhone, ms: performance.now() - t0 }); };
    const obs = new MutationObserver(() => { if (root.dataset.mptPhone === 'ready') done(true); });
    const timer = setTimeout(() => done(false), timeout);
    obs.observe(root, { attributes: true, attributeFilter: ['data-mpt-phone'] });
    if (root.dataset.mptPhone === 'ready') done(true);
  }), timeout);
  if (!r.ok) {
    throw new Error(`content script not ready after ${Math.round(r.ms)} ms (data-mpt-phone=${r.state ?? 'absent'}): ` +
      'is the content script injected on this origin?');
  }
  return r.ms;
}

/**
 * Waits until `data-mpt-phone-count` equals `expected`, re-checking on every
 * `mpt-phone:scanned` event (no polling). Resolves with `{ ms, at }`: time spent
 * waiting and the page's `performance.now()` (ms since navigation) when reached;
 * rejects with the last count seen.
 */
export async function waitForCount(page, expected, timeout = TIMEOUT_MS) {
  const r = await page.evaluate(({ expected, timeout }) => new Promise((resolve) => {
    const t0 = performance.now();
    const read = () => Number(document.documentElement.dataset.mptPhoneCount);
    const done = (ok) => {
      document.removeEventListener('mpt-phone:scanned', check);
      clearTimeout(timer);
      resolve({ ok, count: read(), ms: performance.now() - t0, at: performance.now() });
    };
    function check() { if (read() === expected) done(true); }
    const timer = setTimeout(() => done(false), timeout);
    document.addEventListener('mpt-phone:scanned', check);
    check();
  }), { expected, timeout });
  if (!r.ok) {
    throw new Error(`data-mpt-phone-count stayed at ${r.count}, expected ${expected} (waited ${Math.round(r.ms)} ms)`);
  }
  return r;
}

/**
 * Evaluates `fn(arg)` (a function or its source) in the extension's content-script world (the isolated world) of the
 * page's main frame, through the DevTools protocol: what the page's own scripts cannot
 * reach. Returns undefined when the page has no such world.
 */
export async function inContentWorld(page, fn, arg) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const contexts = [];
    cdp.on('Runtime.executionContextCreated', (e) => contexts.push(e.context));
    const { frameTree } = await cdp.send('Page.getFrameTree');
    await cdp.send('Runtime.enable'); // reports the existing contexts before it returns
    const ctx = contexts.find((c) => c.auxData && c.auxData.type === 'isolated' && c.auxData.frameId === frameTree.frame.id &&
      /^chrome-extension:/.test(c.origin));
    if (!ctx) return undefined;
    const r = await cdp.send('Runtime.evaluate', {
      expression: `(${fn})(${JSON.stringify(arg ?? null)})`, contextId: ctx.id, returnByValue: true, awaitPromise: true,
    });
    if (r.exceptionDetails) throw new Error(`in the content-script world: ${r.exceptionDetails.exception?.description || r.exceptionDetails.text}`);
    return r.result.value;
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/** Text, contact and tel: link of each StaticRange (runs in the page or the content-script world). */
function describeRanges(ranges) {
  const out = [];
  for (const r of ranges) {
    const el = r.startContainer.parentElement;
    // Marks are StaticRanges (no toString): read their text through a live Range.
    const live = document.createRange();
    live.setStart(r.startContainer, r.startOffset);
    live.setEnd(r.endContainer, r.endOffset);
    out.push({
      text: live.toString(),
      connected: r.startContainer.isConnected,
      contactId: el && el.closest('[data-contact-id]') ? el.closest('[data-contact-id]').dataset.contactId : null,
      telLink: !!(el && el.closest('a[href^="tel:"]')),
    });
  }
  return out;
}

/**
 * The numbers the extension marked, with their text (which may span several text nodes),
 * nearest `data-contact-id` and whether they sit in a tel: link: every mark the content
 * script holds (on pages with thousands of marks the `mpt-phone` CSS highlight holds only
 * those near the viewport), read in its own world; else every range of the highlight.
 * Returns null when neither is visible.
 */
export async function markedRanges(page) {
  const all = await inContentWorld(page, `() => {
    const marks = globalThis.mptPhone && globalThis.mptPhone.marks;
    return marks && marks.ranges ? (${describeRanges})(marks.ranges()) : null;
  }`).catch(() => undefined);
  if (all) return all;
  // A string, not a function: evaluated as is, whatever the page's CSP says about eval.
  return page.evaluate(`(() => {
    const h = globalThis.CSS && CSS.highlights && CSS.highlights.get('mpt-phone');
    return h ? (${describeRanges})(h) : null;
  })()`);
}

/**
 * Wraps a test body: on failure, saves screenshots + console log of the session
 * to tests/artifacts/<test name>/ and rethrows.
 */
export function withArtifacts(getSession, fn) {
  return async (t) => {
    try {
      await fn(t);
    } catch (e) {
      const s = getSession();
      if (s) {
        const where = await s.saveArtifacts(t.name).catch((err) => `(saving artifacts failed: ${err.message})`);
        e.message += `\n  artifacts: ${where}`;
      }
      throw e;
    }
  };
}

/**
 * One environment per test file: `setup(own)` runs on the first `env()` and puts what
 * it starts on `own` (`services`, `session`, anything else the file needs), so whatever
 * did start is stopped after the file even when set-up failed half-way. `run(fn)` wraps
 * a test so a failure saves a screenshot and the console log.
 */
export function fileEnv(setup) {
  const own = {};
  let started = null;
  after(async () => {
    await own.session?.close();
    await own.services?.stop();
  });
  return {
    env: () => (started ??= setup(own).then(() => own)),
    run: (fn) => withArtifacts(() => own.session, fn),
  };
}

/** Formats the errors collected so far, for assertion messages. */
export function formatErrors(errors) {
  return errors.map((e) => `  [${e.where}] ${e.kind}: ${e.text}`).join('\n');
}

/** E.164 of a marked text as libphonenumber-js reads it (default region US), or the text itself. */
export function e164Of(text) {
  const n = parsePhoneNumberFromString(text, 'US');
  return n ? n.number : `unparsable:${text}`;
}

function multiset(keys) {
  const m = new Map();
  for (const k of keys) m.set(k, (m.get(k) || 0) + 1);
  return m;
}

/**
 * Compares the marked ranges with a page's truth, number by number and contact by
 * contact. Returns `{ extra, missing }` (empty when they agree); `extra` lists what
 * was marked but must not be (look-alikes show up here), `missing` what was not found.
 */
export function compareMarks(ranges, pageTruth) {
  const key = (e164, contactId) => `${e164} @ ${contactId || '-'}`;
  const want = multiset(pageTruth.numbers.map((n) => key(n.e164, n.contact_id)));
  const got = multiset(ranges.map((r) => key(e164Of(r.text), r.contactId)));
  const textOf = new Map(ranges.map((r) => [key(e164Of(r.text), r.contactId), r.text]));
  const extra = [];
  const missing = [];
  for (const [k, n] of got) {
    for (let i = (want.get(k) || 0); i < n; i++) extra.push(`${k} ("${textOf.get(k)}")`);
  }
  for (const [k, n] of want) {
    for (let i = (got.get(k) || 0); i < n; i++) missing.push(k);
  }
  return { extra, missing };
}

/** Asserts the marks on `page` equal `pageTruth` (count and which numbers). */
export async function assertMarksMatch(page, pageTruth) {
  const ranges = await markedRanges(page);
  if (ranges === null) throw new Error('CSS.highlights has no "mpt-phone" highlight visible from the page');
  const disconnected = ranges.filter((r) => !r.connected).length;
  const { extra, missing } = compareMarks(ranges.filter((r) => r.connected), pageTruth);
  const lookAlikes = extra.length
    ? `\n  look-alikes on this page: ${pageTruth.not_numbers.map((n) => n.text).join(' | ')}` : '';
  if (extra.length || missing.length || disconnected) {
    throw new Error(`${pageTruth.path}: marks differ from the truth (${ranges.length} ranges, ` +
      `${pageTruth.count} expected, ${disconnected} on removed nodes)\n` +
      `  marked but not a number here: ${extra.join(', ') || 'none'}\n` +
      `  not marked: ${missing.join(', ') || 'none'}${lookAlikes}`);
  }
  return ranges;
}
