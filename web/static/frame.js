// MPT Phone iframe widget (`/widget`, docs/embed.md): the phone in its own document,
// spoken to by the parent through the postMessage envelope v1 (CONTRACTS §3).
//
// The parent's origin is pinned at start from the browser (`location.ancestorOrigins`),
// and must be one of the key's allowed origins (the server also limits who may frame
// this page with CSP frame-ancestors). Opened as a window (`<mpt-phone>` in `mode:
// popup`), the peer is `window.opener` at the origin named by `?opener=`, which must be
// allowed too. Messages from any other window or origin are ignored, and everything is
// posted to the pinned origin, never '*'. `widget.js` (loaded
// before this file) brings the engine loader and the shared helpers.
(async () => {
  'use strict';
  const cfg = JSON.parse(document.getElementById('mpt-widget-config').textContent);
  const M = globalThis.MPTPhone;
  const query = new URLSearchParams(location.search);
  // Framed: the parent, its origin from the browser. Opened as a window by `<mpt-phone>`
  // (`mode: popup`): the opener, at the origin it names; postMessage to that origin
  // reaches only a window really there, and only its messages are taken.
  const framed = window.parent !== window;
  const peer = framed ? window.parent : window.opener;
  const peerOrigin = framed
    ? (location.ancestorOrigins && location.ancestorOrigins.length ? location.ancestorOrigins[0] : null)
    : query.get('opener');
  if (!peer || !peerOrigin || !M) return; // nobody to talk to
  if (!cfg.allowedOrigins.some((p) => M._originMatches(p, peerOrigin))) return;
  const parentOrigin = peerOrigin;
  const post = (m) => peer.postMessage({ v: 1, ...m }, parentOrigin);
  // The features the host shows (`config.features`, docs/embed.md).
  let features = {};
  try {
    features = JSON.parse(query.get('features') || '{}');
  } catch (_) {
    features = null;
  }
  const errorOf = (e) => {
    const err = M._asError(e);
    return { code: err.code, message: err.message };
  };

  await M._loadScript(new URL('voice.js', document.currentScript ? document.currentScript.src : `${cfg.api}/phone/v1/`).href).catch(() => {});
  const mod = await M._engine();
  mod.onEvent((name, payload) => post({ type: 'event', name, payload }));
  try {
    if (features === null) throw M._asError({ code: 'internal', message: 'config: features is not JSON' });
    mod.mount(document.getElementById('mpt-phone'), { api: cfg.api, widgetKey: cfg.key, features, layout: framed ? undefined : 'full' });
  } catch (e) {
    post({ type: 'event', name: 'error', payload: errorOf(e) });
    return;
  }
  let authed = false;

  window.addEventListener('message', async (ev) => {
    if (ev.source !== peer || ev.origin !== parentOrigin) return;
    const m = ev.data;
    if (!m || m.v !== 1 || typeof m.type !== 'string') return;
    if (m.type === 'ping') {
      post({ type: 'ready' });
      return;
    }
    const reply = (ok, x) => post(ok
      ? { id: m.id, type: 'response', ok: true, payload: x === undefined ? {} : x }
      : { id: m.id, type: 'response', ok: false, error: errorOf(x) });
    const payload = m.payload === undefined ? {} : m.payload;
    try {
      if (m.type === 'auth' || m.type === 'setAuthToken') {
        const token = await M._embedToken(cfg.api, cfg.key, payload.token);
        await mod.command('setAuthToken', { token });
        authed = true;
        reply(true);
        return;
      }
      if (!authed) return reply(false, { code: 'not_signed_in', message: 'Send auth with an embed token first.' });
      if (!M.commands.includes(m.type)) return reply(false, { code: 'internal', message: `unknown command ${m.type}` });
      const value = m.type === 'dial' && cfg.contactId && !payload.contactId ? { ...payload, contactId: cfg.contactId } : payload;
      reply(true, await mod.command(m.type, value));
    } catch (e) {
      reply(false, e);
    }
  });
  post({ type: 'ready' });
})();
