// Click-to-call through the whole product in sandbox mode: sign in from the popup,
// hover a number in a demo CRM contact row, click the floating call button (real,
// trusted clicks: our UI is in a closed shadow root), follow the call in the page's
// overlay and the popup (dialing → ringing → in call) with the contact's name, mute,
// hang up from the page, find the call in the popup's recent list and the contact
// (id, name, CRM) in the server's log. Then a busy
// number dialled from the popup's keypad field with Enter, and a call placed from the
// popup whose wrap-up (notes, disposition) reaches the server's log.
//
// The built extension has its server URL baked in; the api-server here listens on
// a random port, so the test runs a copy of dist/extension pointed at it.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as h from './harness.mjs';
import {
  AGENT, agentToken, clickOurs, extensionFor, ourElement, signIn, waitOurElement,
} from './extension-helpers.mjs';

/** Resolves when our call overlay (closed shadow root) reaches `state`. */
function overlayState(page, state, timeout = h.TIMEOUT_MS) {
  return waitOurElement(page, 'mpt-overlay', (el) => el?.attrs['data-state'] === state, timeout);
}

const { env, run } = h.fileEnv(async (own) => {
  own.services = await h.startServices({ apiServer: true });
  own.session = await h.launchBrowser({ extensionDir: extensionFor(own.services.apiUrl) });
  await own.session.waitForServiceWorkerReady();
});

test('sign in from the popup: account and sandbox label shown', run(async () => {
  const { session } = await env();
  const popup = await session.openPopup();
  await signIn(popup);
  assert.equal(await popup.getByTestId('account-email').textContent(), AGENT.email);
  await popup.getByTestId('sandbox-label').waitFor({ timeout: h.TIMEOUT_MS });
  await popup.close();
}));

