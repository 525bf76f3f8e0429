// Types of @mpt/phone-widget (docs/embed.md; ../shared/CONTRACTS.md §2–3).

/** Error codes (docs/errors.md). */
export type PhoneErrorCode =
  | 'invalid_number' | 'not_signed_in' | 'not_ready' | 'in_call' | 'no_call' | 'not_allowed' | 'unauthorized'
  | 'rate_limited' | 'subscription_inactive' | 'seats_exceeded' | 'country_not_allowed' | 'unavailable' | 'internal';

/** A rejected command. */
export interface PhoneError extends Error { code: PhoneErrorCode; message: string }

export type Direction = 'inbound' | 'outbound';
export type EndReason = 'completed' | 'busy' | 'no-answer' | 'failed' | 'canceled' | 'missed' | 'declined';

export interface CallRef { callId: string; contactId: string | null; number: string; direction: Direction }

/** Event names and their `detail`. */
export interface PhoneEventMap {
  'ready': Record<string, never>;
  'call-incoming': { callId: string; number: string; contactId?: string | null; contactName?: string | null };
  'call-started': CallRef;
  'call-ringing': CallRef;
  'call-answered': CallRef;
  'call-ended': CallRef & { durationSec: number; endReason: EndReason };
  'call-logged': { callId: string; notes?: string | null; disposition?: string | null };
  'token-expiring': { expiresInSec: number };
  'error': { code: PhoneErrorCode; message: string };
}

export interface DialOptions { contactId?: string; contactName?: string; crm?: string }
export interface ContactRef { contactId?: string; contactName?: string; crm?: string }
export type ThemeName = 'mpt-crm' | 'ams-crm' | 'auto';
export type Layout = 'compact' | 'full' | 'minimal';
export interface ThemeObject { name?: ThemeName; primary?: string; secondary?: string; layout?: Layout }

/** The design's configuration object (`element.config`, or JSON in the `config` attribute). */
export interface PhoneConfig {
  /** embedded (inline), standalone (fills its container), popup (opens in its own window). */
  mode?: 'embedded' | 'standalone' | 'popup';
  integration?: { type?: 'mpt-crm' | 'ams-crm' | 'generic'; apiEndpoint?: string; authMethod?: 'sso' | 'token' };
  features?: { dialPad?: boolean; contactSearch?: boolean; callLogging?: boolean; voicemail?: boolean };
  theme?: ThemeObject;
}

/** The commands every transport offers. */
export interface PhoneCommands {
  dial(number: string, options?: DialOptions): Promise<{ callId: string }>;
  hangup(): Promise<void>;
  mute(muted: boolean): Promise<void>;
  sendDigits(digits: string): Promise<void>;
  answer(): Promise<void>;
  decline(): Promise<void>;
  setContact(contact: ContactRef): Promise<void>;
  setTheme(theme: ThemeName | ThemeObject): Promise<void>;
  setAuthToken(token: string): Promise<void>;
}

/**
 * `<mpt-phone api-key="pk_…" auth-token="…" contact-id="…" theme="mpt-crm" api-endpoint="https://…" isolated>`.
 * Themable with CSS custom properties `--mpt-phone-primary`, `--mpt-phone-bg`, `--mpt-phone-text`, … on the element.
 */
export interface MPTPhoneElement extends HTMLElement, PhoneCommands {
  /** Throws a typed error (and changes nothing) for a bad configuration. */
  config: PhoneConfig;
  /** `mode: 'popup'`: opens the phone's window (call it from a click); settles when it took the token. */
  open(): Promise<void>;
  addEventListener<K extends keyof PhoneEventMap>(type: K, listener: (ev: CustomEvent<PhoneEventMap[K]>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
}

/** The widget's client (an iframe, or a popup window). */
export interface WidgetClient extends PhoneCommands {
  /** Settles when the widget took the token given to `mount`. */
  ready: Promise<void>;
  on<K extends keyof PhoneEventMap>(name: K, listener: (detail: PhoneEventMap[K]) => void): WidgetClient;
  off<K extends keyof PhoneEventMap>(name: K, listener: (detail: PhoneEventMap[K]) => void): WidgetClient;
  /** Stops listening and refuses what is pending (`not_ready`). */
  close(): void;
}

export interface MPTPhoneApi {
  /** Speaks the envelope v1 with an `<iframe src="…/widget?key=pk_…">`, or with the phone's window (`origin`: the api-server's). */
  mount(target: HTMLIFrameElement | Window, options?: { token?: string; origin?: string }): WidgetClient;
  readonly version: 1;
  readonly commands: readonly string[];
}

export declare const MPTPhone: MPTPhoneApi;
export declare const mount: MPTPhoneApi['mount'];
export default MPTPhone;

declare global {
  interface HTMLElementTagNameMap { 'mpt-phone': MPTPhoneElement }
  interface Window { MPTPhone: MPTPhoneApi }
}
