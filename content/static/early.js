// MPT Phone content script, part 0, run at document_start (the others run at document_idle):
// starts what marking waits for — the detector's wasm, fetched and compiled off the main
// thread, and the agent's default-region preference — while the page is still loading, so
// both are ready when marking starts. Nothing is read from or added to the page here.
(() => {
  'use strict';

  if (globalThis.mptPhoneEarly) return;
  /** `module` is set once compiled, so that marks.js can instantiate it synchronously. */
  const early = { wasm: null, region: null, module: null };
  try {
    early.wasm = WebAssembly.compileStreaming(fetch(chrome.runtime.getURL('content/mpt_content_bg.wasm')));
    early.wasm.then((m) => { early.module = m; }, () => { /* e.g. the page's CSP forbids WebAssembly: marks.js falls back */ });
    early.region = chrome.storage.sync.get('defaultRegion');
    early.region.catch(() => { /* storage unavailable: runtime.js falls back */ });
  } catch (_) {
    return; // the extension was reloaded under this page: the other parts find out
  }
  globalThis.mptPhoneEarly = early;
})();
