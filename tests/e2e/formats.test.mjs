// Formats and page changes the detector must follow (issue 13): numbers written with slashes,
// split across inline elements (one mark spanning several text nodes), labelled vanity numbers,
// full-width digits, national numbers of a non-US default region; a change marked (its delay is
// measured by tests/bench/page.mjs); marks of removed rows dropped.
// The content is added to a demo CRM page by the page's own script (main world), as a CRM would.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as h from './harness.mjs';

const T = { timeout: h.TEST_TIMEOUT_MS };

const { env, run } = h.fileEnv(async (own) => {
  own.services = await h.startServices();
  own.session = await h.launchBrowser();
  await own.session.waitForServiceWorkerReady();
});

/** Opens /contacts, waits for its first pass, returns the page and its count. */
async function openContacts() {
  const { services, session } = await env();
  const t = await h.truth(services.mptCrm, '/contacts');
  const page = await session.openPage(`${services.mptCrm}/contacts`);
  await h.waitForContentReady(page);
  await h.waitForCount(page, t.count);
  return { page, base: t.count };
}

/** Adds `html` in a new block at the end of <main> (or body); resolves when the count is `want`, with the delay. */
function addAndWait(page, html, want) {
  return page.evaluate(({ html, want }) => new Promise((resolve) => {
    const box = document.createElement('section');
    box.className = 'mpt-test-box';
    const t0 = performance.now();
    const timer = setTimeout(() => done(false), 5000);
    function done(ok) {
      clearTimeout(timer);
      document.removeEventListener('mpt-phone:scanned', check);
      resolve({ ok, ms: performance.now() - t0, count: Number(document.documentElement.dataset.mptPhoneCount) });
    }
    function check() { if (Number(document.documentElement.dataset.mptPhoneCount) === want) done(true); }
    document.addEventListener('mpt-phone:scanned', check);
    box.innerHTML = html;
    (document.querySelector('main') || document.body).appendChild(box);
  }), { html, want });
}

test('slashes, numbers split across inline elements, vanity and full-width numbers are marked', T, run(async () => {
  const { page, base } = await openContacts();
  const html = [
    '<p>Office 404/328-5229 after 5</p>',
    '<p>Cell: <b>(239)</b> 426-7058</p>',
    '<p>Direct <span class="area">727</span>-<span>486</span>-<span>0681</span> ext. desk</p>',
    '<p>Order flowers at 1-800-FLOWERS today</p>',
    '<p>電話：（４１５）５５５－０１３４</p>',
    '<p>Invoice 2024/11/30, ZIP 33101-4421, SSN 123-45-6789</p>',
  ].join('');
  const r = await addAndWait(page, html, base + 5);
  assert.ok(r.ok, `count ${r.count}, expected ${base + 5}`);
  const ranges = (await h.markedRanges(page)).slice();
  const texts = await page.evaluate(() => {
    const box = document.querySelector('.mpt-test-box');
    const out = [];
    for (const s of CSS.highlights.get('mpt-phone')) {
      if (!box.contains(s.startContainer)) continue;
      const r = document.createRange();
      r.setStart(s.startContainer, s.startOffset);
      r.setEnd(s.endContainer, s.endOffset);
      out.push({ text: r.toString(), nodes: s.startContainer === s.endContainer ? 1 : 2 });
    }
    return out;
  });
  assert.ok(ranges.length >= base + 5);
  assert.deepEqual(texts.map((t) => t.text).sort(), [
    '(239) 426-7058', '1-800-FLOWERS', '404/328-5229', '727-486-0681', '（４１５）５５５－０１３４',
  ].sort());
  const split = texts.filter((t) => t.nodes > 1).map((t) => t.text).sort();
  assert.deepEqual(split, ['(239) 426-7058', '727-486-0681'], 'split numbers are one range over several text nodes');
  await page.close();
}));

