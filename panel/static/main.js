// Loads the panel's wasm; #[wasm_bindgen(start)] mounts the Leptos app.
import init from './mpt_panel.js';

init({ module_or_path: new URL('./mpt_panel_bg.wasm', import.meta.url) });
