// The page is hostile (CONTRACTS.md §1): nothing a page script can do may start, end,
// mute or observe a call. A page script here
// - makes a `<a href="tel:…">` and calls `.click()`;
// - dispatches synthetic mouse, pointer, keyboard and custom events on every element
//   it can reach (the document, every open shadow root, our UI's host element);
// - posts messages to every frame;
// and the api-server's call log stays empty, the agent's call is not ended or muted.
// A second CRM tab on another origin gets no text, attribute or event about the call.
// A page that frames our call panel itself gets no phone. On an origin the tenant does
// not list, the page's own tel: links and page API only offer a call, which the agent
// places from the panel — and not while the page makes the panel invisible (clickjacking).
// Only trusted gestures (Playwright's real mouse) act.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as h from './harness.mjs';
import { agentToken, clickOurs, extensionFor, frameText, listCalls, ourElement, panelFrame, signIn, waitOurElement, allowOrigins, DEMO_ALLOWED_ORIGINS, skipWrapUp } from './extension-helpers.mjs';

const EVIL = '+12125550199';

/** Everything a page script can try, run in the page (main world). */
function attack(evil) {
  const seen = [];
  // Keep this page where it is: the page's own links and forms would navigate away. The
  // listeners run last (window, bubble), after any the extension registered.
  window.addEventListener('click', (e) => e.preventDefault());
  window.addEventListener('submit', (e) => e.preventDefault());
  const reach = (root, out) => {
    for (const el of root.querySelectorAll('*')) {
      out.push(el);
      if (el.shadowRoot) reach(el.shadowRoot, out); // only open roots are visible to the page
    }
    return out;
  };
  // 1. A tel: link of its own, clicked by script.
  for (const scheme of ['tel:', 'callto:']) {
    const a = document.createElement('a');
    a.href = `${scheme}${evil}`;
    a.textContent = evil;
    document.body.appendChild(a);
    a.click();
    a.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, composed: true, button: 0 }));
  }
  // 2. Synthetic events on every reachable element.
  const kinds = [
    () => new MouseEvent('click', { bubbles: true, cancelable: true, composed: true, button: 0 }),
    () => new PointerEvent('pointerdown', { bubbles: true, composed: true }),
    () => new PointerEvent('pointerup', { bubbles: true, composed: true }),
    () => new MouseEvent('mousedown', { bubbles: true, composed: true }),
    () => new MouseEvent('mouseup', { bubbles: true, composed: true }),
    () => new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, composed: true }),
    () => new KeyboardEvent('keydown', { key: ' ', bubbles: true, composed: true }),
    () => new KeyboardEvent('keydown', { key: '5', bubbles: true, composed: true }),
    ...['mpt-phone-hangup', 'mpt-phone-mute', 'mpt-phone-unmute', 'mpt-phone-digits', 'mpt-phone-dial', 'mpt-dial']
      .map((t) => () => new CustomEvent(t, { bubbles: true, composed: true, detail: t === 'mpt-phone-digits' ? '9' : evil })),
  ];
  const targets = [document, document.documentElement, ...reach(document, [])];
  for (const el of targets) {
    for (const k of kinds) el.dispatchEvent(k());
    if (typeof el.click === 'function' && el.tagName !== 'A') el.click();
    seen.push(el.tagName);
  }
  // 3. Messages to every frame, in every shape the extension uses internally.
  const msgs = [
    { type: 'Dial', number: evil, origin: location.origin },
    { type: 'HangUp' }, { type: 'SetMute', muted: true }, { type: 'SendDigits', digits: '9' },
    { v: 1, id: 1, type: 'dial', payload: { number: evil } }, { v: 1, id: 2, type: 'hangup' },
    'dial', evil,
  ];
  const frames = [window, window.parent, window.top];
  for (let i = 0; i < window.frames.length; i++) frames.push(window.frames[i]);
  for (const f of frames) for (const m of msgs) f.postMessage(m, '*');
  return seen.length;
}

/** Gives the extension time to (wrongly) react; there is no event to wait for when nothing happens. */
const settle = () => new Promise((r) => setTimeout(r, 1500));

