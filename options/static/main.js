// Loads the options page's wasm; #[wasm_bindgen(start)] mounts the Leptos page.
import init from './mpt_options.js';

init({ module_or_path: new URL('./mpt_options_bg.wasm', import.meta.url) });
