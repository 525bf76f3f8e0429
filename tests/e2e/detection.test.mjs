// Number detection on the demo CRMs against their ground truth (/__truth/...):
// which numbers are marked (not only how many), look-alikes left alone, editors
// untouched, client-side route changes, strict CSP, 10,000 rows, re-rendering rows.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as h from './harness.mjs';
import { waitOurElement } from './extension-helpers.mjs';

const T = { timeout: h.TEST_TIMEOUT_MS };

const { env, run } = h.fileEnv(async (own) => {
  own.services = await h.startServices();
  own.session = await h.launchBrowser();
  await own.session.waitForServiceWorkerReady();
});

/** Opens a server-rendered demo page, waits for the scan to settle on the truth, checks the marks. */
async function checkPage(base, path) {
  const t = await h.truth(base, path);
  const { session } = await env();
  const page = await session.openPage(base + path);
  await h.waitForContentReady(page);
  await h.waitForCount(page, t.count);
  await h.assertMarksMatch(page, t);
  return { page, truth: t };
}

test('MPT-CRM contact list: the 101 numbers of the truth, tel: links included', T, run(async () => {
  const { services } = await env();
  const { page, truth } = await checkPage(services.mptCrm, '/contacts');
  assert.equal(truth.count, 101);
  const ranges = await h.markedRanges(page);
  assert.equal(ranges.filter((r) => r.telLink).length, truth.numbers.filter((n) => n.tel_link).length);
  await page.close();
}));

for (const id of ['c-0001', 'c-0008', 'c-0042', 'c-0117']) {
  test(`MPT-CRM contact ${id}: labelled fields, extension, timeline; invoices/orders/dates not marked`, T, run(async () => {
    const { services } = await env();
    const { page, truth } = await checkPage(services.mptCrm, `/contacts/${id}`);
    assert.ok(truth.not_numbers.length > 0);
    await page.close();
  }));
}

test('MPT-CRM quick-edit inputs, select and contenteditable notes are left untouched', T, run(async () => {
  const { services } = await env();
  const path = '/contacts/c-0003';
  const t = await h.truth(services.mptCrm, path);
  const served = await (await fetch(services.mptCrm + path)).text();
  const { page } = await checkPage(services.mptCrm, path);
  const form = await page.evaluate(() => {
    const f = document.querySelector('form.inline-edit');
    const notes = f.querySelector('[contenteditable]');
    return {
      inputs: Array.from(f.querySelectorAll('input[type=tel]')).map((i) => i.value),
      options: Array.from(f.querySelectorAll('option')).map((o) => o.textContent),
      notesHtml: notes.innerHTML,
      marksInForm: Array.from(CSS.highlights.get('mpt-phone') || []).filter((r) => f.contains(r.startContainer)).length,
    };
  });
  const notesServed = /contenteditable="true"[^>]*>([^<]*)<\/div>/.exec(served)[1];
  assert.equal(form.notesHtml, notesServed, 'the contenteditable notes were modified');
  assert.equal(form.marksInForm, 0, 'numbers inside the edit form were marked');
  for (const ig of t.ignored.filter((i) => i.place === 'input')) assert.ok(form.inputs.includes(ig.text), ig.text);
  for (const ig of t.ignored.filter((i) => i.place === 'option')) {
    assert.ok(form.options.some((o) => o.includes(ig.text)), ig.text);
  }
  await page.close();
}));

test('MPT-CRM collapsed "Previous numbers": unmarked while closed, marked once the agent expands it', T, run(async () => {
  const { services } = await env();
  const id = 'c-0005';
  const { page, truth } = await checkPage(services.mptCrm, `/contacts/${id}`);
  const collapsed = truth.ignored.filter((i) => i.place === 'collapsed');
  assert.equal(collapsed.length, 2);
  await page.locator('details.history summary').click();
  assert.equal(await page.locator('details.history').getAttribute('open'), '');
  await h.waitForCount(page, truth.count + collapsed.length);
  await h.assertMarksMatch(page, {
    ...truth,
    count: truth.count + collapsed.length,
    numbers: [...truth.numbers, ...collapsed.map((c) => ({ e164: c.e164, text: c.text, contact_id: id }))],
  });
  await page.close();
}));

test('AMS-APP-CRM clients: numbers per card; account and policy numbers not marked', T, run(async () => {
  const { services } = await env();
  const { page } = await checkPage(services.amsCrm, '/clients');
  await page.close();
}));

