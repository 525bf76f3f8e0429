// MPT Phone content script, part 2 of 3: finding and marking numbers.
//
// A thin DOM adapter around the Rust detector (content/mpt_content_bg.wasm):
// - walks text nodes with one TreeWalker (no per-node filter callback) and groups the text
//   of a block's inline children into segments, so `<b>(239)</b> 426-7058` is read as one
//   number and marked with one range spanning both text nodes;
// - sends a batch of segments to the detector in ONE JS↔WASM crossing;
// - marks the viewport first, then the rest of the page in slices that yield to the page
//   (`scheduler.yield()`), so no task of ours runs long;
// - never rewrites page text: numbers are StaticRanges in one CSS Custom Highlight (static
//   ranges are not updated by the browser on every DOM mutation, unlike live Ranges; we
//   drop or rebuild ours when the observer reports a change);
// - keeps up with the page through a MutationObserver: changed blocks are rescanned within
//   ~50 ms and the marks of removed nodes are dropped at once (nothing removed is retained).
// When the page's CSP forbids WebAssembly, detection runs in the service worker.
(() => {
  'use strict';

  const mpt = globalThis.mptPhone;
  if (!mpt) return;
  const { root } = mpt;

  const HIGHLIGHT = 'mpt-phone';
  const FLUSH_MS = 40; // mutations → rescan delay (throttle, not a sliding debounce)
  const SLICE_MS = 10; // first walking budget per task; detection + marking add about as much
  const TASK_MS = 24; // what a whole slice (walk + detect + mark) should take: half a long task
  const FIRST_SLICE_MS = 30; // the viewport's slice may walk longer: it must be complete
  const BRIDGE_MAX = 3; // longest digit-free text joining two inline parts of a number
  const SKIP_TAGS = new Set([
    'SCRIPT', 'STYLE', 'NOSCRIPT', 'TEXTAREA', 'INPUT', 'SELECT', 'OPTION', 'OPTGROUP',
    'TEMPLATE', 'IFRAME', 'OBJECT', 'CANVAS', 'VIDEO', 'AUDIO', 'HEAD', 'TITLE', 'MPT-PHONE', 'MPT-PHONE-UI',
  ]);
  /** Elements whose text flows into their parent's line (a number may continue across them). */
  const INLINE_TAGS = new Set([
    'A', 'ABBR', 'B', 'BDI', 'BDO', 'BIG', 'CITE', 'CODE', 'DATA', 'DFN', 'EM', 'FONT', 'I', 'KBD',
    'MARK', 'NOBR', 'Q', 'S', 'SAMP', 'SMALL', 'SPAN', 'STRONG', 'SUB', 'SUP', 'TIME', 'TT', 'U', 'VAR',
  ]);
  const DIGIT = /[0-9\uFF10-\uFF19]/;
  const TEL_LINK = 'a[href^="tel:" i], a[href^="callto:" i]';

  /** text node → entries marked on it; an entry spanning several nodes is listed under each. */
  const index = new Map();
  let count = 0;
  const highlight = typeof Highlight === 'function' ? new Highlight() : null;
  const yieldToPage = globalThis.scheduler && typeof scheduler.yield === 'function'
    ? () => scheduler.yield()
    : () => new Promise((resolve) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => resolve();
      ch.port2.postMessage(0);
    });

  let detector = null; // {kind, find(texts) → Promise<{offsets, e164[]}>, normalizeAll(hrefs)}
  let region = 'US';

  // ---------- detection ----------

  // Start-up is the viewport's critical path: the wasm is fetched and compiled while the glue
  // module is imported, not after it.
  const wasmModule = (async () => WebAssembly.compileStreaming(fetch(chrome.runtime.getURL('content/mpt_content_bg.wasm'))))();
  const glueModule = import(chrome.runtime.getURL('content/mpt_content.js'));
  wasmModule.catch(() => { /* reported through loadDetector */ });
  glueModule.catch(() => { /* reported through loadDetector */ });

  async function loadDetector() {
    try {
      const glue = await glueModule;
      await glue.default({ module_or_path: wasmModule });
      return {
        kind: 'wasm',
        glue,
        async find(texts) {
          // One crossing: segment texts joined with U+0000 (removed from the texts first).
          const flat = glue.findNumbersFlat(texts.map((t) => (t.includes('\0') ? t.replace(/\0/g, ' ') : t)).join('\0'), region);
          return { offsets: flat.offsets, e164: flat.e164 ? flat.e164.split('\n') : [] };
        },
        async normalizeAll(hrefs) {
          if (!hrefs.length) return [];
          return glue.normalizeFlat(hrefs.map((h) => h.replace(/[\0\n]/g, ' ')).join('\0'), region).split('\n');
        },
        format(e164) {
          try { return glue.formatNumber(e164, 'national'); } catch (_) { return null; }
        },
      };
    } catch (_) {
      // The page's CSP forbids WebAssembly here (no 'wasm-unsafe-eval'): the service
      // worker runs the same detector, one message per batch.
      return {
        kind: 'background',
        async find(texts) {
          const reply = await mpt.send({ type: 'FindNumbers', texts, region });
          const offsets = [];
          const e164 = [];
          if (reply && reply.type === 'Numbers') {
            for (const m of reply.matches) { offsets.push(m.text, m.start, m.end); e164.push(m.e164); }
          }
          return { offsets, e164 };
        },
        async normalizeAll(hrefs) {
          // Without wasm: accept hrefs that already are E.164.
          return hrefs.map((href) => {
            const m = /^(?:tel|callto):\/*(\+[1-9]\d{7,14})$/i.exec(href.replace(/[\s().-]/g, ''));
            return m ? m[1] : '';
          });
        },
        format() { return null; },
      };
    }
  }

  // ---------- which text counts ----------

  const SKIP = 1;
  /**
   * What the text directly inside `el` is: SKIP (editors, hidden, scripts… decided from
   * structure only: no style is read), the tel:/callto: link holding it, or 0 (page text).
   * Cached per pass on the element's wrapper in this isolated world (the page never sees
   * it): a property read is several times cheaper than a WeakMap lookup, and 10,000 rows
   * mean tens of thousands of them per pass.
   */
  const KIND = Symbol('mpt-kind');
  let pass = 1; // bumped when attributes may have changed: every cached kind goes stale

  function kindOf(el) {
    const c = el[KIND];
    if (c !== undefined && c.pass === pass) return c.v;
    const parent = el.parentElement;
    const up = parent ? kindOf(parent) : 0;
    let v;
    if (up === SKIP) {
      v = SKIP;
    } else {
      // Few DOM calls per element (each one crosses into the browser): most table cells
      // and rows have no attributes at all.
      const tag = el.tagName;
      const attrs = el.hasAttributes();
      let ce = null;
      if (SKIP_TAGS.has(tag) || !(el instanceof HTMLElement)
        || (attrs && (((ce = el.getAttribute('contenteditable')) !== null && ce !== 'false')
          || el.hasAttribute('hidden') || el.getAttribute('aria-hidden') === 'true'))) {
        v = SKIP;
      } else if (tag === 'A' && attrs && /^\s*(tel|callto):/i.test(el.getAttribute('href') || '')) {
        v = el;
      } else {
        v = up && INLINE_TAGS.has(tag) ? up : 0;
      }
    }
    el[KIND] = { pass, v };
    return v;
  }

  /** Whether a text node's parent is rendered (checked only for nodes that hold a number). */
  function visible(el) {
    return typeof el.checkVisibility !== 'function' || el.checkVisibility();
  }

  /**
   * Whether `b` is the next text in the same line as `a`: only inline elements (entered or
   * left) lie between them. A `<br>`, an image or a block boundary ends the line.
   */
  function inlineNext(a, b) {
    let n = a;
    while (!n.nextSibling) {
      n = n.parentNode;
      if (!n || n.nodeType !== 1 || !INLINE_TAGS.has(n.tagName)) return false;
    }
    n = n.nextSibling;
    while (n !== b) {
      if (n.nodeType === 1 && INLINE_TAGS.has(n.tagName) && n.firstChild) n = n.firstChild;
      else if (n.nodeType === 8 && n.nextSibling) n = n.nextSibling; // comments are invisible
      else return false;
    }
    return true;
  }

  // ---------- marks ----------

  function unmark(node) {
    const entries = index.get(node);
    if (!entries) return;
    index.delete(node);
    for (const e of entries) {
      if (e.dead) continue;
      e.dead = true;
      count--;
      if (deferred) deadRanges.add(e.range);
      if (highlight) highlight.delete(e.range);
      if (e.nodes.length > 1) {
        for (const other of e.nodes) {
          const list = other !== node && index.get(other);
          if (!list) continue;
          const rest = list.filter((x) => x !== e);
          if (rest.length) index.set(other, rest); else index.delete(other);
        }
      }
    }
  }

  /** Unmarks every text node in a subtree (attached or just removed). */
  function unmarkTree(n) {
    if (n.nodeType === 3) { unmark(n); return; }
    if (n.nodeType !== 1 && n.nodeType !== 11) return;
    if (!index.size) return;
    const w = document.createTreeWalker(n, NodeFilter.SHOW_TEXT);
    for (let t = w.nextNode(); t; t = w.nextNode()) if (index.has(t)) unmark(t);
  }

  function addEntry(nodes, start, end, e164) {
    const first = nodes[0];
    const last = nodes[nodes.length - 1];
    const range = new StaticRange({ startContainer: first, startOffset: start, endContainer: last, endOffset: end });
    const entry = { range, e164, nodes, start, end, dead: false };
    for (const n of nodes) {
      const list = index.get(n);
      if (list) list.push(entry); else index.set(n, [entry]);
    }
    count++;
    if (!highlight) return;
    if (deferred) deferred.push(range); else highlight.add(range);
  }

  /**
   * Ranges found by a whole-page pass after its viewport slice wait here and join the
   * highlight at the end of the pass: every frame in which the highlight changed repaints
   * all its ranges, so adding them slice by slice would cost the page one long frame per
   * slice. (Marks of removed nodes are dropped from here too.)
   */
  let deferred = null;

  function releaseDeferred() {
    const list = deferred;
    deferred = null;
    if (list && highlight) for (const r of list) if (!deadRanges.has(r)) highlight.add(r);
    deadRanges = new WeakSet();
  }
  let deadRanges = new WeakSet();

  // ---------- scanning: collect, detect, mark ----------

  /**
   * A pass over `scopeRoot`, walked in slices. `next(budget)` walks until the budget (ms)
   * is spent or, when `untilBelow` is set, until the walk leaves the viewport, and
   * returns the batch: segments (text joined across inline elements) and tel: links.
   */
  function walker(scopeRoot) {
    const w = document.createTreeWalker(scopeRoot, NodeFilter.SHOW_TEXT);
    let done = false;
    return {
      get done() { return done; },
      next(budget, untilBelow) {
        const t0 = performance.now();
        const segs = [];
        const links = new Map(); // link element → its text nodes
        let seg = null; // {nodes, texts, digits}
        let bridge = null; // digit-free short nodes after the segment, pending
        let last = null;
        const close = () => {
          if (seg && seg.digits) segs.push(seg);
          seg = null;
          bridge = null;
        };
        let k = 0;
        for (;;) {
          const n = w.nextNode();
          if (!n) { done = true; break; }
          if ((++k & 127) === 0) {
            if (performance.now() - t0 > budget) { w.previousNode(); break; }
            const pe = n.parentElement;
            if (untilBelow && pe && pe.getBoundingClientRect().top > innerHeight) { w.previousNode(); break; }
          }
          const d = n.data;
          const hasDigit = DIGIT.test(d);
          if (!hasDigit) {
            if (seg && d.length <= BRIDGE_MAX && inlineNext(last, n)) {
              (bridge ||= []).push(n);
              last = n;
            } else if (seg) {
              close();
            }
            continue;
          }
          const p = n.parentNode;
          const kind = p && p.nodeType === 1 ? kindOf(p) : SKIP;
          if (kind === SKIP) { close(); continue; }
          const link = kind;
          if (link) {
            close();
            const list = links.get(link);
            if (list) list.push(n); else links.set(link, [n]);
            continue;
          }
          if (seg && inlineNext(last, n)) {
            if (bridge) for (const b of bridge) { seg.nodes.push(b); seg.texts.push(b.data); }
            bridge = null;
            seg.nodes.push(n);
            seg.texts.push(d);
            seg.digits = true;
          } else {
            close();
            seg = { nodes: [n], texts: [d], digits: true };
          }
          last = n;
        }
        // A segment cut by the budget may continue into the next slice: read it now.
        if (seg && !done) {
          for (let n = w.nextNode(); n; n = w.nextNode()) {
            if (!inlineNext(last, n) || n.data.length > 200) { w.previousNode(); break; }
            seg.nodes.push(n);
            seg.texts.push(n.data);
            last = n;
          }
        }
        close();
        return { segs, links };
      },
    };
  }

  /**
   * Detects and marks one batch (one crossing for its texts, one for its links). `fresh`: the
   * first pass over the page, whose nodes cannot hold marks yet.
   */
  async function markBatch({ segs, links }, fresh) {
    const texts = segs.map((s) => (s.texts.length === 1 ? s.texts[0] : s.texts.join('')));
    const linkEls = [...links.keys()];
    const [found, linkNumbers] = await Promise.all([
      texts.length ? detector.find(texts) : { offsets: [], e164: [] },
      detector.normalizeAll(linkEls.map((a) => a.getAttribute('href') || '')),
    ]);
    // Nodes of this batch may hold marks of an earlier pass (rescans): replace them.
    if (!fresh) {
      for (const s of segs) for (const n of s.nodes) if (index.has(n)) unmark(n);
      for (const list of links.values()) for (const n of list) if (index.has(n)) unmark(n);
    }

    const o = found.offsets;
    let seen = null; // parents already judged visible in this batch
    const shown = (el) => {
      if (seen === el) return true;
      if (!visible(el)) return false;
      seen = el;
      return true;
    };
    for (let i = 0, m = 0; i < o.length; i += 3, m++) {
      const s = segs[o[i]];
      let start = o[i + 1];
      let end = o[i + 2];
      if (s.nodes.length === 1) {
        const n = s.nodes[0];
        if (n.isConnected && shown(n.parentNode)) addEntry(s.nodes, start, end, found.e164[m]);
        continue;
      }
      // Map segment offsets back to nodes.
      let a = 0;
      while (a < s.texts.length - 1 && start >= s.texts[a].length) { start -= s.texts[a].length; a++; }
      let b = a;
      end -= s.texts.slice(0, a).reduce((x, t) => x + t.length, 0);
      while (b < s.texts.length - 1 && end > s.texts[b].length) { end -= s.texts[b].length; b++; }
      const nodes = s.nodes.slice(a, b + 1);
      if (nodes.every((n) => n.isConnected) && shown(nodes[0].parentNode)) addEntry(nodes, start, end, found.e164[m]);
    }
    linkEls.forEach((a, k) => {
      const e164 = linkNumbers[k];
      if (!e164 || !a.isConnected || !visible(a)) return;
      for (const n of links.get(a)) addEntry([n], 0, n.data.length, e164);
    });
  }

  function publish() {
    root.dataset.mptPhoneCount = String(count);
    document.dispatchEvent(new CustomEvent('mpt-phone:scanned', { detail: count }));
  }

  /**
   * Scans `scopes` in slices that yield to the page between them. The first slice of a
   * whole-page pass stops below the viewport, so what the agent sees is marked first.
   */
  /** Slices run so far (count, longest, total ms): published for the benchmark. */
  const slices = { n: 0, max: 0, at: 0, total: 0 };

  async function scan(scopes, { viewportFirst = false } = {}) {
    for (const scope of scopes) {
      const w = walker(scope.nodeType === 3 ? scope.parentNode : scope);
      let first = viewportFirst;
      let budget = SLICE_MS;
      while (!w.done) {
        const t0 = performance.now();
        const walkBudget = first ? FIRST_SLICE_MS : budget;
        const batch = w.next(walkBudget, first);
        await markBatch(batch, viewportFirst);
        if (first) {
          first = false;
          deferred = [];
          root.dataset.mptPhoneViewportAt = performance.now().toFixed(1);
          root.dataset.mptPhoneViewport = String(count);
          document.dispatchEvent(new CustomEvent('mpt-phone:viewport', { detail: count }));
        }
        const took = performance.now() - t0;
        // Walking is a steady share of a slice: scale its budget so the next slice takes
        // about TASK_MS, whatever the page (and the machine's load) makes a node cost.
        // (The viewport's slice stops at the viewport's bottom, not at its budget: it says
        // nothing about the budget.)
        if (walkBudget !== FIRST_SLICE_MS) budget = Math.max(2, Math.min(14, (walkBudget * TASK_MS) / Math.max(1, took)));
        slices.n++;
        if (took > slices.max) { slices.max = took; slices.at = slices.n; }
        slices.total += took;
        if (mpt.invalidated) break;
        if (!w.done && took > 4) await yieldToPage();
      }
    }
    releaseDeferred();
  }

  // ---------- keeping up with the page ----------

  const dirty = new Set();
  let full = false;
  let timer = 0;
  let scanning = Promise.resolve();

  function ours(node) {
    const el = node.nodeType === 1 ? node : node.parentElement;
    return !!el && (el.tagName === 'MPT-PHONE' || el.tagName === 'MPT-PHONE-UI');
  }

  /** The nearest ancestor whose text is not part of its parent's line: the unit of rescan. */
  function block(node) {
    let el = node.nodeType === 1 ? node : node.parentElement;
    while (el && el !== root && el.parentElement && INLINE_TAGS.has(el.tagName)) el = el.parentElement;
    return el;
  }

  const observer = new MutationObserver((records) => {
    for (const r of records) {
      if (ours(r.target)) continue;
      if (r.type === 'childList') {
        // Marks of removed nodes go now: nothing removed stays referenced.
        for (const n of r.removedNodes) unmarkTree(n);
        if (r.addedNodes.length || r.removedNodes.length) dirty.add(block(r.target));
      } else if (r.type === 'characterData') {
        unmark(r.target);
        dirty.add(block(r.target));
      } else {
        dirty.add(r.target);
      }
    }
    dirty.delete(null);
    if (dirty.size || full) schedule();
  });

  function schedule() {
    if (timer) return;
    timer = setTimeout(() => { timer = 0; flush(); }, FLUSH_MS);
  }

  function flush() {
    scanning = scanning.then(async () => {
      let scopes;
      if (full) {
        scopes = [document.body || root];
      } else {
        // Drop roots inside other roots, and nodes no longer in the page.
        const all = [...dirty].filter((n) => n.isConnected && !ours(n));
        all.sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
        scopes = [];
        for (const n of all) if (!scopes.length || !scopes[scopes.length - 1].contains(n)) scopes.push(n);
      }
      dirty.clear();
      full = false;
      // Visibility and attributes may have changed: judge elements afresh.
      pass++;
      for (const s of scopes) unmarkTree(s);
      await scan(scopes);
      publish();
    }).catch(() => { /* a failed pass is retried by the next mutation */ });
    return scanning;
  }

  // ---------- what the overlay needs ----------

  function liveRange(entry) {
    const r = document.createRange();
    r.setStart(entry.range.startContainer, entry.range.startOffset);
    r.setEnd(entry.range.endContainer, entry.range.endOffset);
    return r;
  }

  function contains(entry, node, offset) {
    const first = entry.nodes[0];
    const last = entry.nodes[entry.nodes.length - 1];
    if (node === first && offset < entry.start) return false;
    if (node === last && offset > entry.end) return false;
    return true;
  }

  /** The marked number under the point: `{e164, node, rect}` (its last line box), or null. */
  function hit(x, y) {
    const pos = document.caretPositionFromPoint ? document.caretPositionFromPoint(x, y) : null;
    const node = pos && pos.offsetNode;
    const entries = node && index.get(node);
    if (!entries) return null;
    for (const entry of entries) {
      if (!contains(entry, node, pos.offset)) continue;
      let rects;
      try { rects = liveRange(entry).getClientRects(); } catch (_) { continue; }
      for (const r of rects) {
        if (x >= r.left - 1 && x <= r.right + 1 && y >= r.top - 1 && y <= r.bottom + 1) {
          return { e164: entry.e164, node, rect: rects[rects.length - 1], entry };
        }
      }
    }
    return null;
  }

  /** Marked numbers in the viewport, in reading order (the keyboard path); at most `limit`. */
  function inView(limit) {
    const out = [];
    const seen = new Set();
    const h = innerHeight;
    const w = innerWidth;
    const outside = (r) => r.bottom < 0 || r.top > h || r.right < 0 || r.left > w || (r.width === 0 && r.height === 0);
    for (const [node, entries] of index) {
      const el = node.parentElement;
      if (!el || outside(el.getBoundingClientRect())) continue;
      for (const entry of entries) {
        if (seen.has(entry)) continue;
        seen.add(entry);
        let rects;
        try { rects = liveRange(entry).getClientRects(); } catch (_) { continue; }
        const r = rects[rects.length - 1];
        if (r && !outside(r)) out.push({ e164: entry.e164, node, rect: r, entry });
      }
    }
    out.sort((a, b) => (a.rect.top - b.rect.top) || (a.rect.left - b.rect.left));
    return out.slice(0, limit);
  }

  // ---------- start ----------

  async function start() {
    // The highlight's look comes from marks.css (manifest, document start): no stylesheet is
    // added here, which would restyle the whole page.
    if (highlight) CSS.highlights.set(HIGHLIGHT, highlight);

    [detector, region] = await Promise.all([loadDetector(), mpt.region]);
    root.dataset.mptPhoneDetector = detector.kind;
    root.dataset.mptPhoneDetectorAt = performance.now().toFixed(1);
    mpt.marks = {
      hit,
      inView,
      /** E.164 of a tel:/callto: href, or null. */
      async normalizeHref(href) { return (await detector.normalizeAll([href]))[0] || null; },
      /** National display form of an E.164 number, or null. */
      format: (e164) => detector.format(e164),
      get count() { return count; },
    };
    observer.observe(root, {
      childList: true, subtree: true, characterData: true,
      attributes: true, attributeFilter: ['hidden', 'style', 'class', 'aria-hidden', 'href', 'open', 'contenteditable'],
    });
    // Client-side route changes replace content; a pass after navigation catches the rest.
    window.addEventListener('popstate', () => { full = true; schedule(); });
    scanning = scan([document.body || root], { viewportFirst: true });
    await scanning;
    root.dataset.mptPhoneDoneAt = performance.now().toFixed(1);
    root.dataset.mptPhoneSlices = `${slices.n} ${slices.max.toFixed(1)} ${slices.total.toFixed(1)} ${slices.at}`;
    publish();
    root.dataset.mptPhone = 'ready';
  }

  mpt.onContextLost(() => observer.disconnect());
  // The agent disabled MPT Phone on this site (runtime.js hears the worker's Unmark): every
  // mark goes and the page is no longer watched.
  mpt.onDisabled(() => {
    observer.disconnect();
    if (highlight) highlight.clear();
    CSS.highlights.delete(HIGHLIGHT);
    index.clear();
    count = 0;
    publish();
  });
  start().catch(() => {
    // Detection could not start at all (e.g. the extension was reloaded mid-way).
    if (!mpt.extensionAlive()) mpt.contextLost();
    root.dataset.mptPhone = 'ready';
    publish();
  });
})();
