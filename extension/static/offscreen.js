// MPT Phone offscreen document: hosts the Voice driver (voice.js: the Twilio Voice SDK's
// Device, or the sandbox stand-in) because a service worker has no microphone or WebRTC.
// Only forwards: BackgroundToOffscreen messages in, OffscreenToBackground out (shapes:
// core/src/msg.rs), over one port named "offscreen".
//
// The call lives here, not in the worker: when the worker is stopped, the port closes and
// is connected again at once (which starts the worker again), the driver's events queue
// meanwhile, and `Ready` tells the new worker where the Device stands.
(() => {
  'use strict';
  const QUEUE_MAX = 200;
  let port = null;
  const queue = [];

  function post(msg) {
    if (port) {
      try {
        port.postMessage(msg);
        return;
      } catch (_) {
        port = null; // the worker went away; reconnecting
      }
    }
    if (queue.length < QUEUE_MAX) queue.push(msg);
  }

  const driver = globalThis.mptVoiceDriver((event) => post({ type: 'Voice', event }), {
    sdkUrl: 'vendor/twilio.min.js',
    sandboxUrl: 'sandbox-device.js',
    appName: 'mpt-phone',
    closeProtection: false,
  });

  function onMessage(msg) {
    switch (msg && msg.type) {
      case 'Voice': driver.command(msg.command); break;
      case 'SetAudioDevices': driver.setAudio(msg); break;
      default: break;
    }
  }

  function connect() {
    const p = chrome.runtime.connect({ name: 'offscreen' });
    p.onMessage.addListener(onMessage);
    p.onDisconnect.addListener(() => {
      if (port === p) port = null;
      setTimeout(connect, 100);
    });
    port = p;
    p.postMessage({ type: 'Ready', state: driver.state() });
    for (const m of queue.splice(0)) post(m);
  }

  connect();
})();
