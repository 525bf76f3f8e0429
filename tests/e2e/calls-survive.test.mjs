// Calls that ring and survive, through the offscreen path (the sandbox Device in the
// offscreen document, talking to the server's Twilio stand-in exactly as the Voice SDK
// talks to Twilio):
// - an inbound call from a demo contact rings: notification with Answer/Decline, badge,
//   Answer in the popup; answered, the log is inbound with the contact's name;
// - Decline from the notification ends only this endpoint's leg; an unanswered call is a
//   "Missed call from …" notification and a badge count, cleared when the popup opens;
// - a call rings in the panel of the active CRM tab, is answered there, and goes on while
//   the tab navigates to the other demo CRM;
// - the service worker is stopped mid-call (DevTools protocol): the call goes on, the
//   popup shows it again and its hang-up ends it on the server;
// - the server is killed mid-call: notes written while it is down reach the log exactly
//   once after it is back;
// - an update that arrives mid-call waits for the call to end;
// - two refreshes at once (every request of a restarted worker gets 401) do not sign the
//   agent out;
// - one phone per agent: the extension and an embedded widget both ring, the first answer
//   wins and the other reads "Answered elsewhere".

import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';

import * as h from './harness.mjs';
import { AGENT, agentToken, extensionFor, listCalls, panelFrame, signIn } from './extension-helpers.mjs';

const ADA = '+14155550123'; // a seeded demo contact: Ada Lovelace

const { env, run } = h.fileEnv(async (own) => {
  process.env.MPT_WIDGET_DIR ??= `${h.ROOT}/dist/widget`; // the widget shares the agent's calls
  own.services = await h.startServices({ apiServer: true });
  own.session = await h.launchBrowser({ extensionDir: extensionFor(own.services.apiUrl) });
  await own.session.waitForServiceWorkerReady();
  const popup = await own.session.openPopup();
  await signIn(popup);
  await popup.close();
});

/** The extension's current service worker (a new one after a stop). */
async function worker(session) {
  const find = () => session.context.serviceWorkers().find((w) => w.url().startsWith(`chrome-extension://${session.extensionId}/`));
  const w = find() || await session.context.waitForEvent('serviceworker', { timeout: h.TIMEOUT_MS });
  await w.evaluate(() => self.mptReady);
  return w;
}

/** The offscreen document (Playwright sees it as a page: PW_CHROMIUM_ATTACH_TO_OTHER). */
async function offscreen(session) {
  const deadline = Date.now() + h.TIMEOUT_MS;
  while (Date.now() < deadline) {
    const p = session.context.pages().find((x) => x.url().endsWith('/offscreen.html'));
    if (p) return p;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no offscreen document');
}

/**
 * Resolves once the Device in the offscreen document is registered (rings for inbound) and
 * the server has the agent available again after an earlier test's call.
 */
async function registered(session, apiUrl) {
  const page = await offscreen(session);
  await page.waitForFunction(() => globalThis.mptVoiceState && globalThis.mptVoiceState().registered, null, { timeout: h.TIMEOUT_MS, polling: 100 });
  await h.untilAvailable(apiUrl, AGENT.email);
}

async function inbound(apiUrl, token, from) {
  const r = await fetch(`${apiUrl}/api/sandbox/inbound`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ from }),
  });
  const text = await r.text();
  assert.equal(r.status, 201, text);
  return JSON.parse(text).call_sid;
}

async function callBySid(apiUrl, token, sid) {
  return (await listCalls(apiUrl, token)).find((c) => c.call_sid === sid || c.child_call_sid === sid);
}

const notifications = (w) => w.evaluate(() => chrome.notifications.getAll());
const badge = (w) => w.evaluate(() => chrome.action.getBadgeText({}));

