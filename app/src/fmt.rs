//! Display helpers for the pages (times and durations); numbers are shown as the server
//! stores them (E.164), labels of calls come from the engine only in the phone.

/// A Unix-ms time in the browser's locale.
pub fn time(ms: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    String::from(d.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
}

/// `m:ss`.
pub fn duration(secs: Option<u64>) -> String {
    match secs {
        Some(s) => format!("{}:{:02}", s / 60, s % 60),
        None => "–".into(),
    }
}

/// A `yyyy-mm-dd` date input as Unix ms at local midnight (`None` when empty or invalid).
pub fn date_ms(date: &str, end_of_day: bool) -> Option<i64> {
    if date.is_empty() {
        return None;
    }
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&format!("{date}T00:00:00")));
    let t = d.get_time();
    if t.is_nan() {
        return None;
    }
    Some(t as i64 + if end_of_day { 86_400_000 } else { 0 })
}
