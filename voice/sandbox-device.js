// MPT Phone sandbox Device: a stand-in with the Twilio Voice SDK's Device and Call API
// (the part our driver uses: register, unregister, connect, updateToken, disconnectAll,
// destroy, audio; accept, reject, ignore, disconnect, mute, sendDigits; and their
// events) that talks to the server's Twilio stand-in over /api/sandbox/signal instead of
// Twilio's signalling edge (protocol: core/src/signal.rs, docs/sandbox-signal.md). The
// driver (voice.js) runs it exactly as it runs Twilio.Device, so every sandbox call and
// every test exercises the path real calls take. It carries no audio.
(() => {
  'use strict';

  class Emitter {
    constructor() { this._handlers = new Map(); }
    on(name, fn) {
      if (!this._handlers.has(name)) this._handlers.set(name, new Set());
      this._handlers.get(name).add(fn);
      return this;
    }
    addListener(name, fn) { return this.on(name, fn); }
    off(name, fn) { this._handlers.get(name)?.delete(fn); return this; }
    removeListener(name, fn) { return this.off(name, fn); }
    once(name, fn) {
      const wrap = (...a) => { this.off(name, wrap); fn(...a); };
      return this.on(name, wrap);
    }
    emit(name, ...args) {
      for (const fn of [...(this._handlers.get(name) || [])]) {
        try { fn(...args); } catch (e) { console.error('MPT Phone sandbox device listener:', e); }
      }
    }
  }

  /** An SDK-shaped error (`code`, `message`, `name`). */
  function sdkError(code, message) {
    const e = new Error(message);
    e.code = code;
    e.name = code === 20101 ? 'AccessTokenInvalid' : code === 20104 ? 'AccessTokenExpired' : 'SandboxError';
    return e;
  }

  /** `exp` (Unix seconds) of a JWT, or 0. */
  function expiry(token) {
    try {
      const b64 = String(token).split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return Number(JSON.parse(atob(b64)).exp) || 0;
    } catch (_) {
      return 0;
    }
  }

  class Call extends Emitter {
    constructor(device, direction, parameters, customParameters) {
      super();
      this._device = device;
      this.direction = direction;
      this.parameters = parameters;
      this.customParameters = new Map(Object.entries(customParameters || {}));
      this._status = direction === 'INCOMING' ? 'pending' : 'connecting';
      this._muted = false;
    }
    status() { return this._status; }
    isMuted() { return this._muted; }
    get _sid() { return this.parameters.CallSid; }
    accept() {
      if (this._status !== 'pending') return;
      this._status = 'connecting';
      this._device._send({ type: 'accept', call_sid: this._sid });
    }
    reject() {
      if (this._status !== 'pending') return;
      this._device._send({ type: 'reject', call_sid: this._sid });
      this._end('reject');
    }
    ignore() {
      if (this._status !== 'pending') return;
      this._end(null);
    }
    disconnect() {
      if (this._status === 'closed') return;
      if (this._status === 'pending') { this.reject(); return; }
      if (this._sid) this._device._send({ type: 'hangup', call_sid: this._sid });
      else this._hangupWhenNamed = true;
      this._end('disconnect');
    }
    mute(on = true) {
      const muted = !!on;
      if (muted === this._muted) return;
      this._muted = muted;
      this.emit('mute', muted, this);
    }
    sendDigits(digits) {
      const d = String(digits);
      if (!/^[0-9*#w]+$/.test(d)) throw sdkError(31000, 'Illegal character passed into sendDigits');
      if (this._status === 'open' && this._sid) this._device._send({ type: 'digits', call_sid: this._sid, digits: d });
    }
    /** Ends the call here, with `event` ('disconnect', 'cancel', 'reject') or silently. */
    _end(event) {
      if (this._status === 'closed') return;
      this._status = 'closed';
      this._device._forget(this);
      if (event) this.emit(event, this);
    }
  }

  class SandboxDevice extends Emitter {
    /** `options.signalUrl`: the server's `ws(s)://…/api/sandbox/signal`. */
    constructor(token, options = {}) {
      super();
      if (!options.signalUrl) throw sdkError(31000, 'SandboxDevice needs options.signalUrl');
      this._token = token;
      this._options = options;
      this._state = 'unregistered';
      this._calls = new Set();
      this._invites = new Map();
      this._ws = null;
      this._ready = null;
      this._wantRegistered = false;
      this._expiryTimer = null;
      this._nextRef = 1;
      this._destroyed = false;
      this.audio = {
        isOutputSelectionSupported: true,
        availableOutputDevices: new Map(),
        setInputDevice: async () => {},
        unsetInputDevice: async () => {},
        speakerDevices: { set: async () => {}, get: () => new Set() },
        ringtoneDevices: { set: async () => {}, get: () => new Set() },
        incoming: () => false,
      };
      this._armExpiry();
    }
    static get isSupported() { return typeof WebSocket === 'function'; }
    get state() { return this._state; }
    get calls() { return [...this._calls]; }
    get isBusy() { return [...this._calls].some((c) => c.status() !== 'pending'); }
    get token() { return this._token; }
    get identity() { return this._identity || null; }

    _armExpiry() {
      clearTimeout(this._expiryTimer);
      const exp = expiry(this._token);
      if (!exp) return;
      // As the SDK: `tokenWillExpire` this long before expiry (its `tokenRefreshMs`).
      const ahead = this._options.tokenRefreshMs ?? 10000;
      const ms = Math.max(0, exp * 1000 - Date.now() - ahead);
      this._expiryTimer = setTimeout(() => this.emit('tokenWillExpire', this), Math.min(ms, 2147483647));
    }

    /** Opens the signalling socket and listens with the token; resolves once ready. */
    _connect() {
      if (this._destroyed) return Promise.reject(sdkError(31000, 'The device is destroyed'));
      if (this._ready) return this._ready;
      this._ready = new Promise((resolve, reject) => {
        let ready = false;
        const ws = new WebSocket(this._options.signalUrl);
        this._ws = ws;
        ws.onopen = () => ws.send(JSON.stringify({ type: 'listen', token: this._token }));
        ws.onmessage = (m) => {
          let f;
          try { f = JSON.parse(m.data); } catch (_) { return; }
          if (f.type === 'ready') {
            ready = true;
            this._identity = f.identity;
            resolve();
            return;
          }
          if (!ready && f.type === 'error') {
            if (f.code === 20101 || f.code === 20104) this._tokenRefused = true;
            reject(sdkError(f.code, f.message));
            return;
          }
          this._frame(f);
        };
        ws.onclose = () => {
          if (this._ws !== ws) return;
          this._ws = null;
          this._ready = null;
          if (!ready) reject(sdkError(31005, 'The signalling connection failed'));
          this._lost();
        };
      });
      this._ready.catch(() => { this._ready = null; });
      return this._ready;
    }

    _send(frame) {
      if (this._ws && this._ws.readyState === WebSocket.OPEN) this._ws.send(JSON.stringify(frame));
    }

    /** The signalling connection dropped: calls end, registration is lost (and retried). */
    _lost() {
      for (const c of [...this._calls]) c._end('disconnect');
      for (const [, inv] of this._invites) inv.reject(sdkError(31005, 'The signalling connection was lost'));
      this._invites.clear();
      if (this._state === 'registered' || this._state === 'registering') {
        this._setState('unregistered');
        // A refused token waits for `updateToken`; anything else is retried.
        if (this._wantRegistered && !this._destroyed && !this._tokenRefused) {
          this.emit('error', sdkError(31005, 'The signalling connection was lost'));
          clearTimeout(this._retry);
          this._retry = setTimeout(() => { if (this._wantRegistered) this.register().catch(() => {}); }, 2000);
        }
      }
    }

    _setState(s) {
      if (this._state === s) return;
      this._state = s;
      this.emit(s, this);
    }

    _forget(call) { this._calls.delete(call); }

    _find(sid) { return [...this._calls].find((c) => c.parameters.CallSid === sid); }

    _frame(f) {
      switch (f.type) {
        case 'registered': this._setState('registered'); break;
        case 'unregistered': this._setState('unregistered'); break;
        case 'incoming': {
          const c = new Call(this, 'INCOMING', { CallSid: f.call_sid, From: f.from, To: f.to, ParentCallSid: f.parent_call_sid }, f.params);
          this._calls.add(c);
          this.emit('incoming', c);
          break;
        }
        case 'invited': {
          const inv = this._invites.get(f.ref);
          this._invites.delete(f.ref);
          if (!inv) { this._send({ type: 'hangup', call_sid: f.call_sid }); break; }
          inv.call.parameters.CallSid = f.call_sid;
          if (inv.call._hangupWhenNamed || inv.call.status() === 'closed') this._send({ type: 'hangup', call_sid: f.call_sid });
          break;
        }
        case 'ringing': { const c = this._find(f.call_sid); if (c && c.status() === 'connecting') { c._status = 'ringing'; c.emit('ringing', false); } break; }
        case 'accepted': { const c = this._find(f.call_sid); if (c && c.status() !== 'closed') { c._status = 'open'; c.emit('accept', c); } break; }
        case 'cancel': { const c = this._find(f.call_sid); if (c) c._end('cancel'); break; }
        case 'hangup': { const c = this._find(f.call_sid); if (c) c._end('disconnect'); break; }
        case 'error': {
          const e = sdkError(f.code, f.message);
          const inv = f.ref && this._invites.get(f.ref);
          if (inv) {
            this._invites.delete(f.ref);
            inv.call.emit('error', e);
            inv.call._end('disconnect');
            break;
          }
          const c = f.ref && this._find(f.ref);
          if (c) c.emit('error', e);
          else this.emit('error', e, undefined);
          if (f.code === 20104 || f.code === 20101) {
            this._tokenRefused = true;
            this._setState('unregistered');
          }
          break;
        }
        default: break;
      }
    }

    async register() {
      this._wantRegistered = true;
      if (this._state === 'registered') return;
      this._setState('registering');
      try {
        await this._connect();
      } catch (e) {
        this._setState('unregistered');
        this.emit('error', e);
        throw e;
      }
      this._send({ type: 'register' });
    }

    async unregister() {
      this._wantRegistered = false;
      if (this._ws) this._send({ type: 'unregister' });
      else this._setState('unregistered');
    }

    /** `device.connect({params})`: resolves with the outgoing Call once it is placed. */
    async connect(options = {}) {
      if (this.isBusy) throw sdkError(31000, 'A call is already in progress');
      await this._connect();
      const params = {};
      for (const [k, v] of Object.entries(options.params || {})) params[k] = String(v);
      const ref = `r${this._nextRef++}`;
      const call = new Call(this, 'OUTGOING', { CallSid: undefined, To: params.To }, params);
      this._calls.add(call);
      this._invites.set(ref, { call, reject: (e) => { call.emit('error', e); call._end('disconnect'); } });
      this._send({ type: 'invite', ref, params });
      return call;
    }

    updateToken(token) {
      this._token = token;
      this._tokenRefused = false;
      this._armExpiry();
      if (this._ws) this._send({ type: 'update_token', token });
      else if (this._wantRegistered && !this._destroyed) this.register().catch(() => {});
    }

    disconnectAll() {
      for (const c of [...this._calls]) c.disconnect();
    }

    destroy() {
      this._destroyed = true;
      this._wantRegistered = false;
      clearTimeout(this._expiryTimer);
      clearTimeout(this._retry);
      this.disconnectAll();
      const ws = this._ws;
      this._ws = null;
      this._ready = null;
      if (ws) ws.close(1000);
      this._setState('destroyed');
    }
  }

  globalThis.MptSandboxDevice = SandboxDevice;
})();
