// MPT Phone web Voice driver: runs the Twilio Voice SDK in the page for the embedded
// phone. Commands come from the engine as its own `VoiceCommand` shapes and reports go
// back as `VoiceEvent` shapes (core/src/engine/io.rs): no call logic here, only the SDK.
// The SDK (`twilio.min.js`, vendored beside this file) is loaded on the first `init`, so
// sandbox tenants never load it. The extension's equivalent is extension/static/offscreen.js.
(() => {
  'use strict';
  /** Makes the driver: `sink(event)` receives every VoiceEvent; `sdkUrl` is the SDK's URL. */
  globalThis.mptVoiceDriver = function mptVoiceDriver(sink, sdkUrl) {
    let device = null;
    let call = null;
    let sdk = null;
    const error = (e) => sink({ type: 'error', code: typeof e?.code === 'number' ? e.code : undefined, message: String(e?.message || e) });
    const sid = (c) => (c && c.parameters && c.parameters.CallSid) || undefined;

    function loadSdk() {
      if (globalThis.Twilio && globalThis.Twilio.Device) return Promise.resolve();
      if (!sdk) {
        sdk = new Promise((resolve, reject) => {
          const s = document.createElement('script');
          s.src = sdkUrl;
          s.onload = () => resolve();
          s.onerror = () => reject(new Error('the Twilio Voice SDK could not load'));
          document.head.appendChild(s);
        });
      }
      return sdk;
    }

    function watch(c) {
      c.on('ringing', () => sink({ type: 'ringing', call_sid: sid(c) }));
      c.on('accept', () => sink({ type: 'accept', call_sid: sid(c) }));
      c.on('reconnecting', () => sink({ type: 'reconnecting' }));
      c.on('reconnected', () => sink({ type: 'reconnected' }));
      for (const ev of ['disconnect', 'cancel', 'reject']) {
        c.on(ev, () => {
          if (call === c) call = null;
          sink({ type: ev });
        });
      }
      c.on('mute', (muted) => sink({ type: 'muted', muted: !!muted }));
      c.on('warning', (name) => sink({ type: 'warning', name: String(name) }));
      c.on('warning-cleared', (name) => sink({ type: 'warning_cleared', name: String(name) }));
      c.on('error', error);
    }

    async function init(token) {
      await loadSdk();
      if (device) {
        try { device.destroy(); } catch (_) { /* already gone */ }
      }
      device = new globalThis.Twilio.Device(token, {
        codecPreferences: ['opus', 'pcmu'],
        closeProtection: true,
        appName: 'mpt-phone-widget',
        logLevel: 'silent',
      });
      device.on('registered', () => sink({ type: 'registered' }));
      for (const s of ['unregistered', 'destroyed']) device.on(s, () => sink({ type: 'unregistered' }));
      device.on('tokenWillExpire', () => sink({ type: 'token_will_expire' }));
      device.on('error', error);
      device.register().catch(error);
    }

    async function run(cmd) {
      switch (cmd && cmd.type) {
        case 'init': await init(cmd.token); break;
        case 'update_token': if (device) device.updateToken(cmd.token); break;
        case 'connect':
          if (!device) throw new Error('The phone is not initialised');
          call = await device.connect({ params: cmd.params });
          watch(call);
          break;
        case 'disconnect': case 'reject': if (device) device.disconnectAll(); break;
        case 'mute': if (call) call.mute(!!cmd.muted); break;
        case 'send_digits': if (call) call.sendDigits(String(cmd.digits)); break;
        case 'destroy': if (device) { device.destroy(); device = null; } break;
        default: break; // `accept`: incoming calls in the page come with inbound support.
      }
    }

    return { command(cmd) { run(cmd).catch(error); } };
  };
})();
