//! The dialer's logic, shared by every phone UI: as-you-type formatting, paste
//! normalisation and whether the call button works (and why not).

use crate::error_code::PhoneErrorCode;
use crate::phone::{normalize, AsYouType, Region};

use super::view::display_number;

/// Whether the call button is enabled, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialCheck {
    /// Callable: the number in E.164.
    Ready(String),
    /// Not callable: the reason, for the agent.
    Blocked(String),
}

fn digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

/// Formats what the agent typed, for `region`. `previous` is the field's last formatted
/// text: when the only change is a deleted formatting character (Backspace on ")"), the
/// digit before it goes too, so Backspace never gets stuck.
pub fn reformat(previous: &str, typed: &str, region: Region) -> String {
    let mut typed = typed.to_owned();
    if typed.len() < previous.len() && digits(&typed) == digits(previous) && !digits(&typed).is_empty() {
        if let Some(i) = typed.rfind(|c: char| c.is_ascii_digit()) {
            typed.truncate(i);
        }
    }
    let keep_plus = typed.trim_start().starts_with('+');
    if !typed.chars().any(|c| c.is_ascii_alphanumeric()) {
        return if keep_plus { "+".into() } else { String::new() };
    }
    AsYouType::new(region).set(&typed)
}

/// What to put in the field for pasted text: a whole number written any way (`tel:` URI,
/// `00`/`011` prefixes, dots, `(0)`, an extension) becomes its display form; anything else
/// is formatted as typed.
pub fn paste(text: &str, region: Region) -> String {
    match normalize(text.trim(), region) {
        Ok(n) => display_number(n.e164.as_str(), region),
        Err(_) => reformat("", text, region),
    }
}

/// Checks the dialer's input against the agent's situation.
pub fn check(input: &str, region: Region, signed_in: bool, busy: bool) -> DialCheck {
    if input.trim().is_empty() || input.trim() == "+" {
        return DialCheck::Blocked("Enter a number to call".into());
    }
    let e164 = match normalize(input, region) {
        Ok(n) => n.e164,
        Err(e) => return DialCheck::Blocked(capitalise(&e.to_string())),
    };
    if !signed_in {
        return DialCheck::Blocked("Sign in to place calls".into());
    }
    if busy {
        return DialCheck::Blocked(PhoneErrorCode::InCall.message().into());
    }
    DialCheck::Ready(e164.as_str().to_owned())
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gb() -> Region {
        Region::parse("GB").expect("GB")
    }

    #[test]
    fn formats_as_you_type_and_backspace_is_never_stuck() {
        assert_eq!(reformat("", "4155550134", Region::US), "(415) 555-0134");
        assert_eq!(reformat("", "", Region::US), "");
        assert_eq!(reformat("", "+", Region::US), "+");
        assert_eq!(digits(&reformat("(415) ", "(415)", Region::US)), "41");
    }

    #[test]
    fn pasted_numbers_are_normalised() {
        assert_eq!(paste("tel:+1-415-555-0134", Region::US), "(415) 555-0134");
        assert_eq!(paste(" 0044 20 7946 0958 ", Region::US), "+44 20 7946 0958");
        assert_eq!(paste("020 7946 0958", gb()), "020 7946 0958");
        assert_eq!(paste("415", Region::US), "415");
    }

    #[test]
    fn checks() {
        let us = Region::US;
        assert_eq!(check("", us, true, false), DialCheck::Blocked("Enter a number to call".into()));
        assert_eq!(check("(415) 555-0134", us, true, false), DialCheck::Ready("+14155550134".into()));
        assert_eq!(check("(415) 555-0134", us, false, false), DialCheck::Blocked("Sign in to place calls".into()));
        assert_eq!(check("(415) 555-0134", us, true, true), DialCheck::Blocked(PhoneErrorCode::InCall.message().into()));
        assert_eq!(check("020 7946 0958", gb(), true, false), DialCheck::Ready("+442079460958".into()));
        match check("415", us, true, false) {
            DialCheck::Blocked(r) => assert!(r.starts_with("The number is too short"), "{r}"),
            other => panic!("{other:?}"),
        }
    }
}
