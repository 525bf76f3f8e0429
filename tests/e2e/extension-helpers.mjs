// Helpers shared by the extension's own end-to-end tests (click-to-call, popup).

import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import * as h from './harness.mjs';

/** The demo tenant's agent (api-server `serve --demo`, see api-server/src/seed.rs). */
export const AGENT = { email: 'agent@demo.mpt-phone.test', password: 'demo-agent-pass' };

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
