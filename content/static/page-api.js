// MPT Phone page API (the page's own world): `<mpt-phone>` for CRMs that integrate with
// the extension, with the commands and events of docs/page-api.md (the same names as
// the widget's). It only forwards: requests go to the extension's isolated content script
// as `mpt-phone:request` events (JSON strings), which decides nothing either — the service
// worker does, from the browser's sender. Defined only if the page has not defined
// `<mpt-phone>` itself (our widget), in which case the page's calling is left to it.
(() => {
  'use strict';

  if (!window.customElements || customElements.get('mpt-phone')) return;

  let next = 1;
  const pending = new Map();
  const elements = new Set();

  class MptPhoneError extends Error {
    constructor(code, message) {
      super(message);
      this.name = 'MptPhoneError';
      this.code = code;
    }
  }

  // The two worlds' scripts start in no fixed order: requests wait until the isolated
  // half has said it listens (`mpt-phone:bridge-ready`, sent when it starts and in answer
  // to every hello).
  let bridgeUp = false;
  const queue = [];
  function post(detail) {
    document.dispatchEvent(new CustomEvent('mpt-phone:request', { detail }));
  }
  document.addEventListener('mpt-phone:bridge-ready', () => {
    if (bridgeUp) return;
    bridgeUp = true;
    document.dispatchEvent(new CustomEvent('mpt-phone:hello'));
    for (const d of queue.splice(0)) post(d);
  });

  function request(method, args) {
    return new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      const detail = JSON.stringify({ id, method, args });
      if (bridgeUp) post(detail);
      else queue.push(detail);
    });
  }

  document.addEventListener('mpt-phone:response', (e) => {
    let r;
    try { r = JSON.parse(e.detail); } catch (_) { return; }
    const p = r && pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (r.ok) p.resolve(r.payload);
    else p.reject(new MptPhoneError(r.error && r.error.code, r.error && r.error.message));
  });

  let ready = false;
  document.addEventListener('mpt-phone:event', (e) => {
    let ev;
    try { ev = JSON.parse(e.detail); } catch (_) { return; }
    if (!ev || typeof ev.name !== 'string') return;
    if (ev.name === 'ready') ready = true;
    for (const el of elements) el.dispatchEvent(new CustomEvent(ev.name, { detail: ev.detail }));
  });

  class MptPhoneElement extends HTMLElement {
    connectedCallback() {
      elements.add(this);
      // An element added after the phone became ready still hears `ready` (once, async).
      if (ready) queueMicrotask(() => this.dispatchEvent(new CustomEvent('ready', { detail: {} })));
    }
    disconnectedCallback() { elements.delete(this); }
    dial(number, options) { return request('dial', { ...(options || {}), number }); }
    hangup() { return request('hangup'); }
    mute(muted) { return request('mute', { muted: muted !== false }); }
    sendDigits(digits) { return request('sendDigits', { digits }); }
    answer() { return request('answer'); }
    decline() { return request('decline'); }
    setContact(contact) { return request('setContact', contact); }
    setTheme(theme) { return request('setTheme', theme); }
    setAuthToken(token) { return request('setAuthToken', token); }
  }

  customElements.define('mpt-phone', MptPhoneElement);
  document.dispatchEvent(new CustomEvent('mpt-phone:hello'));
})();
