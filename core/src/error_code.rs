//! The one list of phone error codes (`../shared/CONTRACTS.md` §2, `docs/errors.md`).
//!
//! The page API, the postMessage responses, the phone UI and the server's JSON errors all
//! name a failure with one of these codes and show the same text for it, so an agent reads
//! the same words in the popup, the panel and the embedded widget, and an integrator can
//! switch on one set of codes whatever the transport.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a phone command or a server request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneErrorCode {
    /// The number is not a callable phone number.
    InvalidNumber,
    /// No agent is signed in.
    NotSignedIn,
    /// The phone is still starting (no session, device or socket yet).
    NotReady,
    /// A call is already up.
    InCall,
    /// There is no call to act on.
    NoCall,
    /// The caller's origin or missing confirmation does not allow this.
    NotAllowed,
    /// The token is missing, expired or revoked.
    Unauthorized,
    /// Too many requests; retry later.
    RateLimited,
    /// The tenant's subscription is not active.
    SubscriptionInactive,
    /// More active agents than paid seats.
    SeatsExceeded,
    /// The tenant does not allow calls to that country.
    CountryNotAllowed,
    /// The server or Twilio could not be reached.
    Unavailable,
    /// Anything else (details are logged, never shown).
    Internal,
}

impl PhoneErrorCode {
    /// Every code, in documentation order.
    pub const ALL: [PhoneErrorCode; 13] = [
        PhoneErrorCode::InvalidNumber,
        PhoneErrorCode::NotSignedIn,
        PhoneErrorCode::NotReady,
        PhoneErrorCode::InCall,
        PhoneErrorCode::NoCall,
        PhoneErrorCode::NotAllowed,
        PhoneErrorCode::Unauthorized,
        PhoneErrorCode::RateLimited,
        PhoneErrorCode::SubscriptionInactive,
        PhoneErrorCode::SeatsExceeded,
        PhoneErrorCode::CountryNotAllowed,
        PhoneErrorCode::Unavailable,
        PhoneErrorCode::Internal,
    ];

    /// The wire name (`invalid_number`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneErrorCode::InvalidNumber => "invalid_number",
            PhoneErrorCode::NotSignedIn => "not_signed_in",
            PhoneErrorCode::NotReady => "not_ready",
            PhoneErrorCode::InCall => "in_call",
            PhoneErrorCode::NoCall => "no_call",
            PhoneErrorCode::NotAllowed => "not_allowed",
            PhoneErrorCode::Unauthorized => "unauthorized",
            PhoneErrorCode::RateLimited => "rate_limited",
            PhoneErrorCode::SubscriptionInactive => "subscription_inactive",
            PhoneErrorCode::SeatsExceeded => "seats_exceeded",
            PhoneErrorCode::CountryNotAllowed => "country_not_allowed",
            PhoneErrorCode::Unavailable => "unavailable",
            PhoneErrorCode::Internal => "internal",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<PhoneErrorCode> {
        PhoneErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The text an agent sees for this code: the same in every surface.
    pub fn message(self) -> &'static str {
        match self {
            PhoneErrorCode::InvalidNumber => "That is not a phone number we can call.",
            PhoneErrorCode::NotSignedIn => "Sign in to MPT Phone first.",
            PhoneErrorCode::NotReady => "The phone is still starting. Try again in a moment.",
            PhoneErrorCode::InCall => "You are already on a call.",
            PhoneErrorCode::NoCall => "There is no call to do that on.",
            PhoneErrorCode::NotAllowed => "This page is not allowed to do that.",
            PhoneErrorCode::Unauthorized => "Your session has ended. Sign in again.",
            PhoneErrorCode::RateLimited => "Too many attempts. Wait a minute and try again.",
            PhoneErrorCode::SubscriptionInactive => "Your company's MPT Phone subscription is not active. Ask your administrator.",
            PhoneErrorCode::SeatsExceeded => "Your company has more agents than paid seats. Ask your administrator.",
            PhoneErrorCode::CountryNotAllowed => "Calls to that country are not allowed for your company.",
            PhoneErrorCode::Unavailable => "MPT Phone cannot reach its server. Check your connection.",
            PhoneErrorCode::Internal => "Something went wrong on our side. Try again.",
        }
    }

