// MPT Phone content script, part 3 of 3: what the agent sees and clicks over the page.
//
// - ONE floating call button (in a closed-off shadow root) that follows the pointer over
//   marked numbers (found through marks.js's `hit`), and toasts;
// - tel:/callto: link clicks dial through MPT Phone instead of the OS handler;
// - drives the <mpt-phone> call overlay (defined by mpt-phone-element.js in the page's main
//   world) from the service worker's CallState pushes.
// Kept apart from marking (marks.js) so the overlay can be rebuilt without touching detection.
(() => {
  'use strict';

  const mpt = globalThis.mptPhone;
  if (!mpt) return;
  const { root } = mpt;

  // ---------- UI: floating call button + toasts (shadow root) ----------

  const ui = (() => {
    const host = document.createElement('mpt-phone-ui');
    host.style.cssText = 'all: initial; position: fixed; inset: 0 auto auto 0; width: 0; height: 0; z-index: 2147483646;';
    const shadow = host.attachShadow({ mode: 'open' });
    shadow.innerHTML = `
      <style>
        :host { all: initial; }
        button.call {
          position: fixed; display: none; align-items: center; gap: 4px;
          font: 600 12px/1 system-ui, sans-serif; color: #fff; background: #1266e6;
          border: 0; border-radius: 12px; padding: 5px 9px; cursor: pointer;
          box-shadow: 0 1px 4px rgba(0,0,0,.3);
        }
        button.call:hover, button.call:focus-visible { background: #0b4fb8; outline: 2px solid #9cc2ff; }
        .toast {
          position: fixed; right: 16px; bottom: 16px; max-width: 320px; display: none;
          font: 13px/1.4 system-ui, sans-serif; color: #1b1b1b; background: #fff;
          border-left: 4px solid #1266e6; border-radius: 6px; padding: 10px 12px;
          box-shadow: 0 2px 12px rgba(0,0,0,.25);
        }
        .toast.warn { border-left-color: #d97706; }
        .toast button { margin-left: 8px; font: inherit; cursor: pointer; }
      </style>
      <button class="call" type="button" data-testid="mpt-call-button" aria-label="Call"><span aria-hidden="true">📞</span><span class="label">Call</span></button>
      <div class="toast" role="status" data-testid="mpt-toast"><span class="text"></span></div>`;
    const button = shadow.querySelector('button.call');
    const label = shadow.querySelector('.label');
    const toastEl = shadow.querySelector('.toast');
    const toastText = shadow.querySelector('.toast .text');
    let current = null; // the match the button belongs to
    let hideTimer = 0;
    let toastTimer = 0;

    function attach() {
      if (!host.isConnected) root.appendChild(host);
    }

    function showButton(h) {
      attach();
      clearTimeout(hideTimer);
      if (current && current.entry === h.entry) return;
      const r = h.rect;
      if (!r) return;
      current = { entry: h.entry, e164: h.e164, node: h.node };
      label.textContent = 'Call';
      button.title = `Call ${h.e164} with MPT Phone`;
      button.setAttribute('aria-label', button.title);
      button.dataset.number = h.e164;
      button.style.display = 'inline-flex';
      const left = Math.min(r.right + 4, window.innerWidth - 70);
      button.style.left = `${Math.max(0, left)}px`;
      button.style.top = `${Math.max(0, r.top + r.height / 2 - 11)}px`;
    }

    function hideButton() {
      current = null;
      button.style.display = 'none';
    }

    function hideSoon() {
      clearTimeout(hideTimer);
      hideTimer = setTimeout(hideButton, 400);
    }

    function toast(text, sticky) {
      attach();
      toastText.textContent = text;
      toastEl.classList.toggle('warn', !!sticky);
      toastEl.style.display = 'block';
      clearTimeout(toastTimer);
      if (!sticky) toastTimer = setTimeout(() => { toastEl.style.display = 'none'; }, 4000);
    }

    button.addEventListener('pointerenter', () => clearTimeout(hideTimer));
    button.addEventListener('pointerleave', hideSoon);
    button.addEventListener('keydown', (e) => { if (e.key === 'Escape') hideButton(); });
    button.addEventListener('click', (e) => {
      e.preventDefault();
      e.stopPropagation();
      if (current) dial(current.e164, current.node);
    });

    return { showButton, hideButton, hideSoon, toast, host, get current() { return current; } };
  })();

  async function dial(e164, node) {
    const el = node && (node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement);
    const holder = el && el.closest('[data-contact-id]');
    const msg = { type: 'Dial', number: e164, origin: location.origin };
    if (holder && holder.dataset.contactId) msg.contact_id = holder.dataset.contactId;
    const reply = await mpt.send(msg);
    if (reply && reply.type === 'Error') ui.toast(reply.message);
  }

  let moveQueued = false;
  let lastMove = null;
  function onPointerMove(e) {
    if (mpt.invalidated) return;
    lastMove = e;
    if (moveQueued) return;
    moveQueued = true;
    requestAnimationFrame(() => {
      moveQueued = false;
      const h = lastMove && mpt.marks && mpt.marks.hit(lastMove.clientX, lastMove.clientY);
      if (h) ui.showButton(h);
      else if (ui.current) ui.hideSoon();
    });
  }

  function onClick(e) {
    // tel:/callto: links dial through MPT Phone instead of the OS handler.
    if (mpt.invalidated || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target instanceof Element && e.target.closest('a[href^="tel:" i], a[href^="callto:" i]');
    if (!a || !mpt.marks) return;
    // Decided now (the promise below settles after the default action would run).
    e.preventDefault();
    mpt.marks.normalizeHref(a.getAttribute('href') || '').then((e164) => {
      if (e164) dial(e164, a);
      else ui.toast('MPT Phone cannot read this phone link.');
    });
  }

  // ---------- <mpt-phone> overlay ----------

  let overlay = null;

  function ensureOverlay() {
    if (overlay && overlay.isConnected) return overlay;
    overlay = document.createElement('mpt-phone');
    overlay.setAttribute('data-testid', 'mpt-phone-overlay');
    overlay.addEventListener('mpt-phone-hangup', () => mpt.send({ type: 'HangUp' }));
    overlay.addEventListener('mpt-phone-mute', () => mpt.send({ type: 'SetMute', muted: true }));
    overlay.addEventListener('mpt-phone-unmute', () => mpt.send({ type: 'SetMute', muted: false }));
    overlay.addEventListener('mpt-phone-digits', (e) => {
      const digits = typeof e.detail === 'string' ? e.detail : overlay.getAttribute('last-digits');
      if (digits) mpt.send({ type: 'SendDigits', digits });
    });
    root.appendChild(overlay);
    return overlay;
  }

  function setAttr(el, name, value) {
    if (value === null || value === undefined || value === '') el.removeAttribute(name);
    else if (el.getAttribute(name) !== String(value)) el.setAttribute(name, String(value));
  }

  function applyCallState(msg) {
    const call = msg.call;
    if (!call && !overlay) return;
    const el = ensureOverlay();
    setAttr(el, 'state', call ? call.phase : '');
    setAttr(el, 'number', call ? call.number : '');
    setAttr(el, 'contact', call ? call.contact_id : '');
    setAttr(el, 'answered-at', call ? call.answered_at_ms : '');
    setAttr(el, 'end-reason', call ? call.end_reason : '');
    if (call && call.muted) el.setAttribute('muted', ''); else el.removeAttribute('muted');
    // The label and the number's display come from the phone engine (mpt-core), the same
    // words the popup shows.
    setAttr(el, 'label', call ? call.label : '');
    setAttr(el, 'display-number', call ? call.number_display : '');
  }

  chrome.runtime.onMessage.addListener((msg) => {
    if (msg && msg.type === 'CallState') applyCallState(msg);
    return false;
  });

  mpt.onContextLost(() => {
    ui.hideButton();
    ui.toast('MPT Phone was updated. Reload this tab to call from it.', true);
  });

  document.addEventListener('pointermove', onPointerMove, { passive: true });
  document.addEventListener('click', onClick, true);
  window.addEventListener('scroll', () => ui.hideButton(), { passive: true, capture: true });

  // The current call (a tab opened mid-call shows it at once).
  mpt.send({ type: 'Hello' }).then((hello) => {
    if (hello && hello.type === 'CallState') applyCallState(hello);
  });
})();
