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

  /**
   * An embed token as is; a CRM's SSO JWT is exchanged for one (POST /api/embed/sso).
   * `method` (`config.integration.authMethod`): 'token' never exchanges, 'sso' always
   * does; unset, the token's own `typ` decides.
   */
  async function embedToken(api, key, token, method) {
    const p = jwtPayload(token);
    if (method === 'token' || (method !== 'sso' && (!p || p.typ === 'embed'))) return token;
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

  /**
   * The widget's client (envelope v1, CONTRACTS §3): `target` is the `<iframe>` of
   * `/widget`, or the window the phone opened in (`config.mode` popup), with
   * `options.origin` the api-server's origin.
   */
  function mount(target, options = {}) {
    const isFrame = typeof HTMLIFrameElement === 'function' && target instanceof HTMLIFrameElement;
    const peer = () => (isFrame ? target.contentWindow : target);
    const origin = isFrame ? new URL(target.src, location.href).origin : String(options.origin || '');
    if (!/^https?:\/\//.test(origin)) throw phoneError('internal', 'mount(window, {origin}) needs the widget\'s origin');
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
      if (ev.source !== peer() || ev.origin !== origin) return;
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
      const w = peer();
      if (!w || w.closed) return reject(phoneError('not_ready', 'The phone\'s window is closed.'));
      const id = nextId++;
      pending.set(id, { resolve, reject });
      return w.postMessage({ v: 1, id, type, payload }, origin);
    });
    // The widget may have said `ready` before we listened: ask until it says it again.
    const poll = setInterval(() => {
      const w = peer();
      if (w && !w.closed) w.postMessage({ v: 1, type: 'ping' }, origin);
    }, 200);
    isReady.then(() => clearInterval(poll));
    const send = (type, payload) => isReady.then(() => post(type, payload));
    let auth = options.token ? send('auth', { token: options.token }) : Promise.resolve();
    const client = {
      ready: auth,
      /** Stops listening (the window was closed): what is pending is refused. */
      close() {
        clearInterval(poll);
        for (const p of pending.values()) p.reject(phoneError('not_ready', 'The phone\'s window is closed.'));
        pending.clear();
      },
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

  const MODES = ['embedded', 'standalone', 'popup'];
  const FEATURES = ['dialPad', 'contactSearch', 'callLogging', 'voicemail'];
  const INTEGRATIONS = ['mpt-crm', 'ams-crm', 'generic'];
  const isObject = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);

  /** Checks the design's configuration object; a typed error names what is wrong. */
  function checkConfig(c) {
    const bad = (what) => phoneError('internal', `config: ${what}`);
    if (!isObject(c)) throw bad('must be an object');
    if (c.mode !== undefined && !MODES.includes(c.mode)) throw bad(`mode must be one of ${MODES.join(', ')}`);
    if (c.features !== undefined) {
      if (!isObject(c.features)) throw bad('features must be an object');
      for (const [k, v] of Object.entries(c.features)) {
        if (!FEATURES.includes(k)) throw bad(`unknown feature ${JSON.stringify(k)} (${FEATURES.join(', ')})`);
        if (typeof v !== 'boolean') throw bad(`features.${k} must be true or false`);
      }
    }
    const i = c.integration;
    if (i !== undefined) {
      if (!isObject(i)) throw bad('integration must be an object');
      if (i.type !== undefined && !INTEGRATIONS.includes(i.type)) throw bad(`integration.type must be one of ${INTEGRATIONS.join(', ')}`);
      if (i.authMethod !== undefined && !['sso', 'token'].includes(i.authMethod)) throw bad('integration.authMethod must be sso or token');
      if (i.apiEndpoint !== undefined && !/^https?:\/\/[^/]/.test(String(i.apiEndpoint))) throw bad('integration.apiEndpoint must be an http(s) URL');
    }
    if (c.theme !== undefined && !isObject(c.theme)) throw bad('theme must be an object');
    return c;
  }

  class MptPhoneElement extends HTMLElement {
    static get observedAttributes() { return ['auth-token', 'theme', 'contact-id']; }

    constructor() {
      super();
      this._shadow = this.attachShadow({ mode: 'closed' });
      this._config = {};
      this._configSet = false;
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
    /** The design's configuration object; a bad one throws a typed error and changes nothing. */
    set config(c) {
      this._config = checkConfig(c || {});
      this._configSet = true;
      if (this._started && this._config.theme) this.setTheme(this._config.theme).catch(() => {});
    }

    /** The `config` attribute (JSON), unless the property was set. */
    _readConfig() {
      const raw = this.getAttribute('config');
      if (this._configSet || raw == null) return;
      let c;
      try {
        c = JSON.parse(raw);
      } catch (e) {
        throw phoneError('internal', `config: the attribute is not JSON (${e.message})`);
      }
      this._config = checkConfig(c);
    }

    /** `/widget` for this element: the key, its contact, and the features to show. */
    _widgetUrl(key) {
      const url = new URL('/widget', this._api());
      url.searchParams.set('key', key);
      const contact = this.getAttribute('contact-id');
      if (contact) url.searchParams.set('contact', contact);
      if (this._config.features) url.searchParams.set('features', JSON.stringify(this._config.features));
      return url;
    }

    _refuse(err) {
      this._refused = err;
      this._emit('error', { code: err.code, message: err.message });
      throw err;
    }

    /** The api-server: `api-endpoint`, `config.integration.apiEndpoint`, or where this script came from. */
    _api() {
      const fromConfig = this._config.integration && this._config.integration.apiEndpoint;
      return String(this.getAttribute('api-endpoint') || fromConfig || DEFAULT_API).replace(/\/+$/, '');
    }

    async _start() {
      await Promise.resolve(); // the host may still set `config` right after adding the element
      try {
        this._readConfig();
      } catch (e) {
        this._refuse(e);
      }
      const API = this._api();
      const key = this.getAttribute('api-key') || '';
      const mode = this._config.mode || 'embedded';
      if (this.hasAttribute('isolated')) return this._startIsolated(key);
      // The tenant must allow this page's origin (the server says, from the key).
      const r = await fetch(`${API}/api/embed/widget?key=${encodeURIComponent(key)}`, { credentials: 'omit' });
      if (!r.ok) {
        const body = await r.json().catch(() => ({}));
        this._refuse(asError(body.error || { code: 'not_allowed', message: 'This site may not host the phone.' }));
      }
      this._key = key;
      if (mode === 'popup') return this._startPopup(key);
      if (mode === 'standalone') this._hostStyle(':host { display: block; height: 100%; min-height: 480px; }');
      await loadScript(new URL('voice.js', base).href);
      const mod = await loadEngine();
      const style = document.createElement('link');
      style.rel = 'stylesheet';
      style.href = new URL('mpt-ui.css', base).href;
      const root = document.createElement('div');
      this._shadow.append(style, root);
      mod.onEvent((name, detail) => this._emit(name, detail));
      const integration = (this._config.integration && this._config.integration.type) || undefined;
      const theme = this.getAttribute('theme') || (this._config.theme && this._config.theme.name)
        || (integration === 'mpt-crm' || integration === 'ams-crm' ? integration : undefined);
      const layout = (this._config.theme && this._config.theme.layout) || (mode === 'standalone' ? 'full' : undefined);
      try {
        mod.mount(root, { api: API, widgetKey: key, theme, layout, features: this._config.features || {} });
      } catch (e) {
        this._refuse(asError(e));
      }
      this._mod = mod;
      this._applyColours();
      const token = this.getAttribute('auth-token');
      if (token) await this._auth(token).catch(() => {});
      return mod;
    }

    /** Styles for the element itself (constructed: no inline style for the page's CSP to block). */
    _hostStyle(css) {
      try {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(css);
        this._shadow.adoptedStyleSheets = [...this._shadow.adoptedStyleSheets, sheet];
      } catch (_) { /* an old browser: the host page sizes the element */ }
    }

    /** `mode: popup`: a button that opens the phone in its own window (the same API). */
    _startPopup(key) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Open MPT Phone';
      button.setAttribute('data-testid', 'mpt-phone-open');
      button.addEventListener('click', () => this.open());
      this._shadow.append(button);
      this._launcher = button;
      return null;
    }

    /**
     * `mode: popup`: opens (or brings forward) the phone's window. Call it from a click:
     * browsers open windows only on a user gesture.
     */
    open() {
      if (!this._launcher) return Promise.reject(phoneError('not_allowed', 'open() is for mode popup'));
      if (this._win && !this._win.closed) {
        this._win.focus();
        return this._client.ready;
      }
      const url = this._widgetUrl(this._key);
      url.searchParams.set('opener', location.origin);
      const win = window.open(url.href, `mpt-phone-${this._key}`, 'popup,width=380,height=640');
      if (!win) {
        const err = phoneError('not_allowed', 'The browser blocked the phone\'s window: allow pop-ups for this site.');
        this._emit('error', { code: err.code, message: err.message });
        return Promise.reject(err);
      }
      const client = mount(win, { token: this.getAttribute('auth-token') || undefined, origin: url.origin });
      this._forward(client);
      this._win = win;
      this._client = client;
      this._launcher.setAttribute('aria-expanded', 'true');
      const watch = setInterval(() => {
        if (!win.closed) return;
        clearInterval(watch);
        client.close();
        if (this._client === client) this._client = null;
        this._launcher.setAttribute('aria-expanded', 'false');
      }, 500);
      return client.ready;
    }

    /** The widget's events, dispatched by this element. */
    _forward(client) {
      for (const name of ['ready', 'call-incoming', 'call-started', 'call-ringing', 'call-answered', 'call-ended', 'call-logged', 'token-expiring', 'error']) {
        client.on(name, (detail) => this._emit(name, detail));
      }
    }

    async _startIsolated(key) {
      const frame = document.createElement('iframe');
      frame.src = this._widgetUrl(key).href;
      frame.allow = 'microphone; autoplay';
      frame.title = 'MPT Phone';
      frame.style.cssText = 'border:0;width:100%;height:100%;min-height:520px';
      this._shadow.append(frame);
      const client = mount(frame, { token: this.getAttribute('auth-token') || undefined });
      this._forward(client);
      this._client = client;
      return client;
    }

    async _auth(token) {
      try {
        const method = this._config.integration && this._config.integration.authMethod;
        return await this._mod.command('setAuthToken', { token: await embedToken(this._api(), this._key, token, method) });
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
      if (this._launcher) throw phoneError('not_ready', 'Open the phone first: its button opens it in its own window.');
      if (name === 'setAuthToken') return this._auth(payload.token);
      return this._mod.command(name, payload.value).catch((e) => { throw asError(e); });
    }

    dial(number, opts = {}) {
      const contactId = opts.contactId ?? this.getAttribute('contact-id') ?? undefined;
      const integration = this._config.integration && this._config.integration.type;
      const crm = opts.crm ?? (integration && integration !== 'generic' ? integration : undefined);
      const value = { number: String(number), contactId, contactName: opts.contactName, crm };
      return this._command('dial', { value, args: [number, { ...opts, contactId, crm }] });
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
