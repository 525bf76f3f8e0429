// @mpt/phone-widget: the MPT Phone web component and iframe client as an ES module.
// Importing it defines <mpt-phone> and `MPTPhone` (also exported). The phone's files
// (wasm, scripts, stylesheet, Voice SDK) are loaded from this package's own folder, so a
// bundler or a static server must serve the package as is; the api-server is named with
// the element's `api-endpoint` attribute or `config.integration.apiEndpoint`.
const base = new URL('./', import.meta.url);
globalThis.__mptPhoneBase = base.href;

function load(file) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = new URL(file, base).href;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`@mpt/phone-widget: could not load ${file}`));
    document.head.appendChild(s);
  });
}

if (!globalThis.MPTPhone) {
  await load('widget.js');
}

/** The iframe client and helpers (see index.d.ts). */
export const MPTPhone = globalThis.MPTPhone;
/** `MPTPhone.mount(iframe, {token})`. */
export const mount = MPTPhone.mount;
export default MPTPhone;
