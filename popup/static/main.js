// Loads the popup's wasm; #[wasm_bindgen(start)] mounts the Leptos app.
import init from './mpt_popup.js';

init({ module_or_path: new URL('./mpt_popup_bg.wasm', import.meta.url) });
