//! The wasm exports of the phone-number detector (`mpt_core::phone`).
//!
//! - `findNumbers(text, region)` → `[{start, end, e164, ext}]`, offsets in UTF-16 code units.
//! - `findNumbersBatch(texts, region)` → one such array per input text.
//! - `findNumbersFlat(joined, region)` → the cheap form for whole pages: node texts joined
//!   with `"\u0000"`, result `{offsets: Uint32Array [node, start, end, …], e164: "…\n…",
//!   ext: "…\n…"}` — one crossing and four JS values per batch, however many matches.
//! - `normalize(input, region)` → `{e164, ext}`, or throws an `Error` whose message is the
//!   reason for a person. `formatNumber(e164, style)`, and the dialer's `AsYouType` class.
//!
//! `region` is an ISO 3166 alpha-2 code; an empty string means "US".

use js_sys::{Array, Object, Reflect, Uint32Array};
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

/// The property names of a match object, made once per call rather than once per match.
struct Keys([JsValue; 4]);

impl Keys {
    fn new() -> Keys {
        Keys(["start", "end", "e164", "ext"].map(JsValue::from_str))
    }

    /// `[{start, end, e164, ext}]` for one text.
    fn find(&self, text: &str, scanner: &phone::Scanner) -> Array {
        let out = Array::new();
        if !phone::may_hold_number(text) {
            return out;
        }
        scanner.for_each(text, |m| {
            let o = Object::new();
            // Reflect.set on a fresh plain object cannot fail.
            let _ = Reflect::set(&o, &self.0[0], &m.start_utf16.into());
            let _ = Reflect::set(&o, &self.0[1], &m.end_utf16.into());
            let _ = Reflect::set(&o, &self.0[2], &JsValue::from_str(m.e164));
            let _ = Reflect::set(
                &o,
                &self.0[3],
                &m.ext.map_or(JsValue::UNDEFINED, JsValue::from_str),
            );
            out.push(&o);
        });
        out
    }
}

/// Finds the phone numbers in one text: `[{start, end, e164, ext}]` with UTF-16 offsets.
#[wasm_bindgen(js_name = findNumbers)]
pub fn find_numbers(text: &str, region_code: &str) -> Result<Array, JsError> {
    let r = region(region_code)?;
    Ok(Keys::new().find(text, &phone::Scanner::new(r)))
}

/// Finds the phone numbers in many texts at once: one array of matches per text.
#[wasm_bindgen(js_name = findNumbersBatch)]
pub fn find_numbers_batch(texts: Vec<String>, region_code: &str) -> Result<Array, JsError> {
    let r = region(region_code)?;
    let keys = Keys::new();
    let scanner = phone::Scanner::new(r);
    let out = Array::new_with_length(texts.len() as u32);
    for (i, t) in texts.iter().enumerate() {
        out.set(i as u32, keys.find(t, &scanner).into());
    }
    Ok(out)
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
    for (node, text) in joined.split('\0').enumerate() {
        if !phone::may_hold_number(text) {
            continue;
        }
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

/// Normalizes a human-written number to `{e164, ext}`; throws an Error with the reason.
#[wasm_bindgen(js_name = normalize)]
pub fn normalize(input: &str, region_code: &str) -> Result<Object, JsError> {
    let r = region(region_code)?;
    let n = phone::normalize(input, r).map_err(|e| JsError::new(&e.to_string()))?;
    let o = Object::new();
    set(&o, "e164", JsValue::from_str(n.e164.as_str()));
    set(
        &o,
        "ext",
        n.ext
            .as_deref()
            .map_or(JsValue::UNDEFINED, JsValue::from_str),
    );
    Ok(o)
}

/// Formats an E.164 number: style "national", "international" or "e164".
#[wasm_bindgen(js_name = formatNumber)]
pub fn format_number(e164: &str, style: &str) -> Result<String, JsError> {
    let e = phone::E164::parse(e164).map_err(|e| JsError::new(&e.to_string()))?;
    let style = match style {
        "national" | "" => Style::National,
        "international" => Style::International,
        "e164" | "E164" => Style::E164,
        other => {
            return Err(JsError::new(&format!(
                "unknown format style \u{201c}{other}\u{201d}: use national, international or e164"
            )))
        }
    };
    Ok(phone::format(&e, style))
}

/// As-you-type formatting for the dialer.
#[wasm_bindgen]
pub struct AsYouType(phone::AsYouType);

#[wasm_bindgen]
impl AsYouType {
    /// A formatter for numbers dialled from `region` ("" = US).
    #[wasm_bindgen(constructor)]
    pub fn new(region_code: &str) -> Result<AsYouType, JsError> {
        Ok(AsYouType(phone::AsYouType::new(region(region_code)?)))
    }

    /// Adds one typed character; returns the text formatted so far.
    #[wasm_bindgen(js_name = inputDigit)]
    pub fn input_digit(&mut self, c: char) -> String {
        self.0.input_digit(c)
    }

    /// Replaces the input; returns it formatted.
    pub fn set(&mut self, input: &str) -> String {
        self.0.set(input)
    }

    /// Forgets the input.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The E.164 number once the input is complete and valid, else undefined.
    pub fn e164(&self) -> Option<String> {
        self.0.e164().map(String::from)
    }
}
