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
// The one Voice driver (voice/voice.js, served with the widget): every call, real or
// sandbox, runs through its Device. Without it the engine reports the phone unavailable.
const widget = new URL('/phone/v1/', location.origin);
await loadScript(new URL('voice.js', widget).href).catch(() => {});
// The driver's options as the widget passes them (web/static/widget.js): the Twilio SDK for
// real accounts, the sandbox Device stand-in for sandbox tenants.
globalThis.mptVoice = globalThis.mptVoiceDriver
  ? globalThis.mptVoiceDriver((ev) => app.voiceEvent(ev), {
    sdkUrl: new URL('twilio.min.js', widget).href,
    sandboxUrl: new URL('sandbox-device.js', widget).href,
    appName: 'mpt-phone-app',
    closeProtection: true,
  })
  : undefined;
app.startApp(document.getElementById('mpt-app'));
document.documentElement.dataset.mptApp = 'ready';
