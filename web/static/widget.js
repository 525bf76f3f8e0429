// MPT Phone widget script (`/phone/v1/widget.js`, docs/embed.md).
//
// - `<mpt-phone api-key token-attributes…>`: the phone (mpt-web's wasm: the engine and
//   mpt-ui) in the element's closed shadow root, in the host page by the host's choice;
//   with `isolated`, the element hosts the iframe widget instead (same API).
// - `MPTPhone.mount(iframe, {token})`: a promise-based client of the iframe widget's
//   postMessage envelope v1.
// This file only moves messages and renders: every call decision is the engine's.
(() => {
  'use strict';
  if (globalThis.MPTPhone) return;
  const script = document.currentScript;
  // Served by the api-server (`/phone/v1/widget.js`) or from the npm package, whose ESM
  // entry sets `__mptPhoneBase` to its own folder before loading this file.
  const base = new URL('.', script && script.src ? script.src : (globalThis.__mptPhoneBase || location.href));
  const DEFAULT_API = base.origin;
  const COMMANDS = ['dial', 'hangup', 'mute', 'sendDigits', 'answer', 'decline', 'setContact', 'setTheme', 'setAuthToken'];
  const COLOURS = ['primary', 'on-primary', 'danger', 'on-danger', 'bg', 'surface', 'text', 'muted', 'line'];

  let engine = null;
  /** Loads the phone's wasm once per page (one phone per page). */
  function loadEngine() {
    if (!engine) {
      engine = (async () => {
        const mod = await import(new URL('mpt_web.js', base).href);
        await mod.default({ module_or_path: new URL('mpt_web_bg.wasm', base) });
        globalThis.mptVoice = globalThis.mptVoiceDriver
          ? globalThis.mptVoiceDriver((ev) => mod.voiceEvent(ev), {
            sdkUrl: new URL('twilio.min.js', base).href,
            sandboxUrl: new URL('sandbox-device.js', base).href,
            appName: 'mpt-phone-widget',
            closeProtection: true,
          })
          : undefined;
        return mod;
      })();
    }
    return engine;
  }

  function loadScript(url) {
    return new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = url;
      s.onload = () => resolve();
      s.onerror = () => reject(new Error(`could not load ${url}`));
      document.head.appendChild(s);
    });
  }

  /** A typed error object `{code, message}` (codes: docs/errors.md). */
  function phoneError(code, message) {
    const e = new Error(message);
    e.code = code;
    return e;
  }

  function asError(e) {
    if (e instanceof Error && e.code) return e;
    if (e && typeof e === 'object' && e.code) return phoneError(e.code, e.message || e.code);
    return phoneError('internal', String((e && e.message) || e));
  }

  function jwtPayload(token) {
    try {
      const part = String(token).split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(atob(part));
    } catch (_) {
      return null;
    }
  }

  /** An embed token as is; a CRM's SSO JWT is exchanged for one (POST /api/embed/sso). */
  async function embedToken(api, key, token) {
    const p = jwtPayload(token);
    if (!p || p.typ === 'embed') return token;
    const r = await fetch(`${api}/api/embed/sso`, {
      method: 'POST',
      credentials: 'omit',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key, assertion: token }),
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw asError(body.error || { code: 'unauthorized', message: 'The token was refused.' });
    return body.token;
  }

  /** Does `origin` match an allowed-origin pattern (api-server/src/tenant.rs origin_matches)? */
  function originMatches(pattern, origin) {
    if (pattern === origin) return true;
    if (pattern.endsWith(':*')) {
      const prefix = pattern.slice(0, -2) + ':';
      return origin.startsWith(prefix) && /^[0-9]+$/.test(origin.slice(prefix.length));
    }
    if (pattern.endsWith('://*')) {
      const prefix = pattern.slice(0, -1);
      return origin.startsWith(prefix) && /^[A-Za-z0-9]+$/.test(origin.slice(prefix.length));
    }
    return false;
  }

  /** The iframe widget's client (envelope v1, CONTRACTS §3). */
  function mount(iframe, options = {}) {
    const origin = new URL(iframe.src, location.href).origin;
    const listeners = new Map();
    const pending = new Map();
    let nextId = 1;
    let ready;
    const isReady = new Promise((r) => { ready = r; });
    const emit = (name, payload) => {
      for (const fn of listeners.get(name) || []) {
        try { fn(payload); } catch (e) { setTimeout(() => { throw e; }); }
      }
    };
    window.addEventListener('message', (ev) => {
      // Only the widget's own window, from its own origin.
      if (ev.source !== iframe.contentWindow || ev.origin !== origin) return;
      const m = ev.data;
      if (!m || m.v !== 1) return;
      if (m.type === 'ready') ready();
      else if (m.type === 'response') {
        const p = pending.get(m.id);
        if (!p) return;
        pending.delete(m.id);
        if (m.ok) p.resolve(m.payload);
        else p.reject(asError(m.error));
      } else if (m.type === 'event') emit(m.name, m.payload);
    });
    const post = (type, payload) => new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      iframe.contentWindow.postMessage({ v: 1, id, type, payload }, origin);
    });
    // The widget may have said `ready` before we listened: ask until it says it again.
    const poll = setInterval(() => {
      if (iframe.contentWindow) iframe.contentWindow.postMessage({ v: 1, type: 'ping' }, origin);
    }, 200);
    isReady.then(() => clearInterval(poll));
    const send = (type, payload) => isReady.then(() => post(type, payload));
    let auth = options.token ? send('auth', { token: options.token }) : Promise.resolve();
    const client = {
      ready: auth,
      on(name, fn) { listeners.set(name, [...(listeners.get(name) || []), fn]); return client; },
      off(name, fn) { listeners.set(name, (listeners.get(name) || []).filter((f) => f !== fn)); return client; },
      dial: (number, opts = {}) => auth.then(() => send('dial', { number, ...opts })),
      hangup: () => auth.then(() => send('hangup', {})),
      mute: (muted) => auth.then(() => send('mute', { muted: !!muted })),
      sendDigits: (digits) => auth.then(() => send('sendDigits', { digits: String(digits) })),
      answer: () => auth.then(() => send('answer', {})),
      decline: () => auth.then(() => send('decline', {})),
      setContact: (c) => auth.then(() => send('setContact', c)),
      setTheme: (t) => send('setTheme', t),
      setAuthToken(token) {
        auth = send('auth', { token });
        client.ready = auth;
        return auth;
      },
    };
    return client;
  }

  class MptPhoneElement extends HTMLElement {
    static get observedAttributes() { return ['auth-token', 'theme', 'contact-id']; }

    constructor() {
      super();
      this._shadow = this.attachShadow({ mode: 'closed' });
      this._config = {};
      this._started = null;
    }

    connectedCallback() {
      if (!this._started) {
        this._started = this._start();
        // A refusal is reported as an `error` event and by every command, not as an
        // unhandled rejection.
        this._started.catch(() => {});
      }
    }

    attributeChangedCallback(name, _old, value) {
      if (!this._started || value == null) return;
      if (name === 'auth-token') this.setAuthToken(value).catch(() => {});
      else if (name === 'theme') this.setTheme(value).catch(() => {});
    }

    get config() { return this._config; }
    set config(c) {
      this._config = c || {};
      if (this._started && this._config.theme) this.setTheme(this._config.theme).catch(() => {});
    }

    /** The api-server: `api-endpoint`, `config.integration.apiEndpoint`, or where this script came from. */
    _api() {
      const fromConfig = this._config.integration && this._config.integration.apiEndpoint;
      return String(this.getAttribute('api-endpoint') || fromConfig || DEFAULT_API).replace(/\/+$/, '');
    }

    async _start() {
      const API = this._api();
      const key = this.getAttribute('api-key') || '';
      if (this.hasAttribute('isolated')) return this._startIsolated(key);
      // The tenant must allow this page's origin (the server says, from the key).
      const r = await fetch(`${API}/api/embed/widget?key=${encodeURIComponent(key)}`, { credentials: 'omit' });
      if (!r.ok) {
        const body = await r.json().catch(() => ({}));
        const err = asError(body.error || { code: 'not_allowed', message: 'This site may not host the phone.' });
        this._refused = err;
        this._emit('error', { code: err.code, message: err.message });
        throw err;
      }
      await loadScript(new URL('voice.js', base).href);
      const mod = await loadEngine();
      const style = document.createElement('link');
      style.rel = 'stylesheet';
      style.href = new URL('mpt-ui.css', base).href;
      const root = document.createElement('div');
      this._shadow.append(style, root);
      mod.onEvent((name, detail) => this._emit(name, detail));
      const theme = this.getAttribute('theme') || (this._config.theme && this._config.theme.name) || undefined;
      const layout = (this._config.theme && this._config.theme.layout) || undefined;
      mod.mount(root, { api: API, widgetKey: key, theme, layout });
      this._mod = mod;
      this._key = key;
      this._applyColours();
      const token = this.getAttribute('auth-token');
      if (token) await this._auth(token).catch(() => {});
      return mod;
    }

    async _startIsolated(key) {
      const API = this._api();
      const frame = document.createElement('iframe');
      const url = new URL('/widget', API);
      url.searchParams.set('key', key);
      const contact = this.getAttribute('contact-id');
      if (contact) url.searchParams.set('contact', contact);
      frame.src = url.href;
      frame.allow = 'microphone; autoplay';
      frame.title = 'MPT Phone';
      frame.style.cssText = 'border:0;width:100%;height:100%;min-height:520px';
      this._shadow.append(frame);
      const client = mount(frame, { token: this.getAttribute('auth-token') || undefined });
      for (const name of ['ready', 'call-incoming', 'call-started', 'call-ringing', 'call-answered', 'call-ended', 'call-logged', 'token-expiring', 'error']) {
        client.on(name, (detail) => this._emit(name, detail));
      }
      this._client = client;
      return client;
    }

    async _auth(token) {
      try {
        return await this._mod.command('setAuthToken', { token: await embedToken(this._api(), this._key, token) });
      } catch (e) {
        throw asError(e);
      }
    }

    _emit(name, detail) {
      this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
    }

    /** Host-page theming: `--mpt-phone-<colour>` on the element overrides the theme's colour. */
    _applyColours() {
      const phone = this._shadow.querySelector('.mpt-phone');
      if (!phone) return;
      const css = getComputedStyle(this);
      const colours = (this._config.theme) || {};
      for (const c of COLOURS) {
        const v = css.getPropertyValue(`--mpt-phone-${c}`).trim();
        if (v) phone.style.setProperty(`--mpt-${c}`, v);
      }
      if (colours.primary) phone.style.setProperty('--mpt-primary', colours.primary);
      if (colours.secondary) phone.style.setProperty('--mpt-line', colours.secondary);
    }

    async _command(name, payload) {
      try {
        await this._started;
      } catch (e) {
        throw asError(e);
      }
      if (this._client) return this._client[name](...payload.args);
      if (name === 'setAuthToken') return this._auth(payload.token);
      return this._mod.command(name, payload.value).catch((e) => { throw asError(e); });
    }

    dial(number, opts = {}) {
      const contactId = opts.contactId ?? this.getAttribute('contact-id') ?? undefined;
      const value = { number: String(number), contactId, contactName: opts.contactName, crm: opts.crm };
      return this._command('dial', { value, args: [number, { ...opts, contactId }] });
    }
    hangup() { return this._command('hangup', { value: {}, args: [] }); }
    mute(muted) { return this._command('mute', { value: { muted: !!muted }, args: [muted] }); }
    sendDigits(digits) { return this._command('sendDigits', { value: { digits: String(digits) }, args: [digits] }); }
    answer() { return this._command('answer', { value: {}, args: [] }); }
    decline() { return this._command('decline', { value: {}, args: [] }); }
    setContact(c) { return this._command('setContact', { value: c, args: [c] }); }
    setTheme(t) {
      if (t && typeof t === 'object') this._config = { ...this._config, theme: t };
      const done = this._command('setTheme', { value: t, args: [t] });
      return done.then((r) => { this._applyColours(); return r; });
    }
    setAuthToken(token) { return this._command('setAuthToken', { token, args: [token] }); }
  }

  globalThis.MPTPhone = Object.freeze({ mount, version: 1, commands: COMMANDS, _engine: loadEngine, _embedToken: embedToken, _originMatches: originMatches, _asError: asError, _loadScript: loadScript });
  if (!customElements.get('mpt-phone')) customElements.define('mpt-phone', MptPhoneElement);
})();
