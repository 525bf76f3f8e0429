// The embeddable widget in Chromium (issue 14, docs/embed.md), sandbox calling:
// - a page on an allowed origin loads widget.js; <mpt-phone> dials, dial() resolves
//   {callId}, the call's events arrive with the documented detail, the log carries the
//   contact, a bad number is a typed rejection;
// - an allowed page frames /widget: ready, auth by message, dial with its response by
//   id, events, a typed error, token-expiring before expiry and setAuthToken going on;
// - a page on an origin that is not allowed cannot frame the widget, its messages start
//   nothing, and the web component refuses to run there;
// - a revoked widget key or embed token stops the phone at once;
// - the design's config: features hide the dialer, contact search and wrap-up (calls
//   through the API still work and are logged with their contact and CRM), standalone
//   fills its box, a bad config is a typed error; mode popup opens the phone in its own
//   window and the element's commands reach it; a page that opens that window claiming an
//   allowed origin gets nothing;
// - the npm package (`cargo xtask dist`), installed into a throwaway app, dials the same way.
// Host pages are served by Playwright's router on made-up origins (http://localhost:7717
// is allowed by the demo tenant's `http://localhost:*`; https://evil.example is not); the
// api-server and its widget files are real. Needs `cargo xtask dist` (dist/widget and the
// npm tarball).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { clickOurs, ourElement, waitOurElement } from './extension-helpers.mjs';
import { DEMO_ADMIN, DEMO_AGENT, ROOT, TEST_TIMEOUT_MS, TIMEOUT_MS, eventually, freshTempDir, prerequisites, startServices, untilAvailable } from './harness.mjs';

const ALLOWED = 'http://localhost:7717';
const EVIL = 'https://evil.example';
const NUMBER = '+14155550142'; // the sandbox answers, then the callee hangs up

let services;
let browser;
let api;
let admin;
let crmKey;
let widgetKey;
let widgetKeyId;
let integrity;

