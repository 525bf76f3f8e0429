//! From any human-written number to E.164: the resolver shared by [`normalize`] and the scanner.

use super::error::ParseError;
use super::meta::{self, RegionInfo};
use super::types::{Region, E164};
use serde::{Deserialize, Serialize};

/// A normalized number: E.164 plus the extension, if one was written.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Normalized {
    /// The number in E.164 form.
    pub e164: E164,
    /// The extension's digits ("123" for "x123"), if any.
    pub ext: Option<String>,
}

/// Most digits a dialable string may hold (international prefix + 15 E.164 digits).
const MAX_DIGITS: usize = 20;

/// A small stack buffer of ASCII digits (no allocation while scanning).
#[derive(Clone, Copy)]
pub(crate) struct Digits {
    buf: [u8; MAX_DIGITS],
    len: usize,
    overflow: bool,
}

impl Digits {
    pub(crate) const fn new() -> Digits {
        Digits { buf: [0; MAX_DIGITS], len: 0, overflow: false }
    }
    pub(crate) fn push(&mut self, d: u8) {
        if self.len < MAX_DIGITS {
            self.buf[self.len] = d;
            self.len += 1;
        } else {
            self.overflow = true;
        }
    }
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
    pub(crate) fn count(&self) -> usize {
        if self.overflow {
            MAX_DIGITS + 1
        } else {
            self.len
        }
    }
}

/// Why digits are not a valid number: like [`ParseError`] but `Copy` and allocation-free,
/// so the scanner can reject candidates cheaply; converted for people by `From`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Why {
    NoDigits,
    TooShort { digits: usize, min: usize },
    TooLong { digits: usize, max: usize },
    UnknownCc { digits: [u8; 3] },
    Area { area: [u8; 3], reason: &'static str },
    Exchange { exchange: [u8; 3] },
    Country { cc: u16, region: &'static str, digits: usize, start: [u8; 2], start_len: usize },
}

fn text(d: &[u8]) -> String {
    d.iter().map(|&b| char::from(b)).collect()
}

impl From<Why> for ParseError {
    fn from(w: Why) -> ParseError {
        match w {
            Why::NoDigits => ParseError::NoDigits,
            Why::TooShort { digits, min } => ParseError::TooShort { digits, min },
            Why::TooLong { digits, max } => ParseError::TooLong { digits, max },
            Why::UnknownCc { digits } => ParseError::UnknownCountryCode(text(&digits)),
            Why::Area { area, reason } => ParseError::InvalidAreaCode { area: text(&area), reason },
            Why::Exchange { exchange } => ParseError::InvalidExchange(text(&exchange)),
            Why::Country { cc, region, digits, start, start_len } => {
                ParseError::InvalidForCountry { cc, region, digits, start: text(&start[..start_len.min(2)]) }
            }
        }
    }
}

fn three(d: &[u8]) -> [u8; 3] {
    let mut a = [b'0'; 3];
    for (x, &y) in a.iter_mut().zip(d) {
        *x = y;
    }
    a
}

/// A valid number before it becomes an [`E164`]: no allocation, so the scanner can hold it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Num {
    /// "+" then the calling code and national number, as ASCII.
    buf: [u8; 24],
    len: usize,
}

impl Num {
    fn new(cc: u16, nsn: &[u8]) -> Num {
        let mut buf = [0u8; 24];
        buf[0] = b'+';
        let mut len = 1;
        let cc = cc.min(999);
        let digits = [(cc / 100) as u8, (cc / 10 % 10) as u8, (cc % 10) as u8];
        let skip = if cc >= 100 {
            0
        } else if cc >= 10 {
            1
        } else {
            2
        };
        for &d in &digits[skip..] {
            buf[len] = b'0' + d;
            len += 1;
        }
        for &d in nsn.iter().take(buf.len() - len) {
            buf[len] = d;
            len += 1;
        }
        Num { buf, len }
    }

    /// The E.164 text, e.g. "+14155550134".
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("+")
    }

    pub(crate) fn e164(&self) -> E164 {
        E164::from_validated(self.as_str())
    }
}

/// The keypad digit for a vanity letter (1-800-FLOWERS).
pub(crate) fn vanity_digit(c: char) -> Option<u8> {
    Some(match c.to_ascii_uppercase() {
        'A'..='C' => b'2',
        'D'..='F' => b'3',
        'G'..='I' => b'4',
        'J'..='L' => b'5',
        'M'..='O' => b'6',
        'P'..='S' => b'7',
        'T'..='V' => b'8',
        'W'..='Z' => b'9',
        _ => return None,
    })
}