test('an inbound call rings: notification and badge, Answer in the popup; the log is inbound with the contact', run(async () => {
  const { session, services } = await env();
  await registered(session, services.apiUrl);
  const token = await agentToken(services.apiUrl);
  const popup = await session.openPopup();
  await popup.getByTestId('account-email').waitFor();
  const sid = await inbound(services.apiUrl, token, ADA);
  await popup.getByTestId('call-answer').waitFor();
  assert.equal(await popup.getByTestId('call-state').textContent(), 'Incoming call');
  assert.equal(await popup.getByTestId('call-contact').textContent(), 'Ada Lovelace');
  const w = await worker(session);
  const ringing = await h.eventually('the ringing notification', async () => {
    const all = await notifications(w);
    return Object.keys(all).find((id) => id.startsWith('mpt-call:'));
  });
  assert.ok(ringing);
  assert.equal(await badge(w), 'RING');
  await popup.getByTestId('call-answer').click();
  await h.eventually('in call', async () => (await popup.getByTestId('call-state').textContent()) === 'In call');
  const log = await h.eventually('the answered log', async () => {
    const c = await callBySid(services.apiUrl, token, sid);
    return c && c.status === 'in-progress' && c;
  });
  assert.equal(log.direction, 'inbound');
  assert.equal(log.contact_name, 'Ada Lovelace');
  assert.equal(await badge(w), 'CALL');
  assert.ok(!(ringing in await notifications(w)), 'the ringing notification is gone once answered');
  await popup.getByTestId('call-hangup').click();
  await popup.getByTestId('wrap-up-skip').click();
  await h.eventually('completed on the server', async () => (await callBySid(services.apiUrl, token, sid))?.status === 'completed');
  await popup.close();
}));

test('Decline from the notification ends this endpoint\'s leg; an unanswered call is a missed-call notification and a badge count', run(async () => {
  const { session, services } = await env();
  await registered(session, services.apiUrl);
  const token = await agentToken(services.apiUrl);
  let w = await worker(session);
  // Declined from the notification's button (browser UI: called as the browser does).
  const declined = await inbound(services.apiUrl, token, ADA);
  const id = await h.eventually('the ringing notification', async () => Object.keys(await notifications(w)).find((k) => k.startsWith('mpt-call:')))
    .catch(async (e) => {
      const state = await (await offscreen(session)).evaluate(() => globalThis.mptVoiceState());
      throw new Error(`${e.message}; Device ${JSON.stringify(state)}; call ${JSON.stringify(await callBySid(services.apiUrl, token, declined))}; notifications ${JSON.stringify(await notifications(w))}`);
    });
  await w.evaluate((nid) => self.mptListeners.notificationButtonClicked(nid, 1), id);
  const busy = await h.eventually('declined on the server', async () => {
    const c = await callBySid(services.apiUrl, token, declined);
    return c && ['busy', 'no-answer', 'canceled'].includes(c.status) && c;
  });
  assert.equal(busy.status, 'busy', 'the only endpoint declined: the caller hears busy (then voicemail)');
  // Not answered anywhere: missed (once the server heard the agent is available again).
  await registered(session, services.apiUrl);
  const missed = await inbound(services.apiUrl, token, ADA);
  w = await worker(session);
  const note = await h.eventually('the missed-call notification', async () => {
    const all = await notifications(w);
    const k = Object.keys(all).find((x) => x.startsWith('mpt-missed:'));
    return k && { id: k };
  }, 60_000).catch(async (e) => {
    const p = await session.openPopup();
    await p.getByTestId('recent-item').first().waitFor().catch(() => {});
    const rows = await p.getByTestId('recent-item').allTextContents();
    throw new Error(`${e.message}; recent ${JSON.stringify(rows.slice(0, 3))}; log ${JSON.stringify(await callBySid(services.apiUrl, token, missed))}`);
  });
  assert.ok(note.id);
  assert.equal(await badge(w), '1');
  const log = await h.eventually('the missed log', async () => {
    const c = await callBySid(services.apiUrl, token, missed);
    return c && c.status !== 'ringing' && c.status !== 'in-progress' && c;
  });
  assert.equal(log.direction, 'inbound');
  // Seen: opening the popup clears the count and the notification.
  const popup = await session.openPopup();
  await popup.getByTestId('recent-item').first().waitFor();
  assert.match(await popup.getByTestId('recent-item').first().textContent(), /Missed/);
  await h.eventually('the badge cleared', async () => (await badge(w)) === '');
  assert.ok(!Object.keys(await notifications(w)).some((k) => k.startsWith('mpt-missed:')));
  await popup.close();
}));