test('a change is marked, and removed rows leave no marks behind', T, run(async () => {
  const { page, base } = await openContacts();
  const delays = [];
  for (let i = 0; i < 5; i++) {
    const r = await addAndWait(page, `<p>Call 404-328-52${String(10 + i)}</p>`, base + i + 1);
    assert.ok(r.ok, `round ${i}: count ${r.count}`);
    delays.push(r.ms);
  }
  // How fast (the 100 ms) is measured by `tests/bench/page.mjs` against ringcentral-c2d,
  // not asserted here: a loaded CI machine would make a timed assertion fail at random.
  console.log(`# change → marked: ${delays.map((d) => Math.round(d)).join(', ')} ms`);

  // 100 re-renders of the added blocks: the count returns to the page's own, the highlight
  // holds no range of a removed node, and the heap (after a full GC) does not grow with them.
  const { session } = await env();
  const cdp = await session.context.newCDPSession(page);
  const heap = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    return (await cdp.send('Runtime.getHeapUsage')).usedSize;
  };
  const rerender = (n) => page.evaluate((n) => new Promise((resolve) => {
    let i = 0;
    const step = () => {
      for (const b of document.querySelectorAll('.mpt-test-box')) b.remove();
      if (i++ === n) { setTimeout(resolve, 300); return; }
      const box = document.createElement('section');
      box.className = 'mpt-test-box';
      box.innerHTML = '<p>Call 404-328-5299 or <b>(239)</b> 426-7058</p>'.repeat(20);
      document.body.appendChild(box);
      setTimeout(step, 60); // each render is scanned before the next
    };
    step();
  }), n);
  await rerender(10);
  const before = await heap();
  await rerender(100);
  const after = await heap();
  console.log(`# heap after 10 re-renders ${before} B, after 110 ${after} B`);
  assert.ok(after - before < 256 * 1024, `heap grew by ${after - before} B over 100 re-renders`);

  await page.evaluate(() => new Promise((resolve) => {
    let n = 0;
    const step = () => {
      for (const b of document.querySelectorAll('.mpt-test-box')) b.remove();
      if (n++ === 100) { resolve(); return; }
      const box = document.createElement('section');
      box.className = 'mpt-test-box';
      box.innerHTML = '<p>Call 404-328-5299 or <b>(239)</b> 426-7058</p>';
      document.body.appendChild(box);
      setTimeout(step, 5);
    };
    step();
  }));
  // Once the last removal is scanned: the page's own count, and no range of a removed node.
  const end = await page.waitForFunction((base) => {
    const hl = CSS.highlights.get('mpt-phone');
    let detached = 0;
    for (const r of hl) if (!r.startContainer.isConnected) detached++;
    const now = { count: Number(document.documentElement.dataset.mptPhoneCount), size: hl.size, detached };
    window.__mptLastEnd = now;
    return now.count === base && now.size === base && detached === 0 ? now : null;
  }, base, { timeout: h.TIMEOUT_MS, polling: 50 }).then((r) => r.jsonValue(), () => page.evaluate(() => window.__mptLastEnd));
  assert.equal(end.detached, 0, 'ranges of removed nodes stayed in the highlight');
  assert.equal(end.count, base);
  assert.equal(end.size, base);
  await page.close();
}));

test('an agent whose default region is Germany gets German national numbers marked', T, run(async () => {
  const { services, session } = await env();
  await session.serviceWorker.evaluate(() => chrome.storage.sync.set({ defaultRegion: 'DE' }));
  try {
    const page = await session.openPage(`${services.mptCrm}/contacts`);
    await h.waitForContentReady(page);
    const before = Number(await page.evaluate(() => document.documentElement.dataset.mptPhoneCount));
    const r = await addAndWait(page, '<p>Büro: 030/1234567, Handy 0151 23456789, am 24.12.2024</p>', before + 2);
    assert.ok(r.ok, `count ${r.count}, expected ${before + 2}`);
    const marked = await page.evaluate(() => {
      const box = document.querySelector('.mpt-test-box');
      return [...CSS.highlights.get('mpt-phone')].filter((s) => box.contains(s.startContainer))
        .map((s) => s.startContainer.data.slice(s.startOffset, s.endOffset));
    });
    assert.deepEqual(marked.sort(), ['0151 23456789', '030/1234567']);
    await page.close();
  } finally {
    await session.serviceWorker.evaluate(() => chrome.storage.sync.remove('defaultRegion'));
  }
}));

test('no errors in any context', T, run(async () => {
  const { session } = await env();
  await session.collectErrors();
  assert.equal(session.errors.length, 0, `errors:\n${h.formatErrors(session.errors)}`);
}));
