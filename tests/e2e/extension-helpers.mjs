// Helpers shared by the extension's own end-to-end tests (click-to-call, popup).

import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import * as h from './harness.mjs';

/** The demo tenant's agent (api-server `serve --demo`, see api-server/src/seed.rs). */
export const AGENT = h.DEMO_AGENT;

/** A copy of dist/extension whose manifest and config.json point at `serverUrl`. */
export function extensionFor(serverUrl) {
  const src = h.prerequisites().extensionDir;
  const dir = path.join(h.freshTempDir('mpt-e2e-ext-'), 'extension');
  cpSync(src, dir, { recursive: true });
  const origin = new URL(serverUrl).origin;
  const manifestPath = path.join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  manifest.host_permissions = [`${origin}/*`];
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  config.server_url = origin;
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** Signs in through the popup form; resolves once the account is shown. */
export async function signIn(popup) {
  await popup.getByTestId('sign-in-email').fill(AGENT.email);
  await popup.getByTestId('sign-in-password').fill(AGENT.password);
  await popup.getByTestId('sign-in-submit').click();
  await popup.getByTestId('account-email').waitFor({ timeout: h.TIMEOUT_MS });
}

/**
 * The extension's own UI (call button, call overlay) lives in a *closed* shadow root
 * that page scripts, and so Playwright's locators, cannot enter. Tests reach it the way
 * the browser does: through the DevTools DOM with `pierce: true`, then act on it with
 * Playwright's real (trusted) mouse. Returns `{ box: {x, y} | null, text, attrs }` of the
 * first element with `data-testid=testid`, or null when there is none.
 */
export async function ourElement(page, testid) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { root } = await cdp.send('DOM.getDocument', { depth: -1, pierce: true });
    let found = null;
    const walk = (n) => {
      if (found) return;
      const a = n.attributes || [];
      for (let i = 0; i < a.length; i += 2) if (a[i] === 'data-testid' && a[i + 1] === testid) { found = n; return; }
      for (const c of [...(n.shadowRoots || []), ...(n.children || [])]) walk(c);
    };
    walk(root);
    if (!found) return null;
    const attrs = {};
    for (let i = 0; i < found.attributes.length; i += 2) attrs[found.attributes[i]] = found.attributes[i + 1];
    let box = null;
    try {
      const { model } = await cdp.send('DOM.getBoxModel', { backendNodeId: found.backendNodeId });
      const q = model.border;
      if (model.width > 0 && model.height > 0) box = { x: (q[0] + q[4]) / 2, y: (q[1] + q[5]) / 2 };
    } catch (_) { /* not rendered (display: none) */ }
    const { object } = await cdp.send('DOM.resolveNode', { backendNodeId: found.backendNodeId });
    const { result } = await cdp.send('Runtime.callFunctionOn', {
      objectId: object.objectId, functionDeclaration: 'function () { return this.textContent; }', returnByValue: true,
    });
    return { box, text: result.value, attrs };
  } finally {
    await cdp.detach().catch(() => {});
  }
}

/** Polls `ourElement` until `pred(el)` holds (the closed shadow root has no observer we can use). */
export async function waitOurElement(page, testid, pred = (el) => !!(el && el.box), timeout = h.TIMEOUT_MS) {
  const deadline = Date.now() + timeout;
  let el = null;
  while (Date.now() < deadline) {
    el = await ourElement(page, testid);
    if (pred(el)) return el;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${testid}: condition not met; last seen ${JSON.stringify(el)}`);
}

/** A trusted (real mouse) click on our element `testid`. */
export async function clickOurs(page, testid) {
  const el = await waitOurElement(page, testid);
  await page.mouse.click(el.box.x, el.box.y);
}

/** Signs in with the agent's password against the api-server; returns the bearer token. */
export async function agentToken(apiUrl) {
  const auth = await fetch(`${apiUrl}/api/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(AGENT),
  }).then((r) => r.json());
  return auth.access_token;
}