/** A marked number inside a contact row, scrolled into view: its centre and contact. */
function contactNumber(page) {
  return page.evaluate(() => {
    for (const s of CSS.highlights.get('mpt-phone')) {
      // Marks are StaticRanges: measure through a live Range.
      const r = document.createRange();
      r.setStart(s.startContainer, s.startOffset);
      r.setEnd(s.endContainer, s.endOffset);
      const el = r.startContainer.parentElement;
      const holder = el.closest('[data-contact-id]');
      if (!holder || el.closest('a[href^="tel:"]')) continue;
      el.scrollIntoView({ block: 'center' });
      const b = r.getBoundingClientRect();
      return { x: b.left + b.width / 2, y: b.top + b.height / 2, text: r.toString(), contact: holder.dataset.contactId };
    }
    return null;
  });
}

const { env, run } = h.fileEnv(async (own) => {
  own.services = await h.startServices({ apiServer: true });
  own.session = await h.launchBrowser({ extensionDir: extensionFor(own.services.apiUrl) });
  await own.session.waitForServiceWorkerReady();
  const popup = await own.session.openPopup();
  await signIn(popup);
  await popup.close();
  own.token = await agentToken(own.services.apiUrl);
});

test('a page script cannot move our call button under the agent\'s cursor', run(async () => {
  const { session, services } = await env();
  const page = await session.openPage(`${services.mptCrm}/contacts`);
  await h.waitForContentReady(page);
  const target = await contactNumber(page);
  // Synthetic pointer moves over a number, as a page would send to park the button.
  await page.evaluate(({ x, y }) => {
    for (let i = 0; i < 5; i++) {
      document.dispatchEvent(new PointerEvent('pointermove', { clientX: x, clientY: y, bubbles: true, composed: true }));
    }
  }, target);
  await settle();
  const button = await ourElement(page, 'mpt-call-button');
  assert.ok(!button || !button.box, 'a synthetic pointermove showed our call button');
  // The agent's own pointer still does.
  await page.mouse.move(target.x, target.y);
  await waitOurElement(page, 'mpt-call-button');
  await page.close();
}));

test('page scripts start no call: tel: .click(), synthetic events, messages', run(async () => {
  const { session, services, token } = await env();
  const page = await session.openPage(`${services.mptCrm}/contacts`);
  await h.waitForContentReady(page);
  // Our call button is showing (a real hover), so the page can reach its host element.
  const target = await contactNumber(page);
  await page.mouse.move(target.x, target.y);
  await waitOurElement(page, 'mpt-call-button');
  const reached = await page.evaluate(attack, EVIL);
  assert.ok(reached > 10, `the attack reached ${reached} elements`);
  await settle();
  assert.deepEqual(await listCalls(services.apiUrl, token), [], 'a page script placed a call');
  // Our UI's text and attributes are not in the page's DOM or its open shadow roots.
  const leaked = await page.evaluate(() => {
    const out = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.getAttribute('data-testid')?.startsWith('mpt-') || el.getAttribute('data-testid')?.startsWith('overlay-')) out.push(el.outerHTML.slice(0, 80));
        if (el.shadowRoot) walk(el.shadowRoot);
      }
    };
    walk(document);
    return out;
  });
  assert.deepEqual(leaked, [], 'our controls are reachable from the page');
  await page.close();
}));

test('page scripts end and mute nothing; another origin\'s tab learns nothing', run(async () => {
  const { session, services, token } = await env();
  // A second CRM on another origin, watching everything it can.
  const other = await session.openPage(`${services.amsCrm}/`);
  await h.waitForContentReady(other);
  await other.evaluate(() => {
    window.__seen = { events: [], nodes: [] };
    const types = ['message', 'mpt-phone-hangup', 'call-started', 'call-ringing', 'call-answered', 'call-ended',
      'call-incoming', 'ready', 'mpt-phone-state', 'mpt-phone:event', 'mpt-phone:response'];
    for (const t of types) window.addEventListener(t, (e) => window.__seen.events.push(t), true);
    new MutationObserver((rs) => {
      for (const r of rs) for (const n of r.addedNodes) if (n.nodeType === 1 && /^MPT-PHONE$/.test(n.tagName)) window.__seen.nodes.push(n.tagName);
    }).observe(document.documentElement, { childList: true, subtree: true });
  });
  const otherBefore = await other.content();

  const page = await session.openPage(`${services.mptCrm}/contacts`);
  await h.waitForContentReady(page);
  const target = await contactNumber(page);
  await page.mouse.move(target.x, target.y);
  const button = await waitOurElement(page, 'mpt-call-button');
  const number = button.attrs['data-number'];
  assert.equal(number, h.e164Of(target.text));
  await clickOurs(page, 'mpt-call-button'); // a real, trusted click
  const panel = await panelFrame(page);
  await frameText(panel, 'call-state', 'In call');

  await page.evaluate(attack, EVIL);
  await settle();
  assert.equal(await panel.getByTestId('call-state').textContent(), 'In call', 'a page script ended the call');
  assert.equal(await panel.getByTestId('call-mute').getAttribute('aria-pressed'), 'false', 'a page script muted the call');
  const calls = await listCalls(services.apiUrl, token);
  assert.equal(calls.length, 1, `calls: ${JSON.stringify(calls)}`);
  assert.equal(calls[0].to, number);

  // The other origin's tab: no text, attribute, element or event about the call.
  const seen = await other.evaluate(() => window.__seen);
  assert.deepEqual(seen, { events: [], nodes: [] });
  const otherAfter = await other.content();
  const national = number.slice(-7);
  assert.equal(otherBefore.includes(national), false, 'pick a number the other CRM does not show');
  assert.equal(otherAfter.includes(national), false, 'the other tab received the call\'s number');
  assert.equal(await ourElement(other, 'mpt-panel').then((e) => e?.box ?? null), null, 'the other tab shows the call');
  assert.equal(other.frames().length, 1, 'the other tab has no panel frame');

  // The agent's real click in the panel still works.
  await panel.getByTestId('call-hangup').click();
  await skipWrapUp(panel);
  await waitOurElement(page, 'mpt-panel', (el) => el && !el.box);
  await page.close();
  await other.close();
}));