test('a call rings in the active CRM tab\'s panel, is answered there and goes on while the tab navigates', run(async () => {
  const { session, services } = await env();
  await registered(session, services.apiUrl);
  const token = await agentToken(services.apiUrl);
  const page = await session.openPage(`${services.mptCrm}/contacts`);
  await h.waitForContentReady(page);
  await page.bringToFront();
  const sid = await inbound(services.apiUrl, token, ADA);
  const panel = await panelFrame(page);
  await panel.getByTestId('call-answer').click();
  await h.eventually('in call in the panel', async () => (await panel.getByTestId('call-state').textContent()) === 'In call');
  await h.eventually('in progress on the server', async () => (await callBySid(services.apiUrl, token, sid))?.status === 'in-progress');
  // The tab goes to the other CRM: the call lives in the offscreen document, not the page.
  await page.goto(`${services.amsCrm}/`, { waitUntil: 'load' });
  await new Promise((r) => setTimeout(r, 2_000));
  assert.equal((await callBySid(services.apiUrl, token, sid)).status, 'in-progress', 'the call survived the navigation');
  const popup = await session.openPopup();
  assert.equal(await popup.getByTestId('call-state').textContent(), 'In call');
  await popup.getByTestId('call-hangup').click();
  await popup.getByTestId('wrap-up-skip').click();
  await h.eventually('completed on the server', async () => (await callBySid(services.apiUrl, token, sid))?.status === 'completed');
  await popup.close();
  await page.close();
}));