    /// The code a Twilio Voice SDK error code means for the agent (the SDK's
    /// `TwilioError` codes; the sandbox Device uses the same ones):
    /// - 20101-20160 (access token invalid, expired, rejected): [`Self::NotReady`], while the
    ///   phone fetches a new Voice token;
    /// - 31201, 31208, 31401, 31402 (no microphone, or access denied): [`Self::NotAllowed`];
    /// - 31005, 31009, 31480, 31486, 31603, 53000-53999 (signalling, media, unreachable):
    ///   [`Self::Unavailable`];
    /// - anything else: [`Self::Internal`].
    pub fn of_twilio(code: u32) -> PhoneErrorCode {
        match code {
            20101..=20160 => PhoneErrorCode::NotReady,
            31201 | 31208 | 31401 | 31402 => PhoneErrorCode::NotAllowed,
            31005 | 31009 | 31480 | 31486 | 31603 | 53000..=53999 => PhoneErrorCode::Unavailable,
            _ => PhoneErrorCode::Internal,
        }
    }

    /// Whether a Twilio error code means the Voice token must be replaced.
    pub fn twilio_token_error(code: u32) -> bool {
        (20101..=20160).contains(&code)
    }

    /// Whether a Twilio error code is about the microphone (the agent must allow it).
    pub fn twilio_microphone_error(code: u32) -> bool {
        matches!(code, 31201 | 31208 | 31401 | 31402)
    }

    /// The HTTP status the server answers with for this code.
    pub fn http_status(self) -> u16 {
        match self {
            PhoneErrorCode::InvalidNumber => 400,
            PhoneErrorCode::NotSignedIn | PhoneErrorCode::Unauthorized => 401,
            PhoneErrorCode::SubscriptionInactive | PhoneErrorCode::SeatsExceeded => 402,
            PhoneErrorCode::NotAllowed | PhoneErrorCode::CountryNotAllowed => 403,
            PhoneErrorCode::InCall | PhoneErrorCode::NoCall | PhoneErrorCode::NotReady => 409,
            PhoneErrorCode::RateLimited => 429,
            PhoneErrorCode::Internal => 500,
            PhoneErrorCode::Unavailable => 503,
        }
    }
}

impl fmt::Display for PhoneErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_through_serde_and_parse() {
        for code in PhoneErrorCode::ALL {
            let json = serde_json::to_string(&code).expect("serialize");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<PhoneErrorCode>(&json).expect("parse"), code);
            assert_eq!(PhoneErrorCode::parse(code.as_str()), Some(code));
            assert!(!code.message().is_empty());
        }
        assert_eq!(PhoneErrorCode::parse("nope"), None);
    }

    #[test]
    fn twilio_codes_map_to_the_agent_texts() {
        assert_eq!(PhoneErrorCode::of_twilio(20104), PhoneErrorCode::NotReady);
        assert_eq!(PhoneErrorCode::of_twilio(31208), PhoneErrorCode::NotAllowed);
        assert_eq!(PhoneErrorCode::of_twilio(31005), PhoneErrorCode::Unavailable);
        assert_eq!(PhoneErrorCode::of_twilio(53405), PhoneErrorCode::Unavailable);
        assert_eq!(PhoneErrorCode::of_twilio(31000), PhoneErrorCode::Internal);
        assert!(PhoneErrorCode::twilio_token_error(20104) && !PhoneErrorCode::twilio_token_error(31005));
    }

    #[test]
    fn the_contract_lists_exactly_these_codes() {
        let names: Vec<&str> = PhoneErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            names,
            [
                "invalid_number",
                "not_signed_in",
                "not_ready",
                "in_call",
                "no_call",
                "not_allowed",
                "unauthorized",
                "rate_limited",
                "subscription_inactive",
                "seats_exceeded",
                "country_not_allowed",
                "unavailable",
                "internal"
            ]
        );
    }
}