async function call(method, url, token, body, headers = {}) {
  const r = await fetch(`${api}${url}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  return { status: r.status, body: json };
}

async function embedToken(ttl_s = 900) {
  const r = await call('POST', '/api/embed/tokens', crmKey, { agent_email: DEMO_AGENT.email, ttl_s });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

before(async () => {
  const widgetDir = path.join(ROOT, 'dist', 'widget');
  if (!existsSync(path.join(widgetDir, 'widget.js'))) throw new Error('No built widget in dist/widget: run `cargo xtask build`.');
  process.env.MPT_WIDGET_DIR = widgetDir;
  process.env.MPT_SANDBOX_SPEED = '20';
  // 10 s of real ringing at that speed: answers and declines land within the ring.
  process.env.MPT_RING_SECS = '200';
  services = await startServices({ apiServer: true });
  api = services.apiUrl;
  const login = await call('POST', '/api/auth/login', null, DEMO_ADMIN);
  assert.equal(login.status, 200);
  admin = login.body.access_token;
  const key = await call('POST', '/api/admin/widget-keys', admin, { name: 'e2e' });
  assert.equal(key.status, 201);
  widgetKey = key.body.key;
  widgetKeyId = key.body.id;
  const k = await call('POST', '/api/admin/api-keys', admin, { name: 'e2e crm backend' });
  crmKey = k.body.key;
  const config = await call('GET', '/api/config', admin);
  integrity = config.body.widget.integrity;
  assert.match(integrity, /^sha384-/);
  const { executablePath } = prerequisites();
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      // Host pages come from Playwright's router (no address: "public"), the api-server from
      // loopback: Chromium's local-network checks would block every request before our own
      // checks could be tested. In production both are public.
      '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults',
    ],
  });
});

after(async () => {
  await browser?.close();
  await services?.stop();
});

test('docs/embed.md publishes the SRI hash of the widget.js the server serves', async () => {
  const served = await fetch(`${api}/phone/v1/widget.js`).then((r) => r.arrayBuffer());
  const { createHash } = await import('node:crypto');
  const hash = `sha384-${createHash('sha384').update(Buffer.from(served)).digest('base64')}`;
  assert.equal(integrity, hash, '/api/config names the served file');
  const docs = readFileSync(path.join(ROOT, 'docs', 'embed.md'), 'utf8');
  assert.ok(docs.includes(`integrity="${hash}"`), `docs/embed.md must publish integrity="${hash}" (widget.js changed: update the docs)`);
});

/** A page whose document at `origin/host.html` is `body`; everything else goes to the network. */
async function hostPage(origin, body) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.route(`${origin}/host.html`, (route) => route.fulfill({ contentType: 'text/html', body }));
  await page.goto(`${origin}/host.html`);
  return { page, errors, close: () => context.close() };
}

const widgetScript = () => `<script src="${api}/phone/v1/widget.js" integrity="${integrity}" crossorigin="anonymous"></script>`;

/** Collects every contract event the element dispatches into window.__events. */
const EVENT_NAMES = ['ready', 'call-incoming', 'call-started', 'call-ringing', 'call-answered', 'call-ended', 'call-logged', 'token-expiring', 'error'];

test('web component: dial resolves {callId}, events carry the documented detail, the log has the contact', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { token } = await embedToken();
  const host = await hostPage(ALLOWED, `<!doctype html><html><body>${widgetScript()}
    <mpt-phone id="phone" api-key="${widgetKey}" auth-token="${token}" contact-id="c-77" style="--mpt-phone-primary: rgb(200, 10, 10)"></mpt-phone>
    <script>
      window.__events = [];
      for (const n of ${JSON.stringify(EVENT_NAMES)}) document.getElementById('phone').addEventListener(n, (e) => window.__events.push({ name: n, detail: e.detail }));
    </script></body></html>`);
  const { page } = host;
  try {
    await page.waitForFunction(() => window.__events.some((e) => e.name === 'ready'), null, { timeout: TIMEOUT_MS });
    const result = await page.evaluate((n) => document.getElementById('phone').dial(n), NUMBER);
    assert.match(result.callId, /^[A-Za-z0-9_-]{8,64}$/, JSON.stringify(result));
    await page.waitForFunction(() => window.__events.some((e) => e.name === 'call-ended'), null, { timeout: TIMEOUT_MS });
    const events = await page.evaluate(() => window.__events);
    const names = events.map((e) => e.name);
    for (const n of ['call-started', 'call-answered', 'call-ended']) assert.ok(names.includes(n), `${n} in ${JSON.stringify(events)}`);
    const started = events.find((e) => e.name === 'call-started').detail;
    assert.deepEqual(started, { callId: result.callId, contactId: 'c-77', number: NUMBER, direction: 'outbound' });
    const ended = events.find((e) => e.name === 'call-ended').detail;
    assert.equal(ended.callId, result.callId);
    assert.equal(ended.endReason, 'completed');
    assert.equal(typeof ended.durationSec, 'number');
    const log = await call('GET', `/api/calls/${result.callId}`, admin);
    assert.equal(log.status, 200);
    assert.equal(log.body.contact_id, 'c-77');
    // A bad number is a typed rejection.
    const bad = await page.evaluate(() => document.getElementById('phone').dial('12').then(() => null, (e) => ({ code: e.code, message: e.message })));
    assert.equal(bad?.code, 'invalid_number', JSON.stringify(bad));
    assert.deepEqual(host.errors, []);
  } finally {
    await host.close();
  }
});

/** The element's events into window.__events (script for a host page). */
const recordEvents = (id) => `<script>
  window.__events = [];
  for (const n of ${JSON.stringify(EVENT_NAMES)}) document.getElementById('${id}').addEventListener(n, (e) => window.__events.push({ name: n, detail: e.detail }));
</script>`;

test('config: features hide the dialer and the wrap-up, standalone fills its box, integration names the CRM; a bad config is a typed error', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { token } = await embedToken();
  const config = {
    mode: 'standalone',
    integration: { type: 'ams-crm', authMethod: 'token' },
    features: { dialPad: false, contactSearch: false, callLogging: false, voicemail: true },
  };
  const host = await hostPage(ALLOWED, `<!doctype html><html><body style="margin:0"><div style="height:600px">${widgetScript()}
    <mpt-phone id="phone" api-key="${widgetKey}" auth-token="${token}" contact-id="c-91" config='${JSON.stringify(config)}'></mpt-phone></div>
    ${recordEvents('phone')}</body></html>`);
  const { page } = host;
  try {
    await page.waitForFunction(() => window.__events.some((e) => e.name === 'ready'), null, { timeout: TIMEOUT_MS });
    const phone = await ourElement(page, 'phone');
    assert.equal(phone.attrs['data-theme'], 'ams-crm', 'the integration sets the theme');
    assert.equal(phone.attrs['data-layout'], 'full', 'standalone is the full layout');
    assert.equal(await page.evaluate(() => document.getElementById('phone').getBoundingClientRect().height), 600, 'standalone fills its box');
    // What is off is not shown (the API still dials); the voicemail link is.
    for (const id of ['dialer', 'contacts', 'recent']) {
      const el = await ourElement(page, id);
      assert.ok(el && el.box === null, `${id} is hidden: ${JSON.stringify(el)}`);
    }
    const link = await ourElement(page, 'voicemail-link');
    assert.ok(link && link.box, 'the voicemail link is shown');
    assert.equal(link.attrs.href, `${api}/voicemail`);
    const result = await page.evaluate((n) => document.getElementById('phone').dial(n), NUMBER);
    await page.waitForFunction(() => window.__events.some((e) => e.name === 'call-ended'), null, { timeout: TIMEOUT_MS });
    // No wrap-up: the phone is free at once, and the log still has the contact and the CRM.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await ourElement(page, 'wrap-up'), null, 'no wrap-up');
    let log;
    for (const deadline = Date.now() + TIMEOUT_MS; Date.now() < deadline;) {
      log = await call('GET', `/api/calls/${result.callId}`, admin);
      if (log.status === 200 && log.body.crm) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(log.body.contact_id, 'c-91');
    assert.equal(log.body.crm, 'ams-crm');

    // Bad configurations: the setter throws a typed error and keeps what was there…
    const set = await page.evaluate(() => {
      const el = document.createElement('mpt-phone');
      el.config = { mode: 'embedded' };
      const tries = [{ features: { fax: true } }, { mode: 'floating' }, { features: { dialPad: 'no' } }, { integration: { authMethod: 'magic' } }];
      const out = tries.map((c) => { try { el.config = c; return null; } catch (e) { return { code: e.code, message: e.message }; } });
      return { out, kept: el.config };
    });
    assert.deepEqual(set.out.map((e) => e && e.code), ['internal', 'internal', 'internal', 'internal']);
    assert.match(set.out[0].message, /fax/);
    assert.match(set.out[1].message, /mode must be one of embedded, standalone, popup/);
    assert.deepEqual(set.kept, { mode: 'embedded' });
    // …and a bad attribute makes the element say so and refuse every command.
    const refused = await page.evaluate(async (key) => {
      const el = document.createElement('mpt-phone');
      el.setAttribute('api-key', key);
      el.setAttribute('config', '{"mode": "embedded",');
      const errors = [];
      el.addEventListener('error', (e) => errors.push(e.detail));
      document.body.appendChild(el);
      const dial = await el.dial('+14155550142').then(() => null, (e) => ({ code: e.code, message: e.message }));
      return { errors, dial };
    }, widgetKey);
    assert.equal(refused.dial.code, 'internal');
    assert.match(refused.dial.message, /config: the attribute is not JSON/);
    assert.equal(refused.errors.length, 1);
    assert.deepEqual(host.errors, []);
  } finally {
    await host.close();
  }
});

test('mode popup: the button opens the phone in its own window; commands reach it; closed, they are refused', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { token } = await embedToken();
  const host = await hostPage(ALLOWED, `<!doctype html><html><body>${widgetScript()}
    <mpt-phone id="phone" api-key="${widgetKey}" auth-token="${token}" contact-id="c-92" config='{"mode":"popup"}'></mpt-phone>
    ${recordEvents('phone')}</body></html>`);
  const { page } = host;
  try {
    const dial = () => page.evaluate((n) => document.getElementById('phone').dial(n).then((r) => r, (e) => ({ code: e.code, message: e.message })), NUMBER);
    await waitOurElement(page, 'mpt-phone-open');
    const early = await dial();
    assert.equal(early.code, 'not_ready', JSON.stringify(early));
    const opened = page.context().waitForEvent('page', { timeout: TIMEOUT_MS });
    await clickOurs(page, 'mpt-phone-open');
    const win = await opened;
    assert.ok(win.url().startsWith(`${api}/widget?key=`), win.url());
    assert.ok(win.url().includes(`opener=${encodeURIComponent(ALLOWED)}`), win.url());
    await win.waitForSelector('[data-testid=phone]', { timeout: TIMEOUT_MS });
    // Signed in with the element's token, in the window's own phone.
    await win.waitForSelector('[data-testid=account-email]', { timeout: TIMEOUT_MS });
    const result = await dial();
    assert.match(result.callId || '', /^[A-Za-z0-9_-]{8,64}$/, JSON.stringify(result));
    await page.waitForFunction(() => window.__events.some((e) => e.name === 'call-ended'), null, { timeout: TIMEOUT_MS });
    const started = (await page.evaluate(() => window.__events)).find((e) => e.name === 'call-started');
    assert.equal(started.detail.callId, result.callId);
    assert.equal(started.detail.contactId, 'c-92');
    await win.close();
    await new Promise((r) => setTimeout(r, 800));
    const late = await dial();
    assert.equal(late.code, 'not_ready', JSON.stringify(late));
    assert.deepEqual(host.errors, []);
  } finally {
    await host.close();
  }
});

test('a page that opens the phone window claiming an allowed origin gets no answer and signs nothing in', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { token } = await embedToken();
  const host = await hostPage(EVIL, `<!doctype html><html><body><button id="b">open</button><script>
    window.__got = [];
    addEventListener('message', (e) => window.__got.push({ origin: e.origin, data: e.data }));
    document.getElementById('b').addEventListener('click', () => {
      window.__w = window.open(${JSON.stringify(`${api}/widget?key=${widgetKey}&opener=${encodeURIComponent(ALLOWED)}`)}, 'x', 'popup');
    });
  </script></body></html>`);
  const { page } = host;
  try {
    const opened = page.context().waitForEvent('page', { timeout: TIMEOUT_MS });
    await page.click('#b');
    const win = await opened;
    await win.waitForSelector('[data-testid=phone]', { timeout: TIMEOUT_MS });
    for (let i = 0; i < 10; i++) {
      await page.evaluate((t) => {
        window.__w.postMessage({ v: 1, type: 'ping' }, '*');
        window.__w.postMessage({ v: 1, id: 1, type: 'auth', payload: { token: t } }, '*');
      }, token);
      await new Promise((r) => setTimeout(r, 150));
    }
    assert.deepEqual(await page.evaluate(() => window.__got), [], 'nothing was posted to this page');
    assert.equal(await win.$('[data-testid=account-email]'), null, 'the window is not signed in');
  } finally {
    await host.close();
  }
});

test('iframe widget: ready, auth by message, dial by id, events, typed errors, token-expiring then setAuthToken', { timeout: TEST_TIMEOUT_MS }, async () => {
  const short = await embedToken(12);
  // The integrator's backend has the next token ready; its page hands it over on
  // token-expiring, as docs/embed.md says (the test process would be late on a slow machine).
  const fresh = await embedToken(900);
  const host = await hostPage(ALLOWED, `<!doctype html><html><body>${widgetScript()}
    <iframe id="w" src="${api}/widget?key=${widgetKey}&contact=c-88" allow="microphone; autoplay" style="width:360px;height:560px"></iframe>
    <script>
      window.__events = [];
      window.__client = MPTPhone.mount(document.getElementById('w'), { token: ${JSON.stringify(short.token)} });
      for (const n of ${JSON.stringify(EVENT_NAMES)}) window.__client.on(n, (d) => window.__events.push({ name: n, detail: d }));
      window.__client.on('token-expiring', () => Promise.resolve(window.__client.setAuthToken(${JSON.stringify(fresh.token)}))
        .then(() => { window.__renewed = true; }, (e) => { window.__renewed = String(e && (e.code || e.message) || e); }));
    </script></body></html>`);
  const { page } = host;
  try {
    await page.evaluate(() => window.__client.ready);
    const result = await page.evaluate((n) => window.__client.dial(n), NUMBER);
    assert.match(result.callId, /^[A-Za-z0-9_-]{8,64}$/);
    await page.waitForFunction(() => window.__events.some((e) => e.name === 'call-ended'), null, { timeout: TIMEOUT_MS });
    const events = await page.evaluate(() => window.__events);
    const started = events.find((e) => e.name === 'call-started').detail;
    assert.equal(started.callId, result.callId);
    assert.equal(started.contactId, 'c-88', 'the contact of /widget?contact=');
    const bad = await page.evaluate(() => window.__client.dial('12').then(() => null, (e) => ({ code: e.code })));
    assert.equal(bad?.code, 'invalid_number');
    // token-expiring arrives before the 12 s token expires; a new token continues the session.
    await page.waitForFunction(() => window.__events.some((e) => e.name === 'token-expiring'), null, { timeout: TIMEOUT_MS });
    const expiring = (await page.evaluate(() => window.__events)).find((e) => e.name === 'token-expiring').detail;
    assert.ok(expiring.expiresInSec > 0 && expiring.expiresInSec <= 12, JSON.stringify(expiring));
    assert.equal(await page.waitForFunction(() => window.__renewed, null, { timeout: TIMEOUT_MS }).then((h) => h.jsonValue()), true, 'setAuthToken accepted');
    // Past the first token's expiry, the session goes on with the new one.
    await page.waitForFunction((exp) => Date.now() > exp + 1_000, short.expires_at, { timeout: TIMEOUT_MS });
    const second = await page.evaluate((n) => window.__client.dial(n), NUMBER);
    assert.match(second.callId, /^[A-Za-z0-9_-]{8,64}$/);
    assert.ok(!(await page.evaluate(() => window.__events)).some((e) => e.name === 'error' && e.detail.code === 'unauthorized'));
    // The call ends and is logged before the page goes: the next test counts the calls.
    await page.waitForFunction((id) => window.__events.some((e) => e.name === 'call-ended' && e.detail.callId === id), second.callId, { timeout: TIMEOUT_MS });
    await eventually('the second call logged as ended', async () => {
      const r = await call('GET', `/api/calls/${second.callId}`, admin);
      return r.status === 200 && r.body.ended_at;
    });
    assert.deepEqual(host.errors, []);
  } finally {
    await host.close();
  }
});

test('a page on an origin that is not allowed cannot frame the widget, and its messages start nothing', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { token } = await embedToken();
  const before = await call('GET', '/api/calls?limit=50', admin);
  const host = await hostPage(EVIL, `<!doctype html><html><body>${widgetScript()}
    <iframe id="w" src="${api}/widget?key=${widgetKey}" allow="microphone; autoplay"></iframe>
    <mpt-phone id="phone" api-key="${widgetKey}" auth-token="${token}"></mpt-phone>
    <script>
      window.__events = [];
      document.getElementById('phone').addEventListener('error', (e) => window.__events.push(e.detail));
      const w = document.getElementById('w');
      w.addEventListener('load', () => {
        window.__frameLoaded = true;
        for (const type of ['auth', 'dial']) w.contentWindow.postMessage({ v: 1, id: 1, type, payload: { token: ${JSON.stringify(token)}, number: '${NUMBER}' } }, '*');
      });
    </script></body></html>`);
  const { page } = host;
  try {
    // The frame is blocked (CSP frame-ancestors): Chromium shows its error page instead.
    await page.waitForFunction(() => window.__frameLoaded === true, null, { timeout: TIMEOUT_MS });
    const frame = page.frames().find((f) => f !== page.mainFrame());
    assert.ok(!frame || !frame.url().startsWith(api) || (await frame.evaluate(() => document.getElementById('mpt-phone')).catch(() => null)) === null,
      `the widget must not render in ${frame && frame.url()}`);
    // The web component refuses to run on this origin.
    await page.waitForFunction(() => window.__events.length > 0, null, { timeout: TIMEOUT_MS });
    assert.equal((await page.evaluate(() => window.__events))[0].code, 'not_allowed');
    const refused = await page.evaluate((n) => document.getElementById('phone').dial(n).then(() => null, (e) => e.code), NUMBER);
    assert.equal(refused, 'not_allowed');
    const afterCalls = await call('GET', '/api/calls?limit=50', admin);
    assert.equal(afterCalls.body.items.length, before.body.items.length, 'no call was placed');
  } finally {
    await host.close();
  }
});

test('a revoked embed token or widget key stops the phone at once', { timeout: TEST_TIMEOUT_MS }, async () => {
  for (const what of ['token', 'key']) {
    const minted = await embedToken();
    let key = widgetKey;
    let keyId = widgetKeyId;
    if (what === 'key') {
      const k = await call('POST', '/api/admin/widget-keys', admin, { name: 'to revoke' });
      key = k.body.key;
      keyId = k.body.id;
    }
    const host = await hostPage(ALLOWED, `<!doctype html><html><body>${widgetScript()}
      <mpt-phone id="phone" api-key="${key}" auth-token="${minted.token}"></mpt-phone>
      <script>
        window.__events = [];
        for (const n of ['ready', 'error']) document.getElementById('phone').addEventListener(n, (e) => window.__events.push({ name: n, detail: e.detail }));
      </script></body></html>`);
    const { page } = host;
    try {
      await page.waitForFunction(() => window.__events.some((e) => e.name === 'ready'), null, { timeout: TIMEOUT_MS });
      const r = what === 'token'
        ? await call('DELETE', `/api/embed/tokens/${minted.id}`, crmKey)
        : await call('DELETE', `/api/admin/widget-keys/${keyId}`, admin);
      assert.equal(r.status, 204);
      // The socket closes with 4401 and the phone signs out by itself: at once, so well before
      // the socket's 20 s heartbeat re-check could have noticed (a bound, not a benchmark).
      await page.waitForFunction(() => window.__events.some((e) => e.name === 'error' && e.detail.code === 'unauthorized'), null, { timeout: 10_000 });
      const refused = await page.evaluate((n) => document.getElementById('phone').dial(n).then(() => null, (e) => e.code), NUMBER);
      assert.ok(refused, `dial after revoking the ${what} must be refused`);
    } finally {
      await host.close();
    }
  }
});

test('an inbound call rings the web component, answer() connects it (one phone per agent: every endpoint rings)', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { token } = await embedToken();
  const host = await hostPage(ALLOWED, `<!doctype html><html><body>${widgetScript()}
    <mpt-phone id="phone" api-key="${widgetKey}" auth-token="${token}"></mpt-phone>
    <script>
      window.__events = [];
      for (const n of ${JSON.stringify(EVENT_NAMES)}) document.getElementById('phone').addEventListener(n, (e) => window.__events.push({ name: n, detail: e.detail }));
    </script></body></html>`);
  const { page } = host;
  try {
    await page.waitForFunction(() => window.__events.some((e) => e.name === 'ready'), null, { timeout: TIMEOUT_MS });
    // The widget's Device registers (it rings only while registered, as Twilio's).
    await page.waitForFunction(() => globalThis.mptVoiceState && globalThis.mptVoiceState().registered, null, { timeout: TIMEOUT_MS });
    // The widget set the agent available; once the server has it, a caller rings the tenant's number.
    await untilAvailable(api, DEMO_AGENT.email);
    const placed = await call('POST', '/api/sandbox/inbound', admin, { from: '+14155550177' });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    await page.waitForFunction(() => window.__events.some((e) => e.name === 'call-incoming'), null, { timeout: TIMEOUT_MS });
    const incoming = (await page.evaluate(() => window.__events)).find((e) => e.name === 'call-incoming').detail;
    assert.equal(incoming.number, '+14155550177');
    // From its first event the call carries its log's id, whether the Device or the socket's
    // screen pop was first (the Device's call has it from the server's CallId <Parameter>).
    const log = await call('GET', `/api/calls/${incoming.callId}`, admin);
    assert.equal(log.status, 200, `call-incoming's callId ${incoming.callId} is the log's id`);
    await page.evaluate(() => document.getElementById('phone').answer());
    await page.waitForFunction(() => window.__events.some((e) => e.name === 'call-answered'), null, { timeout: TIMEOUT_MS });
    const answered = (await page.evaluate(() => window.__events)).find((e) => e.name === 'call-answered').detail;
    assert.equal(answered.direction, 'inbound');
    assert.equal(answered.callId, incoming.callId);
    await page.evaluate(() => document.getElementById('phone').hangup());
    await page.waitForFunction(() => window.__events.some((e) => e.name === 'call-ended'), null, { timeout: TIMEOUT_MS });
    assert.deepEqual(host.errors, []);
  } finally {
    await host.close();
  }
});

/** Serves `dir` on a loopback port (the throwaway app that installed the npm package). */
function serveDir(dir) {
  const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.html': 'text/html' };
  const server = http.createServer((req, res) => {
    const file = path.join(dir, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() })));
}

test('the npm package, installed into a throwaway app, dials the same way', { timeout: TEST_TIMEOUT_MS }, async () => {
  const tarball = readdirSync(path.join(ROOT, 'dist')).find((f) => /^mpt-phone-widget-.*\.tgz$/.test(f));
  if (!tarball) throw new Error('No npm tarball in dist/: run `cargo xtask dist`.');
  const app = freshTempDir('mpt-e2e-npm-');
  execFileSync('npm', ['init', '-y'], { cwd: app, stdio: 'ignore' });
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', path.join(ROOT, 'dist', tarball)], { cwd: app, stdio: 'ignore' });
  const pkg = JSON.parse(readFileSync(path.join(app, 'node_modules/@mpt/phone-widget/package.json'), 'utf8'));
  assert.equal(pkg.types, './index.d.ts');
  const { token } = await embedToken();
  writeFileSync(path.join(app, 'index.html'), `<!doctype html><html><body>
    <mpt-phone id="phone" api-endpoint="${api}" api-key="${widgetKey}" auth-token="${token}" contact-id="c-99"></mpt-phone>
    <script type="module">
      import { MPTPhone } from '/node_modules/@mpt/phone-widget/index.js';
      window.__events = [];
      window.__mount = typeof MPTPhone.mount;
      for (const n of ['ready', 'call-started', 'call-ended', 'error']) document.getElementById('phone').addEventListener(n, (e) => window.__events.push({ name: n, detail: e.detail }));
    </script></body></html>`);
  const site = await serveDir(app);
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${site.url}/index.html`);
    await page.waitForFunction(() => window.__events && window.__events.some((e) => e.name === 'ready'), null, { timeout: TIMEOUT_MS });
    assert.equal(await page.evaluate(() => window.__mount), 'function');
    const result = await page.evaluate((n) => document.getElementById('phone').dial(n), NUMBER);
    await page.waitForFunction(() => window.__events.some((e) => e.name === 'call-ended'), null, { timeout: TIMEOUT_MS });
    const started = (await page.evaluate(() => window.__events)).find((e) => e.name === 'call-started').detail;
    assert.equal(started.callId, result.callId);
    assert.equal(started.contactId, 'c-99');
  } finally {
    await context.close();
    site.close();
  }
});
