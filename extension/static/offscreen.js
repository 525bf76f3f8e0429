// MPT Phone offscreen driver: runs the Twilio Voice SDK (a service worker has no
// microphone or WebRTC). Talks to the service worker over one port named
// "offscreen": BackgroundToOffscreen messages in, OffscreenToBackground out
// (shapes: core/src/msg.rs).
(() => {
  'use strict';
  const port = chrome.runtime.connect({ name: 'offscreen' });
  let device = null;
  let call = null;

  function post(msg) {
    try { port.postMessage(msg); } catch (_) { /* the worker restarted; it will reconnect us */ }
  }

  function error(e) {
    post({ type: 'Error', code: typeof e?.code === 'number' ? e.code : undefined, message: String(e?.message || e) });
  }

  function sid(c) {
    return (c && c.parameters && c.parameters.CallSid) || undefined;
  }

  function watch(c) {
    const relay = (event) => () => post({ type: 'CallEvent', event, call_sid: sid(c) });
    c.on('ringing', relay('ringing'));
    c.on('accept', relay('accept'));
    c.on('reconnecting', relay('reconnecting'));
    c.on('reconnected', relay('reconnected'));
    for (const ev of ['disconnect', 'cancel', 'reject']) {
      c.on(ev, () => {
        if (call === c) call = null;
        post({ type: 'CallEvent', event: ev, call_sid: sid(c) });
      });
    }
    c.on('mute', (muted) => post({ type: 'Muted', muted: !!muted }));
    c.on('warning', (name) => post({ type: 'Warning', name: String(name) }));
    c.on('warning-cleared', (name) => post({ type: 'WarningCleared', name: String(name) }));
    c.on('error', error);
  }

  function init(token) {
    if (device) {
      try { device.destroy(); } catch (_) { /* already gone */ }
    }
    device = new Twilio.Device(token, {
      codecPreferences: ['opus', 'pcmu'],
      closeProtection: false,
      appName: 'mpt-phone',
      logLevel: 'silent',
    });
    for (const s of ['registering', 'registered', 'unregistered', 'destroyed']) {
      device.on(s, () => post({ type: 'DeviceState', state: s }));
    }
    device.on('tokenWillExpire', () => post({ type: 'TokenWillExpire' }));
    device.on('error', error);
    applyAudio();
  }

  /** The agent's microphone and speaker (options page), null = the system default. */
  let audio = { input: null, output: null };
  function applyAudio() {
    if (!device || !device.audio) return;
    // A device that is gone is not worth failing a call over: the SDK keeps the default.
    const warn = (e) => console.warn('MPT Phone: audio device:', String((e && e.message) || e));
    Promise.resolve().then(() => device.audio.setInputDevice(audio.input || 'default')).catch(warn);
    if (device.audio.isOutputSelectionSupported) {
      Promise.resolve().then(() => device.audio.speakerDevices.set(audio.output || 'default')).catch(warn);
    }
  }

  /** `params`: To, ClientCallId and the contact (mpt-core's DialParams), as the voice webhook reads them. */
  async function connect(params) {
    if (!device) throw new Error('The phone is not initialised');
    call = await device.connect({ params });
    watch(call);
  }

  port.onMessage.addListener(async (msg) => {
    try {
      switch (msg && msg.type) {
        case 'Init': init(msg.token); break;
        case 'UpdateToken': if (device) device.updateToken(msg.token); break;
        case 'Connect': await connect(msg.params); break;
        case 'HangUp': if (device) device.disconnectAll(); break;
        case 'SetMute': if (call) call.mute(!!msg.muted); break;
        case 'SendDigits': if (call) call.sendDigits(String(msg.digits)); break;
        case 'SetAudioDevices': audio = { input: msg.input || null, output: msg.output || null }; applyAudio(); break;
        default: break;
      }
    } catch (e) {
      error(e);
    }
  });

  post({ type: 'Ready' });
})();