test('a page that frames our panel itself gets no phone', run(async () => {
  const { session, services, token } = await env();
  const before = (await listCalls(services.apiUrl, token)).length;
  const page = await session.openPage(`${services.mptCrm}/contacts`);
  await h.waitForContentReady(page);
  // Open our real panel (a call from our button) to learn its URL, as a page never can.
  const target = await contactNumber(page);
  await page.mouse.move(target.x, target.y);
  await clickOurs(page, 'mpt-call-button');
  const panel = await panelFrame(page);
  await frameText(panel, 'call-state', 'In call');
  const real = panel.url();
  const id = session.extensionId;
  const forged = '0123456789abcdef0123456789abcdef';
  const urls = [
    `chrome-extension://${id}/panel/panel.html#${forged}`, // the static URL (use_dynamic_url: not web-accessible)
    real, // the live panel's own URL, nonce already used
    real.replace(/#.*$/, `#${forged}`), // the dynamic URL with a made-up nonce
  ];
  const rogue = await page.evaluate(async (list) => {
    const out = [];
    for (const src of list) {
      const f = document.createElement('iframe');
      f.src = src;
      f.className = 'rogue';
      document.body.appendChild(f);
      out.push(src);
    }
    await new Promise((r) => setTimeout(r, 2000));
    return out;
  }, urls);
  assert.equal(rogue.length, 3);
  // Chrome refuses to load panel.html into a page-made frame (it is web-accessible only
  // under its per-session dynamic URL) and says so on the page's console: expected here.
  const denied = /^Denying load of chrome-extension:\/\/[a-p]{32}\/panel\/panel\.html#/;
  const deniedSeen = session.errors.filter((e) => denied.test(e.text)).length;
  session.errors.splice(0, session.errors.length, ...session.errors.filter((e) => !denied.test(e.text)));
  // No rogue frame shows the phone: blocked, or told it is not allowed / no worker.
  for (const f of page.frames()) {
    if (f === panel || f === page.mainFrame()) continue;
    const shows = await f.evaluate(() => !!document.querySelector('[data-testid=phone], [data-testid=call-panel], [data-testid=offer]'))
      .catch(() => false);
    assert.equal(shows, false, `a page-made frame shows the phone: ${f.url()}`);
  }
  assert.ok(deniedSeen >= 1, 'Chrome reported no refused load: did the page reach panel.html?');
  // Our panel still works, and still one call.
  assert.equal(await panel.getByTestId('call-state').textContent(), 'In call');
  await panel.getByTestId('call-hangup').click();
  await skipWrapUp(panel);
  const calls = await listCalls(services.apiUrl, token);
  assert.equal(calls.length, before + 1, `calls: ${JSON.stringify(calls)}`);
  await page.close();
}));

test('on an origin the tenant does not list, the page only offers calls; a hidden panel places none', run(async () => {
  const { session, services, token } = await env();
  const before = (await listCalls(services.apiUrl, token)).length;
  // The tenant trusts only the other demo CRM; the worker learns it at its next config load.
  // (The extension's own origin stays listed: the server checks it on the worker's requests.)
  await allowOrigins(services.apiUrl, [new URL(services.amsCrm).origin, 'chrome-extension://*']);
  const popup = await session.openPopup();
  await popup.getByTestId('sign-out').click();
  await signIn(popup);
  await popup.close();
  try {
    const page = await session.openPage(`${services.mptCrm}/contacts`);
    await h.waitForContentReady(page);
    // The agent really clicks the page's own tel: link.
    const link = page.locator('a[href^="tel:"]').first();
    await link.scrollIntoViewIfNeeded();
    const href = await link.getAttribute('href');
    await link.click();
    const panel = await panelFrame(page);
    await panel.getByTestId('offer').waitFor({ timeout: h.TIMEOUT_MS });
    assert.equal(await panel.getByTestId('offer-origin').textContent(), `Offered by ${new URL(services.mptCrm).origin}`);
    await settle();
    assert.equal((await listCalls(services.apiUrl, token)).length, before, 'the tel: link placed a call on an origin not listed');

    // The page makes our panel invisible (its host element is in the page's DOM) and lures
    // the agent's click onto it: the call is not placed.
    await page.evaluate(() => { document.querySelector('mpt-phone-ui').style.opacity = '0.02'; });
    await panel.waitForFunction(() => document.documentElement.dataset.visible === 'false', null, { timeout: h.TIMEOUT_MS, polling: 100 });
    await panel.getByTestId('offer-call').click({ force: true });
    await panel.getByTestId('panel-hidden').waitFor({ timeout: h.TIMEOUT_MS });
    await settle();
    assert.equal((await listCalls(services.apiUrl, token)).length, before, 'a click on the invisible panel placed a call');

    // Visible again: the agent's click places it, owned by this page.
    await page.evaluate(() => { document.querySelector('mpt-phone-ui').style.opacity = ''; });
    await panel.waitForFunction(() => document.documentElement.dataset.visible === 'true', null, { timeout: h.TIMEOUT_MS, polling: 100 });
    await panel.getByTestId('offer-call').click();
    await frameText(panel, 'call-state', 'In call');
    const calls = await listCalls(services.apiUrl, token);
    assert.equal(calls.length, before + 1);
    assert.equal(calls[0].to, h.e164Of(href.replace(/^tel:/i, '')));
    await panel.getByTestId('call-hangup').click();
    await skipWrapUp(panel);
    await page.close();
  } finally {
    await allowOrigins(services.apiUrl, DEMO_ALLOWED_ORIGINS);
  }
}));

/** Evaluates `expression` in the content script's isolated world of `page` (through CDP). */
async function inContentScript(page, expression) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const contexts = [];
    cdp.on('Runtime.executionContextCreated', (e) => contexts.push(e.context));
    await cdp.send('Runtime.enable');
    const ctx = contexts.find((c) => c.auxData?.type === 'isolated' && c.name === 'MPT Phone');
    assert.ok(ctx, `no content-script world among ${JSON.stringify(contexts.map((c) => c.name))}`);
    const { result, exceptionDetails } = await cdp.send('Runtime.evaluate', {
      contextId: ctx.id, expression, awaitPromise: true, returnByValue: true,
    });
    return exceptionDetails ? { error: exceptionDetails.exception?.description ?? exceptionDetails.text } : { value: result.value };
  } finally {
    await cdp.detach().catch(() => {});
  }
}

test('content scripts cannot read the agent\'s tokens', run(async () => {
  const { session, services, token } = await env();
  const page = await session.openPage(`${services.mptCrm}/contacts`);
  await h.waitForContentReady(page);
  // Whatever storage a content script can reach holds no token (a compromised renderer
  // runs with the content script's rights).
  const tokenParts = [token.slice(0, 24)];
  for (const area of ['local', 'session', 'sync']) {
    const r = await inContentScript(page,
      `(async () => { try { return JSON.stringify(await chrome.storage.${area}.get(null)); } catch (e) { return 'denied: ' + e.message; } })()`);
    const text = r.value ?? r.error ?? '';
    assert.ok(!/access_token|refresh_token/.test(text), `storage.${area} is readable from the content script: ${text.slice(0, 200)}`);
    for (const t of tokenParts) assert.ok(!text.includes(t), `storage.${area} holds the agent's token`);
  }
  await page.close();
}));

test('no errors in any context under attack', run(async () => {
  const { session } = await env();
  await session.collectErrors();
  assert.equal(session.errors.length, 0, `errors:\n${h.formatErrors(session.errors)}`);
}));
