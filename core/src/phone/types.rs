//! The value types: [`Region`], [`E164`], [`Style`].

use super::error::ParseError;
use super::meta;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A region (ISO 3166 alpha-2, e.g. "US"), used for numbers written without a country code.
/// Serialized as its two letters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Region([u8; 2]);

impl Region {
    /// The United States.
    pub const US: Region = Region(*b"US");

    /// Parses a region code, case-insensitively ("us", "GB"); it must be one with a calling code.
    pub fn parse(code: &str) -> Result<Region, ParseError> {
        let b = code.trim().as_bytes();
        if let [a, c] = b {
            if a.is_ascii_alphabetic() && c.is_ascii_alphabetic() {
                let r = [a.to_ascii_uppercase(), c.to_ascii_uppercase()];
                if meta::region_info(r).is_some() {
                    return Ok(Region(r));
                }
            }
        }
        Err(ParseError::UnknownRegion(code.to_string()))
    }

    /// The two upper-case letters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("US")
    }

    /// The region's country calling code (1 for the US).
    pub fn country_code(&self) -> u16 {
        self.info().cc
    }

    pub(crate) fn info(&self) -> meta::RegionInfo {
        meta::region_info(self.0).unwrap_or(meta::RegionInfo { cc: 1, national_prefix: "1", intl_prefix: "011" })
    }
}

impl Default for Region {
    fn default() -> Self {
        Region::US
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Region {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::parse(s)
    }
}

impl TryFrom<String> for Region {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Region::parse(&s)
    }
}

impl From<Region> for String {
    fn from(r: Region) -> String {
        r.as_str().to_string()
    }
}

/// A valid phone number in E.164 form, e.g. "+14155550134". Serialized as that string;
/// deserializing checks validity.
#[derive(Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164(String);

impl E164 {
    /// Wraps an E.164 string already validated.
    pub(crate) fn from_validated(s: &str) -> E164 {
        E164(s.to_string())
    }

    /// Parses a strict E.164 string ("+" and digits) and checks it is a valid number.
    /// For human-written input use [`super::normalize`].
    pub fn parse(s: &str) -> Result<E164, ParseError> {
        let digits = s
            .strip_prefix('+')
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| ParseError::NotE164(s.to_string()))?;
        super::normalize::international(digits.as_bytes()).map(|n| n.e164()).map_err(ParseError::from)
    }

    /// The E.164 string, e.g. "+14155550134".
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The country calling code, e.g. 1.
    pub fn country_code(&self) -> u16 {
        meta::split_cc(&self.0.as_bytes()[1..]).map_or(0, |(c, _)| c.cc)
    }

    /// The national significant number (the digits after the calling code).
    pub fn national_number(&self) -> &str {
        let digits = &self.0[1..];
        match meta::split_cc(digits.as_bytes()) {
            Some((_, nsn)) => &digits[digits.len() - nsn.len()..],
            None => digits,
        }
    }

    /// The main region of the number's calling code ("US" for +1, "001" when non-geographic).
    pub fn main_region(&self) -> &'static str {
        meta::split_cc(&self.0.as_bytes()[1..]).map_or("001", |(c, _)| meta::main_region(&c))
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for E164 {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        E164::parse(s)
    }
}

impl TryFrom<String> for E164 {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        E164::parse(&s)
    }
}

impl From<E164> for String {
    fn from(e: E164) -> String {
        e.0
    }
}

impl AsRef<str> for E164 {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// How [`super::format`] displays a number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    /// As dialled inside the country: "(415) 555-0134", "020 7946 0958".
    #[default]
    National,
    /// With the country code: "+1 415-555-0134", "+44 20 7946 0958".
    International,
    /// Plain E.164: "+14155550134".
    E164,
}