/** `GET /api/calls` items for the agent. */
export async function listCalls(apiUrl, token) {
  const r = await fetch(`${apiUrl}/api/calls`, { headers: { authorization: `Bearer ${token}` } });
  if (!r.ok) throw new Error(`GET /api/calls: ${r.status}`);
  const body = await r.json();
  return body.items ?? body;
}

/**
 * The call panel: an extension frame (panel/panel.html) inside our closed shadow root.
 * Playwright reaches out-of-process frames directly; clicks in it are real (trusted)
 * input. Resolves to the frame once its phone (or its "signed out" note) is shown.
 */
export async function panelFrame(page, timeout = h.TIMEOUT_MS) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const f = page.frames().find((x) => /^chrome-extension:\/\/[^/]+\/panel\/panel\.html#/.test(x.url()));
    if (f) {
      const ready = await f.evaluate(() => !!document.querySelector('[data-testid=phone], [data-testid=panel-signed-out], [data-testid=offer]')).catch(() => false);
      if (ready) return f;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no call panel in ${page.url()}; frames: ${page.frames().map((f) => f.url()).join(', ')}`);
}

/** Resolves when `testid` in frame `f` has text `text` (polled: the frame may be in a background tab). */
export async function frameText(f, testid, text, timeout = h.TIMEOUT_MS) {
  await f.waitForFunction(([id, t]) => document.querySelector(`[data-testid="${id}"]`)?.textContent === t,
    [testid, text], { timeout, polling: 100 });
}

/** The demo tenant's allowed origins as seeded (api-server/src/seed.rs). */
export const DEMO_ALLOWED_ORIGINS = ['http://127.0.0.1:*', 'http://localhost:*', 'chrome-extension://*'];

/** Sets the demo tenant's allowed origins (as its admin, `PUT /api/admin/allowed-origins`). */
export async function allowOrigins(apiUrl, list) {
  const r = await h.asDemoAdmin(apiUrl, '/api/admin/allowed-origins', { method: 'PUT', body: JSON.stringify(list) });
  assert.equal(r.status, 204, await r.text());
}

/**
 * Skips the wrap-up in the call panel from the keyboard (focus, Enter), as a keyboard agent
 * does. Skipping closes the panel, which removes its out-of-process frame; when that
 * happens before Chromium acknowledges the key (or a click) to the test driver, the driver
 * waits for an acknowledgement that never comes. So the press gets a short timeout, and
 * the wrap-up must then be gone (or the panel's frame with it); only a frame still showing
 * it is pressed from inside (our own frame, which no page can reach).
 */
export async function skipWrapUp(panel) {
  await pressClosing(panel, 'wrap-up-skip', 'wrap-up', 'the wrap-up was skipped');
}

/** Saves the panel's wrap-up (its notes and disposition filled) as an agent does: as `skipWrapUp`. */
export async function saveWrapUp(panel) {
  await pressClosing(panel, 'wrap-up-save', 'wrap-up', 'the wrap-up was saved');
}

/**
 * Presses `testid` in the panel (focus, Enter), a control that closes `closes` and often the
 * panel itself: as `skipWrapUp`, `closes` (or the frame) must then be gone.
 */
export async function pressClosing(panel, testid, closes, what) {
  const control = panel.getByTestId(testid);
  await control.waitFor({ timeout: h.TIMEOUT_MS });
  const closed = (id) => !document.querySelector(`[data-testid=${id}]`);
  const gone = () => panel.isDetached()
    || panel.waitForFunction(closed, closes, { timeout: h.TIMEOUT_MS, polling: 100 })
      .then(() => true, () => panel.isDetached());
  try {
    await control.press('Enter', { timeout: 5_000 });
  } catch (e) {
    if (panel.isDetached()) return;
    if (!(await panel.evaluate(closed, closes).catch(() => panel.isDetached()))) {
      console.warn(`${testid}: the key did not reach the panel (${String(e.message).split('\n')[0]}); pressing from inside the frame`);
      await panel.evaluate((id) => document.querySelector(`[data-testid=${id}]`)?.click(), testid).catch(() => {});
    }
  }
  assert.ok(await gone(), what);
}
