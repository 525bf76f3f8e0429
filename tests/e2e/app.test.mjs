// The standalone web app at the api-server's root (issue 15), in Chromium without the
// extension, sandbox calling:
// - it signs in with a password, places a call from the phone's dialer and shows the call
//   in its history with its status (filters, pagination controls, CSV export for admins);
// - a voicemail left through the sandbox appears in the inbox, plays through the server's
//   authorised proxy (a blob of the proxy's bytes, never a Twilio URL), is marked heard and
//   called back;
// - an admin invites an agent, makes her a supervisor, she signs in (and may export), the
//   admin disables her (their open app signs out
//   and they cannot sign in again), adds an allowed origin and a widget key the widget page
//   then accepts;
// - the session survives a reload (the refresh token only in an HttpOnly, SameSite=Strict
//   cookie scoped to /api/app/session: nothing in storage or document.cookie), audio
//   devices and the default region are remembered and used;
// - an admin sets up SSO in the app and an agent signs in through the organisation's
//   sign-in page (a made-up origin served by Playwright's router); a JWT pushed at /sso
//   without the tab's state is refused.
// The page's CSP has no 'unsafe-inline' script: any inline script would fail the test
// through the console errors collected.
// Needs `cargo xtask build` (dist/app and dist/widget) and the api-server binary.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { DEMO_ADMIN as ADMIN, DEMO_AGENT as AGENT, ROOT, TEST_TIMEOUT_MS, TIMEOUT_MS, eventually, prerequisites, startServices, untilAvailable } from './harness.mjs';

const NUMBER = '+14155550142'; // the sandbox answers, then the callee hangs up
const CALLER = '+14155550166'; // leaves the voicemail
const CRM_ORIGIN = 'https://crm.e2e.example'; // the CRM an admin allows in the app (a made-up page)

let services;
let browser;
let api;

async function call(method, url, token, body) {
  const r = await fetch(`${api}${url}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  return { status: r.status, body: json };
}

async function token(who) {
  const r = await call('POST', '/api/auth/login', null, who);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.access_token;
}

before(async () => {
  for (const [dir, file] of [['app', 'app.js'], ['widget', 'widget.js']]) {
    if (!existsSync(path.join(ROOT, 'dist', dir, file))) throw new Error(`No built ${dir} in dist/${dir}: run \`cargo xtask build\`.`);
  }
  process.env.MPT_APP_DIR = path.join(ROOT, 'dist', 'app');
  process.env.MPT_WIDGET_DIR = path.join(ROOT, 'dist', 'widget');
  process.env.MPT_SANDBOX_SPEED = '20';
  // 10 s of real ringing at that speed: answers and declines land within the ring.
  process.env.MPT_RING_SECS = '200';
  // The tests sign in often (the app, and API calls checking what it did).
  process.env.MPT_LOGIN_RATE_PER_MIN = '100';
  // Access tokens of 40 s: the app's and the phone's renewals run within the tests.
  process.env.MPT_ACCESS_TTL_SECS = '40';
  services = await startServices({ apiServer: true });
  api = services.apiUrl;
  const { executablePath } = prerequisites();
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--autoplay-policy=no-user-gesture-required',
      // The CRM page that embeds the widget comes from Playwright's router (no address:
      // "public"), the api-server from loopback: Chromium's local-network checks would block
      // the widget before our own origin checks run (as in embed.test.mjs).
      '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults',
    ],
  });
});

after(async () => {
  await browser?.close();
  await services?.stop();
});

/** A fresh browser context on the app, signed in as `who` (unless `who` is null). */
async function openApp(who, { width = 1200, init } = {}) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads: true });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`${m.text()} ${m.location().url || ''}`); });
  await page.goto(`${api}/`);
  await page.waitForSelector('[data-testid="sign-in-form"]', { timeout: TIMEOUT_MS });
  if (who) await signIn(page, who);
  return { page, errors, context, close: () => context.close() };
}

async function signIn(page, who) {
  await page.fill('[data-testid="sign-in-email"]', who.email);
  await page.fill('[data-testid="sign-in-password"]', who.password);
  await page.click('[data-testid="sign-in-submit"]');
  await page.waitForSelector('[data-testid="app-agent"]', { timeout: TIMEOUT_MS });
  await page.waitForSelector('[data-testid="dial-input"]', { timeout: TIMEOUT_MS });
}

/** Follows a link by its exact name (the main navigation's or the page's). */
async function go(page, name) {
  await page.getByRole('link', { name, exact: true }).first().click();
}