/// Parses a number written in any common human format (or a `tel:` URI) to E.164.
///
/// Accepts spaces, dots, dashes, slashes, parentheses, a leading `+`, `00` or `011`
/// international prefixes, a NANP leading `1`, `tel:`/`callto:` URIs, extensions
/// (`x123`, `ext. 123`, `extension 123`, `;ext=123`, `#123`) and vanity letters.
pub fn normalize(input: &str, region: Region) -> Result<Normalized, ParseError> {
    let mut s = input.trim();
    for scheme in ["tel:", "callto:", "sip:"] {
        if s.len() >= scheme.len() && s.is_char_boundary(scheme.len()) && s[..scheme.len()].eq_ignore_ascii_case(scheme) {
            s = s[scheme.len()..].trim_start_matches('/');
        }
    }
    let (number, ext) = split_extension(s)?;
    // SIP-style "number@host": keep the user part.
    let number = number.split('@').next().unwrap_or(number);
    let mut digits = Digits::new();
    let mut plus = false;
    let mut seen_digit = false;
    for c in number.chars() {
        match c {
            '0'..='9' => {
                digits.push(c as u8);
                seen_digit = true;
            }
            '+' if !seen_digit && !plus => plus = true,
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\t' => {}
            c if c.is_ascii_alphabetic() && seen_digit => {
                digits.push(vanity_digit(c).ok_or(ParseError::InvalidCharacter(c))?);
            }
            // Full-width digits (common in CJK text).
            '\u{ff10}'..='\u{ff19}' => {
                digits.push(b'0' + (u32::from(c) - 0xff10) as u8);
                seen_digit = true;
            }
            '\u{ff0b}' if !seen_digit => plus = true,
            c => return Err(ParseError::InvalidCharacter(c)),
        }
    }
    let e164 = resolve(plus, &digits, &region.info())?.e164();
    Ok(Normalized { e164, ext })
}

/// Splits an extension off the end: `;ext=123`, `ext. 123`, `extension 123`, `x123`, `#123`.
fn split_extension(s: &str) -> Result<(&str, Option<String>), ParseError> {
    let lower_ascii = |i: usize| s.as_bytes().get(i).map(u8::to_ascii_lowercase);
    // tel: URI parameters.
    if let Some(semi) = s.find(';') {
        let (num, params) = s.split_at(semi);
        let mut ext = None;
        for p in params.split(';').skip(1) {
            if let Some(v) = p.strip_prefix("ext=").or_else(|| p.strip_prefix("EXT=")) {
                ext = Some(check_ext(v)?);
            }
        }
        return Ok((num, ext));
    }
    // Find the last marker followed by digits only.
    let bytes = s.as_bytes();
    let mut end_digits = bytes.len();
    while end_digits > 0 && bytes[end_digits - 1] == b' ' {
        end_digits -= 1;
    }
    let mut i = end_digits;
    while i > 0 && bytes[i - 1].is_ascii_digit() {
        i -= 1;
    }
    if i == end_digits || i == 0 {
        return Ok((s, None));
    }
    let digits_start = i;
    let mut j = i;
    while j > 0 && matches!(bytes[j - 1], b' ' | b'.' | b':') {
        j -= 1;
    }
    for marker in ["extension", "ext", "x", "#"] {
        let m = marker.len();
        if j >= m && (0..m).all(|k| lower_ascii(j - m + k) == Some(marker.as_bytes()[k])) {
            // The marker must not be the tail of a vanity word ("…-TAX 1"): preceded by a
            // digit, space, comma or punctuation.
            let before = if j > m { bytes[j - m - 1] } else { b' ' };
            if !before.is_ascii_alphabetic() {
                let ext = check_ext(&s[digits_start..end_digits])?;
                let num = s[..j - m].trim_end_matches([' ', ',']);
                return Ok((num, Some(ext)));
            }
        }
    }
    Ok((s, None))
}

fn check_ext(v: &str) -> Result<String, ParseError> {
    if (1..=7).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) {
        Ok(v.to_string())
    } else {
        Err(ParseError::InvalidExtension)
    }
}

/// Resolves a digit string (with or without a leading `+`) in a region's context.
pub(crate) fn resolve(plus: bool, digits: &Digits, region: &RegionInfo) -> Result<Num, Why> {
    let n = digits.count();
    if n == 0 {
        return Err(Why::NoDigits);
    }
    if n > MAX_DIGITS {
        return Err(Why::TooLong { digits: n, max: 15 });
    }
    let d = digits.as_slice();
    if plus {
        return international(d).or_else(|why| trunk_zero_dropped(d).ok_or(why));
    }
    if let Some(rest) = strip_intl_prefix(d, region) {
        return international(rest);
    }
    national(d, region)
}

