// Click-to-call through the whole product in sandbox mode: sign in from the popup,
// hover a number in a demo CRM contact row, click the floating call button (real,
// trusted clicks: our UI is in a closed shadow root), follow the call in the call panel
// (an extension frame over the page) and the popup with the contact's name; mute, DTMF,
// hang up and wrap-up from the panel; find the call in the popup's recent list and the
// contact (id, name, CRM), notes and disposition in the server's log. Then a busy
// number dialled from the popup's keypad field with Enter, and a call placed from the
// popup whose wrap-up (notes, disposition) reaches the server's log.
//
// The built extension has its server URL baked in; the api-server here listens on
// a random port, so the test runs a copy of dist/extension pointed at it.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as h from './harness.mjs';
import { AGENT, agentToken, clickOurs, extensionFor, frameText, panelFrame, signIn, waitOurElement, skipWrapUp, saveWrapUp } from './extension-helpers.mjs';

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

test('click a number on the CRM: the panel follows the call; mute, DTMF, hang up, wrap-up from it', run(async () => {
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

  // The call panel opens in the page: an extension frame, never covering the number.
  const panel = await panelFrame(page);
  await frameText(panel, 'call-state', 'In call');
  assert.equal(await panel.getByTestId('call-contact').textContent(), target.name, 'the contact\'s name, not its id');
  const box = await (await waitOurElement(page, 'mpt-panel')).box;
  assert.ok(box, 'the panel is shown');
  await panel.waitForFunction(() => /^\d+:\d\d$/.test(document.querySelector('[data-testid=call-timer]')?.textContent ?? ''),
    null, { timeout: h.TIMEOUT_MS, polling: 100 });

  // The popup shows the same call.
  await popup.getByTestId('call-panel').waitFor({ timeout: h.TIMEOUT_MS });
  assert.equal(await popup.getByTestId('call-state').textContent(), 'In call');
  assert.equal(await popup.getByTestId('call-contact').textContent(), target.name);

  // Mute from the panel (a real click); the popup sees it too.
  await panel.getByTestId('call-mute').click();
  await panel.waitForFunction(() => document.querySelector('[data-testid=call-mute]')?.getAttribute('aria-pressed') === 'true',
    null, { timeout: h.TIMEOUT_MS, polling: 100 });
  // The popup tab is in the background here: requestAnimationFrame does not run, so poll.
  await popup.waitForFunction(() => document.querySelector('[data-testid=call-mute]')?.getAttribute('aria-pressed') === 'true',
    null, { timeout: h.TIMEOUT_MS, polling: 100 });
  // DTMF from the panel's keypad.
  await panel.getByTestId('call-keypad-toggle').click();
  await panel.getByTestId('call-key-5').click();
  await frameText(panel, 'call-digits', '5');

  await panel.getByTestId('call-hangup').click();
  // Wrap-up in the panel: notes and disposition go to the call's log.
  const wrap = panel.getByTestId('wrap-up');
  await wrap.waitFor({ timeout: h.TIMEOUT_MS });
  const callId = await wrap.getAttribute('data-call-id');
  await panel.getByTestId('wrap-up-notes').fill('Called from the CRM row');
  await panel.getByTestId('wrap-up-disposition').selectOption('connected');
  await saveWrapUp(panel);
  // No call any more: the panel closes.
  await waitOurElement(page, 'mpt-panel', (el) => el && !el.box);
  // The server's log has the contact: id, name and CRM (read by the voice webhook under
  // the names the dial request sent), and the wrap-up.
  const token = await agentToken(services.apiUrl);
  let log = null;
  const deadline = Date.now() + h.TIMEOUT_MS;
  while (Date.now() < deadline) {
    const r = await fetch(`${services.apiUrl}/api/calls/${callId}`, { headers: { authorization: `Bearer ${token}` } });
    log = r.ok ? await r.json() : null;
    if (log && log.notes) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(log?.contact_id, target.contact, JSON.stringify(log));
  assert.equal(log.contact_name, target.name);
  assert.equal(log.crm, 'MPT-CRM');
  assert.equal(log.notes, 'Called from the CRM row');
  assert.equal(log.disposition, 'connected');
  await popup.getByTestId('recent-item').first().waitFor({ timeout: h.TIMEOUT_MS });
  assert.equal(await popup.getByTestId('call-panel').count(), 0);
  await page.close();
  await popup.close();
}));

test('keyboard path: the shortcut focuses our call button, Tab cycles, Esc gives focus back, Enter calls', run(async () => {
  const { session, services } = await env();
  const page = await session.openPage(`${services.mptCrm}/contacts`);
  await h.waitForContentReady(page);
  await page.bringToFront();
  // The shortcut goes to the active tab (the worker has no "tabs" permission to find it by URL).
  const tabId = await session.serviceWorker.evaluate(async () => (await chrome.tabs.query({ active: true, lastFocusedWindow: true }))[0].id);
  const shortcut = () => session.serviceWorker.evaluate((id) => self.mptListeners.commandReceived('focus-number', { id }), tabId);
  // The agent was typing in the CRM's search field.
  await page.locator('input').first().focus();
  await shortcut();
  const first = await waitOurElement(page, 'mpt-call-button');
  // Focus is in our closed shadow root: the page sees only our host element.
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'MPT-PHONE-UI');
  await page.keyboard.press('Tab');
  const second = await waitOurElement(page, 'mpt-call-button', (el) => el?.box && el.attrs['data-number'] !== first.attrs['data-number']);
  await page.keyboard.press('Shift+Tab');
  await waitOurElement(page, 'mpt-call-button', (el) => el?.attrs['data-number'] === first.attrs['data-number']);
  await page.keyboard.press('Escape');
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'INPUT', 'Esc gives focus back');
  await waitOurElement(page, 'mpt-call-button', (el) => el && !el.box);
  // Again, to the second number, and Enter calls it.
  await shortcut();
  await waitOurElement(page, 'mpt-call-button');
  await page.keyboard.press('Tab');
  await waitOurElement(page, 'mpt-call-button', (el) => el?.attrs['data-number'] === second.attrs['data-number']);
  await page.keyboard.press('Enter');
  const panel = await panelFrame(page);
  await frameText(panel, 'call-state', 'In call');
  const token = await agentToken(services.apiUrl);
  const calls = await fetch(`${services.apiUrl}/api/calls`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json());
  assert.equal((calls.items ?? calls)[0].to, second.attrs['data-number']);
  await panel.getByTestId('call-hangup').click();
  await skipWrapUp(panel);
  await page.close();
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
