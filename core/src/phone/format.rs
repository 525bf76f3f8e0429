//! Display formatting: [`format`] and the dialer's [`AsYouType`].

use super::meta;
use super::normalize::{self, vanity_digit, Digits};
use super::types::{Region, Style, E164};

/// Fills `#` slots of a template with digits. When `partial`, stops at the first slot
/// left without a digit (and drops the literal characters after the last digit).
/// Digits beyond the template are appended.
fn fill(template: &str, digits: &[u8], partial: bool, out: &mut String) {
    let mut it = digits.iter();
    let mut left = digits.len();
    for ch in template.chars() {
        if ch == '#' {
            match it.next() {
                Some(&d) => {
                    out.push(char::from(d));
                    left -= 1;
                }
                None => return,
            }
        } else if left > 0 || !partial {
            out.push(ch);
        } else {
            return;
        }
    }
    out.extend(it.map(|&d| char::from(d)));
}

/// Formats a number for display.
///
/// `National` is how it is dialled inside its country ("(415) 555-0134"), `International`
/// adds the calling code ("+1 415-555-0134"), `E164` is the bare E.164 string.
pub fn format(e164: &E164, style: Style) -> String {
    let digits = &e164.as_str().as_bytes()[1..];
    let Some((info, nsn)) = meta::split_cc(digits) else {
        return e164.as_str().to_string();
    };
    let (nat, intl) = meta::templates(&info, nsn).unwrap_or(("", ""));
    let mut out = String::with_capacity(24);
    match style {
        Style::E164 => out.push_str(e164.as_str()),
        Style::National => {
            if nat.is_empty() {
                out.extend(nsn.iter().map(|&d| char::from(d)));
            } else {
                fill(nat, nsn, false, &mut out);
            }
        }
        Style::International => {
            out.push('+');
            out.push_str(&info.cc.to_string());
            out.push(' ');
            if intl.is_empty() {
                out.extend(nsn.iter().map(|&d| char::from(d)));
            } else {
                fill(intl, nsn, false, &mut out);
            }
        }
    }
    // A national number that itself starts with 0 where 0 is the trunk prefix (a Japanese
    // carrier range, +81 00…) would read back as a trunk or international prefix: it is
    // shown internationally, so what the agent sees dials the same number. (Italy's 0…
    // numbers, in a plan without a trunk prefix, stay national.)
    if style == Style::National && nsn.first() == Some(&b'0') {
        let code = meta::main_region(&info).as_bytes();
        let trunk = code.len() == 2 && meta::region_info([code[0], code[1]]).is_some_and(|r| r.national_prefix.starts_with('0'));
        if trunk {
            return format(e164, Style::International);
        }
    }
    out
}

/// Formats a number as it is typed into the dialer.
///
/// ```
/// use mpt_core::phone::{AsYouType, Region};
/// let mut t = AsYouType::new(Region::US);
/// assert_eq!(t.set("4155550134"), "(415) 555-0134");
/// assert_eq!(t.e164().map(|e| e.to_string()).as_deref(), Some("+14155550134"));
/// ```
#[derive(Clone, Debug)]
pub struct AsYouType {
    region: Region,
    plus: bool,
    digits: String,
}

impl AsYouType {
    /// A formatter for numbers dialled from `region`.
    pub fn new(region: Region) -> AsYouType {
        AsYouType { region, plus: false, digits: String::new() }
    }

    /// Adds one typed character (digit, leading `+`, or vanity letter; anything else is
    /// ignored) and returns the text formatted so far.
    pub fn input_digit(&mut self, c: char) -> String {
        self.push(c);
        self.formatted()
    }

    /// Replaces the whole input and returns it formatted.
    pub fn set(&mut self, input: &str) -> String {
        self.clear();
        for c in input.chars() {
            self.push(c);
        }
        self.formatted()
    }

    /// Forgets the input.
    pub fn clear(&mut self) {
        self.plus = false;
        self.digits.clear();
    }

    /// The digits typed so far (vanity letters converted).
    pub fn digits(&self) -> &str {
        &self.digits
    }

    fn push(&mut self, c: char) {
        if self.digits.len() >= 20 {
            return;
        }
        match c {
            '+' if self.digits.is_empty() => self.plus = true,
            '0'..='9' => self.digits.push(c),
            c if c.is_ascii_alphabetic() && !self.digits.is_empty() => {
                if let Some(d) = vanity_digit(c) {
                    self.digits.push(char::from(d));
                }
            }
            _ => {}
        }
    }

    /// The number in E.164, once the input is a complete valid number.
    pub fn e164(&self) -> Option<E164> {
        let mut d = Digits::new();
        self.digits.bytes().for_each(|b| d.push(b));
        normalize::resolve(self.plus, &d, &self.region.info()).ok().map(|n| n.e164())
    }

    /// The input formatted so far.
    pub fn formatted(&self) -> String {
        let d = self.digits.as_bytes();
        let mut out = String::with_capacity(24);
        if self.plus {
            out.push('+');
            intl_partial(d, &mut out);
            return out;
        }
        let region = &self.region.info();
        if let Some(rest) = normalize::strip_intl_prefix(d, region) {
            out.push_str(&self.digits[..d.len() - rest.len()]);
            out.push(' ');
            intl_partial(rest, &mut out);
            return out;
        }
        let Some(info) = meta::cc_info(region.cc) else {
            out.push_str(&self.digits);
            return out;
        };
        if region.cc == 1 {
            let (lead, nsn) = match d {
                [b'1', rest @ ..] => ("1 ", rest),
                _ => ("", d),
            };
            out.push_str(lead);
            national_partial(&info, nsn, &mut out);
            return out.trim_end().to_string();
        }
        let np = region.national_prefix.as_bytes();
        if !np.is_empty() && d.starts_with(np) && d.len() > np.len() + 1 {
            let nsn = &d[np.len()..];
            if let Some((nat, _)) = meta::partial_templates(&info, nsn) {
                // National templates carry the trunk prefix as literal text.
                fill(nat, nsn, true, &mut out);
                return out;
            }
        }
        out.push_str(&self.digits);
        out
    }
}

/// Formats "calling code + partial NSN" (after a `+` or an international prefix).
fn intl_partial(d: &[u8], out: &mut String) {
    match meta::split_cc(d) {
        Some((info, nsn)) => {
            out.push_str(&info.cc.to_string());
            if nsn.is_empty() {
                return;
            }
            out.push(' ');
            match meta::partial_templates(&info, nsn) {
                Some((_, intl)) if nsn.len() > 2 => fill(intl, nsn, true, out),
                _ => out.extend(nsn.iter().map(|&b| char::from(b))),
            }
        }
        None => out.extend(d.iter().map(|&b| char::from(b))),
    }
}

/// NANP-style national partial formatting: "415", "(415) 555", "(415) 555-0134".
fn national_partial(info: &meta::CcInfo, nsn: &[u8], out: &mut String) {
    if nsn.len() <= 3 {
        out.extend(nsn.iter().map(|&b| char::from(b)));
        return;
    }
    match meta::partial_templates(info, nsn) {
        Some((nat, _)) => fill(nat, nsn, true, out),
        None => out.extend(nsn.iter().map(|&b| char::from(b))),
    }
}
