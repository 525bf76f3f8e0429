// MPT Phone content script, part 3 of 4: what the agent sees and clicks over the page.
//
// - ONE floating call button that follows the pointer over marked numbers (found through
//   marks.js's `hit`), toasts, and the frame of the call panel;
// - the call panel itself is an extension page (panel/panel.html, the same phone as the
//   popup) in that frame: the page can neither read nor script it. Its port to the service
//   worker is opened with a one-time nonce registered here, so a page that frames
//   panel.html itself gets nothing;
// - trusted tel:/callto: link clicks go to MPT Phone instead of the OS handler (at once on
//   the tenant's CRM origins; elsewhere the panel offers the call and waits for the agent);
// - the keyboard path: the shortcut focuses our call button on the first visible number,
//   Tab / Shift+Tab cycle, Enter calls, Esc gives focus back.
// The page is hostile: everything here lives in a *closed* shadow root made in this
// isolated world, and every control acts only on a trusted event (`isTrusted`: a real
// gesture, never `element.click()` or `dispatchEvent` from a page script).
// Kept apart from marking (marks.js) so the overlay can be rebuilt without touching detection.
(() => {
  'use strict';

  const mpt = globalThis.mptPhone;
  if (!mpt) return;
  const { root } = mpt;

  // ---------- UI: floating call button, toasts, panel frame (closed shadow root) ----------

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
        .panel { position: fixed; display: none; flex-direction: column; width: 320px; background: #fff;
                 border-radius: 12px; overflow: hidden; box-shadow: 0 6px 28px rgba(0,0,0,.28);
                 font: 13px/1.3 system-ui, sans-serif; color: #1b1b1b; }
        .panel.on { display: flex; }
        .bar { display: flex; align-items: center; gap: 6px; padding: 6px 8px; background: #1266e6; color: #fff;
               cursor: move; user-select: none; touch-action: none; }
        .bar .title { flex: 1; font-weight: 600; }
        .bar button { font: inherit; color: #fff; background: none; border: 0; cursor: pointer; padding: 0 6px; font-size: 16px; }
        .bar button:focus-visible { outline: 2px solid #9cc2ff; }
        iframe { border: 0; width: 100%; height: 440px; display: block; background: #fff; color-scheme: normal; }
        .panel.min iframe { display: none; }
      </style>
      <button class="call" type="button" data-testid="mpt-call-button" aria-label="Call"><span aria-hidden="true">📞</span><span class="label">Call</span></button>
      <div class="toast" role="status" data-testid="mpt-toast"><span class="text"></span></div>
      <div class="panel" role="dialog" aria-label="MPT Phone" data-testid="mpt-panel">
        <div class="bar" data-testid="mpt-panel-bar">
          <span class="title">MPT Phone</span>
          <button class="min" type="button" data-testid="mpt-panel-minimise" aria-label="Minimise" aria-expanded="true">–</button>
        </div>
      </div>`;
    const $ = (sel) => shadow.querySelector(sel);
    const button = $('button.call');
    const toastEl = $('.toast');
    const toastText = $('.toast .text');
    let current = null; // the match the button belongs to
    let hideTimer = 0;
    let toastTimer = 0;

    function attach() {
      if (!host.isConnected) root.appendChild(host);
    }

    function showButton(h, force) {
      attach();
      clearTimeout(hideTimer);
      if (!force && current && current.entry === h.entry) return;
      const r = h.rect;
      if (!r) return;
      current = { entry: h.entry, e164: h.e164, node: h.node, rect: r };
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
      hideTimer = setTimeout(() => { if (!keys.active) hideButton(); }, 400);
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
    button.addEventListener('click', (e) => {
      e.preventDefault();
      e.stopPropagation();
      if (!e.isTrusted) return; // a page script's click or dispatchEvent
      if (current) dial(current.e164, current.node, 'call_button', current.rect);
    });

    return { showButton, hideButton, hideSoon, toast, host, shadow, attach, $, button, get current() { return current; } };
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

  async function dial(e164, node, via, rect) {
    const msg = { type: 'Dial', number: e164, origin: location.origin, via, ...contactOf(node) };
    lastRect = rect || null;
    const reply = await mpt.send(msg);
    if (reply && reply.type === 'Error') ui.toast(reply.message);
    return reply;
  }

  // ---------- the call panel (an extension frame in the same closed shadow root) ----------

  const PANEL_W = 320;
  const PANEL_H = 472;
  let lastRect = null; // the number being called: the panel never covers it

  const panel = (() => {
    const box = ui.$('.panel');
    const bar = ui.$('.bar');
    const min = ui.$('.min');
    let frame = null;
    let shown = false;
    let saved = null; // {left, top} the agent dragged it to

    chrome.storage.sync.get('panelPosition').then((got) => {
      const p = got && got.panelPosition;
      if (p && Number.isFinite(p.left) && Number.isFinite(p.top)) saved = { left: p.left, top: p.top };
    }, () => {});

    function hex(bytes) {
      return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
    }

    /** A new frame with a fresh one-time nonce (registered first, so its port is accepted). */
    async function build() {
      const nonce = hex(crypto.getRandomValues(new Uint8Array(16)));
      const reply = await mpt.send({ type: 'OpenPanel', nonce });
      if (!reply || reply.type !== 'Ok') return;
      if (frame) frame.remove();
      frame = document.createElement('iframe');
      frame.title = 'MPT Phone call panel';
      frame.dataset.testid = 'mpt-panel-frame';
      frame.src = `${chrome.runtime.getURL('panel/panel.html')}#${nonce}`;
      box.appendChild(frame);
    }

    function overlaps(a, r) {
      return r && a.left < r.right && a.left + PANEL_W > r.left && a.top < r.bottom && a.top + PANEL_H > r.top;
    }

    function clamp(p) {
      return {
        left: Math.max(0, Math.min(p.left, innerWidth - PANEL_W)),
        top: Math.max(0, Math.min(p.top, innerHeight - 36)),
      };
    }

    /** Where to put the panel: where the agent left it, else bottom right; never over `r`. */
    function place(r) {
      const m = 16;
      const corners = [
        { left: innerWidth - PANEL_W - m, top: innerHeight - PANEL_H - m },
        { left: m, top: innerHeight - PANEL_H - m },
        { left: innerWidth - PANEL_W - m, top: m },
        { left: m, top: m },
      ].map(clamp);
      let p = saved ? clamp(saved) : corners[0];
      if (overlaps(p, r)) p = corners.find((c) => !overlaps(c, r)) || p;
      box.style.left = `${p.left}px`;
      box.style.top = `${p.top}px`;
    }

    function open() {
      ui.attach();
      if (!shown) place(lastRect);
      shown = true;
      box.classList.add('on');
      if (!frame) build();
    }

    function close() {
      shown = false;
      box.classList.remove('on');
      box.classList.remove('min');
      if (frame) { frame.remove(); frame = null; }
    }

    function rebuild() {
      if (shown) build();
    }

    // Minimise / restore (trusted clicks only).
    min.addEventListener('click', (e) => {
      e.stopPropagation();
      if (!e.isTrusted) return;
      const isMin = box.classList.toggle('min');
      min.setAttribute('aria-expanded', String(!isMin));
      min.setAttribute('aria-label', isMin ? 'Restore' : 'Minimise');
    });

    // Drag by the bar (the agent's own pointer only); the spot is remembered.
    let drag = null;
    bar.addEventListener('pointerdown', (e) => {
      if (!e.isTrusted || e.button !== 0 || e.target === min) return;
      const b = box.getBoundingClientRect();
      drag = { dx: e.clientX - b.left, dy: e.clientY - b.top };
      bar.setPointerCapture(e.pointerId);
      e.preventDefault();
    });
    bar.addEventListener('pointermove', (e) => {
      if (!drag || !e.isTrusted) return;
      const p = clamp({ left: e.clientX - drag.dx, top: e.clientY - drag.dy });
      box.style.left = `${p.left}px`;
      box.style.top = `${p.top}px`;
    });
    bar.addEventListener('pointerup', (e) => {
      if (!drag || !e.isTrusted) return;
      drag = null;
      saved = { left: parseFloat(box.style.left) || 0, top: parseFloat(box.style.top) || 0 };
      chrome.storage.sync.set({ panelPosition: saved }).catch(() => {});
    });

    return { open, close, rebuild, get shown() { return shown; } };
  })();

  // ---------- keyboard path ----------

  const keys = (() => {
    let list = [];
    let at = 0;
    let before = null; // what had focus before the shortcut
    const state = { active: false };

    function focusAt(i) {
      const h = list[i];
      if (!h) return;
      at = i;
      ui.showButton(h, true);
      ui.button.focus({ preventScroll: true });
    }

    function start() {
      if (!mpt.marks) return;
      list = mpt.marks.inView(200);
      if (!list.length) {
        ui.toast('No phone numbers are visible on this page.');
        return;
      }
      if (!state.active) before = document.activeElement;
      state.active = true;
      focusAt(0);
    }

    function stop(giveBack) {
      state.active = false;
      ui.hideButton();
      if (giveBack && before && typeof before.focus === 'function') before.focus({ preventScroll: true });
      before = null;
    }

    ui.button.addEventListener('keydown', (e) => {
      if (!e.isTrusted) return;
      if (e.key === 'Escape') {
        e.preventDefault();
        stop(true);
      } else if (e.key === 'Tab' && state.active) {
        e.preventDefault();
        focusAt((at + (e.shiftKey ? list.length - 1 : 1)) % list.length);
      } else if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        const h = list[at] || ui.current;
        if (h) dial(h.e164, h.node, 'call_button', h.rect);
        stop(false);
      }
    });
    ui.button.addEventListener('blur', () => { if (state.active) setTimeout(() => { if (state.active && ui.shadow.activeElement !== ui.button) stop(false); }, 0); });

    return Object.assign(state, { start });
  })();

  // ---------- the service worker's pushes ----------

  let signedIn = false;
  mpt.onPush((msg) => {
    if (!msg) return;
    if (msg.type === 'PhoneState') {
      signedIn = !!msg.signed_in;
      if (msg.panel) panel.open();
      else if (panel.shown) panel.close();
    } else if (msg.type === 'PanelGone') {
      panel.rebuild();
    } else if (msg.type === 'FocusNumbers') {
      if (window === window.top) keys.start();
    }
  });
  // The worker restarted: the panel's port died with it, so the frame is made anew.
  mpt.onReconnect(() => panel.rebuild());

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
    // tel:/callto: links go to MPT Phone instead of the OS handler. Only a real click: a
    // page script's `a.click()` or synthetic MouseEvent is not trusted (and is left to the
    // browser, which never reaches our phone). The worker dials at once only on the
    // tenant's CRM origins; elsewhere the panel offers the call to the agent.
    if (!e.isTrusted || mpt.invalidated || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target instanceof Element && e.target.closest('a[href^="tel:" i], a[href^="callto:" i]');
    if (!a || !mpt.marks) return;
    if (mpt.prefs && mpt.prefs.telLinks === 'browser') return; // the agent leaves tel: links to the browser
    // Decided now (the promise below settles after the default action would run).
    e.preventDefault();
    const rect = a.getBoundingClientRect();
    mpt.marks.normalizeHref(a.getAttribute('href') || '').then((e164) => {
      if (e164) dial(e164, a, 'tel_link', rect);
      else ui.toast('MPT Phone cannot read this phone link.');
    });
  }

  // MPT Phone disabled on this site: our UI goes with the marks.
  if (mpt.onDisabled) mpt.onDisabled(() => { ui.hideButton(); panel.close(); });

  mpt.onContextLost(() => {
    ui.hideButton();
    panel.close();
    ui.toast('MPT Phone was updated. Reload this tab to call from it.', true);
  });

  document.addEventListener('pointermove', onPointerMove, { passive: true });
  document.addEventListener('click', onClick, true);
  window.addEventListener('scroll', () => { if (!keys.active) ui.hideButton(); }, { passive: true, capture: true });

  mpt.overlay = { get signedIn() { return signedIn; } };
  mpt.connect();
})();