test('click a number on the CRM: overlay follows the call, mute, hang up, recent call', run(async () => {
  const { session, services } = await env();
  const popup = await session.openPopup();
  await popup.getByTestId('account-email').waitFor({ timeout: h.TIMEOUT_MS });
  const page = await session.openPage(`${services.mptCrm}/contacts`);
  await h.waitForContentReady(page);
  // The first marked number inside a contact row, not in a tel: link, and where it is.
  const target = await page.evaluate(() => {
    for (const s of CSS.highlights.get('mpt-phone')) {
      const r = document.createRange(); // marks are StaticRanges: measure through a live Range
      r.setStart(s.startContainer, s.startOffset);
      r.setEnd(s.endContainer, s.endOffset);
      const el = r.startContainer.parentElement;
      const holder = el.closest('[data-contact-id]');
      if (!holder || el.closest('a[href^="tel:"]')) continue;
      el.scrollIntoView({ block: 'center' });
      const b = r.getBoundingClientRect();
      return {
        x: b.left + b.width / 2, y: b.top + b.height / 2, text: r.toString(),
        contact: holder.dataset.contactId, name: holder.querySelector('td.name').textContent.trim(),
      };
    }
    return null;
  });
  assert.ok(target, 'no marked number inside a [data-contact-id] row');
  await page.mouse.move(target.x, target.y);
  const button = await waitOurElement(page, 'mpt-call-button');
  assert.equal(button.attrs['data-number'], h.e164Of(target.text));
  await clickOurs(page, 'mpt-call-button');

  await overlayState(page, 'dialing', 2000).catch(() => { /* may already be ringing */ });
  await overlayState(page, 'ringing', 5000).catch(() => { /* a fast sandbox may skip to in_call */ });
  const live = await overlayState(page, 'in_call');
  assert.equal(live.attrs['data-number'], h.e164Of(target.text));
  assert.equal(live.attrs['data-contact-id'], target.contact);
  // The contact's name, as the CRM adapter read it from the row, not its id.
  assert.equal((await ourElement(page, 'overlay-contact')).text, target.name);
  await waitOurElement(page, 'overlay-timer', (el) => /^\d+:\d\d$/.test(el?.text ?? ''));

  // The popup shows the same call.
  await popup.getByTestId('call-panel').waitFor({ timeout: h.TIMEOUT_MS });
  assert.equal(await popup.getByTestId('call-state').textContent(), 'In call');
  assert.equal(await popup.getByTestId('call-contact').textContent(), target.name);

  // Mute from the page overlay (a real click); the popup sees it too.
  await clickOurs(page, 'overlay-mute');
  await waitOurElement(page, 'mpt-overlay', (el) => el && 'data-muted' in el.attrs);
  // The popup tab is in the background here: requestAnimationFrame does not run, so poll.
  await popup.waitForFunction(() => document.querySelector('[data-testid=call-mute]')?.getAttribute('aria-pressed') === 'true',
    null, { timeout: h.TIMEOUT_MS, polling: 100 });

  await clickOurs(page, 'overlay-hangup');
  const ended = await overlayState(page, 'ended');
  // The server's log has the contact: id, name and CRM (read by the voice webhook under
  // the names the dial request sent).
  const token = await agentToken(services.apiUrl);
  const r = await fetch(`${services.apiUrl}/api/calls/${ended.attrs['data-call-id']}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  const log = await r.json();
  assert.equal(log.contact_id, target.contact, JSON.stringify(log));
  assert.equal(log.contact_name, target.name);
  assert.equal(log.crm, 'MPT-CRM');
  await popup.getByTestId('recent-item').first().waitFor({ timeout: h.TIMEOUT_MS });
  assert.equal(await popup.getByTestId('call-panel').count(), 0);
  await page.close();
  await popup.close();
}));

test('popup dialer: Enter calls a busy number, which ends as Busy in recent calls', run(async () => {
  const { session } = await env();
  const popup = await session.openPopup();
  await popup.getByTestId('account-email').waitFor({ timeout: h.TIMEOUT_MS });
  const before = await popup.getByTestId('recent-item').count();
  const input = popup.getByTestId('dial-input');
  await input.fill('2125550002'); // the sandbox answers numbers ending in 0002 with busy
  assert.equal(await input.inputValue(), '(212) 555-0002');
  assert.equal(await popup.getByTestId('dial-call').isDisabled(), false);
  await input.press('Enter');
  await popup.waitForFunction((n) => document.querySelectorAll('[data-testid=recent-item]').length === n + 1,
    before, { timeout: h.TIMEOUT_MS, polling: 100 });
  assert.match(await popup.getByTestId('recent-item').first().textContent(), /\(212\) 555-0002.*Busy/);
  await popup.close();
}));

test('popup call: contact shown, notes and disposition saved to the call log', run(async () => {
  const { session, services } = await env();
  const popup = await session.openPopup();
  await popup.getByTestId('account-email').waitFor({ timeout: h.TIMEOUT_MS });
  // Ada Lovelace, a demo contact; the sandbox answers after ringing.
  await popup.getByTestId('dial-input').fill('4155550123');
  await popup.getByTestId('dial-call').click();
  const panel = popup.getByTestId('call-panel');
  await panel.waitFor({ timeout: h.TIMEOUT_MS });
  await popup.getByTestId('call-contact').waitFor({ timeout: h.TIMEOUT_MS });
  assert.equal(await popup.getByTestId('call-contact').textContent(), 'Ada Lovelace');
  assert.equal(await popup.getByTestId('call-company').textContent(), 'Analytical Engines Ltd');
  await popup.waitForFunction(() => document.querySelector('[data-testid=call-state]')?.textContent === 'In call',
    null, { timeout: h.TIMEOUT_MS, polling: 100 });
  await popup.getByTestId('call-hangup').click();
  const wrap = popup.getByTestId('wrap-up');
  await wrap.waitFor({ timeout: h.TIMEOUT_MS });
  const callId = await wrap.getAttribute('data-call-id');
  assert.ok(callId, 'the wrap-up names its call');
  await popup.getByTestId('wrap-up-notes').fill('Wants a demo on Tuesday');
  await popup.getByTestId('wrap-up-disposition').selectOption('callback-requested');
  await popup.getByTestId('wrap-up-save').click();
  await wrap.waitFor({ state: 'detached', timeout: h.TIMEOUT_MS });

  // The log on the server carries both (written through the engine's queue).
  const auth = await fetch(`${services.apiUrl}/api/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(AGENT),
  }).then((r) => r.json());
  let log = null;
  const deadline = Date.now() + h.TIMEOUT_MS;
  while (Date.now() < deadline) {
    const r = await fetch(`${services.apiUrl}/api/calls/${callId}`, { headers: { authorization: `Bearer ${auth.access_token}` } });
    log = r.ok ? await r.json() : null;
    if (log && log.notes) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  // On failure, say what the engine still holds (its persisted queue of log writes).
  const stored = log?.notes ? null : await session.serviceWorker.evaluate(async () =>
    JSON.stringify((await chrome.storage.local.get('mpt.engine'))['mpt.engine']));
  assert.equal(log?.notes, 'Wants a demo on Tuesday', `log ${JSON.stringify(log)}; engine ${stored}`);
  assert.equal(log?.disposition, 'callback-requested');
  assert.equal(log?.to, '+14155550123');
  await popup.close();
}));

test('no errors in any context during calls', run(async () => {
  const { session } = await env();
  await session.collectErrors();
  assert.equal(session.errors.length, 0, `errors:\n${h.formatErrors(session.errors)}`);
}));
