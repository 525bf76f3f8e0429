//! Behaviour of the phone API on hand-picked cases (the corpus test covers breadth).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use mpt_core::phone::{find_numbers, format, normalize, AsYouType, ParseError, Region, Style, E164};

fn found(text: &str) -> Vec<(String, String)> {
    find_numbers(text, Region::US)
        .into_iter()
        .map(|m| (m.raw, m.e164.to_string() + &m.ext.map(|e| format!(" x{e}")).unwrap_or_default()))
        .collect()
}

fn one(text: &str) -> String {
    let f = found(text);
    assert_eq!(f.len(), 1, "{text:?} gave {f:?}");
    f[0].1.clone()
}

fn none(text: &str) {
    let f = found(text);
    assert!(f.is_empty(), "{text:?} gave {f:?}");
}

#[test]
fn nanp_formats() {
    for t in [
        "415-555-0134",
        "(415) 555-0134",
        "(415)555-0134",
        "415.555.0134",
        "415 555 0134",
        "4155550134",
        "1-415-555-0134",
        "1 (415) 555-0134",
        "+1 415 555 0134",
        "+1 (415) 555-0134",
        "+14155550134",
        "+1-415-555-0134",
        "1.415.555.0134",
        "011 1 415 555 0134",
    ] {
        assert_eq!(one(&format!("Call {t} today")), "+14155550134", "{t}");
    }
}

#[test]
fn international_formats() {
    assert_eq!(one("London: +44 20 7946 0958."), "+442079460958");
    assert_eq!(one("London: +44 (0)20 7946 0958"), "+442079460958");
    assert_eq!(one("0044 20 7946 0958"), "+442079460958");
    assert_eq!(one("Berlin +49 30 901820"), "+4930901820");
    assert_eq!(one("Paris +33 1 42 68 53 00"), "+33142685300");
    assert_eq!(one("東京 +81 3-1234-5678 です"), "+81312345678");
}

#[test]
fn extensions() {
    assert_eq!(one("415-555-0134 x123"), "+14155550134 x123");
    assert_eq!(one("415-555-0134x123"), "+14155550134 x123");
    assert_eq!(one("415-555-0134 ext. 123"), "+14155550134 x123");
    assert_eq!(one("415-555-0134 ext 123"), "+14155550134 x123");
    assert_eq!(one("415-555-0134, extension 123"), "+14155550134 x123");
    assert_eq!(one("+14155550134;ext=123"), "+14155550134 x123");
}

#[test]
fn distractors() {
    for t in [
        "2024-05-06",
        "05/06/2024",
        "06.05.2024",
        "10:30",
        "94103-1234",
        "123-45-6789",
        "4111 1111 1111 1111",
        "192.168.100.200",
        "$4,155,550.13",
        "v4.15.5550134",
        "978-0-306-40615-7",
        "2019-2024",
        "37.7749, -122.4194",
        "12.5%",
        "ABC4155550134",
        "4155550134abc",
        "Order #4155550134",
        "Invoice 415-555-0134",
        "Policy No. 4155550134",
        "Claim: 415 555 0134",
        "Account 4155550134",
        "Member ID 4155550134",
        "PO 4155550134",
        "Ref: 415-555-0134",
        "Tracking 1Z999AA10123456784",
        "INV-4155550134",
        "3.14159265358979",
        "415-555-01345",
        "123-555-0134",
        "415-155-0134",
        "911-555-0134",
    ] {
        none(t);
    }
}

#[test]
fn glued_labels_and_uris() {
    assert_eq!(one("Tel:415-555-0134"), "+14155550134");
    assert_eq!(one("Phone:(415) 555-0134"), "+14155550134");
    assert_eq!(one("<a>tel:+14155550134</a>"), "+14155550134");
    assert_eq!(one("Smith,415-555-0134"), "+14155550134");
    none("https://crm.example.com/contacts/4155550134");
    none("?id=4155550134&x=1");
    none("3.14155550134");
    none("1,415,555,0134");
}

#[test]
fn labels_allow_bare_digits() {
    assert_eq!(one("Phone: 4155550134"), "+14155550134");
    assert_eq!(one("Tel 415 5550134"), "+14155550134");
    assert_eq!(one("☎ 415.5550134"), "+14155550134");
}

#[test]
fn utf16_spans() {
    let text = "Zoë 😀 called from (415) 555-0134";
    let m = &find_numbers(text, Region::US)[0];
    let utf16: Vec<u16> = text.encode_utf16().collect();
    let s = String::from_utf16(&utf16[m.start_utf16 as usize..m.end_utf16 as usize]).unwrap();
    assert_eq!(s, "(415) 555-0134");
    assert_eq!(&text[m.start..m.end], "(415) 555-0134");
}

