// The services the browser tests stand on, without a browser: the demo CRMs'
// two origins, their ground truth and contacts API, and the api-server in demo mode.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import * as h from './harness.mjs';

const T = { timeout: h.TEST_TIMEOUT_MS };

let envPromise = null;
let services = null;
function env() {
  envPromise ??= (async () => {
    services = await h.startServices({ apiServer: true });
    return services;
  })();
  return envPromise;
}
after(async () => { await services?.stop(); });

const AUTH = { Authorization: 'Bearer demo-crm-token' };

test('demo CRMs listen on two loopback origins', T, async () => {
  const s = await env();
  const a = new URL(s.mptCrm);
  const b = new URL(s.amsCrm);
  assert.equal(a.hostname, '127.0.0.1');
  assert.equal(b.hostname, '127.0.0.1');
  assert.notEqual(a.port, b.port);
  assert.equal((await h.getJson(`${s.mptCrm}/__truth`)).site, 'mpt');
  assert.equal((await h.getJson(`${s.amsCrm}/__truth`)).site, 'ams');
});

test('every truth number is a valid number for libphonenumber-js; look-alikes are labelled', T, async () => {
  const s = await env();
  for (const [base, path] of [[s.mptCrm, '/contacts'], [s.mptCrm, '/contacts/c-0008'], [s.amsCrm, '/policies/p-0002']]) {
    const t = await h.truth(base, path);
    for (const n of t.numbers) assert.equal(h.e164Of(n.text), n.e164, `${path}: ${n.text}`);
    for (const la of t.not_numbers) assert.ok(la.text.length > 0 && la.kind, JSON.stringify(la));
  }
});

test('contacts API: token required, a layout per CRM', T, async () => {
  const s = await env();
  const list = await h.truth(s.mptCrm, '/contacts');
  const first = list.numbers[0];
  let res = await fetch(`${s.mptCrm}/api/contacts?phone=${encodeURIComponent(first.e164)}`);
  assert.equal(res.status, 401);
  const mpt = await h.getJson(`${s.mptCrm}/api/contacts?phone=${encodeURIComponent(first.e164)}`, AUTH);
  assert.equal(mpt.meta.total, 1);
  assert.equal(mpt.data[0].id, first.contact_id);
  const clients = await h.truth(s.amsCrm, '/clients');
  const c = clients.numbers.find((n) => n.contact_id);
  res = await fetch(`${s.amsCrm}/api/contacts?phone=${encodeURIComponent(c.e164)}`, { headers: { Authorization: 'Bearer nope' } });
  assert.equal(res.status, 401);
  const ams = await h.getJson(`${s.amsCrm}/api/contacts?phone=${encodeURIComponent(c.e164)}`, AUTH);
  assert.equal(ams.TotalCount, 1);
  assert.equal(ams.Clients[0].ClientID, c.contact_id);
  assert.equal(ams.Clients[0].Phones.Primary, c.text);
});

test('api-server starts in demo mode on a free port with a fresh data dir', T, async () => {
  const s = await env();
  assert.match(s.apiUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(s.apiEvents.some((e) => e.event === 'demo'), `events: ${JSON.stringify(s.apiEvents)}`);
  const health = await h.getJson(`${s.apiUrl}/healthz`);
  assert.equal(health.status, 'ok');
});

/** Signs the demo agent in against the api-server; returns its access token. */
async function agentToken(s) {
  const demo = s.apiEvents.find((e) => e.event === 'demo');
  assert.ok(demo && demo.agent, `no demo event with agent credentials: ${JSON.stringify(s.apiEvents)}`);
  const res = await fetch(`${s.apiUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: demo.agent.email, password: demo.agent.password }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()).access_token;
}

test('api-server caller ID goes through the CRM connectors and maps both layouts', T, async () => {
  const s = await env();
  const auth = { Authorization: `Bearer ${await agentToken(s)}` };
  const lookup = (e164) => h.getJson(`${s.apiUrl}/api/contacts/lookup?number=${encodeURIComponent(e164)}`, auth);

  // MPT-CRM: JSON:API records, E.164 numbers, name from first_name + last_name.
  const detail = await h.truth(s.mptCrm, '/contacts/c-0042');
  const work = detail.numbers.find((n) => n.field === 'work');
  const crm = await h.getJson(`${s.mptCrm}/api/contacts?phone=${encodeURIComponent(work.e164)}`, AUTH);
  const a = (await lookup(work.e164)).items.find((c) => c.source === 'MPT-CRM');
  assert.ok(a, `no MPT-CRM contact for ${work.e164}`);
  assert.equal(a.id, 'c-0042');
  assert.equal(a.name, `${crm.data[0].attributes.first_name} ${crm.data[0].attributes.last_name}`);
  assert.equal(a.company, crm.data[0].attributes.company);
  assert.equal(a.url, `${s.mptCrm}/contacts/c-0042`);

  // AMS-APP-CRM: PascalCase records whose numbers are printed, not E.164.
  const clients = await h.truth(s.amsCrm, '/clients');
  const primary = clients.numbers.find((n) => n.contact_id === 'c-2010' && n.field === 'primary');
  const b = (await lookup(primary.e164)).items.find((c) => c.source === 'AMS-APP-CRM');
  assert.ok(b, `no AMS-APP-CRM contact for ${primary.e164}`);
  assert.equal(b.id, 'c-2010');
  assert.equal(b.phone, primary.e164, 'the printed number must come back normalized');
  assert.match(b.url, new RegExp(`^${s.amsCrm}/policies/p-\\d{4}$`));

  // A number neither CRM knows.
  const none = await lookup('+12025550199');
  assert.deepEqual(none.items.filter((c) => c.source !== 'local'), []);
});
