//! Property tests over arbitrary Unicode input: the detector never panics, every span lies
//! within the text on character boundaries (bytes and UTF-16 agree), and every match's
//! E.164 normalizes back to itself.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use mpt_core::phone::{find_numbers, format, normalize, AsYouType, Region, Style, E164};
use proptest::prelude::*;

/// Text that often contains phone-like material: digits, separators, labels, non-ASCII.
fn phoneish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[0-9]{1,12}",
        Just(" ".to_string()),
        Just("-".to_string()),
        Just(".".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("+".to_string()),
        Just("x".to_string()),
        Just(" ext. ".to_string()),
        Just(";ext=".to_string()),
        Just("Phone: ".to_string()),
        Just("Order #".to_string()),
        Just("\u{a0}".to_string()),
        Just("😀".to_string()),
        Just("é".to_string()),
        Just("電話".to_string()),
        Just("\u{2011}".to_string()),
        "\\PC{0,3}",
        Just("415-555-0134".to_string()),
        Just("+44 20 7946 0958".to_string()),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

fn check(text: &str, region: Region) -> Result<(), TestCaseError> {
    let utf16: Vec<u16> = text.encode_utf16().collect();
    let mut last_end = 0;
    for m in find_numbers(text, region) {
        prop_assert!(m.start < m.end && m.end <= text.len());
        prop_assert!(text.is_char_boundary(m.start) && text.is_char_boundary(m.end));
        prop_assert!(m.start >= last_end, "matches overlap or are out of order");
        last_end = m.end;
        prop_assert_eq!(&text[m.start..m.end], m.raw.as_str());
        let (s16, e16) = (m.start_utf16 as usize, m.end_utf16 as usize);
        prop_assert!(s16 < e16 && e16 <= utf16.len());
        prop_assert_eq!(String::from_utf16_lossy(&utf16[s16..e16]), m.raw.clone());
        // The E.164 round-trips through normalize, E164::parse and every display style.
        let n = normalize(m.e164.as_str(), region).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&n.e164, &m.e164);
        prop_assert_eq!(E164::parse(m.e164.as_str()).ok(), Some(m.e164.clone()));
        for style in [Style::National, Style::International, Style::E164] {
            let shown = format(&m.e164, style);
            let back = normalize(&shown, Region::parse(m.e164.main_region()).unwrap_or(region));
            prop_assert_eq!(back.map(|n| n.e164).ok(), Some(m.e164.clone()), "{} shown as {}", m.e164, shown);
        }
        // The raw text normalizes to the same number and extension.
        let again = normalize(&m.raw, region).map_err(|e| TestCaseError::fail(format!("{:?}: {e}", m.raw)))?;
        prop_assert_eq!(&again.e164, &m.e164, "raw {:?}", m.raw);
        prop_assert_eq!(&again.ext, &m.ext, "raw {:?}", m.raw);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn arbitrary_unicode_never_panics(text in "\\PC{0,200}") {
        check(&text, Region::US)?;
    }

    #[test]
    fn phoneish_text_spans_are_sound(text in phoneish()) {
        check(&text, Region::US)?;
        check(&text, Region::parse("GB").unwrap_or_default())?;
        check(&text, Region::parse("DE").unwrap_or_default())?;
    }

    #[test]
    fn normalize_and_as_you_type_never_panic(text in "\\PC{0,40}") {
        let _ = normalize(&text, Region::US);
        let mut t = AsYouType::new(Region::US);
        let _ = t.set(&text);
        let _ = t.e164();
        for c in text.chars() { let _ = t.input_digit(c); }
    }

    #[test]
    fn valid_nanp_numbers_are_found(area in 2u16..10, a2 in 0u16..100, ex in 200u16..1000, line in 0u16..10000) {
        let area = area * 100 + a2;
        let digits = format!("{area}{ex}{line:04}");
        if let Ok(n) = normalize(&digits, Region::US) {
            let shown = format(&n.e164, Style::National);
            let text = format!("Call {shown} today");
            let found = find_numbers(&text, Region::US);
            prop_assert_eq!(found.len(), 1, "{}", text);
            prop_assert_eq!(&found[0].e164, &n.e164);
            prop_assert_eq!(found[0].raw.as_str(), shown.as_str());
        }
    }
}
