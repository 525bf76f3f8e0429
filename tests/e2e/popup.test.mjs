// The popup without a reachable server: the dialer formats as you type, explains
// why it cannot call, keeps its draft across reopenings, and a sign-in against an
// unreachable server is shown in the UI (not logged as an error).

import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';

import * as h from './harness.mjs';
import { extensionFor } from './extension-helpers.mjs';

/** A loopback URL nobody listens on (a port we bound, then released). */
async function deadServerUrl() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return `http://127.0.0.1:${port}`;
}

const { env, run } = h.fileEnv(async (own) => {
  own.deadUrl = await deadServerUrl();
  own.session = await h.launchBrowser({ extensionDir: extensionFor(own.deadUrl) });
  await own.session.waitForServiceWorkerReady();
});

test('dialer formats as you type and says why it cannot call', run(async () => {
  const { session } = await env();
  const popup = await session.openPopup();
  const input = popup.getByTestId('dial-input');
  const reason = popup.getByTestId('dial-reason');
  const call = popup.getByTestId('dial-call');
  await input.waitFor({ timeout: h.TIMEOUT_MS });
  assert.equal(await reason.textContent(), 'Enter a number to call');
  assert.equal(await call.isDisabled(), true);
  for (const k of ['4', '1', '5', '5', '5', '5']) await popup.getByTestId(`dial-key-${k}`).click();
  assert.equal(await input.inputValue(), '(415) 555');
  assert.match(await reason.textContent(), /too short/i);
  await input.fill('4155550134');
  assert.equal(await input.inputValue(), '(415) 555-0134');
  // Valid number, but signed out.
  assert.equal(await reason.textContent(), 'Sign in to place calls');
  assert.equal(await call.isDisabled(), true);
  // Backspace over a formatting character still deletes a digit.
  await input.fill('(415) ');
  await input.press('End');
  await input.press('Backspace');
  assert.equal((await input.inputValue()).replace(/\D/g, ''), '41');
  await input.fill('+44 20 7946 0958');
  assert.equal(await reason.textContent(), 'Sign in to place calls');
  await popup.close();
  // The draft survives closing the popup.
  const again = await session.openPopup();
  await again.getByTestId('dial-input').waitFor({ timeout: h.TIMEOUT_MS });
  assert.match(await again.getByTestId('dial-input').inputValue(), /^\+44 ?20/);
  await again.close();
}));

test('sign-in against an unreachable server shows the reason in the popup', run(async () => {
  const { session, deadUrl } = await env();
  const popup = await session.openPopup();
  assert.equal(await popup.getByTestId('server-url').textContent(), deadUrl);
  await popup.getByTestId('sign-in-email').fill('agent@demo.mpt-phone.test');
  await popup.getByTestId('sign-in-password').fill('whatever');
  await popup.getByTestId('sign-in-submit').click();
  const error = popup.getByTestId('phone-error');
  await error.waitFor({ timeout: h.TIMEOUT_MS });
  // The text of PhoneErrorCode::Unavailable (docs/errors.md), the same in every surface.
  assert.equal(await error.getAttribute('data-code'), 'unavailable');
  assert.equal(await error.locator('span').textContent(), 'MPT Phone cannot reach its server. Check your connection.');
  // Still signed out, form still there.
  assert.equal(await popup.getByTestId('sign-in-form').count(), 1);
  await popup.close();
}));

test('no errors in any context while offline', run(async () => {
  const { session } = await env();
  await session.collectErrors();
  assert.equal(session.errors.length, 0, `errors:\n${h.formatErrors(session.errors)}`);
}));
