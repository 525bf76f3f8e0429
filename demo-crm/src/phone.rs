//! Demo phone numbers and the ways CRMs print them.
//!
//! Every number that must be detected is fictional: North American numbers use
//! the reserved `555-01XX` block, UK numbers the Ofcom drama ranges
//! (`020 7946 0XXX`, `07700 900XXX`).

use std::fmt;

/// A phone number: country calling code plus national significant digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber {
    /// Country calling code (1 or 44 here).
    pub country: u16,
    /// National significant number, digits only.
    pub national: String,
}

/// The printed shapes of a number found in the wild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `(415) 555-0123`
    Paren,
    /// `415-555-0123`
    Dash,
    /// `415.555.0123`
    Dot,
    /// `+1 415 555 0123` / `+44 20 7946 0321`
    International,
    /// `1-415-555-0123`
    LeadingOne,
    /// `415 555 0123`
    Space,
}

/// All formats, for random choice.
pub const FORMATS: [Format; 6] = [Format::Paren, Format::Dash, Format::Dot, Format::International, Format::LeadingOne, Format::Space];

impl PhoneNumber {
    /// A North American number from a 3-digit area code and a 7-digit local part.
    pub fn nanp(area: u16, local: u32) -> Self {
        Self { country: 1, national: format!("{area:03}{local:07}") }
    }

    /// A UK number from its national significant digits (no leading 0).
    pub fn uk(national: &str) -> Self {
        Self { country: 44, national: national.to_owned() }
    }

    /// The E.164 form, `+14155550123`.
    pub fn e164(&self) -> String {
        format!("+{}{}", self.country, self.national)
    }

    /// The number printed in `format`.
    pub fn format(&self, format: Format) -> String {
        let n = &self.national;
        if self.country == 44 {
            return self.format_uk(format);
        }
        if n.len() != 10 || !n.is_ascii() {
            return self.e164();
        }
        let (a, b, c) = (&n[0..3], &n[3..6], &n[6..]);
        match format {
            Format::Paren => format!("({a}) {b}-{c}"),
            Format::Dash => format!("{a}-{b}-{c}"),
            Format::Dot => format!("{a}.{b}.{c}"),
            Format::International => format!("+1 {a} {b} {c}"),
            Format::LeadingOne => format!("1-{a}-{b}-{c}"),
            Format::Space => format!("{a} {b} {c}"),
        }
    }

    /// UK numbers are always printed internationally (the CRM's default region is the US).
    fn format_uk(&self, format: Format) -> String {
        let n = &self.national;
        let sep = if format == Format::Dash { "-" } else { " " };
        if n.starts_with('7') && n.len() == 10 {
            // Mobiles: +44 7700 900123
            let (head, tail) = n.split_at(4);
            return format!("+44{sep}{head}{sep}{tail}");
        }
        // London: +44 20 7946 0321
        if n.len() < 4 || !n.is_ascii() {
            return self.e164();
        }
        let (head, tail) = n.split_at(2);
        let (mid, last) = tail.split_at(tail.len() / 2);
        format!("+44{sep}{head}{sep}{mid}{sep}{last}")
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164())
    }
}

/// Parses an E.164 string (`+` then 8 to 15 digits) into a number; `None` otherwise.
pub fn parse_e164(s: &str) -> Option<PhoneNumber> {
    let digits = s.strip_prefix('+')?;
    if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(rest) = digits.strip_prefix('1') {
        return Some(PhoneNumber { country: 1, national: rest.to_owned() });
    }
    if let Some(rest) = digits.strip_prefix("44") {
        return Some(PhoneNumber::uk(rest));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_nanp() {
        let n = PhoneNumber::nanp(415, 5550123);
        assert_eq!(n.e164(), "+14155550123");
        assert_eq!(n.format(Format::Paren), "(415) 555-0123");
        assert_eq!(n.format(Format::Dash), "415-555-0123");
        assert_eq!(n.format(Format::Dot), "415.555.0123");
        assert_eq!(n.format(Format::International), "+1 415 555 0123");
        assert_eq!(n.format(Format::LeadingOne), "1-415-555-0123");
        assert_eq!(n.format(Format::Space), "415 555 0123");
    }

    #[test]
    fn formats_uk() {
        assert_eq!(PhoneNumber::uk("2079460321").format(Format::Paren), "+44 20 7946 0321");
        assert_eq!(PhoneNumber::uk("7700900123").format(Format::Space), "+44 7700 900123");
        assert_eq!(PhoneNumber::uk("2079460321").format(Format::Dash), "+44-20-7946-0321");
    }

    #[test]
    fn parses_e164() {
        assert_eq!(parse_e164("+14155550123"), Some(PhoneNumber::nanp(415, 5550123)));
        assert_eq!(parse_e164("+442079460321"), Some(PhoneNumber::uk("2079460321")));
        assert_eq!(parse_e164("4155550123"), None);
        assert_eq!(parse_e164("+1415555012x"), None);
        assert_eq!(parse_e164("+33123456789"), None);
        // Odd lengths never panic when printed.
        assert_eq!(parse_e164("+123456789").map(|n| n.format(Format::Paren)).as_deref(), Some("+123456789"));
        assert_eq!(PhoneNumber::uk("12").format(Format::Dash), "+4412");
    }
}
