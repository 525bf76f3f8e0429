//! The one error type of phone parsing, worded for the person who typed the number.

/// Why a text is not a phone number we can dial. `Display` is a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing that looks like a number.
    #[error("there is no phone number here: it contains no digits")]
    NoDigits,
    /// A character that has no place in a phone number.
    #[error("\u{201c}{0}\u{201d} cannot be part of a phone number")]
    InvalidCharacter(char),
    /// Too few digits.
    #[error("the number is too short: it has {digits} digits, at least {min} are needed")]
    TooShort {
        /// Digits found.
        digits: usize,
        /// Digits needed at least.
        min: usize,
    },
    /// Too many digits.
    #[error("the number is too long: it has {digits} digits, at most {max} are allowed")]
    TooLong {
        /// Digits found.
        digits: usize,
        /// Digits allowed at most.
        max: usize,
    },
    /// The digits after `+`/`00` start with no country calling code.
    #[error("+{0} is not a country calling code")]
    UnknownCountryCode(String),
    /// A North American area code that cannot exist.
    #[error("{area} is not a valid area code: {reason}")]
    InvalidAreaCode {
        /// The three digits.
        area: String,
        /// Why, for a person.
        reason: &'static str,
    },
    /// A North American exchange (the three digits after the area code) that cannot exist.
    #[error("{0} is not a valid exchange: the three digits after the area code cannot start with 0 or 1")]
    InvalidExchange(String),
    /// The national number does not fit the country's numbering plan.
    #[error("this is not a valid number for +{cc} ({region}): {digits} digits starting with {start} do not exist there")]
    InvalidForCountry {
        /// Country calling code.
        cc: u16,
        /// Main region of the calling code.
        region: &'static str,
        /// Length of the national number.
        digits: usize,
        /// Its first digits.
        start: String,
    },
    /// A region code we do not know.
    #[error("\u{201c}{0}\u{201d} is not a known region: expected a two-letter country code such as US or GB")]
    UnknownRegion(String),
    /// An extension that is not 1–7 digits.
    #[error("the extension must be 1 to 7 digits")]
    InvalidExtension,
    /// A string that should have been an E.164 number but is not.
    #[error("\u{201c}{0}\u{201d} is not in E.164 form (a + followed by the country code and number, digits only)")]
    NotE164(String),
}
