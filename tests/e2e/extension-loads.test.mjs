// The extension loads cleanly: service worker ready, popup renders its dialer,
// the content script runs on both demo CRM origins, and no context logged an error.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as h from './harness.mjs';

const T = { timeout: h.TEST_TIMEOUT_MS };

/** Starts the demo CRMs and Chromium once for this file; every test awaits it. */
const { env, run } = h.fileEnv(async (own) => {
  own.services = await h.startServices();
  own.session = await h.launchBrowser();
});

test('service worker starts and resolves self.mptReady', T, run(async () => {
  const { session } = await env();
  assert.match(session.extensionId, /^[a-p]{32}$/);
  assert.equal(session.manifest.manifest_version, 3);
  await session.waitForServiceWorkerReady();
}));

test('popup renders a dialer input and a 12-key keypad', T, run(async () => {
  const { session } = await env();
  const popup = await session.openPopup();
  const input = popup.getByTestId('dial-input');
  await input.waitFor({ state: 'visible', timeout: h.TIMEOUT_MS });
  const keys = popup.locator('[data-testid="dial-keypad"] button');
  await keys.first().waitFor({ state: 'visible', timeout: h.TIMEOUT_MS });
  assert.equal(await keys.count(), 12);
  await popup.getByTestId('dial-key-5').click();
  assert.match(await input.inputValue(), /5$/);
  await popup.close();
}));

test('content script is ready on MPT-CRM (origin 1)', T, run(async () => {
  const { session, services } = await env();
  const page = await session.openPage(`${services.mptCrm}/contacts`);
  await h.waitForContentReady(page);
  const count = await page.evaluate(() => document.documentElement.dataset.mptPhoneCount);
  assert.ok(count !== undefined && Number(count) > 0, `data-mpt-phone-count is ${count}`);
  await page.close();
}));

test('content script is ready on AMS-APP-CRM (origin 2)', T, run(async () => {
  const { session, services } = await env();
  const page = await session.openPage(`${services.amsCrm}/clients`);
  await h.waitForContentReady(page);
  const count = await page.evaluate(() => document.documentElement.dataset.mptPhoneCount);
  assert.ok(count !== undefined && Number(count) > 0, `data-mpt-phone-count is ${count}`);
  await page.close();
}));

test('no errors in any context (pages, popup, service worker)', T, run(async () => {
  const { session } = await env();
  await session.collectErrors();
  assert.equal(session.errors.length, 0, `errors:\n${h.formatErrors(session.errors)}`);
}));
