// The extension's page API (docs/page-api.md): `<mpt-phone>` defined in the page's own
// world for CRMs that integrate with the extension.
// - On an origin the tenant lists: dial() with a contact resolves {callId}, every event
//   arrives with the documented detail, hangup() ends the call, the log carries the
//   contact; bad input is a typed rejection.
// - Elsewhere: dial() only offers the call in the panel; it resolves once the agent
//   places it there (and no call events reach that page), or is refused if dismissed.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as h from './harness.mjs';
import { DEMO_ALLOWED_ORIGINS, agentToken, allowOrigins, extensionFor, frameText, listCalls, panelFrame, signIn, skipWrapUp, saveWrapUp, pressClosing } from './extension-helpers.mjs';

const { env, run } = h.fileEnv(async (own) => {
  own.services = await h.startServices({ apiServer: true });
  own.session = await h.launchBrowser({ extensionDir: extensionFor(own.services.apiUrl) });
  await own.session.waitForServiceWorkerReady();
  const popup = await own.session.openPopup();
  await signIn(popup);
  await popup.close();
  own.token = await agentToken(own.services.apiUrl);
});

/** Adds `<mpt-phone>` to the page and records its events in `window.__events`. */
async function mountPhone(page) {
  await page.waitForFunction(() => !!customElements.get('mpt-phone'), null, { timeout: h.TIMEOUT_MS });
  await page.evaluate(() => {
    window.__events = [];
    const el = document.createElement('mpt-phone');
    for (const n of ['ready', 'call-started', 'call-ringing', 'call-answered', 'call-ended', 'call-logged', 'error']) {
      el.addEventListener(n, (e) => window.__events.push({ name: n, detail: e.detail }));
    }
    document.body.appendChild(el);
    window.__phone = el;
  });
}

/** Calls `window.__phone[method](...args)`; resolves to {ok, value} or {ok: false, code, message}. */
function call(page, method, ...args) {
  return page.evaluate(([m, a]) => window.__phone[m](...a).then(
    (value) => ({ ok: true, value }),
    (e) => ({ ok: false, code: e.code, message: e.message, name: e.name }),
  ), [method, args]);
}

async function waitEvent(page, name) {
  await page.waitForFunction((n) => window.__events.some((e) => e.name === n), name, { timeout: h.TIMEOUT_MS, polling: 100 });
  return page.evaluate((n) => window.__events.find((e) => e.name === n).detail, name);
}

test('allowed origin: dial() with a contact, every event, hangup(), the log has the contact', run(async () => {
  const { session, services, token } = await env();
  const page = await session.openPage(`${services.mptCrm}/contacts`);
  await h.waitForContentReady(page);
  await mountPhone(page);
  await waitEvent(page, 'ready');

  // Bad input: typed rejections, nothing placed.
  const before = (await listCalls(services.apiUrl, token)).length;
  const bad = await call(page, 'dial', '12');
  assert.deepEqual([bad.ok, bad.code, bad.name], [false, 'invalid_number', 'MptPhoneError']);
  const none = await call(page, 'hangup');
  assert.deepEqual([none.ok, none.code], [false, 'no_call']);
  const digits = await call(page, 'sendDigits', 'abc');
  assert.equal(digits.code, 'invalid_number');
  assert.equal((await listCalls(services.apiUrl, token)).length, before);

  const placed = await call(page, 'dial', '(415) 555-0123', { contactId: 'crm-77', contactName: 'Ada Lovelace', crm: 'MPT-CRM' });
  assert.equal(placed.ok, true, JSON.stringify(placed));
  const { callId } = placed.value;
  assert.match(callId, /^[0-9a-f-]{36}$/);
  const started = await waitEvent(page, 'call-started');
  assert.deepEqual(started, { callId, contactId: 'crm-77', number: '+14155550123', direction: 'outbound' });
  const answered = await waitEvent(page, 'call-answered');
  assert.equal(answered.callId, callId);
  // The panel shows the call too, with the contact the page named.
  const panel = await panelFrame(page);
  await frameText(panel, 'call-state', 'In call');
  assert.equal(await panel.getByTestId('call-contact').textContent(), 'Ada Lovelace');

  const muted = await call(page, 'mute', true);
  assert.equal(muted.ok, true);
  await panel.waitForFunction(() => document.querySelector('[data-testid=call-mute]')?.getAttribute('aria-pressed') === 'true',
    null, { timeout: h.TIMEOUT_MS, polling: 100 });
  assert.equal((await call(page, 'sendDigits', '12#')).ok, true);
  await panel.getByTestId('call-keypad-toggle').click(); // the tones sent show with the keypad
  await frameText(panel, 'call-digits', '12#');
  assert.equal((await call(page, 'hangup')).ok, true);
  const ended = await waitEvent(page, 'call-ended');
  assert.equal(ended.callId, callId);
  assert.equal(ended.endReason, 'completed');
  assert.ok(Number.isInteger(ended.durationSec));
  await panel.getByTestId('wrap-up-notes').fill('Page API call');
  await saveWrapUp(panel);
  const logged = await waitEvent(page, 'call-logged');
  assert.deepEqual(logged, { callId, notes: 'Page API call', disposition: null });

  const r = await fetch(`${services.apiUrl}/api/calls/${callId}`, { headers: { authorization: `Bearer ${token}` } });
  const log = await r.json();
  assert.equal(log.contact_id, 'crm-77', JSON.stringify(log));
  assert.equal(log.contact_name, 'Ada Lovelace');
  assert.equal(log.crm, 'MPT-CRM');
  await page.close();
}));

