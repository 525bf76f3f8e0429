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
  const SLICE_MS = 3; // first walking budget per task; detection + marking add up to several times as much at first
  // What a whole slice (walk + detect + mark) should take: a quarter of a long task, since a
  // machine busy with other work (or a wasm function still on its baseline tier, or a GC)
  // can stretch a slice's wall time three- or fourfold.
  const TASK_MS = 12;
  const FIRST_SLICE_MS = 30; // the viewport's slice may walk longer: it must be complete
  const BRIDGE_MAX = 3; // longest digit-free text joining two inline parts of a number
  /** Elements whose text flows into their parent's line (a number may continue across them). */
  const INLINE_TAGS = new Set([
    'A', 'ABBR', 'B', 'BDI', 'BDO', 'BIG', 'CITE', 'CODE', 'DATA', 'DFN', 'EM', 'FONT', 'I', 'KBD',
    'MARK', 'NOBR', 'Q', 'S', 'SAMP', 'SMALL', 'SPAN', 'STRONG', 'SUB', 'SUP', 'TIME', 'TT', 'U', 'VAR',
  ]);
  const DIGIT = /[0-9\uFF10-\uFF19]/;
  const TEL_LINK = 'a[href^="tel:" i], a[href^="callto:" i]';

  /**
   * A text node's marks, kept on its wrapper in this isolated world (the page never sees it):
   * an entry spanning several nodes is listed under each. A property, not a Map keyed by
   * node: a Map gives every marked node's wrapper an identity hash and grows a 20,000-entry
   * table, several times the cost of one property per node.
   */
  const MARKS = Symbol('mpt-marks');
  let indexed = 0; // text nodes holding marks
  function index(n, entry) {
    const list = n[MARKS];
    if (list) list.push(entry);
    else { n[MARKS] = [entry]; indexed++; }
  }
  function unindex(n) {
    if (n[MARKS]) { n[MARKS] = undefined; indexed--; }
  }
  let count = 0;
  const highlight = typeof Highlight === 'function' ? new Highlight() : null;
  /** Bumped whenever the scan resumes in a new task (the page may have run in between). */
  let taskId = 0;
  const nextTask = () => new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => { taskId++; resolve(); };
    ch.port2.postMessage(0);
  });
  const yieldToPage = globalThis.scheduler && typeof scheduler.yield === 'function'
    ? () => scheduler.yield().then(() => { taskId++; })
    : nextTask;

  let detector = null; // {kind, find(texts) → Promise<{offsets, e164[]}>, normalizeAll(hrefs)}
  let detectorReady = null; // resolves once `detector` and `region` are set
  let region = 'US';

  // ---------- detection ----------

  // Start-up is the viewport's critical path: the wasm was fetched and compiled from
  // document_start (early.js; without it, detection runs in the service worker); its glue
  // (wasm-bindgen `no-modules`) is a content script listed before this one.
  const early = globalThis.mptPhoneEarly;

  async function loadDetector() {
    try {
      const glue = globalThis.wasm_bindgen;
      // Compiled already (early.js): instantiated at once, with no task in between.
      if (early && early.module) glue.initSync({ module: early.module });
      else await glue({ module_or_path: early.wasm });
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
          // indexOf, not a RegExp per href: 10,000 links on a long page.
          const clean = (h) => (h.indexOf('\0') < 0 && h.indexOf('\n') < 0 ? h : h.replace(/[\0\n]/g, ' '));
          return glue.normalizeFlat(hrefs.map(clean).join('\0'), region).split('\n');
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
  const SKIP_TAGS = new Set([
    'SCRIPT', 'STYLE', 'NOSCRIPT', 'TEXTAREA', 'INPUT', 'SELECT', 'OPTION', 'OPTGROUP',
    'TEMPLATE', 'IFRAME', 'OBJECT', 'CANVAS', 'VIDEO', 'AUDIO', 'HEAD', 'TITLE', 'MPT-PHONE', 'MPT-PHONE-UI',
  ]);
  /**
   * Elements that make all the text under them skipped though it may be rendered: editors
   * and what assistive technology is told to ignore, SVG and MathML. Rare, so a pass finds
   * them with one selector query (a few ms on 70,000 elements) and collects their text
   * nodes; the walk then asks nothing of the ancestors of every text node. (Text under
   * elements that are not rendered — `hidden`, `<video>` fallback… — fails the visibility
   * check at marking anyway; `hidden` is listed so that a stylesheet showing it changes
   * nothing.)
   */
  const SKIP_UNDER = '[contenteditable]:not([contenteditable="false"]),[aria-hidden="true"],[hidden],svg,math';

  /**
   * The text nodes under `scope` (itself not skipped) that are skipped whatever their parent
   * (see SKIP_UNDER). The query costs about 20 ms on the 10,000-row page (attribute selectors
   * are matched element by element), so a whole-page pass runs it after the viewport's slice:
   * until then the walk asks `closest` of the few hundred parents holding digits.
   */
  function skippedUnder(scope) {
    const skipped = new Set();
    for (const el of scope.querySelectorAll(SKIP_UNDER)) {
      const w = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let t = w.nextNode(); t; t = w.nextNode()) skipped.add(t);
    }
    return skipped;
  }

  /**
   * What the text directly inside `el` is: SKIP (scripts, form controls, our own UI…), the
   * tel:/callto: link holding it (an inline element inherits it from its parent), or 0
   * (page text). Cached per pass on the element's wrapper in this isolated world (the page
   * never sees it) as two plain properties: a property read is several times cheaper than
   * a WeakMap lookup, and nothing is allocated per element. Most parents (table cells)
   * cost one DOM call: their tag.
   */
  const KIND_PASS = Symbol('mpt-kind-pass');
  const KIND = Symbol('mpt-kind');
  const HREF = Symbol('mpt-href'); // a tel: link's href as read by kindOf in this pass
  let pass = 1; // bumped when attributes may have changed: every cached kind goes stale

  function kindOf(el) {
    const tag = el.tagName;
    // A block (most parents: table cells) or a skipped tag: one tag read, nothing cached. The
    // tag goes first: reading a property a wrapper does not have costs more than the tag.
    if (!INLINE_TAGS.has(tag)) return SKIP_TAGS.has(tag) ? SKIP : 0;
    if (el[KIND_PASS] === pass) return el[KIND];
    let v = 0;
    if (tag === 'A' && /^\s*(tel|callto):/i.test(el[HREF] = el.getAttribute('href') || '')) {
      v = el;
    } else {
      const up = el.parentElement;
      v = up ? kindOf(up) : 0;
    }
    el[KIND_PASS] = pass;
    el[KIND] = v;
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

  /**
   * Every live mark in document order (the index above finds them by node; this finds those
   * near the viewport). Marks of removed nodes are dropped from it lazily.
   */
  let all = [];
  let deadInAll = 0;
  /**
   * Past WINDOW_MIN marks the highlight holds only the marks within WINDOW_SCREENS screens
   * of the viewport and follows scrolling: every frame in which a highlight changes
   * repaints all its ranges (about 250 ms for 20,000), so a page-sized highlight would
   * freeze the page once per change. Every mark stays in the index for hover and click;
   * its StaticRange is made when it first joins the highlight. Below WINDOW_MIN (nearly
   * every page) the highlight holds every mark, in whatever order the page lays them out.
   */
  const WINDOW_MIN = 1500;
  const WINDOW_SCREENS = 2;
  let windowed = false;
  const lit = new Set(); // marks whose range is in the highlight

  function rangeOf(e) {
    return e.range || (e.range = new StaticRange({
      startContainer: e.nodes[0], startOffset: e.start, endContainer: e.nodes[e.nodes.length - 1], endOffset: e.end,
    }));
  }

  function light(e) {
    if (highlight && !lit.has(e)) { lit.add(e); highlight.add(rangeOf(e)); }
  }

  function dim(e) {
    if (lit.delete(e)) highlight.delete(e.range);
  }

  function unmark(node) {
    const entries = node[MARKS];
    if (!entries) return;
    unindex(node);
    for (const e of entries) {
      if (e.dead) continue;
      e.dead = true;
      count--;
      deadInAll++;
      dim(e);
      if (e.nodes.length > 1) {
        for (const other of e.nodes) {
          const list = other !== node && other[MARKS];
          if (!list) continue;
          const rest = list.filter((x) => x !== e);
          if (rest.length) other[MARKS] = rest; else unindex(other);
        }
      }
    }
  }

  /** Unmarks every text node in a subtree (attached or just removed). */
  function unmarkTree(n) {
    if (n.nodeType === 3) { unmark(n); return; }
    if (n.nodeType !== 1 && n.nodeType !== 11) return;
    if (!indexed) return;
    const w = document.createTreeWalker(n, NodeFilter.SHOW_TEXT);
    for (let t = w.nextNode(); t; t = w.nextNode()) if (t[MARKS]) unmark(t);
  }

  /** Marks found by the current scope's scan, in document order; they join `all` at its end. */
  let scopeMarks = [];

  function addEntry(nodes, start, end, e164) {
    const entry = { range: null, e164, nodes, start, end, dead: false };
    for (const n of nodes) index(n, entry);
    count++;
    scopeMarks.push(entry);
    if (!deferred && (!windowed || near(entry))) light(entry);
  }

  /**
   * Marks found by a whole-page pass after its viewport slice join the highlight at the
   * end of the pass (or the window, on long pages): every frame in which the highlight
   * changed repaints all its ranges, so adding them slice by slice would cost the page one
   * long frame per slice.
   */
  let deferred = false;

  /** Puts a scope's marks into `all` at their place in document order. */
  function settle(marks) {
    if (deadInAll) { all = all.filter((e) => !e.dead); deadInAll = 0; }
    const list = marks.filter((e) => !e.dead);
    if (list.length) {
      if (!all.length) {
        all = list;
      } else {
        const first = list[0].nodes[0];
        let a = 0;
        let b = all.length;
        while (a < b) {
          const m = (a + b) >> 1;
          if (all[m].nodes[0].compareDocumentPosition(first) & Node.DOCUMENT_POSITION_FOLLOWING) a = m + 1; else b = m;
        }
        all = all.slice(0, a).concat(list, all.slice(a)); // no spread: a list may be long
      }
    }
    const was = windowed;
    windowed = all.length > WINDOW_MIN;
    if (was && !windowed) for (const e of all) light(e);
  }

  function box(e) {
    return e.nodes[0].parentNode.getBoundingClientRect();
  }

  function near(e) {
    const r = box(e);
    return r.bottom >= -WINDOW_SCREENS * innerHeight && r.top <= (WINDOW_SCREENS + 1) * innerHeight;
  }

  let anchor = null; // the first mark of the window and where it was, to skip small scrolls
  let anchorTop = 0;

  /**
   * Puts the marks near the viewport into the highlight and takes the others out. Marks
   * of a page this long are laid out in document order (rows of a list or table), so the
   * window's first mark is found by bisection and the rest by reading on until past it:
   * a few hundred rectangles per update, however long the page.
   */
  function updateWindow() {
    if (!highlight || !windowed) return;
    if (deadInAll) { all = all.filter((e) => !e.dead); deadInAll = 0; }
    const h = innerHeight;
    const top = -WINDOW_SCREENS * h;
    const bottom = (WINDOW_SCREENS + 1) * h;
    // Hysteresis: marks already shown stay while within one more screen, so that the
    // highlight changes (and the page repaints) as seldom as possible.
    const keepTop = top - h;
    const keepBottom = bottom + h;
    let a = 0;
    let b = all.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if (box(all[m]).bottom < keepTop) a = m + 1; else b = m;
    }
    const want = new Set();
    let first = null;
    for (let i = a, past = 0; i < all.length && past < 32; i++) {
      const e = all[i];
      const r = box(e);
      if (r.top > keepBottom) { past++; continue; }
      past = 0;
      if (r.bottom >= top && r.top <= bottom) { want.add(e); first ||= e; } else if (r.bottom >= keepTop && lit.has(e)) want.add(e);
    }
    for (const e of lit) if (!want.has(e)) dim(e);
    for (const e of want) light(e);
    anchor = first;
    anchorTop = anchor ? box(anchor).top : 0;
  }

  let windowFrame = 0;
  function onScroll() {
    if (!windowed || windowFrame) return;
    windowFrame = requestAnimationFrame(() => {
      windowFrame = 0;
      // Within half a screen of the last update the window still covers the viewport.
      if (anchor && !anchor.dead && Math.abs(box(anchor).top - anchorTop) < innerHeight / 2) return;
      updateWindow();
    });
  }

  // ---------- scanning: collect, detect, mark ----------

  /**
   * A pass over `scopeRoot`, walked in slices. `next(budget)` walks until the budget (ms)
   * is spent or, when `untilBelow` is set, until the walk is two screens below the viewport, and
   * returns the batch in flat arrays (one object per batch, not per node): `texts[i]` is
   * segment i's text (joined across inline elements), `nodes[i]` its first text node and
   * `multi.get(i)` its `{nodes, texts}` when it spans several, `parents[i]` the first node's
   * parent; `linkNodes[k]` is a text node (of `linkLens[k]` characters) inside the tel: link
   * `linkEls[k]`. What the walk read is kept, so marking asks the DOM nothing again: every
   * DOM call from an isolated world costs a lookup of the node's wrapper in that world.
   */
  function walker(scopeRoot, skipped) {
    const w = document.createTreeWalker(scopeRoot, NodeFilter.SHOW_TEXT);
    let done = false;
    return {
      get done() { return done; },
      /** The nodes skipped under `scopeRoot` (skippedUnder), or null: ask each digit-holding node's parent. */
      get skipped() { return skipped; },
      set skipped(s) { skipped = s; },
      next(budget, untilBelow) {
        const stop = performance.now() + budget;
        const texts = [];
        const nodes = [];
        const multi = new Map();
        const parents = [];
        const linkNodes = [];
        const linkLens = [];
        const linkEls = [];
        let open = -1; // index of the segment the next inline text may continue, or -1
        let seg = null; // {nodes, texts} of the open segment once it spans several nodes
        let bridge = null; // digit-free short nodes after the open segment, pending
        let last = null;
        const close = () => {
          if (seg) texts[open] = seg.texts.join('');
          open = -1;
          seg = null;
          bridge = null;
        };
        let k = 0;
        let n = null;
        for (;;) {
          if ((++k & 63) === 0) {
            if (performance.now() > stop) break;
            // The first slice reads down to the bottom of the highlight's window, not only of
            // the viewport: the window's marks then join the highlight together, and the end
            // of a long page's pass changes nothing in it (every change repaints the page).
            if (untilBelow && n.parentNode.getBoundingClientRect().top > (WINDOW_SCREENS + 1) * innerHeight) break;
          }
          n = w.nextNode();
          if (!n) { done = true; break; }
          const d = n.data;
          if (!DIGIT.test(d)) {
            if (open >= 0) {
              if (d.length <= BRIDGE_MAX && inlineNext(last, n)) {
                (bridge ||= []).push(n);
                last = n;
              } else {
                close();
              }
            }
            continue;
          }
          const p = n.parentNode; // an element: the walk's root is one
          const under = skipped ? skipped.size && skipped.has(n) : p && p.closest(SKIP_UNDER);
          const kind = p && !under ? kindOf(p) : SKIP;
          if (kind === SKIP) { close(); continue; }
          if (kind) {
            close();
            linkNodes.push(n);
            linkLens.push(d.length);
            linkEls.push(kind);
            continue;
          }
          if (open >= 0 && inlineNext(last, n)) {
            if (!seg) multi.set(open, seg = { nodes: [nodes[open]], texts: [texts[open]] });
            if (bridge) for (const b of bridge) { seg.nodes.push(b); seg.texts.push(b.data); }
            bridge = null;
            seg.nodes.push(n);
            seg.texts.push(d);
          } else {
            close();
            open = texts.length;
            texts.push(d);
            nodes.push(n);
            parents.push(p);
          }
          last = n;
        }
        // A segment cut by the budget may continue into the next slice: read it now.
        if (open >= 0 && !done) {
          for (let m = w.nextNode(); m; m = w.nextNode()) {
            if (!inlineNext(last, m) || m.data.length > 200) { w.previousNode(); break; }
            if (!seg) multi.set(open, seg = { nodes: [nodes[open]], texts: [texts[open]] });
            seg.nodes.push(m);
            seg.texts.push(m.data);
            last = m;
          }
        }
        close();
        return { texts, nodes, parents, multi, linkNodes, linkLens, linkEls, task: taskId };
      },
    };
  }

  /**
   * Detects and marks one batch (one crossing for its texts, one for its links). `fresh`: the
   * first pass over the page, whose nodes cannot hold marks yet.
   */
  async function markBatch({ texts, nodes, parents, multi, linkNodes, linkLens, linkEls, task }, fresh) {
    // One href per link (a link's text nodes are consecutive).
    const hrefEls = [];
    for (let k = 0; k < linkEls.length; k++) if (linkEls[k] !== linkEls[k - 1]) hrefEls.push(linkEls[k]);
    const [found, linkNumbers] = await Promise.all([
      texts.length ? detector.find(texts) : { offsets: [], e164: [] },
      hrefEls.length ? detector.normalizeAll(hrefEls.map((a) => a[HREF])) : [],
    ]);
    // Nodes of this batch may hold marks of an earlier pass (rescans): replace them.
    if (!fresh && indexed) {
      nodes.forEach((n, i) => {
        if (multi.has(i)) { for (const m of multi.get(i).nodes) unmark(m); } else unmark(n);
      });
      for (const n of linkNodes) unmark(n);
    }

    // Walked in this very task with the wasm detector (no task ran since): nothing can have
    // been removed or changed; otherwise every node is checked.
    const live = task === taskId && detector.kind === 'wasm';
    const o = found.offsets;
    let seen = null; // the parent last judged visible
    const shows = (el) => {
      if (seen === el) return true;
      if (!visible(el)) return false;
      seen = el;
      return true;
    };
    for (let i = 0, m = 0; i < o.length; i += 3, m++) {
      const s = multi.size ? multi.get(o[i]) : undefined;
      let start = o[i + 1];
      let end = o[i + 2];
      if (!s) {
        const n = nodes[o[i]];
        if ((live || n.isConnected) && shows(parents[o[i]])) addEntry([n], start, end, found.e164[m]);
        continue;
      }
      // Map segment offsets back to nodes.
      let a = 0;
      while (a < s.texts.length - 1 && start >= s.texts[a].length) { start -= s.texts[a].length; a++; }
      let b = a;
      end -= s.texts.slice(0, a).reduce((x, t) => x + t.length, 0);
      while (b < s.texts.length - 1 && end > s.texts[b].length) { end -= s.texts[b].length; b++; }
      const ns = s.nodes.slice(a, b + 1);
      if (ns.every((n) => n.isConnected) && shows(ns[0].parentNode)) addEntry(ns, start, end, found.e164[m]);
    }
    for (let k = 0, h = -1; k < linkNodes.length; k++) {
      const a = linkEls[k];
      if (a !== linkEls[k - 1]) h++;
      const e164 = linkNumbers[h];
      const n = linkNodes[k];
      if (e164 && (live || n.isConnected) && shows(a)) addEntry([n], 0, linkLens[k], e164);
    }
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
  const slices = { n: 0, max: 0, at: 0, total: 0, ahead: 0 };

  async function scan(scopes, { viewportFirst = false } = {}) {
    for (const scope of scopes) {
      const el = scope.nodeType === 3 ? scope.parentNode : scope;
      if (!el || el.nodeType !== 1 || el.closest(SKIP_UNDER)) continue;
      // The viewport's slice asks parents instead (see skippedUnder); the query runs after it.
      const w = walker(el, viewportFirst ? null : skippedUnder(el));
      scopeMarks = [];
      let first = viewportFirst;
      let budget = SLICE_MS;
      // Batches walked while the detector is still loading: walking needs no detector, so
      // the page is read during the wasm's compilation instead of after it.
      const ahead = [];
      let paint = false; // the viewport's slice is done: its marks await a frame
      let framed = true; // false until that frame came
      while (!w.done || ahead.length) {
        const t0 = performance.now();
        if (!detector) {
          if (w.done) {
            await detectorReady;
            taskId++;
          } else {
            const vp = first && !ahead.length;
            ahead.push(w.next(vp ? FIRST_SLICE_MS : budget, vp));
            slices.ahead++;
            // A plain task, not scheduler.yield(): a yielded continuation runs before the
            // tasks that load the detector, and would starve them. A detector ready meanwhile
            // (compiled at document_start) is used at once.
            await Promise.race([detectorReady, nextTask()]);
          }
          continue;
        }
        const walkBudget = ahead.length ? 0 : first ? FIRST_SLICE_MS : budget;
        const batch = ahead.length ? ahead.shift() : w.next(walkBudget, first);
        await markBatch(batch, viewportFirst);
        if (first) {
          first = false;
          deferred = true;
          root.dataset.mptPhoneViewportAt = performance.now().toFixed(1);
          root.dataset.mptPhoneViewport = String(count);
          document.dispatchEvent(new CustomEvent('mpt-phone:viewport', { detail: count }));
          paint = true;
        }
        const took = performance.now() - t0;
        // Walking is a steady share of a slice: scale its budget so the next slice takes
        // about TASK_MS, whatever the page (and the machine's load) makes a node cost; it
        // grows by half at most per slice (a fast slice may be luck: the next may meet a GC).
        // (The viewport's slice stops at the viewport's bottom, not at its budget: it says
        // nothing about the budget.)
        if (walkBudget && walkBudget !== FIRST_SLICE_MS) budget = Math.max(1, Math.min(8, walkBudget * 1.5, (walkBudget * TASK_MS) / Math.max(1, took)));
        slices.n++;
        if (took > slices.max) { slices.max = took; slices.at = slices.n; }
        slices.total += took;
        if (mpt.invalidated) break;
        if (paint) {
          // Let the page paint the viewport's marks when it can, without waiting for it: until
          // a frame has come, the pass goes on in plain tasks, which rendering may go before
          // (yielded continuations would go before rendering, which would then wait for the
          // whole pass). Waiting for the frame instead cost up to 100 ms on a page whose frames
          // are slow to come (the 10,000-row page, in headless Chromium on a busy machine).
          paint = false;
          framed = false;
          requestAnimationFrame(() => { framed = true; });
          await nextTask();
          if (!w.skipped && !w.done) {
            w.skipped = skippedUnder(el);
            await nextTask();
          }
        } else if (!w.done || ahead.length) {
          if (!framed) await nextTask();
          else if (took > 4) await yieldToPage();
        }
      }
      settle(scopeMarks);
      scopeMarks = [];
    }
    if (deferred) {
      deferred = false;
      if (!windowed) for (const e of all) light(e);
    }
    updateWindow();
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
    r.setStart(entry.nodes[0], entry.start);
    r.setEnd(entry.nodes[entry.nodes.length - 1], entry.end);
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
    const entries = node && node[MARKS];
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
    const h = innerHeight;
    const w = innerWidth;
    const outside = (r) => r.bottom < 0 || r.top > h || r.right < 0 || r.left > w || (r.width === 0 && r.height === 0);
    for (const entry of all.concat(scopeMarks)) {
      const node = entry.nodes[0];
      const el = node.parentElement;
      if (entry.dead || !el || outside(el.getBoundingClientRect())) continue;
      let rects;
      try { rects = liveRange(entry).getClientRects(); } catch (_) { continue; }
      const r = rects[rects.length - 1];
      if (r && !outside(r)) out.push({ e164: entry.e164, node, rect: r, entry });
    }
    out.sort((a, b) => (a.rect.top - b.rect.top) || (a.rect.left - b.rect.left));
    return out.slice(0, limit);
  }

  // ---------- start ----------

  async function start() {
    // The highlight's look comes from marks.css (manifest, document start): no stylesheet is
    // added here, which would restyle the whole page.
    if (highlight) CSS.highlights.set(HIGHLIGHT, highlight);

    detectorReady = Promise.all([loadDetector(), mpt.region]).then(([d, r]) => {
      [detector, region] = [d, r];
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
        /** Every mark as a StaticRange, those outside the highlight's window included. */
        ranges: () => all.filter((e) => !e.dead).map(rangeOf),
      };
    });
    observer.observe(root, {
      childList: true, subtree: true, characterData: true,
      attributes: true, attributeFilter: ['hidden', 'style', 'class', 'aria-hidden', 'href', 'open', 'contenteditable'],
    });
    // Client-side route changes replace content; a pass after navigation catches the rest.
    window.addEventListener('popstate', () => { full = true; schedule(); });
    // Scrolling (of the page or of any scroller in it) and resizing move the window.
    document.addEventListener('scroll', onScroll, { capture: true, passive: true });
    window.addEventListener('resize', onScroll, { passive: true });
    // The pass starts in a task of its own, not in the one that evaluated the scripts.
    scanning = nextTask().then(() => scan([document.body || root], { viewportFirst: true }));
    await scanning;
    await detectorReady;
    root.dataset.mptPhoneDoneAt = performance.now().toFixed(1);
    root.dataset.mptPhoneSlices = `${slices.n} ${slices.max.toFixed(1)} ${slices.total.toFixed(1)} ${slices.at} ${slices.ahead}`;
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
    for (const e of all.concat(scopeMarks)) for (const n of e.nodes) unindex(n);
    all = [];
    scopeMarks = [];
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
