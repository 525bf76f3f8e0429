// MPT Phone content script, part 3 of 3: what the agent sees and clicks over the page.
//
// - ONE floating call button (in a closed-off shadow root) that follows the pointer over
//   marked numbers (found through marks.js's `hit`), and toasts;
// - trusted tel:/callto: link clicks dial through MPT Phone instead of the OS handler;
// - the call overlay, from the service worker's CallState pushes (sent only to the document
//   that placed the call).
// The page is hostile: the call button and the overlay live in a *closed* shadow root made
// in this isolated world, so page scripts can neither read them nor reach their controls,
// and every control acts only on a trusted event (`isTrusted`: a real gesture, never
// `element.click()` or `dispatchEvent` from a page script).
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
    const shadow = host.attachShadow({ mode: 'closed' });
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
    button.addEventListener('keydown', (e) => { if (e.isTrusted && e.key === 'Escape') hideButton(); });
    button.addEventListener('click', (e) => {
      e.preventDefault();
      e.stopPropagation();
      if (!e.isTrusted) return; // a page script's click or dispatchEvent
      if (current) dial(current.e164, current.node);
    });

    return { showButton, hideButton, hideSoon, toast, host, shadow, attach, get current() { return current; } };
  })();

  // CRM adapters, as data: which pages (URL and a page marker), the record container
  // around a number, and where the record's id and name are. They only label the call
  // log (contact_id, contact_name, crm); they grant nothing (CONTRACTS.md §1). Without a
  // name here, the phone engine looks the number up (caller ID).
  const CRM_ADAPTERS = [
    {
      crm: 'MPT-CRM', url: /^https?:\/\/(?:127\.0\.0\.1|localhost)(?::\d+)?\//, page: 'body.mpt',
      record: '[data-contact-id]', idAttr: 'data-contact-id', name: ['td.name', '.who h1'],
    },
    {
      crm: 'AMS-APP-CRM', url: /^https?:\/\/(?:127\.0\.0\.1|localhost)(?::\d+)?\//, page: 'body.ams',
      record: '[data-contact-id]', idAttr: 'data-contact-id', name: ['.client-card > header h2'],
    },
  ];
  const MAX_FIELD = 200;

  /** The contact a number belongs to, as the page's CRM adapter reads it: {contact_id?, contact_name?, crm?}. */
  function contactOf(node) {
    const el = node && (node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement);
    if (!el) return {};
    const a = CRM_ADAPTERS.find((x) => x.url.test(location.href) && document.querySelector(x.page));
    const holder = el.closest(a ? a.record : '[data-contact-id]');
    if (!holder) return {};
    const out = {};
    const id = holder.getAttribute(a ? a.idAttr : 'data-contact-id');
    if (id) out.contact_id = id.trim().slice(0, MAX_FIELD);
    if (a) {
      out.crm = a.crm;
      for (const sel of a.name) {
        const n = holder.matches(sel) ? holder : holder.querySelector(sel);
        const text = n && n.textContent.replace(/\s+/g, ' ').trim();
        if (text) { out.contact_name = text.slice(0, MAX_FIELD); break; }
      }
    }
    return out;
  }

  async function dial(e164, node) {
    const msg = { type: 'Dial', number: e164, origin: location.origin, ...contactOf(node) };
    const reply = await mpt.send(msg);
    if (reply && reply.type === 'Error') ui.toast(reply.message);
  }

  let moveQueued = false;
  let lastMove = null;
  function onPointerMove(e) {
    // Only the agent's own pointer moves the call button: a page script's synthetic
    // pointermove cannot park it under the agent's cursor.
    if (!e.isTrusted || mpt.invalidated) return;
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
    // tel:/callto: links dial through MPT Phone instead of the OS handler. Only a real
    // click: a page script's `a.click()` or synthetic MouseEvent is not trusted (and is left
    // to the browser, which never reaches our phone).
    if (!e.isTrusted || mpt.invalidated || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target instanceof Element && e.target.closest('a[href^="tel:" i], a[href^="callto:" i]');
    if (!a || !mpt.marks) return;
    if (mpt.prefs && mpt.prefs.telLinks === 'browser') return; // the agent leaves tel: links to the browser
    // Decided now (the promise below settles after the default action would run).
    e.preventDefault();
    mpt.marks.normalizeHref(a.getAttribute('href') || '').then((e164) => {
      if (e164) dial(e164, a);
      else ui.toast('MPT Phone cannot read this phone link.');
    });
  }

  // ---------- call overlay (same closed shadow root) ----------

  const overlay = (() => {
    const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];
    const ENDED_HIDE_MS = 6000;
    const style = document.createElement('style');
    style.textContent = `
      .card { position: fixed; right: 16px; bottom: 16px; width: 260px; display: none; background: #fff;
              border-radius: 12px; padding: 14px; box-shadow: 0 6px 28px rgba(0,0,0,.28);
              border-top: 4px solid #1266e6; font: 14px/1.35 system-ui, -apple-system, "Segoe UI", sans-serif;
              color: #1b1b1b; z-index: 2147483647; }
      .card.on { display: block; }
      .card[data-state="ended"] { border-top-color: #8a8a8a; }
      .row { display: flex; align-items: center; justify-content: space-between; gap: 8px; }
      .state { font-weight: 600; font-size: 13px; color: #1266e6; }
      .card[data-state="ended"] .state { color: #555; }
      .timer { font-variant-numeric: tabular-nums; font-size: 13px; color: #333; }
      .number { font-size: 18px; font-weight: 600; margin: 6px 0 2px; letter-spacing: .2px; }
      .contact { font-size: 12px; color: #555; min-height: 1em; }
      .actions { display: flex; gap: 8px; margin-top: 12px; }
      .card button { font: inherit; font-size: 13px; border-radius: 8px; border: 1px solid #c9d3e3;
               background: #f4f7fb; color: #1b1b1b; padding: 7px 10px; cursor: pointer; flex: 1; }
      .card button:focus-visible { outline: 2px solid #1266e6; outline-offset: 1px; }
      .card button[aria-pressed="true"] { background: #fde7c4; border-color: #d97706; }
      .card button.hangup { background: #d62d20; border-color: #d62d20; color: #fff; }
      .card button.close { flex: 0; border: 0; background: none; padding: 2px 6px; font-size: 16px; }
      .keypad { display: grid; grid-template-columns: repeat(3, 1fr); gap: 6px; margin-top: 10px; }
      .keypad button { padding: 8px 0; font-size: 16px; }
      .hidden { display: none !important; }`;
    const card = document.createElement('div');
    card.className = 'card';
    card.setAttribute('role', 'dialog');
    card.setAttribute('aria-label', 'MPT Phone call');
    card.dataset.testid = 'mpt-overlay';
    card.innerHTML = `
      <div class="row">
        <span class="state" data-testid="overlay-state" aria-live="polite"></span>
        <span class="timer" data-testid="overlay-timer"></span>
        <button class="close hidden" type="button" data-testid="overlay-close" aria-label="Close">×</button>
      </div>
      <div class="number" data-testid="overlay-number"></div>
      <div class="contact" data-testid="overlay-contact"></div>
      <div class="actions live">
        <button class="mute" type="button" data-testid="overlay-mute" aria-pressed="false">Mute</button>
        <button class="pad" type="button" data-testid="overlay-keypad-toggle" aria-expanded="false">Keypad</button>
        <button class="hangup" type="button" data-testid="overlay-hangup">Hang up</button>
      </div>
      <div class="keypad hidden" data-testid="overlay-keypad"></div>`;
    const $ = (sel) => card.querySelector(sel);
    const keypad = $('.keypad');
    let call = null;
    let tick = 0;
    let hide = 0;

    /** Listens for trusted activations only: a page script's events never act. */
    function onTrusted(el, type, fn) {
      el.addEventListener(type, (e) => {
        e.stopPropagation();
        if (e.isTrusted) fn(e);
      });
    }

    for (const k of KEYS) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = k;
      b.dataset.testid = `overlay-key-${k === '*' ? 'star' : k === '#' ? 'hash' : k}`;
      onTrusted(b, 'click', () => mpt.send({ type: 'SendDigits', digits: k }));
      keypad.appendChild(b);
    }
    onTrusted($('.mute'), 'click', () => mpt.send({ type: 'SetMute', muted: !(call && call.muted) }));
    onTrusted($('.hangup'), 'click', () => mpt.send({ type: 'HangUp' }));
    onTrusted($('.pad'), 'click', () => {
      const open = keypad.classList.toggle('hidden') === false;
      $('.pad').setAttribute('aria-expanded', String(open));
    });
    onTrusted($('.close'), 'click', () => card.classList.remove('on'));
    onTrusted(card, 'keydown', (e) => {
      if (call && call.phase === 'in_call' && /^[0-9*#]$/.test(e.key)) mpt.send({ type: 'SendDigits', digits: e.key });
    });

    function pad2(n) { return n < 10 ? `0${n}` : String(n); }
    function clock(s) {
      const h = Math.floor(s / 3600);
      const m = Math.floor((s % 3600) / 60);
      const sec = s % 60;
      return h ? `${h}:${pad2(m)}:${pad2(sec)}` : `${m}:${pad2(sec)}`;
    }

    function renderTimer() {
      const at = call && Number(call.answered_at_ms);
      $('.timer').textContent = at && (call.phase === 'in_call' || call.phase === 'ended')
        ? clock(Math.max(0, Math.floor((Date.now() - at) / 1000))) : '';
    }

    /** Shows `c` (the service worker's CallView) or hides the overlay when null. */
    function render(c) {
      const wasEnded = call && call.phase === 'ended';
      call = c;
      clearTimeout(hide);
      if (!c) {
        clearInterval(tick);
        tick = 0;
        card.classList.remove('on');
        card.removeAttribute('data-state');
        return;
      }
      if (!card.isConnected) {
        ui.attach();
        ui.shadow.append(style, card);
      }
      const ended = c.phase === 'ended';
      card.dataset.state = c.phase;
      card.dataset.number = c.number || '';
      card.dataset.contactId = c.contact_id || '';
      card.dataset.callId = c.call_id || '';
      if (c.muted) card.dataset.muted = ''; else delete card.dataset.muted;
      card.classList.add('on');
      // Words and the number's display come from the phone engine (mpt-core), as in the popup.
      $('.state').textContent = c.label || '';
      $('.number').textContent = c.number_display || c.number || '';
      $('.contact').textContent = c.contact_name || c.contact_id || '';
      const mute = $('.mute');
      mute.textContent = c.muted ? 'Unmute' : 'Mute';
      mute.setAttribute('aria-pressed', String(!!c.muted));
      mute.disabled = c.phase !== 'in_call';
      $('.pad').disabled = c.phase !== 'in_call';
      $('.live').classList.toggle('hidden', ended);
      $('.close').classList.toggle('hidden', !ended);
      if (c.phase !== 'in_call') {
        keypad.classList.add('hidden');
        $('.pad').setAttribute('aria-expanded', 'false');
      }
      if (c.phase === 'in_call' && !tick) tick = setInterval(renderTimer, 1000);
      if (c.phase !== 'in_call') { clearInterval(tick); tick = 0; }
      if (!ended || !wasEnded) renderTimer();
      if (ended) hide = setTimeout(() => card.classList.remove('on'), ENDED_HIDE_MS);
    }

    return { render };
  })();

  function applyCallState(msg) {
    overlay.render(msg.call || null);
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
