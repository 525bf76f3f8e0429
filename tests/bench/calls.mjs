// The phone as an agent feels it, in Chromium with the built extension (sandbox calling,
// through the offscreen Device): each number is a median of rounds, printed with the
// ratio to a peer measured in the same run (these machines are noisy).
//   popup open → interactive      vs  a static extension page (welcome.html) opened the same way
//   click Call → "Dialing…" shown vs  a popup ↔ worker message round trip (any extension UI's floor)
//   inbound → ringing shown       vs  the same call's screen pop on a bare WebSocket client
//   idle memory (the worker's wasm memory + the offscreen document's JS heap) vs an about:blank page's heap
// Usage: node tests/bench/calls.mjs [--rounds N]   (after `cargo xtask build`)

import * as h from '../e2e/harness.mjs';
import { agentToken, extensionFor, signIn } from '../e2e/extension-helpers.mjs';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${ms.toFixed(1)} ms`;
const line = (what, ours, peer, peerName) =>
  console.log(`${what.padEnd(36)} ${fmt(ours).padStart(10)}   ${peerName}: ${fmt(peer).padStart(9)}   ratio ${(ours / peer).toFixed(2)}×`);

const services = await h.startServices({ apiServer: true });
const session = await h.launchBrowser({ extensionDir: extensionFor(services.apiUrl) });
try {
  await session.waitForServiceWorkerReady();
  const first = await session.openPopup();
  await signIn(first);
  await first.close();
  const base = `chrome-extension://${session.extensionId}`;
  const offscreen = async () => {
    for (let i = 0; i < 100; i++) {
      const p = session.context.pages().find((x) => x.url().endsWith('/offscreen.html'));
      if (p) return p;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('no offscreen document');
  };
  const off = await offscreen();
  await off.waitForFunction(() => globalThis.mptVoiceState && globalThis.mptVoiceState().registered, null, { timeout: h.TIMEOUT_MS });

  // 1. Popup open → interactive (the dial field enabled, the agent shown).
  const open = [];
  const staticOpen = [];
  for (let i = 0; i < rounds; i++) {
    const p = await session.context.newPage();
    let t0 = performance.now();
    await p.goto(`${base}/popup/index.html`);
    await p.getByTestId('account-email').waitFor();
    await p.getByTestId('dial-input').waitFor();
    open.push(performance.now() - t0);
    t0 = performance.now();
    await p.goto(`${base}/welcome.html`, { waitUntil: 'load' });
    staticOpen.push(performance.now() - t0);
    await p.close();
  }
  line('popup open → interactive', median(open), median(staticOpen), 'static page');

  // 2. Click Call → "Dialing…" shown (measured in the page), vs a message round trip.
  const popup = await session.openPopup();
  await popup.getByTestId('account-email').waitFor();
  const click = [];
  const ping = [];
  for (let i = 0; i < rounds; i++) {
    await popup.getByTestId('dial-input').fill('+14155550002'); // busy: ends by itself
    const ms = await popup.evaluate(() => new Promise((resolve) => {
      const t0 = performance.now();
      const obs = new MutationObserver(() => {
        const s = document.querySelector('[data-testid=call-state]');
        if (s && s.textContent === 'Dialing…') { obs.disconnect(); resolve(performance.now() - t0); }
      });
      obs.observe(document.body, { subtree: true, childList: true, characterData: true });
      document.querySelector('[data-testid=dial-call]').click();
    }));
    click.push(ms);
    ping.push(await popup.evaluate(async () => {
      const t0 = performance.now();
      await chrome.runtime.sendMessage({ type: 'GetSite' });
      return performance.now() - t0;
    }));
    await popup.getByTestId('wrap-up').waitFor({ timeout: h.TIMEOUT_MS });
    await popup.getByTestId('wrap-up-skip').click();
  }
  line('click Call → "Dialing…" shown', median(click), median(ping), 'worker round trip');

  // 3. Inbound → ringing shown in the popup, vs the screen pop on a bare socket.
  const token = await agentToken(services.apiUrl);
  const ring = [];
  const pop = [];
  for (let i = 0; i < rounds; i++) {
    // Both clocks in the popup: the agent's surface and a bare socket beside it.
    const [tShown, tPop] = await popup.evaluate(async ({ api, bearer }) => {
      const { ticket } = await (await fetch(`${api}/api/events/ticket`, { method: 'POST', headers: { authorization: `Bearer ${bearer}` } })).json();
      const ws = new WebSocket(`${api.replace('http', 'ws')}/api/events?ticket=${ticket}`);
      await new Promise((r) => { ws.onopen = r; });
      const popped = new Promise((r) => {
        ws.onmessage = (m) => { if (JSON.parse(m.data).event?.type === 'incoming_call') r(performance.now()); };
      });
      const shown = new Promise((r) => {
        const obs = new MutationObserver(() => {
          if (document.querySelector('[data-testid=call-answer]')) { obs.disconnect(); r(performance.now()); }
        });
        obs.observe(document.body, { subtree: true, childList: true });
      });
      const t0 = performance.now();
      await fetch(`${api}/api/sandbox/inbound`, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body: JSON.stringify({ from: '+14155550123' }),
      });
      const [a, b] = await Promise.all([shown, popped]);
      ws.close();
      return [a - t0, b - t0];
    }, { api: services.apiUrl, bearer: token });
    ring.push(tShown);
    pop.push(tPop);
    await popup.getByTestId('call-decline').click();
    await popup.getByTestId('call-answer').waitFor({ state: 'detached' });
    await new Promise((r) => setTimeout(r, 500));
  }
  line('inbound → ringing shown', median(ring), median(pop), 'screen pop on a socket');
  await popup.close();

  // 4. Idle memory: the worker's and the offscreen document's JS heaps.
  const heap = async (page) => {
    const cdp = await session.context.newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage').catch(() => {});
    const { usedSize } = await cdp.send('Runtime.getHeapUsage');
    await cdp.detach();
    return usedSize;
  };
  await new Promise((r) => setTimeout(r, 2_000));
  const offHeap = await heap(off);
  const blank = await session.context.newPage();
  const blankHeap = await heap(blank);
  await blank.close();
  // The worker has no page: read its heap from inside it.
  const worker = session.context.serviceWorkers().find((w) => w.url().startsWith(base));
  // Its wasm linear memory is nearly all of it (the JS around it is glue).
  const workerHeap = await worker.evaluate(() => (self.mptWasmBytes ? self.mptWasmBytes() : 0));
  const mb = (b) => `${(b / 1e6).toFixed(2)} MB`;
  console.log(`${'idle memory: worker + offscreen'.padEnd(36)} ${mb(workerHeap + offHeap).padStart(10)}   about:blank: ${mb(blankHeap).padStart(9)}   ratio ${((workerHeap + offHeap) / blankHeap).toFixed(2)}×  (worker wasm ${mb(workerHeap)}, offscreen JS ${mb(offHeap)})`);
} finally {
  await session.close();
  await services.stop();
}
