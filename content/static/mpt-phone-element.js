// <mpt-phone>: the MPT Phone call overlay, a self-contained custom element.
//
// The extension loads this file in the page's MAIN world (isolated content
// scripts have no `customElements`); it also works as a standalone script.
// It is driven only by attributes and DOM events, which cross JS worlds:
//
//   attributes  state          dialing | ringing | in_call | ended ("" or absent: hidden)
//               number         E.164 number;  display-number  formatted for display
//               contact        CRM contact id or name
//               answered-at    Unix ms when the call was answered (drives the timer)
//               end-reason     completed | busy | no_answer | failed | canceled
//               label          what to show for the state ("Dialing…", "Busy"): written by
//                              the host from the phone engine, never by this element
//               muted          present when the microphone is muted
//   events      mpt-phone-hangup, mpt-phone-mute, mpt-phone-unmute,
//               mpt-phone-digits (detail: the digit string; also in the last-digits attribute)
//
// All events bubble and are composed.
(() => {
  'use strict';
  if (typeof customElements === 'undefined' || !customElements || customElements.get('mpt-phone')) return;

  const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];
  const ENDED_HIDE_MS = 6000;

  const TEMPLATE = `
    <style>
      :host { all: initial; position: fixed; right: 16px; bottom: 16px; z-index: 2147483647;
              font: 14px/1.35 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b; }
      :host(:not([state])), :host([state=""]), .hidden { display: none !important; }
      .card { width: 260px; background: #fff; border-radius: 12px; padding: 14px;
              box-shadow: 0 6px 28px rgba(0,0,0,.28); border-top: 4px solid #1266e6; }
      :host([state="ended"]) .card { border-top-color: #8a8a8a; }
      .row { display: flex; align-items: center; justify-content: space-between; gap: 8px; }
      .state { font-weight: 600; font-size: 13px; color: #1266e6; }
      :host([state="ended"]) .state { color: #555; }
      .timer { font-variant-numeric: tabular-nums; font-size: 13px; color: #333; }
      .number { font-size: 18px; font-weight: 600; margin: 6px 0 2px; letter-spacing: .2px; }
      .contact { font-size: 12px; color: #555; min-height: 1em; }
      .actions { display: flex; gap: 8px; margin-top: 12px; }
      button { font: inherit; font-size: 13px; border-radius: 8px; border: 1px solid #c9d3e3;
               background: #f4f7fb; color: #1b1b1b; padding: 7px 10px; cursor: pointer; flex: 1; }
      button:focus-visible { outline: 2px solid #1266e6; outline-offset: 1px; }
      button[aria-pressed="true"] { background: #fde7c4; border-color: #d97706; }
      button.hangup { background: #d62d20; border-color: #d62d20; color: #fff; }
      button.close { flex: 0; border: 0; background: none; padding: 2px 6px; font-size: 16px; }
      .keypad { display: grid; grid-template-columns: repeat(3, 1fr); gap: 6px; margin-top: 10px; }
      .keypad button { padding: 8px 0; font-size: 16px; }
    </style>
    <div class="card" role="dialog" aria-label="MPT Phone call" part="card">
      <div class="row">
        <span class="state" data-testid="overlay-state" aria-live="polite"></span>
        <span class="timer" data-testid="overlay-timer"></span>
        <button class="close hidden" type="button" data-testid="overlay-close" aria-label="Close">×</button>
      </div>
      <div class="number" data-testid="overlay-number"></div>
      <div class="contact" data-testid="overlay-contact"></div>
      <div class="actions live">
        <button class="mute" type="button" data-testid="overlay-mute" aria-pressed="false">Mute</button>
        <button class="pad" type="button" data-testid="overlay-keypad-toggle" aria-expanded="false">Keypad</button>
        <button class="hangup" type="button" data-testid="overlay-hangup">Hang up</button>
      </div>
      <div class="keypad hidden" data-testid="overlay-keypad"></div>
    </div>`;

  function pad2(n) { return n < 10 ? `0${n}` : String(n); }

  /** "m:ss" (or "h:mm:ss") of a duration in seconds. */
  function clock(s) {
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    return h ? `${h}:${pad2(m)}:${pad2(sec)}` : `${m}:${pad2(sec)}`;
  }

  class MptPhone extends HTMLElement {
    static get observedAttributes() {
      return ['state', 'label', 'number', 'display-number', 'contact', 'answered-at', 'end-reason', 'muted'];
    }

    constructor() {
      super();
      const root = this.attachShadow({ mode: 'open' });
      root.innerHTML = TEMPLATE;
      this._el = (sel) => root.querySelector(sel);
      this._tick = 0;
      this._hide = 0;
      const keypad = this._el('.keypad');
      for (const k of KEYS) {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = k;
        b.dataset.testid = `overlay-key-${k === '*' ? 'star' : k === '#' ? 'hash' : k}`;
        b.addEventListener('click', () => this._digits(k));
        keypad.appendChild(b);
      }
      this._el('.mute').addEventListener('click', () => {
        this._emit(this.hasAttribute('muted') ? 'mpt-phone-unmute' : 'mpt-phone-mute');
      });
      this._el('.hangup').addEventListener('click', () => this._emit('mpt-phone-hangup'));
      this._el('.pad').addEventListener('click', () => {
        const open = keypad.classList.toggle('hidden') === false;
        this._el('.pad').setAttribute('aria-expanded', String(open));
      });
      this._el('.close').addEventListener('click', () => this.removeAttribute('state'));
      this.addEventListener('keydown', (e) => {
        if (this.getAttribute('state') === 'in_call' && /^[0-9*#]$/.test(e.key)) this._digits(e.key);
      });
    }

    connectedCallback() { this._render(); }

    disconnectedCallback() { this._stopTimer(); clearTimeout(this._hide); }

    attributeChangedCallback() { this._render(); }

    _emit(type, detail) {
      this.dispatchEvent(new CustomEvent(type, { bubbles: true, composed: true, detail }));
    }

    _digits(d) {
      this.setAttribute('last-digits', d);
      this._emit('mpt-phone-digits', d);
    }

    _stopTimer() {
      clearInterval(this._tick);
      this._tick = 0;
    }

    _renderTimer() {
      const at = Number(this.getAttribute('answered-at'));
      const state = this.getAttribute('state');
      const el = this._el('.timer');
      if (!at || (state !== 'in_call' && state !== 'ended')) {
        el.textContent = '';
        return;
      }
      el.textContent = clock(Math.max(0, Math.floor((Date.now() - at) / 1000)));
    }

    _render() {
      if (!this.shadowRoot) return;
      const state = this.getAttribute('state') || '';
      const ended = state === 'ended';
      // The host writes the label (the phone engine's words); the element writes none.
      this._el('.state').textContent = this.getAttribute('label') || '';
      this._el('.number').textContent = this.getAttribute('display-number') || this.getAttribute('number') || '';
      this._el('.contact').textContent = this.getAttribute('contact') || '';
      const muted = this.hasAttribute('muted');
      const mute = this._el('.mute');
      mute.textContent = muted ? 'Unmute' : 'Mute';
      mute.setAttribute('aria-pressed', String(muted));
      mute.disabled = state !== 'in_call';
      this._el('.pad').disabled = state !== 'in_call';
      this._el('.live').classList.toggle('hidden', ended);
      this._el('.close').classList.toggle('hidden', !ended);
      if (state !== 'in_call') {
        this._el('.keypad').classList.add('hidden');
        this._el('.pad').setAttribute('aria-expanded', 'false');
      }
      // The timer runs only while in a call; an ended call keeps its final time.
      if (state === 'in_call' && !this._tick) this._tick = setInterval(() => this._renderTimer(), 1000);
      if (state !== 'in_call') this._stopTimer();
      if (!ended || !this._endedAt) this._renderTimer();
      this._endedAt = ended ? (this._endedAt || Date.now()) : 0;
      clearTimeout(this._hide);
      if (ended) this._hide = setTimeout(() => this.removeAttribute('state'), ENDED_HIDE_MS);
    }
  }

  customElements.define('mpt-phone', MptPhone);
})();