for (const id of ['p-0001', 'p-0004', 'p-0010', 'p-0025']) {
  test(`AMS-APP-CRM policy ${id}: insured/agent/carrier marked; claim, loan, policy numbers not`, T, run(async () => {
    const { services } = await env();
    const { page, truth } = await checkPage(services.amsCrm, `/policies/${id}`);
    assert.ok(truth.not_numbers.some((n) => n.kind === 'policy'));
    await page.close();
  }));
}

test('MPT-CRM client-side route changes (Load more, stage tab, back) are rescanned', T, run(async () => {
  const { services } = await env();
  const base = services.mptCrm;
  const { page } = await checkPage(base, '/contacts');
  const page2 = await h.truth(base, '/contacts?page=2');
  await page.locator('button.load-more').click();
  await page.waitForURL(`${base}/contacts?page=2`, { timeout: h.TIMEOUT_MS });
  await h.waitForCount(page, page2.count);
  await h.assertMarksMatch(page, page2);

  const won = await h.truth(base, '/contacts?stage=Won');
  await page.locator('nav.tabs a[data-stage="Won"]').click();
  await page.waitForURL(`${base}/contacts?stage=Won`, { timeout: h.TIMEOUT_MS });
  await h.waitForCount(page, won.count);
  await h.assertMarksMatch(page, won);

  await page.goBack({ waitUntil: 'commit' });
  await h.waitForCount(page, page2.count);
  await h.assertMarksMatch(page, page2);
  await page.close();
}));

test('strict-CSP page (no wasm-unsafe-eval) still gets its numbers via the service worker', T, run(async () => {
  const { services } = await env();
  const { page } = await checkPage(services.mptCrm, '/strict-csp');
  const kind = await page.evaluate(() => document.documentElement.dataset.mptPhoneDetector);
  assert.equal(kind, 'background', 'the page CSP forbids wasm, so detection must run in the service worker');
  await page.close();
}));

test('stress page: 10,000 rows (20,001 numbers) scanned without freezing', T, run(async () => {
  const { services, session } = await env();
  const t = await h.getJson(`${services.mptCrm}/__truth/stress?summary=1`);
  assert.equal(t.count, 20_001);
  const page = await session.context.newPage();
  // Test instrumentation in the page's main world: record long tasks from the start.
  await page.addInitScript(() => {
    window.__longTasks = [];
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, ms: e.duration });
      })
        .observe({ type: 'longtask', buffered: true });
    } catch { /* longtask timing unsupported */ }
  });
  await page.goto(`${services.mptCrm}/stress`, { waitUntil: 'load', timeout: h.TIMEOUT_MS });
  const loaded = await page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd);
  const reached = await h.waitForCount(page, t.count, Math.max(h.TIMEOUT_MS, 120_000));
  // The page answers promptly once the scan is done (it is not frozen).
  const pingStart = Date.now();
  await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
  const ping = Date.now() - pingStart;
  const long = await page.evaluate(() => window.__longTasks);
  const ranges = await h.markedRanges(page);
  assert.equal(ranges.length, t.count);
  // Long tasks before the load event are the page's own parsing and layout; after it, mostly the scan.
  const after = long.filter((e) => e.start >= loaded).map((e) => e.ms);
  const all = long.map((e) => e.ms);
  const sum = (xs) => Math.round(xs.reduce((a, b) => a + b, 0));
  console.log(`# stress: load event ${Math.round(loaded)} ms, ${t.count} numbers marked at ${Math.round(reached.at)} ms ` +
    `after navigation start (${Math.round(reached.at - loaded)} ms after load); long tasks after load: ${after.length}, ` +
    `longest ${Math.round(Math.max(0, ...after))} ms, total ${sum(after)} ms (whole page: ${all.length} long tasks, ` +
    `longest ${Math.round(Math.max(0, ...all))} ms); ping after scan ${ping} ms`);
  await page.close();
}));

