// MPT Phone Voice driver, one for every host: the extension's offscreen document and the
// embedded widget's page. Commands come from the engine as its own `VoiceCommand` shapes
// and reports go back as `VoiceEvent` shapes (core/src/engine/io.rs): no call logic here,
// only the Device. The Device is the Twilio Voice SDK's (`twilio.min.js`, loaded on the
// first real `init`) or, for a sandbox tenant, the stand-in with the same API
// (`sandbox-device.js`, talking to the server's Twilio stand-in): the same code runs both.
(() => {
  'use strict';

  function loadScript(url) {
    return new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = url;
      s.onload = () => resolve();
      s.onerror = () => reject(new Error(`${url} could not load`));
      document.head.appendChild(s);
    });
  }

  /**
   * Makes the driver. `sink(event)` receives every VoiceEvent. `opts`: `sdkUrl` (the Voice
   * SDK), `sandboxUrl` (the sandbox Device), `appName`, `closeProtection`.
   */
  globalThis.mptVoiceDriver = function mptVoiceDriver(sink, opts = {}) {
    let device = null;
    let sandbox = null; // whether `device` is the sandbox stand-in
    let call = null; // the call in progress (outgoing, or an accepted incoming one)
    let incoming = null; // the incoming call ringing here
    let audio = { input: null, output: null, ringtone: null };
    const loads = new Map();
    const load = (url, present) => {
      if (present()) return Promise.resolve();
      if (!loads.has(url)) loads.set(url, loadScript(url).catch((e) => { loads.delete(url); throw e; }));
      return loads.get(url);
    };
    const error = (e) => sink({ type: 'error', code: typeof e?.code === 'number' ? e.code : undefined, message: String(e?.message || e) });
    const sid = (c) => (c && c.parameters && c.parameters.CallSid) || undefined;

    // The ringtone for devices without their own (the stand-in): a two-tone ring on the
    // chosen ringtone device. The Twilio SDK plays its own on `audio.ringtoneDevices`.
    let ringer = null;
    function ringStart() {
      if (!sandbox || ringer || typeof AudioContext !== 'function') return;
      try {
        const ctx = new AudioContext();
        if (audio.ringtone && typeof ctx.setSinkId === 'function') ctx.setSinkId(audio.ringtone).catch(() => {});
        const gain = ctx.createGain();
        gain.gain.value = 0;
        gain.connect(ctx.destination);
        for (const f of [440, 480]) {
          const o = ctx.createOscillator();
          o.frequency.value = f;
          o.connect(gain);
          o.start();
        }
        // 2 s on, 4 s off, for up to a minute.
        const t0 = ctx.currentTime;
        for (let k = 0; k < 10; k++) {
          gain.gain.setValueAtTime(0.08, t0 + k * 6);
          gain.gain.setValueAtTime(0, t0 + k * 6 + 2);
        }
        ringer = ctx;
      } catch (_) {
        ringer = null;
      }
    }
    function ringStop() {
      if (ringer) ringer.close().catch(() => {});
      ringer = null;
    }
    globalThis.mptRinging = () => ringer !== null;

    function watch(c) {
      c.on('ringing', () => sink({ type: 'ringing', call_sid: sid(c) }));
      c.on('accept', () => {
        if (incoming === c) {
          incoming = null;
          call = c;
        }
        ringStop();
        sink({ type: 'accept', call_sid: sid(c) });
      });
      c.on('reconnecting', () => sink({ type: 'reconnecting' }));
      c.on('reconnected', () => sink({ type: 'reconnected' }));
      for (const ev of ['disconnect', 'cancel', 'reject']) {
        c.on(ev, () => {
          if (call === c) call = null;
          if (incoming === c) {
            incoming = null;
            ringStop();
          }
          sink({ type: ev });
        });
      }
      c.on('mute', (muted) => sink({ type: 'muted', muted: !!muted }));
      c.on('warning', (name) => sink({ type: 'warning', name: String(name) }));
      c.on('warning-cleared', (name) => sink({ type: 'warning_cleared', name: String(name) }));
      c.on('error', error);
    }

    function onIncoming(c) {
      if (call || incoming) {
        c.reject(); // one call at a time: this endpoint declines, the others still ring
        return;
      }
      incoming = c;
      watch(c);
      ringStart();
      // Our server names the call on the <Client> (CallId <Parameter>): the phone has the
      // call's log id before the socket's screen pop arrives.
      const callId = c.customParameters && c.customParameters.get('CallId');
      sink({ type: 'incoming', call_sid: sid(c), from: String(c.parameters.From || ''), call_id: callId ? String(callId) : null });
    }

    function applyAudio() {
      if (!device || !device.audio) return;
      // A device that is gone is not worth failing a call over: the SDK keeps the default.
      const warn = (e) => console.warn('MPT Phone: audio device:', String((e && e.message) || e));
      Promise.resolve().then(() => device.audio.setInputDevice(audio.input || 'default')).catch(warn);
      if (device.audio.isOutputSelectionSupported) {
        Promise.resolve().then(() => device.audio.speakerDevices.set(audio.output || 'default')).catch(warn);
        Promise.resolve().then(() => device.audio.ringtoneDevices.set(audio.ringtone || audio.output || 'default')).catch(warn);
      }
    }

    async function init(token, signal) {
      const wantSandbox = !!signal;
      if (device && sandbox === wantSandbox && device.state !== 'destroyed') {
        // Already running (the engine restarted: a stopped service worker): keep the
        // Device and its call, only refresh the token and say where it stands.
        device.updateToken(token);
        if (device.state === 'registered') sink({ type: 'registered' });
        return;
      }
      if (wantSandbox) await load(opts.sandboxUrl, () => globalThis.MptSandboxDevice);
      else await load(opts.sdkUrl, () => globalThis.Twilio && globalThis.Twilio.Device);
      if (device) {
        try { device.destroy(); } catch (_) { /* already gone */ }
      }
      const D = wantSandbox ? globalThis.MptSandboxDevice : globalThis.Twilio.Device;
      sandbox = wantSandbox;
      device = new D(token, {
        codecPreferences: ['opus', 'pcmu'],
        closeProtection: !!opts.closeProtection,
        appName: opts.appName || 'mpt-phone',
        logLevel: 'silent',
        allowIncomingWhileBusy: false,
        signalUrl: signal || undefined,
      });
      device.on('registered', () => sink({ type: 'registered' }));
      for (const s of ['unregistered', 'destroyed']) device.on(s, () => sink({ type: 'unregistered' }));
      device.on('tokenWillExpire', () => sink({ type: 'token_will_expire' }));
      device.on('incoming', onIncoming);
      device.on('error', error);
      applyAudio();
    }

    async function run(cmd) {
      switch (cmd && cmd.type) {
        case 'init': await init(cmd.token, cmd.signal); break;
        case 'update_token': if (device) device.updateToken(cmd.token); break;
        case 'register':
          if (!device) throw new Error('The phone is not initialised');
          // Not awaited: a hung register() (the engine's watchdog reports it) must not
          // hold up the commands behind it.
          if (device.state !== 'registered') device.register().catch(error);
          else sink({ type: 'registered' });
          break;
        case 'unregister': if (device && device.state === 'registered') device.unregister().catch(error); break;
        case 'connect':
          if (!device) throw new Error('The phone is not initialised');
          call = await device.connect({ params: cmd.params });
          watch(call);
          break;
        case 'accept': if (incoming) incoming.accept(); break;
        case 'reject': if (incoming) incoming.reject(); break;
        case 'disconnect':
          if (call) call.disconnect();
          else if (incoming) incoming.reject();
          else if (device) device.disconnectAll();
          break;
        case 'mute': if (call) call.mute(!!cmd.muted); break;
        case 'send_digits': if (call) call.sendDigits(String(cmd.digits)); break;
        case 'destroy':
          ringStop();
          if (device) device.destroy();
          device = null;
          call = null;
          incoming = null;
          break;
        default: break;
      }
    }

    // A headset plugged in or out: apply the agent's choice again (or the default).
    if (globalThis.navigator && navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
      navigator.mediaDevices.addEventListener('devicechange', () => applyAudio());
    }

    // Commands run one after another, in order: `init` may still be loading the Device's
    // script when `register` or `connect` arrives.
    let queue = Promise.resolve();
    const api = {
      command(cmd) { queue = queue.then(() => run(cmd)).catch(error); },
      /** The agent's microphone, speaker and ringtone device ids (null = the default). */
      setAudio(a) {
        audio = { input: a.input || null, output: a.output || null, ringtone: a.ringtone || null };
        applyAudio();
      },
      /** Where the Device stands, for a host that restarted. */
      state() {
        return { registered: !!device && device.state === 'registered', call_sid: sid(call) || null, incoming_sid: sid(incoming) || null };
      },
    };
    // Where the Device stands, for diagnostics (the end-to-end tests read it).
    globalThis.mptVoiceState = () => api.state();
    return api;
  };
})();
