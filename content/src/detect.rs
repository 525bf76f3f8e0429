//! The wasm exports of the phone-number detector (`mpt_core::phone`).
//!
//! - `findNumbersFlat(joined, region)` → the page scan: texts joined with `"\u0000"`, result
//!   `{offsets: Uint32Array [text, start, end, …] (UTF-16), e164: "…\n…", ext: "…\n…"}` —
//!   one crossing and four JS values per batch, however many matches.
//! - `normalizeFlat(joined, region)` → the E.164 of each `"\u0000"`-joined input (tel: hrefs)
//!   joined with `"\n"`, empty where an input is not a valid number: one crossing per batch.
//! - `formatNumber(e164, style)`.
//!
//! Only what the content script calls is exported: every export adds glue JS and wasm to
//! the payload injected into every page (the dialer's as-you-type lives in the popup; a
//! single number is normalized through `normalizeFlat`).
//!
//! `region` is an ISO 3166 alpha-2 code; an empty string means "US".

use js_sys::{Object, Reflect, Uint32Array};
use mpt_core::phone::{self, Region, Style};
use wasm_bindgen::prelude::*;

fn region(code: &str) -> Result<Region, JsError> {
    if code.is_empty() {
        return Ok(Region::US);
    }
    Region::parse(code).map_err(|e| JsError::new(&e.to_string()))
}

fn set(obj: &Object, key: &str, value: JsValue) {
    // Reflect.set on a fresh plain object cannot fail.
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value);
}

/// Finds the phone numbers in node texts joined with U+0000, with a constant number of
/// JS values per call: returns `{offsets, e164, ext}` where `offsets` is a `Uint32Array`
/// of `[node index, start, end]` per match (UTF-16 offsets within that node's own text),
/// and `e164` / `ext` hold the matches' numbers and extensions joined with `"\n"`
/// (`e164.split("\n")[k]` belongs to match `k`; an empty extension means none).
#[wasm_bindgen(js_name = findNumbersFlat)]
pub fn find_numbers_flat(joined: &str, region_code: &str) -> Result<Object, JsError> {
    let r = region(region_code)?;
    let mut offsets: Vec<u32> = Vec::new();
    let mut e164 = String::new();
    let mut ext = String::new();
    let scanner = phone::Scanner::new(r);
    // No `may_hold_number` pre-pass: the scanner's own digit search (eight bytes at a time)
    // skips a text without digits as fast, and would read a text with digits a second time.
    for (node, text) in joined.split('\0').enumerate() {
        scanner.for_each(text, |m| {
            if !offsets.is_empty() {
                e164.push('\n');
                ext.push('\n');
            }
            offsets.extend([node as u32, m.start_utf16, m.end_utf16]);
            e164.push_str(m.e164);
            ext.push_str(m.ext.unwrap_or(""));
        });
    }
    let o = Object::new();
    set(&o, "offsets", Uint32Array::from(offsets.as_slice()).into());
    set(&o, "e164", JsValue::from_str(&e164));
    set(&o, "ext", JsValue::from_str(&ext));
    Ok(o)
}

/// Normalizes many inputs (tel: hrefs) joined with U+0000 in one crossing: their E.164
/// forms joined with `"\n"`, an empty line for each input that is not a valid number.
#[wasm_bindgen(js_name = normalizeFlat)]
pub fn normalize_flat(joined: &str, region_code: &str) -> Result<String, JsError> {
    let r = region(region_code)?;
    let mut out = String::new();
    for (i, input) in joined.split('\0').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if let Ok(n) = phone::normalize(input, r) {
            out.push_str(n.e164.as_str());
        }
    }
    Ok(out)
}

/// Formats an E.164 number: style "national", "international" or "e164".
#[wasm_bindgen(js_name = formatNumber)]
pub fn format_number(e164: &str, style: &str) -> Result<String, JsError> {
    let e = phone::E164::parse(e164).map_err(|e| JsError::new(&e.to_string()))?;
    let style = match style {
        "national" | "" => Style::National,
        "international" => Style::International,
        "e164" | "E164" => Style::E164,
        other => return Err(JsError::new(&format!("unknown format style \u{201c}{other}\u{201d}: use national, international or e164"))),
    };
    Ok(phone::format(&e, style))
}