test('stress page: the highlight holds the marks near the viewport and follows scrolling; every number can be called', T, run(async () => {
  const { services, session } = await env();
  const page = await session.openPage(`${services.mptCrm}/stress`);
  await h.waitForContentReady(page);
  await h.waitForCount(page, 20_001, Math.max(h.TIMEOUT_MS, 120_000));
  /** Highlight size, and the rows (by index) its ranges lie in. */
  const lit = () => page.evaluate(() => {
    const rows = [...document.querySelectorAll('tbody tr')];
    const at = new Map(rows.map((r, i) => [r, i]));
    const idx = [];
    for (const s of CSS.highlights.get('mpt-phone')) {
      const tr = s.startContainer.parentElement.closest('tr');
      if (tr && at.has(tr)) idx.push(at.get(tr));
    }
    return { size: CSS.highlights.get('mpt-phone').size, min: Math.min(...idx), max: Math.max(...idx), rows: rows.length };
  });
  const top = await lit();
  assert.ok(top.size > 0 && top.size < 2_000, `highlight holds ${top.size} ranges at the top of a 20,001-number page`);
  assert.equal(top.min, 0);

  // Far down the page: the window moved there, and hovering a number there shows the call button.
  const target = await page.evaluate(() => {
    const row = document.querySelectorAll('tbody tr')[8_500];
    row.scrollIntoView({ block: 'center' });
    const td = row.querySelectorAll('td')[3]; // the mobile number (plain text, not a tel: link)
    const r = document.createRange();
    r.selectNodeContents(td);
    const b = r.getBoundingClientRect();
    return { x: b.left + b.width / 2, y: b.top + b.height / 2, text: td.textContent };
  });
  await page.waitForFunction(() => {
    const row = document.querySelectorAll('tbody tr')[8_500];
    for (const s of CSS.highlights.get('mpt-phone')) if (row.contains(s.startContainer)) return true;
    return false;
  }, null, { timeout: h.TIMEOUT_MS, polling: 100 });
  const far = await lit();
  assert.ok(far.size < 2_000 && far.min > 8_000 && far.max < 9_000, `window after scrolling: ${JSON.stringify(far)}`);
  await page.mouse.move(target.x, target.y);
  const button = await waitOurElement(page, 'mpt-call-button');
  assert.equal(button.attrs['data-number'], h.e164Of(target.text));
  await page.close();
}));

test('re-rendering renewals page keeps its marks (rows replaced every 500 ms, sort on click)', T, run(async () => {
  const { services, session } = await env();
  const t = await h.truth(services.amsCrm, '/renewals');
  const page = await session.openPage(`${services.amsCrm}/renewals`);
  await h.waitForContentReady(page);
  await h.waitForCount(page, t.count);
  await h.assertMarksMatch(page, t);
  // Watch 5 re-renders; record every count the content script publishes meanwhile.
  const watch = () => page.evaluate(({ renders, timeout }) => new Promise((resolve) => {
    const tbody = document.querySelector('#renewals tbody');
    const counts = [];
    let seen = 0;
    const onScan = (e) => counts.push(Number(e.detail));
    const obs = new MutationObserver(() => {
      seen += 1;
      if (seen >= renders) {
        // Let the scan that follows the last re-render publish before stopping.
        document.addEventListener('mpt-phone:scanned', () => finish(true), { once: true });
      }
    });
    const timer = setTimeout(() => finish(false), timeout);
    function finish(ok) {
      obs.disconnect();
      clearTimeout(timer);
      document.removeEventListener('mpt-phone:scanned', onScan);
      resolve({ ok, seen, counts });
    }
    document.addEventListener('mpt-phone:scanned', onScan);
    obs.observe(tbody, { childList: true });
  }), { renders: 5, timeout: h.TIMEOUT_MS });
  let r = await watch();
  assert.ok(r.ok, `saw ${r.seen} re-renders and scans ${JSON.stringify(r.counts)}`);
  assert.ok(r.counts.length >= 1, 'no rescan after the rows were replaced');
  assert.deepEqual(r.counts.filter((c) => c !== t.count), [], `published counts ${JSON.stringify(r.counts)}, truth ${t.count}`);
  await h.assertMarksMatch(page, t);

  await page.locator('th[data-sort="premium_cents"]').click();
  r = await watch();
  assert.ok(r.ok, `after sorting: saw ${r.seen} re-renders and scans ${JSON.stringify(r.counts)}`);
  assert.deepEqual(r.counts.filter((c) => c !== t.count), [], `after sorting: counts ${JSON.stringify(r.counts)}`);
  await h.assertMarksMatch(page, t);
  await page.close();
}));

test('no errors in any context during detection', T, run(async () => {
  const { session } = await env();
  await session.collectErrors();
  assert.equal(session.errors.length, 0, `errors:\n${h.formatErrors(session.errors)}`);
}));