/// `+49 0238 2958495`: the national trunk `0` written after the calling code, which is not
/// dialled from abroad. Tried only when the digits as written are not a valid number. The
/// scanner and `normalize` share this rule, so whatever is found also normalizes.
pub(crate) fn trunk_zero_dropped(digits: &[u8]) -> Option<Num> {
    let (_, nsn) = meta::split_cc(digits)?;
    if nsn.first() != Some(&b'0') || nsn.len() < 6 {
        return None;
    }
    let cc_len = digits.len() - nsn.len();
    let mut d = [0u8; 20];
    let n = digits.len() - 1;
    if n > d.len() {
        return None;
    }
    d[..cc_len].copy_from_slice(&digits[..cc_len]);
    d[cc_len..n].copy_from_slice(&nsn[1..]);
    international(&d[..n]).ok()
}

/// Strips an international call prefix: the region's own, `011` (NANP), or `00`.
///
/// `00` is accepted in every region, NANP included: no NANP number starts with 0, so
/// `0044 20 7946 0321` pasted by a US agent can only mean London. The scanner and
/// `normalize` share this one function so that whatever is found also normalizes.
pub(crate) fn strip_intl_prefix<'a>(d: &'a [u8], region: &RegionInfo) -> Option<&'a [u8]> {
    let ip = region.intl_prefix.as_bytes();
    if !ip.is_empty() && d.len() > ip.len() + 1 && d.starts_with(ip) {
        return Some(&d[ip.len()..]);
    }
    if region.cc == 1 && d.starts_with(b"011") && d.len() > 5 {
        return Some(&d[3..]);
    }
    if d.starts_with(b"00") && d.len() > 4 {
        return Some(&d[2..]);
    }
    None
}

/// Digits after the international prefix: calling code + national number.
pub(crate) fn international(d: &[u8]) -> Result<Num, Why> {
    // E.164 allows 15 digits; a few plans (e.g. Germany's) have longer legacy numbers,
    // which the per-country lengths below accept.
    if d.len() > 17 {
        return Err(Why::TooLong { digits: d.len(), max: 15 });
    }
    let Some((info, nsn)) = meta::split_cc(d) else {
        if d.len() < 3 {
            return Err(Why::TooShort { digits: d.len(), min: 8 });
        }
        return Err(Why::UnknownCc { digits: three(d) });
    };
    if info.cc == 1 {
        return nanp(nsn);
    }
    validate(info, nsn)
}

/// Checks an NSN against its calling code's valid lengths and leading digits.
pub(crate) fn validate(info: meta::CcInfo, nsn: &[u8]) -> Result<Num, Why> {
    if info.cc == 1 {
        return nanp(nsn);
    }
    let all = meta::all_lengths(&info);
    let min = all.trailing_zeros() as usize;
    let max = 31 - all.leading_zeros() as usize;
    if nsn.len() < min {
        return Err(Why::TooShort { digits: nsn.len(), min });
    }
    if nsn.len() > max {
        return Err(Why::TooLong { digits: nsn.len(), max });
    }
    if meta::length_mask(&info, nsn) & (1 << nsn.len()) == 0 {
        let mut start = [b'0'; 2];
        start.iter_mut().zip(nsn).for_each(|(x, &y)| *x = y);
        return Err(Why::Country { cc: info.cc, region: meta::main_region(&info), digits: nsn.len(), start, start_len: nsn.len() });
    }
    Ok(Num::new(info.cc, nsn))
}

/// A national number in the region's own plan.
fn national(d: &[u8], region: &RegionInfo) -> Result<Num, Why> {
    if region.cc == 1 {
        return match d {
            [b'1', rest @ ..] if d.len() == 11 => nanp(rest),
            _ => nanp(d),
        };
    }
    let info = meta::cc_info(region.cc).ok_or(Why::NoDigits)?;
    let np = region.national_prefix.as_bytes();
    if !np.is_empty() && d.starts_with(np) {
        let stripped = validate(info, &d[np.len()..]);
        if stripped.is_ok() {
            return stripped;
        }
        return validate(info, d).or(stripped);
    }
    validate(info, d)
}

/// A North American number: NPA-NXX-XXXX.
pub(crate) fn nanp(n: &[u8]) -> Result<Num, Why> {
    if n.len() < 10 {
        return Err(Why::TooShort { digits: n.len(), min: 10 });
    }
    if n.len() > 10 {
        return Err(Why::TooLong { digits: n.len(), max: 10 });
    }
    let area = three(n);
    if matches!(n[0], b'0' | b'1') {
        return Err(Why::Area { area, reason: "North American area codes cannot start with 0 or 1" });
    }
    if n[1] == b'1' && n[2] == b'1' {
        return Err(Why::Area { area, reason: "codes like 411 and 911 are service numbers, not area codes" });
    }
    let code = u16::from(n[0] - b'0') * 100 + u16::from(n[1] - b'0') * 10 + u16::from(n[2] - b'0');
    if !meta::nanp_area_assigned(code) {
        return Err(Why::Area { area, reason: "it is not an assigned North American area code" });
    }
    if matches!(n[3], b'0' | b'1') {
        return Err(Why::Exchange { exchange: three(&n[3..]) });
    }
    Ok(Num::new(1, n))
}
