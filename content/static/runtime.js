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

  /**
   * The agent's preferences (options page, `chrome.storage.sync`) and the administrator's
   * (managed storage, by policy): an administrator's value wins when its option is in
   * `locked`, else the agent's, else the administrator's preset.
   */
  function pick(managed, sync, syncKey, managedKey, optionName, valid) {
    const locked = Array.isArray(managed.locked) && managed.locked.includes(optionName);
    const order = locked ? [managed[managedKey]] : [sync[syncKey], managed[managedKey]];
    return order.find(valid);
  }
  const isRegion = (v) => typeof v === 'string' && /^[A-Z]{2}$/.test(v);
  const isTel = (v) => v === 'mpt' || v === 'browser';
  const prefs = { telLinks: 'mpt' };
  let managedPrefs = {};
  const stored = (async () => {
    const read = (area, keys) => {
      try { return chrome.storage[area].get(keys).catch(() => ({})); } catch (_) { return {}; } // area unavailable
    };
    const [managed, sync] = await Promise.all([
      read('managed', ['default_region', 'tel_links', 'locked']),
      read('sync', ['defaultRegion', 'telLinks']),
    ]);
    managedPrefs = managed || {};
    prefs.telLinks = pick(managedPrefs, sync || {}, 'telLinks', 'tel_links', 'tel_links', isTel) || 'mpt';
    return pick(managedPrefs, sync || {}, 'defaultRegion', 'default_region', 'default_region', isRegion);
  })().catch(() => null);
  // tel: behaviour follows the options page at once (the region applies from the next page load).
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area !== 'sync' || !changes.telLinks) return;
    prefs.telLinks = pick(managedPrefs, { telLinks: changes.telLinks.newValue }, 'telLinks', 'tel_links', 'tel_links', isTel) || 'mpt';
  });

  const region = (async () => (await stored) || regionFromLanguage())();

  // "Disable" on this site: the service worker tells every frame of the site's tabs
  // (Unmark, only from our own extension); each part stops through its onDisabled hook.
  let disabled = false;
  const disabledHandlers = [];
  const siteOf = (loc) => `${loc.protocol}//${loc.hostname}`;
  chrome.runtime.onMessage.addListener((msg, sender) => {
    if (msg && msg.type === 'Unmark' && sender.id === chrome.runtime.id && msg.site === siteOf(location) && !disabled) {
      disabled = true;
      root.dataset.mptPhone = 'off';
      for (const f of disabledHandlers) {
        try { f(); } catch (_) { /* keep stopping the others */ }
      }
    }
    return false;
  });

  // The port to the service worker: its pushes (PhoneState, PageEvent, PanelGone,
  // FocusNumbers) come over it, and its loss means the worker stopped: reconnect (which
  // wakes it) and let the parts rebuild what they hold (the panel's frame).
  const pushHandlers = [];
  const reconnectHandlers = [];
  let port = null;
  let reconnects = 0;
  function connect() {
    if (!extensionAlive()) { contextLost(); return; }
    try {
      port = chrome.runtime.connect({ name: 'content' });
    } catch (_) {
      contextLost();
      return;
    }
    port.onMessage.addListener((msg) => {
      reconnects = 0;
      for (const f of pushHandlers) {
        try { f(msg); } catch (_) { /* one part's failure does not silence the others */ }
      }
    });
    port.onDisconnect.addListener(() => {
      port = null;
      if (!extensionAlive()) { contextLost(); return; }
      const wait = Math.min(5000, 100 * 2 ** reconnects++);
      setTimeout(() => {
        connect();
        for (const f of reconnectHandlers) {
          try { f(); } catch (_) { /* keep going */ }
        }
      }, wait);
    });
  }

  globalThis.mptPhone = {
    root,
    /** When the content script started (performance.now()), for the benchmarks. */
    startedAt,
    send,
    extensionAlive,
    contextLost,
    /** True once the extension context is gone or the agent disabled this site: nothing acts. */
    get invalidated() { return invalidated || disabled; },
    onContextLost(f) { lostHandlers.push(f); },
    /** `f(msg)` for every push of the service worker (a BackgroundToContent). */
    onPush(f) { pushHandlers.push(f); },
    /** `f()` after the port to a restarted service worker is open again. */
    onReconnect(f) { reconnectHandlers.push(f); },
    /** Opens the port (overlay.js calls it once its handlers are in place). */
    connect() { if (!port) connect(); },
    /** Runs `f` when the agent disables MPT Phone on this site. */
    onDisabled(f) { disabledHandlers.push(f); },
    /** The agent's preferences: `telLinks` ('mpt' | 'browser'). */
    prefs,
    /** Promise of the default region's ISO code. */
    region,
    /** Set by marks.js: the marked number at a point, E.164 of tel: hrefs, formatting. */
    marks: null,
  };
})();
