// MPT Phone content script (classic script, isolated world).
//
// A thin DOM adapter around the Rust detector (content/mpt_content_bg.wasm):
// - collects text nodes with a TreeWalker and sends them to the detector in
//   batches (one JS↔WASM crossing per batch), re-scanning what a
//   MutationObserver reports, debounced;
// - never rewrites page text: numbers are marked with the CSS Custom Highlight
//   API and ONE floating call button follows the pointer;
// - tel:/callto: links are read from their href (and their clicks dial);
// - drives the <mpt-phone> call overlay (defined by mpt-phone-element.js in the
//   page's main world) from the service worker's CallState pushes.
// When the page's CSP forbids WebAssembly, detection runs in the service worker.
(() => {
  'use strict';

  const root = document.documentElement;
  if (!root || root.dataset.mptPhone) return; // not an HTML page, or already running

  const HIGHLIGHT = 'mpt-phone';
  const REGION = 'US';
  const DEBOUNCE_MS = 200;
  const BATCH_NODES = 4000; // text nodes per detector call
  const FULL_RESCAN_ROOTS = 64; // more dirty roots than this: rescan the whole page
  const SKIP_TAGS = new Set([
    'SCRIPT', 'STYLE', 'NOSCRIPT', 'TEXTAREA', 'INPUT', 'SELECT', 'OPTION', 'OPTGROUP',
    'TEMPLATE', 'IFRAME', 'OBJECT', 'CANVAS', 'VIDEO', 'AUDIO', 'HEAD', 'TITLE', 'MPT-PHONE', 'MPT-PHONE-UI',
  ]);
  const DIGIT = /\d/;

  /** text node → [{start, end, e164, range}] for every number currently marked. */
  const index = new Map();
  const highlight = typeof Highlight === 'function' ? new Highlight() : null;
  let detector = null; // {find(texts) → Promise<[[{start,end,e164}]]>}
  let invalidated = false;

  // ---------- extension messaging ----------

  function extensionAlive() {
    try {
      return !invalidated && !!(chrome.runtime && chrome.runtime.id);
    } catch (_) {
      return false;
    }
  }

  /** chrome.runtime.sendMessage that turns "Extension context invalidated" into a notice. */
  async function send(msg) {
    if (!extensionAlive()) {
      contextLost();
      return null;
    }
    try {
      return await chrome.runtime.sendMessage(msg);
    } catch (e) {
      if (!extensionAlive() || /context invalidated/i.test(String(e && e.message))) {
        contextLost();
        return null;
      }
      return { type: 'Error', message: 'MPT Phone is not responding. Try again in a moment.' };
    }
  }

  function contextLost() {
    if (invalidated) return;
    invalidated = true;
    observer.disconnect();
    ui.hideButton();
    ui.toast('MPT Phone was updated. Reload this tab to call from it.', true);
  }

  // ---------- detection ----------

  async function loadDetector() {
    try {
      const glue = await import(chrome.runtime.getURL('content/mpt_content.js'));
      await glue.default({ module_or_path: chrome.runtime.getURL('content/mpt_content_bg.wasm') });
      return {
        kind: 'wasm',
        glue,
        async find(texts) {
          // One crossing: node texts joined with U+0000 (removed from the texts first).
          const flat = glue.findNumbersFlat(texts.map((t) => t.replace(/\0/g, ' ')).join('\0'), REGION);
          const out = texts.map(() => []);
          const o = flat.offsets;
          // e164: the numbers joined with "\n" (older builds: an array).
          const e164 = typeof flat.e164 === 'string' ? (flat.e164 ? flat.e164.split('\n') : []) : flat.e164;
          for (let i = 0, k = 0; i < o.length; i += 3, k++) out[o[i]].push({ start: o[i + 1], end: o[i + 2], e164: e164[k] });
          return out;
        },
        normalize(href) {
          try { return glue.normalize(href, REGION).e164; } catch (_) { return null; }
        },
      };
    } catch (_) {
      // The page's CSP forbids WebAssembly here (no 'wasm-unsafe-eval'): the service
      // worker runs the same detector.
      return {
        kind: 'background',
        async find(texts) {
          const out = texts.map(() => []);
          const reply = await send({ type: 'FindNumbers', texts, region: REGION });
          if (reply && reply.type === 'Numbers') {
            for (const m of reply.matches) if (out[m.text]) out[m.text].push({ start: m.start, end: m.end, e164: m.e164 });
          }
          return out;
        },
        normalize(href) {
          // Without wasm: accept hrefs that already are E.164.
          const m = /^(?:tel|callto):\/*(\+[1-9]\d{7,14})$/i.exec(href.replace(/[\s().-]/g, ''));
          return m ? m[1] : null;
        },
      };
    }
  }

  /** Parent elements already judged: element → true if its text must be skipped. */
  let skipCache = new WeakMap();

  function skipElement(el) {
    let v = skipCache.get(el);
    if (v !== undefined) return v;
    v = SKIP_TAGS.has(el.tagName) || el.namespaceURI !== 'http://www.w3.org/1999/xhtml'
      || el.isContentEditable || el.hidden || el.getAttribute('aria-hidden') === 'true'
      || el.matches('a[href^="tel:" i], a[href^="callto:" i]')
      || (el.parentElement ? skipElement(el.parentElement) : false)
      || (typeof el.checkVisibility === 'function' && !el.checkVisibility());
    skipCache.set(el, v);
    return v;
  }

  function collectTexts(scope, out) {
    if (scope.nodeType === Node.TEXT_NODE) {
      const p = scope.parentElement;
      if (p && DIGIT.test(scope.data) && !skipElement(p)) out.push(scope);
      return;
    }
    if (scope.nodeType !== Node.ELEMENT_NODE && scope.nodeType !== Node.DOCUMENT_NODE) return;
    const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT, {
      acceptNode(node) {
        if (!DIGIT.test(node.data)) return NodeFilter.FILTER_REJECT;
        const p = node.parentElement;
        return p && !skipElement(p) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
      },
    });
    for (let n = walker.nextNode(); n; n = walker.nextNode()) out.push(n);
  }

  function collectLinks(scope, out) {
    if (scope.nodeType !== Node.ELEMENT_NODE && scope.nodeType !== Node.DOCUMENT_NODE) return;
    const sel = 'a[href^="tel:" i], a[href^="callto:" i]';
    if (scope.nodeType === Node.ELEMENT_NODE && scope.matches(sel)) out.push(scope);
    for (const a of scope.querySelectorAll(sel)) out.push(a);
  }

  function unmark(node) {
    const entries = index.get(node);
    if (!entries) return;
    if (highlight) for (const e of entries) highlight.delete(e.range);
    index.delete(node);
  }

  function mark(node, matches) {
    const entries = [];
    for (const m of matches) {
      const range = document.createRange();
      try {
        range.setStart(node, m.start);
        range.setEnd(node, m.end);
      } catch (_) {
        continue; // the text changed under us; the observer will rescan it
      }
      entries.push({ start: m.start, end: m.end, e164: m.e164, range });
      if (highlight) highlight.add(range);
    }
    if (entries.length) index.set(node, entries);
  }

  /** Scans `scopes` (elements or text nodes) for numbers and tel: links. */
  async function scan(scopes) {
    const texts = [];
    const links = [];
    for (const s of scopes) {
      collectTexts(s, texts);
      collectLinks(s, links);
    }
    for (let i = 0; i < texts.length; i += BATCH_NODES) {
      const nodes = texts.slice(i, i + BATCH_NODES);
      const found = await detector.find(nodes.map((n) => n.data));
      nodes.forEach((n, k) => { unmark(n); if (n.isConnected && found[k].length) mark(n, found[k]); });
    }
    for (const a of links) {
      const e164 = detector.normalize(a.getAttribute('href') || '');
      if (!e164) continue;
      const walker = document.createTreeWalker(a, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (!n.data.trim()) continue;
        unmark(n);
        mark(n, [{ start: 0, end: n.data.length, e164 }]);
      }
    }
  }

  function publish() {
    let count = 0;
    for (const [node, entries] of index) {
      if (node.isConnected) count += entries.length;
      else unmark(node);
    }
    root.dataset.mptPhoneCount = String(count);
    document.dispatchEvent(new CustomEvent('mpt-phone:scanned', { detail: count }));
  }

  // ---------- keeping up with the page ----------

  const dirty = new Set();
  let full = false;
  let timer = 0;
  let scanning = Promise.resolve();

  function ours(node) {
    const el = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
    return !!el && (el.tagName === 'MPT-PHONE' || el.tagName === 'MPT-PHONE-UI');
  }

  const observer = new MutationObserver((records) => {
    for (const r of records) {
      if (ours(r.target)) continue;
      if (r.type === 'childList') {
        for (const n of r.addedNodes) if (!ours(n)) dirty.add(n);
        if (r.removedNodes.length) dirty.add(r.target); // forget what went away
      } else {
        dirty.add(r.target);
      }
    }
    if (dirty.size) schedule();
  });

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(flush, DEBOUNCE_MS);
  }

  function flush() {
    scanning = scanning.then(async () => {
      let scopes;
      if (full || dirty.size > FULL_RESCAN_ROOTS) {
        scopes = [document.body || root];
      } else {
        // Drop roots inside other roots, and nodes no longer in the page.
        const all = [...dirty].filter((n) => n.isConnected);
        scopes = all.filter((n) => !all.some((o) => o !== n && o.contains(n)));
      }
      dirty.clear();
      full = false;
      // Visibility and attributes may have changed: judge elements afresh.
      skipCache = new WeakMap();
      for (const node of [...index.keys()]) {
        if (!node.isConnected || scopes.some((s) => s === node || s.contains(node))) unmark(node);
      }
      await scan(scopes);
      publish();
    }).catch(() => { /* a failed pass is retried by the next mutation */ });
    return scanning;
  }

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

    function showButton(entry, node) {
      attach();
      clearTimeout(hideTimer);
      if (current && current.entry === entry) return;
      const rects = entry.range.getClientRects();
      const r = rects[rects.length - 1];
      if (!r) return;
      current = { entry, node };
      label.textContent = 'Call';
      button.title = `Call ${entry.e164} with MPT Phone`;
      button.setAttribute('aria-label', button.title);
      button.dataset.number = entry.e164;
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
      if (current) dial(current.entry.e164, current.node);
    });

    return { showButton, hideButton, hideSoon, toast, host, get current() { return current; } };
  })();

  async function dial(e164, node) {
    const el = node && (node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement);
    const holder = el && el.closest('[data-contact-id]');
    const msg = { type: 'Dial', number: e164, origin: location.origin };
    if (holder && holder.dataset.contactId) msg.contact_id = holder.dataset.contactId;
    const reply = await send(msg);
    if (reply && reply.type === 'Error') ui.toast(reply.message);
  }

  /** The marked number under the pointer, if any. */
  function hit(x, y) {
    const pos = document.caretPositionFromPoint ? document.caretPositionFromPoint(x, y) : null;
    const node = pos && pos.offsetNode;
    const entries = node && index.get(node);
    if (!entries) return null;
    for (const entry of entries) {
      if (pos.offset < entry.start || pos.offset > entry.end) continue;
      for (const r of entry.range.getClientRects()) {
        if (x >= r.left - 1 && x <= r.right + 1 && y >= r.top - 1 && y <= r.bottom + 1) return { entry, node };
      }
    }
    return null;
  }

  let moveQueued = false;
  let lastMove = null;
  function onPointerMove(e) {
    if (invalidated) return;
    lastMove = e;
    if (moveQueued) return;
    moveQueued = true;
    requestAnimationFrame(() => {
      moveQueued = false;
      const h = lastMove && hit(lastMove.clientX, lastMove.clientY);
      if (h) ui.showButton(h.entry, h.node);
      else if (ui.current) ui.hideSoon();
    });
  }

  function onClick(e) {
    // tel:/callto: links dial through MPT Phone instead of the OS handler.
    if (invalidated || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target instanceof Element && e.target.closest('a[href^="tel:" i], a[href^="callto:" i]');
    if (!a || !detector) return;
    const e164 = detector.normalize(a.getAttribute('href') || '');
    if (!e164) return;
    e.preventDefault();
    dial(e164, a);
  }

  // ---------- <mpt-phone> overlay ----------

  let overlay = null;

  function ensureOverlay() {
    if (overlay && overlay.isConnected) return overlay;
    overlay = document.createElement('mpt-phone');
    overlay.setAttribute('data-testid', 'mpt-phone-overlay');
    overlay.addEventListener('mpt-phone-hangup', () => send({ type: 'HangUp' }));
    overlay.addEventListener('mpt-phone-mute', () => send({ type: 'SetMute', muted: true }));
    overlay.addEventListener('mpt-phone-unmute', () => send({ type: 'SetMute', muted: false }));
    overlay.addEventListener('mpt-phone-digits', (e) => {
      const digits = typeof e.detail === 'string' ? e.detail : overlay.getAttribute('last-digits');
      if (digits) send({ type: 'SendDigits', digits });
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

  // ---------- start ----------

  async function start() {
    const style = document.createElement('style');
    style.textContent = `::highlight(${HIGHLIGHT}) { background-color: rgba(18, 102, 230, .14); text-decoration: underline dotted #1266e6; text-decoration-thickness: 2px; }`;
    (document.head || root).appendChild(style);
    if (highlight) CSS.highlights.set(HIGHLIGHT, highlight);

    detector = await loadDetector();
    root.dataset.mptPhoneDetector = detector.kind;
    await scan([document.body || root]);
    publish();
    observer.observe(root, {
      childList: true, subtree: true, characterData: true,
      attributes: true, attributeFilter: ['hidden', 'style', 'class', 'aria-hidden', 'href', 'open'],
    });
    // Client-side route changes replace content; a pass after navigation catches the rest.
    window.addEventListener('popstate', () => { full = true; schedule(); });
    document.addEventListener('pointermove', onPointerMove, { passive: true });
    document.addEventListener('click', onClick, true);
    window.addEventListener('scroll', () => ui.hideButton(), { passive: true, capture: true });
    root.dataset.mptPhone = 'ready';
    const hello = await send({ type: 'Hello' });
    if (hello && hello.type === 'CallState') applyCallState(hello);
  }

  root.dataset.mptPhone = 'loading';
  start().catch(() => {
    // Detection could not start at all (e.g. the extension was reloaded mid-way).
    if (!extensionAlive()) contextLost();
    root.dataset.mptPhone = 'ready';
    publish();
  });
})();
