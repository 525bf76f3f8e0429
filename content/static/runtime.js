// MPT Phone content script, part 1 of 3 (classic scripts sharing the isolated world, in
// manifest order): runtime.js → marks.js → overlay.js.
//
// This part claims the page (once per document, whatever is injected twice), talks to the
// service worker and decides the agent's default region. It exposes one object,
// `globalThis.mptPhone`, that the other parts build on; it is null when another instance
// already runs here, and then the other parts do nothing.
(() => {
  'use strict';

  const root = document.documentElement;
  if (!root || root.dataset.mptPhone) {
    globalThis.mptPhone = null; // not an HTML page, or already running
    return;
  }
  root.dataset.mptPhone = 'loading';
  // performance.now() is shared by both worlds: the benchmark reads these stamps.
  const startedAt = performance.now();
  root.dataset.mptPhoneStartedAt = startedAt.toFixed(1);

  let invalidated = false;
  const lostHandlers = [];

  function extensionAlive() {
    try {
      return !invalidated && !!(chrome.runtime && chrome.runtime.id);
    } catch (_) {
      return false;
    }
  }

  /** The extension was reloaded or updated under this tab: every part stops. */
  function contextLost() {
    if (invalidated) return;
    invalidated = true;
    for (const f of lostHandlers) {
      try { f(); } catch (_) { /* keep notifying the others */ }
    }
  }

  /** chrome.runtime.sendMessage that turns "Extension context invalidated" into contextLost(). */
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

  /**
   * The region national numbers are read in: `defaultRegion` in chrome.storage.sync if the
   * agent chose one (a preference, not a secret: `storage.local`, which holds the session,
   * is closed to content scripts), else the browser's language region ("de-DE" → DE), else
   * US. Resolved
   * while the detector loads, so it costs no time at start-up.
   */
  function regionFromLanguage() {
    for (const tag of navigator.languages || [navigator.language]) {
      const m = /^[a-z]{2,3}-([A-Z]{2})\b/i.exec(tag || '');
      if (m) return m[1].toUpperCase();
    }
    return 'US';
  }

  const region = (async () => {
    try {
      // Read at document_start by early.js when it ran (it usually has by now).
      const early = globalThis.mptPhoneEarly;
      const got = await (early ? early.region : chrome.storage.sync.get('defaultRegion'));
      if (typeof got.defaultRegion === 'string' && /^[A-Z]{2}$/.test(got.defaultRegion)) return got.defaultRegion;
    } catch (_) { /* storage unavailable: fall back */ }
    return regionFromLanguage();
  })();

  globalThis.mptPhone = {
    root,
    /** When the content script started (performance.now()), for the benchmarks. */
    startedAt,
    send,
    extensionAlive,
    contextLost,
    get invalidated() { return invalidated; },
    onContextLost(f) { lostHandlers.push(f); },
    /** Promise of the default region's ISO code. */
    region,
    /** Set by marks.js: the marked number at a point, E.164 of tel: hrefs, formatting. */
    marks: null,
  };
})();