test('another origin: dial() waits for the agent in the panel; dismissed, it is refused', run(async () => {
  const { session, services, token } = await env();
  await allowOrigins(services.apiUrl, [new URL(services.amsCrm).origin, 'chrome-extension://*']);
  const popup = await session.openPopup();
  await popup.getByTestId('sign-out').click();
  await signIn(popup);
  await popup.close();
  try {
    const page = await session.openPage(`${services.mptCrm}/contacts`);
    await h.waitForContentReady(page);
    await mountPhone(page);
    const before = (await listCalls(services.apiUrl, token)).length;
    // Offered, then dismissed by the agent: refused.
    await page.evaluate(() => { window.__first = window.__phone.dial('+1 415 555 0187').then((v) => ({ ok: true, v }), (e) => ({ ok: false, code: e.code })); });
    let panel = await panelFrame(page);
    await panel.getByTestId('offer').waitFor({ timeout: h.TIMEOUT_MS });
    await pressClosing(panel, 'offer-dismiss', 'offer', 'the offer was dismissed');
    assert.deepEqual(await page.evaluate(() => window.__first), { ok: false, code: 'not_allowed' });
    // Offered again, and placed by the agent: resolves with the call's id.
    await page.evaluate(() => { window.__second = window.__phone.dial('+1 415 555 0187', { contactName: 'Grace Hopper' }); });
    panel = await panelFrame(page);
    await panel.getByTestId('offer').waitFor({ timeout: h.TIMEOUT_MS });
    assert.equal(await panel.getByTestId('offer-contact').textContent(), 'Grace Hopper');
    await panel.getByTestId('offer-call').click();
    const { callId } = await page.evaluate(() => window.__second);
    assert.match(callId, /^[0-9a-f-]{36}$/);
    await frameText(panel, 'call-state', 'In call');
    const calls = await listCalls(services.apiUrl, token);
    assert.equal(calls.length, before + 1);
    // No call events reach a page the tenant does not list, and its controls are refused.
    assert.deepEqual(await page.evaluate(() => window.__events.filter((e) => e.name.startsWith('call-'))), []);
    assert.equal((await call(page, 'hangup')).code, 'not_allowed');
    await panel.getByTestId('call-hangup').click();
    await skipWrapUp(panel);
    await page.close();
  } finally {
    await allowOrigins(services.apiUrl, DEMO_ALLOWED_ORIGINS);
  }
}));

test('no errors in any context', run(async () => {
  const { session } = await env();
  await session.collectErrors();
  assert.equal(session.errors.length, 0, `errors:\n${h.formatErrors(session.errors)}`);
}));