test('one phone per agent: the extension and an embedded widget both ring, the first answer wins', run(async () => {
  const { session, services } = await env();
  await registered(session, services.apiUrl);
  const api = services.apiUrl;
  const token = await agentToken(api);
  const minted = await fetch(`${api}/api/embed/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{}',
  }).then((r) => r.json());
  assert.ok(minted.token, JSON.stringify(minted));
  // A third-party page on an allowed loopback origin that embeds our widget (the
  // extension, which runs there too, leaves `<mpt-phone>` to it).
  const body = `<!doctype html><html><body>
    <script src="${api}/phone/v1/widget.js"></script>
    <mpt-phone id="phone" api-key="pk_demo_widget_key_for_the_sandbox" auth-token="${minted.token}"></mpt-phone>
    <script>
      window.__events = [];
      for (const n of ['ready', 'call-incoming', 'call-answered', 'call-ended', 'error']) document.getElementById('phone').addEventListener(n, (e) => window.__events.push({ name: n, detail: e.detail }));
    </script></body></html>`;
  const server = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(body));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const host = await session.context.newPage();
  const hostLog = [];
  host.on('console', (m) => hostLog.push(`${m.type()}: ${m.text()}`));
  host.on('pageerror', (e) => hostLog.push(`exception: ${e.message}`));
  await host.goto(`${origin}/widget-host.html`);
  await host.waitForFunction(() => globalThis.mptVoiceState && globalThis.mptVoiceState().registered, null, { timeout: h.TIMEOUT_MS, polling: 100 })
    .catch((e) => { throw new Error(`the widget's Device did not register: ${e.message}\n${hostLog.join('\n')}`); });
  const popup = await session.openPopup();
  await popup.getByTestId('account-email').waitFor();
  const sid = await inbound(api, token, ADA);
  // Both endpoints ring.
  await popup.getByTestId('call-answer').waitFor();
  await host.waitForFunction(() => window.__events.some((e) => e.name === 'call-incoming'), null, { timeout: h.TIMEOUT_MS, polling: 100 });
  // The widget answers first: the extension stops ringing, and does not call it missed.
  await host.evaluate(() => document.getElementById('phone').answer());
  await host.waitForFunction(() => window.__events.some((e) => e.name === 'call-answered'), null, { timeout: h.TIMEOUT_MS, polling: 100 });
  await popup.getByTestId('call-panel').waitFor({ state: 'detached' });
  let row = '';
  await h.eventually('answered elsewhere in recent calls', async () => {
    row = await popup.getByTestId('recent-item').first().textContent();
    return /Answered elsewhere/.test(row);
  }).catch((e) => { throw new Error(`${e.message}; the row says ${JSON.stringify(row)}`); });
  await h.eventually('in progress on the server', async () => (await callBySid(api, token, sid))?.status === 'in-progress');
  await new Promise((r) => setTimeout(r, 4_000)); // past the missed-call confirmation
  const w = await worker(session);
  assert.ok(!Object.keys(await notifications(w)).some((k) => k.startsWith('mpt-missed:')), 'no missed-call notification');
  assert.notEqual(await badge(w), '1');
  await host.evaluate(() => document.getElementById('phone').hangup());
  await h.eventually('completed on the server', async () => (await callBySid(api, token, sid))?.status === 'completed');
  assert.ok(!(await host.evaluate(() => window.__events)).some((e) => e.name === 'error'), 'no widget errors');
  await host.close();
  await popup.close();
  server.close();
}));

test('the service worker stopped mid-call: the call goes on, the popup shows it again, its hang-up ends it', run(async () => {
  const { session, services } = await env();
  await registered(session, services.apiUrl);
  const token = await agentToken(services.apiUrl);
  let popup = await session.openPopup();
  await popup.getByTestId('dial-input').fill('+14155550005'); // answers and stays on the line
  await popup.getByTestId('dial-call').click();
  await h.eventually('in call', async () => (await popup.getByTestId('call-state').textContent()) === 'In call');
  const call = await h.eventually('in progress on the server', async () => {
    const items = await listCalls(services.apiUrl, token);
    return items.find((c) => c.to === '+14155550005' && c.status === 'in-progress');
  });
  await popup.close();
  // A mark in the running worker: a new worker does not have it.
  await (await worker(session)).evaluate(() => { self.__mptBeforeStop = true; });
  const cdp = await session.context.newCDPSession(await offscreen(session));
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await new Promise((r) => setTimeout(r, 3_000));
  assert.equal((await callBySid(services.apiUrl, token, call.call_sid)).status, 'in-progress', 'the call outlived the worker');
  popup = await session.openPopup();
  await h.eventually('the call shown again', async () => (await popup.getByTestId('call-state').textContent()) === 'In call');
  const fresh = await h.eventually('a new worker', async () => {
    for (const w of session.context.serviceWorkers()) {
      const mark = await w.evaluate(() => self.__mptBeforeStop === true).catch(() => null);
      if (mark === false) return w;
    }
    return undefined;
  });
  assert.ok(fresh, 'the worker was stopped and started again');
  await popup.getByTestId('call-hangup').click();
  await popup.getByTestId('wrap-up-skip').click();
  await h.eventually('completed on the server', async () => (await callBySid(services.apiUrl, token, call.call_sid))?.status === 'completed');
  await popup.close();
}));

test('an update that arrives mid-call waits for the call to end', run(async () => {
  const { session, services } = await env();
  await registered(session, services.apiUrl);
  const token = await agentToken(services.apiUrl);
  const w = await worker(session);
  // `chrome.runtime.reload()` would restart the extension under the test: it is recorded
  // instead (the worker's binding looks it up at each call).
  const patched = await w.evaluate(() => {
    self.__mptReloads = [];
    self.__mptReload = chrome.runtime.reload;
    chrome.runtime.reload = () => self.__mptReloads.push(Date.now());
    return chrome.runtime.reload !== self.__mptReload;
  });
  assert.ok(patched, 'chrome.runtime.reload can be recorded');
  try {
    const popup = await session.openPopup();
    await popup.getByTestId('dial-input').fill('+14155550005');
    await popup.getByTestId('dial-call').click();
    await h.eventually('in call', async () => (await popup.getByTestId('call-state').textContent()) === 'In call');
    await w.evaluate(() => self.mptListeners.updateAvailable({ version: '99.0.0' }));
    await new Promise((r) => setTimeout(r, 2_000));
    assert.deepEqual(await w.evaluate(() => self.__mptReloads), [], 'not applied during the call');
    const call = (await listCalls(services.apiUrl, token)).find((c) => c.to === '+14155550005' && c.status === 'in-progress');
    assert.ok(call, 'the call goes on');
    await popup.getByTestId('call-hangup').click();
    await h.eventually('applied once the call ended', async () => (await w.evaluate(() => self.__mptReloads.length)) === 1);
    await popup.getByTestId('wrap-up-skip').click();
    await popup.close();
    // With no call up, an update is applied at once.
    await w.evaluate(() => self.mptListeners.updateAvailable({ version: '99.0.1' }));
    await h.eventually('applied at once', async () => (await w.evaluate(() => self.__mptReloads.length)) === 2);
  } finally {
    await w.evaluate(() => { chrome.runtime.reload = self.__mptReload; }).catch(() => {});
  }
}));

test('two refreshes at once do not sign the agent out', run(async () => {
  const { session, services } = await env();
  await registered(session, services.apiUrl);
  // The stored access token goes bad while it looks fresh, and the worker restarts: every
  // request of its start (config, socket ticket, presence, recent calls) gets 401 at once.
  const w = await worker(session);
  const before = await w.evaluate(async () => {
    const stored = JSON.parse((await chrome.storage.local.get('mpt.engine'))['mpt.engine']);
    const was = stored.session.refresh_token;
    stored.session.access_token = `${stored.session.access_token.slice(0, -8)}AAAAAAAA`;
    stored.session.access_expires_at_ms = Date.now() + 10 * 60_000;
    await chrome.storage.local.set({ 'mpt.engine': JSON.stringify(stored) });
    return was;
  });
  const cdp = await session.context.newCDPSession(await offscreen(session));
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await cdp.detach().catch(() => {});
  const rotated = await h.eventually('one refresh, one new session token', async () => {
    const fresh = await worker(session);
    const stored = JSON.parse((await fresh.evaluate(async () => (await chrome.storage.local.get('mpt.engine'))['mpt.engine'])) || 'null');
    return stored && stored.session && stored.session.refresh_token !== before && stored.session;
  });
  // Settled: still signed in, and the new tokens work (a replayed refresh would have revoked
  // the whole sign-in session).
  await new Promise((r) => setTimeout(r, 3_000));
  const popup = await session.openPopup();
  await popup.getByTestId('account-email').waitFor({ timeout: h.TIMEOUT_MS });
  const stored = JSON.parse(await (await worker(session)).evaluate(async () => (await chrome.storage.local.get('mpt.engine'))['mpt.engine']));
  assert.ok(stored.session, 'still signed in');
  const me = await fetch(`${services.apiUrl}/api/me`, { headers: { authorization: `Bearer ${stored.session.access_token}` } });
  assert.equal(me.status, 200, 'the session is live on the server');
  assert.equal(stored.session.refresh_token, rotated.refresh_token, 'rotated once, not again');
  await popup.close();
}));

test('the server killed mid-call: notes written while it is down reach the log exactly once', run(async () => {
  const { session, services } = await env();
  await registered(session, services.apiUrl);
  const token = await agentToken(services.apiUrl);
  const popup = await session.openPopup();
  await popup.getByTestId('dial-input').fill('+14155550005');
  await popup.getByTestId('dial-call').click();
  await h.eventually('in call', async () => (await popup.getByTestId('call-state').textContent()) === 'In call');
  const call = await h.eventually('in progress on the server', async () => {
    const items = await listCalls(services.apiUrl, token);
    return items.find((c) => c.to === '+14155550005' && c.status === 'in-progress');
  });
  await services.killApi('SIGKILL');
  // In the sandbox the stand-in (Twilio's side) dies with the server: the call drops.
  await popup.getByTestId('wrap-up').waitFor({ timeout: h.TIMEOUT_MS });
  await popup.getByTestId('wrap-up-notes').fill('Written while the server was down');
  await popup.getByTestId('wrap-up-save').click();
  await popup.getByTestId('recent-item').first().waitFor();
  await new Promise((r) => setTimeout(r, 1_500));
  await services.startApi();
  const logged = await h.eventually('the notes in the log', async () => {
    const t = await agentToken(services.apiUrl);
    const items = await listCalls(services.apiUrl, t);
    const mine = items.filter((c) => c.id === call.id);
    return mine.length && mine[0].notes && mine;
  }, 90_000);
  assert.equal(logged.length, 1, 'one log for the call');
  assert.equal(logged[0].notes, 'Written while the server was down');
  await popup.close();
}));
