//! The dialer's pure logic: as-you-type formatting and whether a number can be called.

use mpt_core::phone::{self, AsYouType, Region, Style, E164};

/// Region for numbers typed without a country code.
pub const REGION: Region = Region::US;

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

/// Formats what the agent typed. `previous` is the field's last formatted text: when
/// the only change is a deleted formatting character (e.g. Backspace on ")"), the digit
/// before it is deleted too, so Backspace never gets stuck.
pub fn reformat(previous: &str, typed: &str) -> String {
    let mut typed = typed.to_owned();
    if typed.len() < previous.len() && digits(&typed) == digits(previous) && !digits(&typed).is_empty() {
        // Drop the last digit (and whatever follows it: only formatting).
        if let Some(i) = typed.rfind(|c: char| c.is_ascii_digit()) {
            typed.truncate(i);
        }
    }
    let keep_plus = typed.trim_start().starts_with('+');
    if !typed.chars().any(|c| c.is_ascii_alphanumeric()) {
        return if keep_plus { "+".into() } else { String::new() };
    }
    AsYouType::new(REGION).set(&typed)
}

/// Checks the dialer's input against the agent's situation.
pub fn check(input: &str, signed_in: bool, busy: bool) -> DialCheck {
    if input.trim().is_empty() || input.trim() == "+" {
        return DialCheck::Blocked("Enter a number to call".into());
    }
    let e164 = match phone::normalize(input, REGION) {
        Ok(n) => n.e164,
        Err(e) => return DialCheck::Blocked(capitalise(&e.to_string())),
    };
    if !signed_in {
        return DialCheck::Blocked("Sign in to place calls".into());
    }
    if busy {
        return DialCheck::Blocked("You are already on a call".into());
    }
    DialCheck::Ready(e164.as_str().to_owned())
}

/// A number for display ("(415) 555-0134"), or the input unchanged if it is not E.164.
pub fn display(e164: &str) -> String {
    match E164::parse(e164) {
        Ok(e) if e.country_code() == REGION.country_code() => phone::format(&e, Style::National),
        Ok(e) => phone::format(&e, Style::International),
        Err(_) => e164.to_owned(),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// "m:ss" or "h:mm:ss".
pub fn clock(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_you_type() {
        assert_eq!(reformat("", "4155550134"), "(415) 555-0134");
        assert_eq!(reformat("", ""), "");
        assert_eq!(reformat("", "+"), "+");
    }

    #[test]
    fn backspace_over_formatting_deletes_a_digit() {
        let f = reformat("", "415555");
        // the browser removed one formatting character only
        let mut typed = f.clone();
        typed.pop();
        if digits(&typed) == digits(&f) {
            let after = reformat(&f, &typed);
            assert_eq!(digits(&after), "41555");
        } else {
            assert_eq!(digits(&reformat(&f, &typed)), digits(&typed));
        }
        assert_eq!(digits(&reformat("(415) ", "(415)")), "41");
    }

    #[test]
    fn checks() {
        assert_eq!(check("", true, false), DialCheck::Blocked("Enter a number to call".into()));
        assert_eq!(check("(415) 555-0134", true, false), DialCheck::Ready("+14155550134".into()));
        assert_eq!(check("(415) 555-0134", false, false), DialCheck::Blocked("Sign in to place calls".into()));
        assert_eq!(check("(415) 555-0134", true, true), DialCheck::Blocked("You are already on a call".into()));
        match check("415", true, false) {
            DialCheck::Blocked(r) => assert!(r.starts_with("The number is too short"), "{r}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn display_and_clock() {
        assert_eq!(display("+14155550134"), "(415) 555-0134");
        assert!(display("+442079460958").starts_with("+44"));
        assert_eq!(display("junk"), "junk");
        assert_eq!(clock(65), "1:05");
        assert_eq!(clock(3725), "1:02:05");
    }
}
