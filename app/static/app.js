// MPT Phone web app loader (`/app/v1/app.js`, the page's only script, pinned by SRI):
// loads the app's wasm, gives the phone the widget's Voice SDK driver (same origin,
// `/phone/v1/`: one driver for every web host), then starts the app. No call logic here.
import init, * as app from './mpt_app.js';

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = url;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`could not load ${url}`));
    document.head.appendChild(s);
  });
}

await init({ module_or_path: new URL('mpt_app_bg.wasm', import.meta.url) });
// Without the driver (widget not built), sandbox calling still works; real calls report
// the SDK as unavailable through the engine.
await loadScript('/phone/v1/voice.js').catch(() => {});
globalThis.mptVoice = globalThis.mptVoiceDriver
  ? globalThis.mptVoiceDriver((ev) => app.voiceEvent(ev), '/phone/v1/twilio.min.js')
  : undefined;
app.startApp(document.getElementById('mpt-app'));
document.documentElement.dataset.mptApp = 'ready';
