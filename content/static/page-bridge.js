// MPT Phone content script, part 4 of 4 (isolated world): the page API's other half.
//
// page-api.js defines `<mpt-phone>` in the page's own world (only if the page has not
// defined one, e.g. our widget) and sends its commands here as `mpt-phone:request`
// events with JSON strings; answers go back as `mpt-phone:response`, events as
// `mpt-phone:event`. The page is the other party of this channel by design (it is the
// CRM using the API), so nothing in it is trusted: numbers are normalised by our
// detector, and what a request may do is decided by the service worker from the
// browser's sender (this document's origin and id) — at once on the tenant's CRM
// origins, elsewhere only as an offer the agent confirms in the panel. Call events reach
// only the document that owns the call, on an allowed origin. Contract: docs/page-api.md.
(() => {
  'use strict';

  const mpt = globalThis.mptPhone;
  if (!mpt) return;

  const MAX_FIELD = 200;
  const DIAL_TIMEOUT_MS = 30000;
  let active = false; // page-api.js defined the element here
  let readySent = false;
  let signedIn = false;
  /** dial() promises waiting for their call-started: {callId | null (offered), resolve, reject, timer}. */
  const dials = [];

  function toPage(type, detail) {
    document.dispatchEvent(new CustomEvent(type, { detail: JSON.stringify(detail) }));
  }

  function fail(code, message) {
    return { ok: false, error: { code, message } };
  }

  function field(v) {
    return typeof v === 'string' && v.trim() ? v.trim().slice(0, MAX_FIELD) : undefined;
  }

  function contactOf(o) {
    const c = o && typeof o === 'object' ? o : {};
    return { contact_id: field(c.contactId), contact_name: field(c.contactName), crm: field(c.crm) };
  }

  async function page(command) {
    const reply = await mpt.send({ type: 'Page', command });
    if (!reply) return fail('unavailable', 'MPT Phone is not responding.');
    if (reply.type === 'Error') return fail(reply.code, reply.message);
    return { ok: true, payload: {} };
  }

  async function dial(args) {
    const a = args && typeof args === 'object' ? args : {};
    if (typeof a.number !== 'string' || !a.number.trim() || a.number.length > 64) {
      return fail('invalid_number', 'That is not a phone number.');
    }
    if (!mpt.marks) return fail('not_ready', 'MPT Phone is still starting. Try again in a moment.');
    const e164 = await mpt.marks.normalizeHref(a.number);
    if (!e164) return fail('invalid_number', 'That is not a phone number.');
    const reply = await mpt.send({ type: 'Dial', number: e164, origin: location.origin, via: 'page_api', ...contactOf(a) });
    if (!reply) return fail('unavailable', 'MPT Phone is not responding.');
    if (reply.type === 'Error') return fail(reply.code, reply.message);
    // Dialing: resolve once the server accepted the call (call-started with its id).
    // Proposed: the agent confirms in the panel; resolve on that call's call-started.
    const callId = reply.type === 'Dialing' ? reply.call_id : null;
    // The Device may start the call before this reply arrives.
    if (callId !== null && started.includes(callId)) return { ok: true, payload: { callId } };
    // A new offer replaces the one before it.
    if (callId === null) for (const d of dials.filter((x) => x.callId === null)) settle(d, fail('not_allowed', 'Another call was offered.'));
    return new Promise((resolve) => {
      const d = { callId, resolve };
      // An offer waits for the agent as long as it is shown; a placed call for the server.
      if (callId !== null) d.timer = setTimeout(() => settle(d, fail('unavailable', 'The call was not accepted in time.')), DIAL_TIMEOUT_MS);
      dials.push(d);
    });
  }

  /** Ids of the calls that started lately (their `call-started` can beat the Dial reply). */
  const started = [];

  function settle(d, result) {
    const i = dials.indexOf(d);
    if (i < 0) return;
    dials.splice(i, 1);
    clearTimeout(d.timer);
    d.resolve(result);
  }

  async function handle(method, args) {
    switch (method) {
      case 'dial': return dial(args);
      case 'hangup': return page({ type: 'HangUp' });
      case 'mute': return page({ type: 'Mute', muted: args === true || (args && args.muted === true) });
      case 'sendDigits': {
        const digits = typeof args === 'string' ? args : args && args.digits;
        if (typeof digits !== 'string' || !/^[0-9*#w]{1,32}$/.test(digits)) return fail('invalid_number', 'Digits are 0-9, * and #.');
        return page({ type: 'SendDigits', digits });
      }
      case 'answer': return page({ type: 'Answer' });
      case 'decline': return page({ type: 'Decline' });
      case 'setContact': {
        const c = contactOf(args);
        return page({ type: 'SetContact', contact: { id: c.contact_id, name: c.contact_name, crm: c.crm } });
      }
      default:
        return fail('not_allowed', `${String(method).slice(0, 40)} is not part of the extension's page API.`);
    }
  }

  document.addEventListener('mpt-phone:hello', () => {
    document.dispatchEvent(new CustomEvent('mpt-phone:bridge-ready'));
    active = true;
    if (signedIn && !readySent) { readySent = true; toPage('mpt-phone:event', { name: 'ready', detail: {} }); }
  });

  document.addEventListener('mpt-phone:request', async (e) => {
    let req;
    try { req = JSON.parse(typeof e.detail === 'string' ? e.detail : ''); } catch (_) { return; }
    if (!req || typeof req !== 'object' || !Number.isSafeInteger(req.id) || typeof req.method !== 'string') return;
    let result;
    try {
      result = await handle(req.method, req.args);
    } catch (_) {
      result = fail('internal', 'Something went wrong in MPT Phone.');
    }
    toPage('mpt-phone:response', { id: req.id, ...result });
  });

  document.dispatchEvent(new CustomEvent('mpt-phone:bridge-ready'));

  mpt.onPush((msg) => {
    if (!msg) return;
    if (msg.type === 'PhoneState') {
      signedIn = !!msg.signed_in;
      if (active && signedIn && !readySent) { readySent = true; toPage('mpt-phone:event', { name: 'ready', detail: {} }); }
      // An offer the agent dismissed: its dial() is refused.
      if (!msg.panel) for (const d of dials.filter((x) => x.callId === null)) settle(d, fail('not_allowed', 'The agent did not place this call.'));
      return;
    }
    if (msg.type === 'OfferTaken') {
      for (const d of dials.filter((x) => x.callId === null)) settle(d, { ok: true, payload: { callId: msg.call_id } });
      return;
    }
    if (msg.type !== 'PageEvent' || !msg.event) return;
    const { name, detail } = msg.event;
    if (name === 'call-started') {
      started.push(detail.callId);
      if (started.length > 8) started.shift();
      for (const d of dials.filter((x) => x.callId === detail.callId)) settle(d, { ok: true, payload: { callId: detail.callId } });
    } else if (name === 'call-ended' || name === 'error') {
      for (const d of dials.filter((x) => x.callId !== null && (name === 'error' || x.callId === detail.callId))) {
        settle(d, name === 'error' ? fail(detail.code, detail.message) : fail('unavailable', 'The call ended before it started.'));
      }
    }
    if (active) toPage('mpt-phone:event', { name, detail });
  });
})();