#[test]
fn normalize_formats() {
    let n = |s: &str| normalize(s, Region::US).map(|n| (n.e164.to_string(), n.ext));
    assert_eq!(n("(415) 555-0134").unwrap().0, "+14155550134");
    assert_eq!(n("tel:+1-415-555-0134;ext=12").unwrap(), ("+14155550134".into(), Some("12".into())));
    assert_eq!(n("1-800-FLOWERS").unwrap().0, "+18003569377");
    assert_eq!(n("011 44 20 7946 0958").unwrap().0, "+442079460958");
    // `00` is an international prefix in every region (no NANP number starts with 0),
    // exactly as the scanner reads it: what is found on a page also normalizes.
    assert_eq!(n("00 44 20 7946 0958").unwrap().0, "+442079460958");
    let found = find_numbers("004415-555-0134 ext. ", Region::US);
    assert_eq!(found.len(), 1);
    assert_eq!(normalize(&found[0].raw, Region::US).unwrap().e164, found[0].e164);
    assert_eq!(n("415-555-0134 ext. 7").unwrap().1.as_deref(), Some("7"));
    assert_eq!(n("555-0134").unwrap_err(), ParseError::TooShort { digits: 7, min: 10 });
    assert!(matches!(n("123-555-0134").unwrap_err(), ParseError::InvalidAreaCode { .. }));
    assert!(matches!(n("411-555-0134").unwrap_err(), ParseError::InvalidAreaCode { .. }));
    assert!(matches!(n("415-055-0134").unwrap_err(), ParseError::InvalidExchange(_)));
    assert!(matches!(n("+999 1234 5678").unwrap_err(), ParseError::UnknownCountryCode(_)));
    assert!(matches!(n("hello").unwrap_err(), ParseError::InvalidCharacter('h')));
    let gb = Region::parse("gb").unwrap();
    assert_eq!(normalize("020 7946 0958", gb).unwrap().e164.as_str(), "+442079460958");
    assert_eq!(normalize("00 1 415 555 0134", gb).unwrap().e164.as_str(), "+14155550134");
    let msg = n("123-555-0134").unwrap_err().to_string();
    assert!(msg.contains("cannot start with 0 or 1"), "{msg}");
}

#[test]
fn formatting() {
    let e = E164::parse("+14155550134").unwrap();
    assert_eq!(format(&e, Style::National), "(415) 555-0134");
    assert_eq!(format(&e, Style::International), "+1 415 555 0134");
    assert_eq!(format(&e, Style::E164), "+14155550134");
    let uk = E164::parse("+442079460958").unwrap();
    assert_eq!(format(&uk, Style::National), "020 7946 0958");
    assert_eq!(format(&uk, Style::International), "+44 20 7946 0958");
    assert_eq!(uk.country_code(), 44);
    assert_eq!(uk.national_number(), "2079460958");
}

#[test]
fn as_you_type() {
    let mut t = AsYouType::new(Region::US);
    let steps: Vec<String> = "4155550134".chars().map(|c| t.input_digit(c)).collect();
    assert_eq!(steps.last().unwrap(), "(415) 555-0134");
    assert_eq!(steps[2], "415");
    assert_eq!(t.e164().unwrap().as_str(), "+14155550134");
    assert_eq!(t.set("+442079460958"), "+44 20 7946 0958");
    assert_eq!(t.set("+4420"), "+44 20");
    assert_eq!(t.set("1800FLOWERS"), "1 (800) 356-9377");
}

#[test]
fn serde_shapes() {
    let e = E164::parse("+14155550134").unwrap();
    assert_eq!(serde_json::to_string(&e).unwrap(), "\"+14155550134\"");
    assert_eq!(serde_json::to_string(&Region::US).unwrap(), "\"US\"");
    assert!(serde_json::from_str::<E164>("\"+1415\"").is_err());
    assert!(serde_json::from_str::<Region>("\"ZZ\"").is_err());
    assert_eq!(serde_json::to_string(&Style::International).unwrap(), "\"international\"");
}

#[test]
fn other_default_regions() {
    let gb = Region::parse("GB").unwrap();
    let m = find_numbers("Ring 020 7946 0958 or +1 415-555-0134; invoice date 06.05.2024", gb);
    let got: Vec<&str> = m.iter().map(|m| m.e164.as_str()).collect();
    assert_eq!(got, ["+442079460958", "+14155550134"]);
    let de = Region::parse("de").unwrap();
    let m = find_numbers("Tel. 030 901820, Datum 06.05.2024, Konto 0301234567", de);
    let got: Vec<&str> = m.iter().map(|m| m.e164.as_str()).collect();
    assert_eq!(got, ["+4930901820"]);
    assert_eq!(format(&m[0].e164, Style::National), "030 901820");
}

#[test]
fn batch_matches_single_calls() {
    let texts = ["Phone: (415) 555-0134", "", "Order #4155550134", "+44 20 7946 0958 and 212-555-0198"];
    let batch = mpt_core::phone::find_numbers_batch(&texts, Region::US);
    assert_eq!(batch.len(), 4);
    for (t, b) in texts.iter().zip(&batch) {
        assert_eq!(&find_numbers(t, Region::US), b);
    }
    assert_eq!(batch[3].len(), 2);
}

#[test]
fn error_messages_read_as_sentences() {
    let msg = |s: &str| normalize(s, Region::US).unwrap_err().to_string();
    assert_eq!(msg("555-0134"), "the number is too short: it has 7 digits, at least 10 are needed");
    assert_eq!(msg("+999 123 456"), "+999 is not a country calling code");
    assert_eq!(msg("415-055-0134"), "055 is not a valid exchange: the three digits after the area code cannot start with 0 or 1");
    assert_eq!(msg("911-555-0134"), "911 is not a valid area code: codes like 411 and 911 are service numbers, not area codes");
    assert_eq!(msg(""), "there is no phone number here: it contains no digits");
    assert_eq!(
        Region::parse("Mars").unwrap_err().to_string(),
        "\u{201c}Mars\u{201d} is not a known region: expected a two-letter country code such as US or GB"
    );
}

/// The trunk `0` written after a calling code is one rule for the scanner and the dialer:
/// what the scanner finds, `normalize` accepts (a property test found `+91010000000`).
#[test]
fn a_trunk_zero_after_the_calling_code_normalizes_like_it_scans() {
    for text in ["+49 030 1234567", "+91010000000", "+44 020 7946 0321"] {
        let found = mpt_core::phone::find_numbers(text, mpt_core::phone::Region::US);
        let n = mpt_core::phone::normalize(text, mpt_core::phone::Region::US).expect(text);
        assert_eq!(found.len(), 1, "{text}");
        assert_eq!(found[0].e164, n.e164, "{text}");
    }
}