/** Ends wrap-up if the phone shows it (the call's log is written by the engine). */
async function skipWrapUp(page) {
  const skip = page.locator('[data-testid="wrap-up-skip"]');
  await skip.waitFor({ timeout: TIMEOUT_MS });
  await skip.click();
  await page.locator('[data-testid="wrap-up"]').waitFor({ state: 'detached', timeout: TIMEOUT_MS });
}

test('the app at / has a strict CSP and no inline script', { timeout: TEST_TIMEOUT_MS }, async () => {
  const r = await fetch(`${api}/calls`);
  assert.equal(r.status, 200);
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval';/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  const html = await r.text();
  assert.equal((html.match(/<script/g) || []).length, 1, html);
  assert.match(html, /<script type="module" src="\/app\/v1\/app\.js" integrity="sha384-/);
});

test('signs in, dials from the phone and shows the call in history with its status', { timeout: TEST_TIMEOUT_MS }, async () => {
  const app = await openApp(AGENT);
  const { page } = app;
  try {
    await page.fill('[data-testid="dial-input"]', NUMBER);
    await page.click('[data-testid="dial-call"]');
    await page.waitForSelector('[data-testid="call-panel"]', { timeout: TIMEOUT_MS });
    await skipWrapUp(page);
    await go(page, 'Calls');
    await page.waitForURL(`${api}/calls`);
    // The row's status follows the server's log: "completed" once the sandbox's callee hung up.
    const row = page.locator('[data-testid="call-row"]', { has: page.locator('[data-testid="call-number"]', { hasText: NUMBER }) }).first();
    await eventually('the call completed in history', async () => {
      await page.click('[data-testid="filter-apply"]');
      return (await row.getAttribute('data-status').catch(() => null)) === 'completed';
    });
    // Filters: outbound shows it, inbound does not.
    await page.selectOption('[data-testid="filter-direction"]', 'inbound');
    await page.click('[data-testid="filter-apply"]');
    await eventually('inbound filter applied', async () => (await page.locator('[data-testid="call-row"]', { has: page.locator('[data-testid="call-number"]', { hasText: NUMBER }) }).count()) === 0
      && (await page.locator('[data-testid="calls-table"], [data-testid="calls-empty"]').count()) > 0);
    await page.selectOption('[data-testid="filter-direction"]', 'outbound');
    await page.click('[data-testid="filter-apply"]');
    await row.waitFor({ timeout: TIMEOUT_MS });
    assert.equal(await page.locator('[data-testid="calls-older"]').count(), 1, 'pagination controls');
    // Agents do not export (the server refuses them): no export button.
    assert.equal(await page.locator('[data-testid="calls-export"]').count(), 0);
    // The detail page has the status history.
    await row.getByRole('link').click();
    await page.waitForSelector('[data-testid="status-history"] li', { timeout: TIMEOUT_MS });
    const history = await page.locator('[data-testid="status-history"] li').allTextContents();
    assert.ok(history.some((h) => h.startsWith('completed')), history.join('|'));
    // Notes and a disposition saved on the call's log.
    const callId = new URL(page.url()).pathname.split('/').pop();
    await page.fill('[data-testid="detail-notes"]', 'Asked for a quote');
    await page.fill('[data-testid="detail-disposition"]', 'Interested');
    await page.click('[data-testid="detail-save"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'Saved.', null, { timeout: TIMEOUT_MS });
    const log = await call('GET', `/api/calls/${callId}`, await token(AGENT));
    assert.equal(log.body.notes, 'Asked for a quote');
    assert.equal(log.body.disposition, 'Interested');
    // Contact search, with a call button per contact.
    await go(page, 'Contacts');
    await page.fill('[data-testid="contacts-q"]', 'Ada');
    await page.press('[data-testid="contacts-q"]', 'Enter');
    await page.waitForSelector('[data-testid="contacts-results"] >> text=Ada Lovelace', { timeout: TIMEOUT_MS });
    // Settings: the tenant's calling settings.
    await go(page, 'Settings');
    await page.waitForSelector('[data-testid="settings-calling"]', { timeout: TIMEOUT_MS });
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('a sandbox voicemail appears in the inbox, plays through the proxy, is marked heard and called back', { timeout: TEST_TIMEOUT_MS }, async () => {
  const app = await openApp(AGENT);
  const { page } = app;
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  try {
    const t = await token(AGENT);
    // The phone can ring once its Device is registered (the driver's own state) and the
    // server has the agent available.
    await eventually('the phone registered', async () => page.evaluate(() => globalThis.mptVoiceState?.().registered === true));
    await untilAvailable(api, AGENT.email);
    const inbound = await call('POST', '/api/sandbox/inbound', t, { from: CALLER });
    assert.equal(inbound.status, 201, JSON.stringify(inbound.body));
    // The phone rings; nobody answers it: the caller gets voicemail.
    await page.waitForSelector('[data-testid="incoming"]', { timeout: TIMEOUT_MS });
    await page.click('[data-testid="call-decline"]');
    await eventually('the voicemail recorded', async () => {
      const r = await call('GET', '/api/voicemails', t);
      return r.body.items.find((v) => v.from === CALLER);
    });
    await go(page, 'Voicemail');
    const item = page.locator('[data-testid="voicemail"]', { has: page.locator('[data-testid="voicemail-from"]', { hasText: CALLER }) }).first();
    await item.waitFor({ timeout: TIMEOUT_MS });
    assert.equal(await item.getAttribute('data-heard'), 'false');
    await item.locator('[data-testid="voicemail-play"]').click();
    const audio = page.locator('[data-testid="voicemail-audio"]');
    await audio.waitFor({ timeout: TIMEOUT_MS });
    const src = await audio.getAttribute('src');
    assert.match(src, /^blob:/, 'the audio is the proxy\'s bytes, not a URL to Twilio');
    // The bytes decode as audio of the recorded length.
    await page.waitForFunction(() => document.querySelector('[data-testid="voicemail-audio"]').duration > 0, null, { timeout: TIMEOUT_MS });
    assert.ok(requests.some((u) => /\/api\/calls\/[^/]+\/recording$/.test(u)), 'fetched through the proxy');
    assert.ok(!requests.some((u) => u.includes('twilio.com')), requests.join('\n'));
    await eventually('marked heard', async () => (await item.getAttribute('data-heard')) === 'true');
    // Call back from the inbox: the phone places the call to the caller.
    await item.locator('[data-testid="voicemail-call-back"]').click();
    await page.waitForSelector('[data-testid="call-panel"]', { timeout: TIMEOUT_MS });
    await eventually('the call back logged', async () => {
      const r = await call('GET', `/api/calls?direction=outbound&number=${encodeURIComponent(CALLER)}`, t);
      return r.body.items.length > 0;
    });
    await skipWrapUp(page);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('an admin invites an agent who signs in, disables them, adds an allowed origin and a widget key', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
  const admin = await openApp(ADMIN, { width: 390 }); // phone width
  const { page } = admin;
  let invited;
  try {
    // CSV export (admins and supervisors): a download of the server's CSV.
    await go(page, 'Calls');
    await page.waitForSelector('[data-testid="calls-export"]', { timeout: TIMEOUT_MS });
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: TIMEOUT_MS }), page.click('[data-testid="calls-export"]')]);
    const csv = readFileSync(await download.path(), 'utf8');
    assert.match(csv, /^id,direction,agent_id,from,to,/);

    await go(page, 'Admin');
    await go(page, 'Agents');
    await page.fill('[data-testid="invite-name"]', 'Ivy Invited');
    await page.fill('[data-testid="invite-email"]', 'ivy@demo.mpt-phone.test');
    await page.fill('[data-testid="invite-password"]', 'ivy-first-password');
    await page.click('[data-testid="invite-submit"]');
    const row = page.locator('[data-testid="agent-row"][data-email="ivy@demo.mpt-phone.test"]');
    await row.waitFor({ timeout: TIMEOUT_MS });

    // A supervisor: she sees every call and may export.
    await row.locator('[data-testid="agent-role"]').selectOption('supervisor');
    await page.waitForFunction(() => /Role changed/.test(document.querySelector('[data-testid="status"]')?.textContent || ''), null, { timeout: TIMEOUT_MS });

    const ivy = { email: 'ivy@demo.mpt-phone.test', password: 'ivy-first-password' };
    invited = await openApp(ivy);
    assert.equal(await invited.page.textContent('[data-testid="app-agent"]'), 'Ivy Invited');
    await go(invited.page, 'Calls');
    await invited.page.waitForSelector('[data-testid="calls-export"]', { timeout: TIMEOUT_MS });
    // A supervisor filters the history by agent.
    await invited.page.waitForSelector('[data-testid="filter-agent"] option:has-text("Demo Agent")', { state: 'attached', timeout: TIMEOUT_MS });

    await row.locator('[data-testid="agent-toggle"]').click();
    await eventually('disabled', async () => (await row.getAttribute('data-disabled')) === 'true');
    // Her open app loses its session at once (socket 4401) and shows the sign-in form.
    await invited.page.waitForSelector('[data-testid="sign-in-form"]', { timeout: TIMEOUT_MS });
    await invited.page.fill('[data-testid="sign-in-email"]', ivy.email);
    await invited.page.fill('[data-testid="sign-in-password"]', ivy.password);
    await invited.page.click('[data-testid="sign-in-submit"]');
    await invited.page.waitForSelector('[data-testid="app-sign-in-error"]', { timeout: TIMEOUT_MS });
    assert.equal(await invited.page.locator('[data-testid="app-agent"]').count(), 0);
    assert.equal((await call('POST', '/api/auth/login', null, ivy)).status, 401);

    // An allowed origin.
    await go(page, 'Admin');
    await go(page, 'Allowed origins');
    await page.waitForSelector('[data-testid="origins-list"]', { timeout: TIMEOUT_MS });
    await page.fill('[data-testid="origin-input"]', CRM_ORIGIN);
    await page.click('[data-testid="origin-add"]');
    await page.waitForSelector(`[data-testid="origin"][data-origin="${CRM_ORIGIN}"]`, { timeout: TIMEOUT_MS });

    // A widget key, shown once, that the widget page then accepts for that origin.
    await go(page, 'Admin');
    await go(page, 'API keys and widget keys');
    await page.fill('[data-testid="widget-key-name"]', 'e2e app key');
    await page.click('[data-testid="widget-key-create"]');
    const key = (await page.locator('[data-testid="widget-key-secret"]').textContent({ timeout: TIMEOUT_MS })).trim();
    assert.match(key, /^pk_/);
    await page.waitForSelector('[data-testid="key-row"][data-name="e2e app key"]', { timeout: TIMEOUT_MS });
    const widget = await fetch(`${api}/widget?key=${encodeURIComponent(key)}`);
    assert.equal(widget.status, 200);
    assert.match(widget.headers.get('content-security-policy'), /frame-ancestors [^;]*https:\/\/crm\.e2e\.example/);
    // The embed path with them: <mpt-phone> on that origin, the app's key and an agent's embed
    // token, signs in and dials (the CRM page is made up, served by Playwright's router).
    const agentToken = await token(AGENT);
    const minted = await call('POST', '/api/embed/tokens', agentToken, {});
    assert.equal(minted.status, 201, JSON.stringify(minted.body));
    const integrity = (await call('GET', '/api/config', agentToken)).body.widget.integrity;
    const crm = await browser.newContext();
    try {
      const host = await crm.newPage();
      const hostErrors = [];
      host.on('pageerror', (e) => hostErrors.push(String(e)));
      await host.route(`${CRM_ORIGIN}/host.html`, (route) => route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><html><body><script src="${api}/phone/v1/widget.js" integrity="${integrity}" crossorigin="anonymous"></script>
          <mpt-phone id="phone" api-key="${key}" auth-token="${minted.body.token}"></mpt-phone>
          <script>window.__events = []; for (const n of ['ready', 'error']) document.getElementById('phone').addEventListener(n, (e) => window.__events.push({ n, d: e.detail }));</script></body></html>`,
      }));
      await host.goto(`${CRM_ORIGIN}/host.html`);
      await host.waitForFunction(() => window.__events.length > 0, null, { timeout: TIMEOUT_MS });
      assert.deepEqual(await host.evaluate(() => window.__events[0].n), 'ready', JSON.stringify(await host.evaluate(() => window.__events)));
      const dialled = await host.evaluate((n) => document.getElementById('phone').dial(n), NUMBER);
      assert.match(dialled.callId, /^[A-Za-z0-9_-]{8,64}$/, JSON.stringify(dialled));
      await eventually('the embedded call logged', async () => (await call('GET', `/api/calls/${dialled.callId}`, agentToken)).status === 200);
      assert.deepEqual(hostErrors, []);
    } finally {
      await crm.close();
    }
    // Revoked in the app: the widget page is gone.
    await page.locator('[data-testid="key-row"][data-name="e2e app key"] [data-testid="key-revoke"]').click();
    await page.waitForSelector('[data-testid="key-row"][data-name="e2e app key"][data-revoked="true"]', { timeout: TIMEOUT_MS });
    assert.equal((await fetch(`${api}/widget?key=${encodeURIComponent(key)}`)).status, 404);
    // Billing: the standing the server enforces, and Stripe's pages to fix it.
    await go(page, 'Admin');
    await go(page, 'Billing');
    await page.waitForSelector('[data-testid="billing-standing"]', { timeout: TIMEOUT_MS });
    assert.ok((await page.textContent('[data-testid="billing-standing"]')).length > 0);

    // CRM connectors: the demo tenant's two (this run's demo CRMs) both answer a test lookup.
    await go(page, 'Admin');
    await go(page, 'CRM connectors');
    await page.fill('[data-testid="connector-test-number"]', '+14155550100');
    await page.click('[data-testid="connector-test"]');
    await page.waitForSelector('[data-testid="connector-checks"] li', { timeout: TIMEOUT_MS });
    const oks = await page.locator('[data-testid="connector-checks"] li').evaluateAll((els) => els.map((e) => e.dataset.ok));
    assert.ok(oks.length >= 1 && oks.every((o) => o === 'true'), JSON.stringify(oks));

    // Telephony: the demo tenant calls through the sandbox, so there is nothing to verify yet.
    await go(page, 'Admin');
    await go(page, 'Twilio, caller IDs and countries');
    await page.waitForSelector('[data-testid="telephony-mode"]', { timeout: TIMEOUT_MS });
    assert.match(await page.textContent('[data-testid="telephony-mode"]'), /Sandbox calling/);
    await page.click('[data-testid="twilio-verify"]');
    await page.waitForFunction(() => /sandbox calling: set Twilio credentials first/.test(document.querySelector('[data-testid="status"]')?.textContent || ''), null, { timeout: TIMEOUT_MS });
    // Caller IDs and allowed countries, as agents' phones then read them.
    const adminToken = await token(ADMIN);
    const before = (await call('GET', '/api/config', adminToken)).body;
    await page.waitForFunction(() => document.querySelector('[data-testid="countries"]')?.value.length > 0, null, { timeout: TIMEOUT_MS });
    // A caller ID typed but not saved yet survives the countries form's save (and the page's
    // reload after it, which shows the countries as the server keeps them, one per line).
    const draft = [...before.caller_ids, '+1 415 555 0199'].join('\n');
    await page.fill('[data-testid="caller-ids"]', draft);
    await page.fill('[data-testid="countries"]', 'US, GB, CA');
    await page.getByRole('button', { name: 'Save countries' }).click();
    await eventually('countries saved', async () => (await call('GET', '/api/config', adminToken)).body.allowed_countries.join() === 'US,GB,CA');
    await page.waitForFunction(() => document.querySelector('[data-testid="countries"]').value === 'US\nGB\nCA', null, { timeout: TIMEOUT_MS });
    assert.equal(await page.inputValue('[data-testid="caller-ids"]'), draft, 'the unsaved caller IDs are kept');
    await page.getByRole('button', { name: 'Save caller IDs' }).click();
    await eventually('caller IDs saved', async () => (await call('GET', '/api/config', adminToken)).body.caller_ids.join() === [...before.caller_ids, '+14155550199'].join());
    // Dispositions agents then choose from (the call detail offers them too).
    await go(page, 'Admin');
    await go(page, 'Dispositions');
    await page.fill('[data-testid="dispositions"]', 'Interested\nQuote sent\nWrong number');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await eventually('dispositions saved', async () => (await call('GET', '/api/config', adminToken)).body.dispositions.join() === 'Interested,Quote sent,Wrong number');
    // Every one of these actions is in the audit log.
    await go(page, 'Admin');
    await go(page, 'Audit log');
    await page.waitForSelector('[data-testid="audit-table"]', { timeout: TIMEOUT_MS });
    const actions = await page.locator('[data-testid="audit-table"] tbody td:nth-child(3)').allTextContents();
    for (const a of ['agent.create', 'agent.role', 'agent.disable', 'allowed_origins.set', 'widget_key.create', 'widget_key.revoke', 'allowed_countries.set', 'caller_ids.set', 'dispositions.set']) assert.ok(actions.includes(a), `${a} in ${actions.join(',')}`);
    assert.deepEqual(admin.errors.filter((e) => !e.includes('/api/admin/twilio/verify')), []);
  } finally {
    await invited?.close();
    await admin.close();
  }
});

/** Records what the app gives the Voice driver's `setAudio` (an init script: runs before the app). */
function recordAudio() {
  let driver;
  Object.defineProperty(globalThis, 'mptVoice', {
    configurable: true,
    get: () => driver,
    set: (d) => {
      if (d && typeof d.setAudio === 'function') {
        const real = d.setAudio.bind(d);
        d.setAudio = (a) => { (globalThis.mptAudioCalls ||= []).push(JSON.parse(JSON.stringify(a))); return real(a); };
      }
      driver = d;
    },
  });
}

test('a reload keeps the agent signed in with no readable credential; audio devices and the default region are remembered and used', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
  const app = await openApp(AGENT, { init: recordAudio });
  const { page, context } = app;
  try {
    // The refresh token is only in an HttpOnly, SameSite=Strict cookie scoped to the session endpoints.
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'mpt_app_session');
    assert.ok(session, JSON.stringify(cookies));
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(session.path, '/api/app/session');
    assert.match(session.value, /^rt_/);
    const readable = await page.evaluate(() => JSON.stringify({ cookie: document.cookie, local: { ...localStorage }, session: { ...sessionStorage } }));
    assert.ok(!readable.includes(session.value) && !readable.includes('rt_') && !/eyJ[\w-]+\.eyJ/.test(readable), readable);

    // Settings: Chromium's fake microphones, chosen and remembered; the region GB.
    await go(page, 'Settings');
    const allow = page.locator('[data-testid="settings-audio-allow"]');
    if (await allow.count()) await allow.click();
    const input = page.locator('[data-testid="settings-audio-input"]');
    await eventually('named microphones', async () => (await input.locator('option').count()) >= 2);
    const mic = await input.locator('option').nth(1).getAttribute('value');
    assert.ok(mic);
    await input.selectOption(mic);
    await page.waitForFunction(() => /Saved: calls use these devices/.test(document.querySelector('[data-testid="status"]')?.textContent || ''), null, { timeout: TIMEOUT_MS });
    await eventually('the driver told', async () => (await page.evaluate(() => globalThis.mptAudioCalls || [])).some((a) => a.input === mic));
    await page.fill('[data-testid="settings-region"]', 'gb');
    await page.click('[data-testid="settings-region-save"]');
    await page.waitForFunction(() => /read as GB numbers/.test(document.querySelector('[data-testid="status"]')?.textContent || ''), null, { timeout: TIMEOUT_MS });

    // A reload: still signed in (no sign-in form), the phone too; the choices kept.
    await page.reload();
    await page.waitForSelector('[data-testid="app-agent"]', { timeout: TIMEOUT_MS });
    await page.waitForSelector('[data-testid="dial-input"]', { timeout: TIMEOUT_MS });
    assert.equal(await page.locator('[data-testid="sign-in-form"]:visible').count(), 0);
    assert.equal(await page.textContent('[data-testid="app-agent"]'), 'Demo Agent');
    await eventually('remembered devices reach the driver at start', async () => (await page.evaluate(() => globalThis.mptAudioCalls || [])).some((a) => a.input === mic));
    assert.equal(await page.inputValue('[data-testid="settings-region"]'), 'GB');
    // The device list comes from the browser after the page shows; the choice is then selected.
    await page.waitForFunction((id) => document.querySelector('[data-testid="settings-audio-input"]')?.value === id, mic, { timeout: TIMEOUT_MS });

    // A national GB number is dialled as one (the sandbox's busy line): the region is used.
    await page.fill('[data-testid="dial-input"]', '020 7946 0002');
    await page.click('[data-testid="dial-call"]');
    const t = await token(AGENT);
    await eventually('the GB call logged', async () => {
      const r = await call('GET', `/api/calls?direction=outbound&number=${encodeURIComponent('+442079460002')}`, t);
      return r.body.items.length > 0;
    });
    const skip = page.locator('[data-testid="wrap-up-skip"]');
    await eventually('the call over', async () => {
      if (await skip.count()) await skip.click().catch(() => {});
      return (await page.locator('[data-testid="call-panel"], [data-testid="wrap-up"]').count()) === 0;
    });

    // Signed out: the cookie is gone and a reload shows the sign-in form.
    await page.click('[data-testid="app-sign-out"]');
    await page.waitForSelector('[data-testid="sign-in-form"]', { timeout: TIMEOUT_MS });
    await eventually('the cookie deleted', async () => !(await context.cookies()).some((c) => c.name === 'mpt_app_session'));
    await page.reload();
    await page.waitForSelector('[data-testid="sign-in-form"]', { timeout: TIMEOUT_MS });
    assert.equal(await page.locator('[data-testid="app-agent"]').count(), 0);
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

const b64url = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
/** An HS256 JWT, as a CRM would sign it. */
function jwt(claims, secret) {
  const head = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

test('an admin sets up SSO in the app and an agent signs in through the organisation\'s sign-in page; a JWT the tab did not ask for is refused', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
  const SECRET = 'e2e-sso-secret-0123456789abcdef';
  const ISSUER = 'https://sso.e2e.example';
  const LOGIN = 'https://sso.e2e.example/login?app=mpt';
  const admin = await openApp(ADMIN);
  const contexts = [];
  try {
    await go(admin.page, 'Admin');
    await go(admin.page, 'Single sign-on');
    await admin.page.waitForSelector('[data-testid="sso-current"]', { timeout: TIMEOUT_MS });
    await admin.page.fill('[data-testid="sso-issuer"]', ISSUER);
    await admin.page.fill('[data-testid="sso-audience"]', 'mpt-phone');
    await admin.page.fill('[data-testid="sso-secret"]', SECRET);
    await admin.page.fill('[data-testid="sso-login-url"]', LOGIN);
    await admin.page.click('[data-testid="sso-save"]');
    await admin.page.waitForSelector(`[data-testid="sso-current-login-url"]:has-text("${LOGIN}")`, { timeout: TIMEOUT_MS });
    assert.deepEqual(admin.errors, []);

    const claims = () => ({ iss: ISSUER, aud: 'mpt-phone', sub: 'crm-user-7', email: AGENT.email, name: 'Demo Agent', exp: Math.floor(Date.now() / 1000) + 300 });
    // The organisation's sign-in page: signs its user in and sends them back with the JWT.
    const context = await browser.newContext();
    contexts.push(context);
    const asked = [];
    await context.route('https://sso.e2e.example/**', (route) => {
      const u = new URL(route.request().url());
      asked.push(u);
      const back = `${u.searchParams.get('return_to')}#assertion=${jwt(claims(), SECRET)}&state=${u.searchParams.get('state')}`;
      return route.fulfill({ status: 302, headers: { location: back } });
    });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${api}/`);
    await page.waitForSelector('[data-testid="sso-form"]', { timeout: TIMEOUT_MS });
    await page.fill('[data-testid="sso-tenant"]', 'demo');
    await page.click('[data-testid="sso-submit"]');
    await page.waitForSelector('[data-testid="app-agent"]', { timeout: TIMEOUT_MS });
    await page.waitForSelector('[data-testid="dial-input"]', { timeout: TIMEOUT_MS });
    assert.equal(asked.length, 1);
    assert.equal(asked[0].searchParams.get('app'), 'mpt', 'the sign-in page keeps its own query');
    assert.equal(asked[0].searchParams.get('return_to'), `${api}/sso`);
    assert.match(asked[0].searchParams.get('state'), /^[0-9a-f]{32}$/);
    assert.equal(page.url(), `${api}/`, 'the JWT is out of the address bar');
    assert.ok((await context.cookies()).some((c) => c.name === 'mpt_app_session' && c.httpOnly));
    // The organisation is remembered for the next time.
    await page.click('[data-testid="app-sign-out"]');
    await page.waitForSelector('[data-testid="sso-form"]', { timeout: TIMEOUT_MS });
    assert.equal(await page.inputValue('[data-testid="sso-tenant"]'), 'demo');
    assert.deepEqual(errors, []);

    // Another site pushes a valid JWT at /sso (login CSRF): no state of this tab, refused.
    const other = await browser.newContext();
    contexts.push(other);
    const victim = await other.newPage();
    await victim.goto(`${api}/sso#assertion=${jwt(claims(), SECRET)}&state=0123456789abcdef0123456789abcdef`);
    await victim.waitForSelector('[data-testid="app-sign-in-error"]', { timeout: TIMEOUT_MS });
    assert.match(await victim.textContent('[data-testid="app-sign-in-error"]'), /not started from this tab/);
    assert.equal(await victim.locator('[data-testid="app-agent"]').count(), 0);
    assert.equal(victim.url(), `${api}/`);
    assert.ok(!(await other.cookies()).some((c) => c.name === 'mpt_app_session'));

    // An organisation without SSO: said so, nothing else happens.
    await victim.fill('[data-testid="sso-tenant"]', 'no-such-org');
    await victim.click('[data-testid="sso-submit"]');
    await victim.waitForFunction(() => /not set up for this organisation/.test(document.querySelector('[data-testid="app-sign-in-error"]')?.textContent || ''), null, { timeout: TIMEOUT_MS });
  } finally {
    for (const c of contexts) await c.close();
    await admin.close();
  }
});

/** The app's pages, as an admin reaches them. */
const PAGES = ['/', '/calls', '/voicemail', '/contacts', '/settings', '/admin', '/admin/agents', '/admin/keys', '/admin/origins',
  '/admin/tenant', '/admin/telephony', '/admin/billing', '/admin/sso', '/admin/connectors', '/admin/audit'];

test('every page is keyboard and screen-reader friendly and fits a phone\'s width', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
  const app = await openApp(ADMIN, { width: 390 });
  const { page } = app;
  try {
    // Keyboard: "Skip to content" is the page's first stop in tab order and moves focus to the content.
    const first = await page.evaluate(() => [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
      .find((el) => el.tabIndex >= 0 && !el.disabled)?.textContent);
    assert.equal(first, 'Skip to content');
    await page.locator('.skip').focus();
    await page.keyboard.press('Enter');
    await eventually('focus in the content', async () => page.evaluate(() => document.activeElement?.id === 'main'));
    // The main navigation by keyboard alone: focus lands on the new page's content.
    await page.getByRole('link', { name: 'Voicemail', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${api}/voicemail`);
    await eventually('focus moved to the new page', async () => page.evaluate(() => document.activeElement?.id === 'main'));

    for (const p of PAGES) {
      // A fresh load of each page (a shared link, a reload): the session is restored from its cookie.
      await page.goto(`${api}${p}`);
      await page.waitForSelector('[data-testid="app-agent"]', { timeout: TIMEOUT_MS });
      await page.waitForSelector('#main h1', { timeout: TIMEOUT_MS });
      await page.waitForFunction(() => !document.querySelector('#main [aria-busy="true"]'), null, { timeout: TIMEOUT_MS });
      const report = await page.evaluate(() => {
        const named = (el) => {
          if (el.getAttribute('aria-label')?.trim()) return true;
          const by = el.getAttribute('aria-labelledby');
          if (by && by.split(/\s+/).some((id) => document.getElementById(id)?.textContent.trim())) return true;
          if (el.labels && [...el.labels].some((l) => l.textContent.trim())) return true;
          if (el.tagName === 'BUTTON' || el.tagName === 'A') return !!el.textContent.trim();
          return !!el.getAttribute('title')?.trim();
        };
        const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
        const controls = [...document.querySelectorAll('#main input:not([type=hidden]), #main select, #main textarea, #main button, #main a[href], header a[href], header button')];
        return {
          unnamed: controls.filter((el) => visible(el) && !named(el)).map((el) => el.outerHTML.slice(0, 160)),
          h1: document.querySelectorAll('#main h1').length,
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          lang: document.documentElement.lang,
        };
      });
      assert.deepEqual(report.unnamed, [], `${p}: controls without an accessible name`);
      assert.equal(report.h1, 1, `${p}: one h1`);
      assert.ok(report.overflow <= 0, `${p}: ${report.overflow}px wider than a 390px screen`);
      assert.equal(report.lang, 'en');
    }
    assert.deepEqual(app.errors, []);
  } finally {
    await app.close();
  }
});

test('the phone and the pages outlive the access token: renewed from the cookie (a failed renewal retried), handed to the phone', { timeout: TEST_TIMEOUT_MS * 3 }, async () => {
  const app = await openApp(AGENT);
  const { page } = app;
  const signedInAt = Date.now();
  const refreshes = [];
  page.on('request', (r) => { if (r.url().endsWith('/api/app/session/refresh')) refreshes.push(Date.now()); });
  // The first renewal meets a network failure: the app asks again, nobody is signed out.
  let failed = 0;
  await page.route('**/api/app/session/refresh', (route) => (failed++ === 0 ? route.abort('failed') : route.continue()));
  try {
    // Before the 40 s token expires the phone says token-expiring; the app refreshes and hands over the new one.
    await eventually('a renewal after the failed one', async () => refreshes.length > 1, 60_000);
    assert.ok(refreshes[1] < signedInAt + 40_000, `renewed ${refreshes[1] - signedInAt} ms after sign-in`);
    assert.equal(await page.locator('[data-testid="app-agent"]').count(), 1);
    await eventually('past the first token', async () => Date.now() > signedInAt + 45_000, 60_000);
    // The phone still calls (its socket and Voice token follow the new token) and the pages still read.
    await page.fill('[data-testid="dial-input"]', NUMBER);
    await page.click('[data-testid="dial-call"]');
    await page.waitForSelector('[data-testid="call-panel"]', { timeout: TIMEOUT_MS });
    await skipWrapUp(page);
    await go(page, 'Calls');
    await page.waitForSelector('[data-testid="call-row"]', { timeout: TIMEOUT_MS });
    assert.equal(await page.locator('[data-testid="sign-in-form"]:visible').count(), 0);
    // Only the failure this test caused.
    assert.deepEqual(app.errors.filter((e) => !e.includes('net::ERR_FAILED') || !e.includes('/api/app/session/refresh')), []);
  } finally {
    await app.close();
  }
});
