//! Twilio's wire formats, with no knowledge of our database or HTTP server, so each
//! one can be tested exactly against Twilio's official helper library
//! (`tests/reference/ref.mjs` drives the npm `twilio` package):
//!
//! - [`token`]: Voice access tokens (JWT, HS256) for the browser's Voice SDK.
//! - [`signature`]: the `X-Twilio-Signature` webhook signature (form and JSON bodies).
//! - [`twiml`]: a TwiML builder, renderer (byte-for-byte the library's output) and parser.
//! - [`webhook`]: typed Twilio webhook requests parsed from form pairs.
//! - [`call_state`]: call statuses and a state machine that tolerates duplicate,
//!   late and out-of-order status callbacks.
//! - [`standin`]: the sandbox stand-in that plays Twilio's side of a call over real HTTP.
//! - [`rest`]: the REST requests customer provisioning needs (subaccounts, API keys,
//!   TwiML Apps, numbers) and a client that sends them.
//! - [`rest_standin`]: a local stand-in for that part of Twilio's REST API.
//!
//! ```
//! use mpt_twilio::token::{decode_verify, AccessToken, VoiceGrant};
//! use mpt_twilio::twiml::{DialTarget, Dial, Response};
//!
//! // A token for the browser's Voice SDK.
//! let grant = VoiceGrant { outgoing_application_sid: Some("AP123".into()), incoming_allow: true, ..Default::default() };
//! let jwt = AccessToken::new("AC123", "SK123", "secret", "agent-1", grant).to_jwt(1_700_000_000)?;
//! assert_eq!(decode_verify(&jwt, "secret", 1_700_000_060)?.grants.identity.as_deref(), Some("agent-1"));
//!
//! // TwiML answering a browser's call.
//! let twiml = Response::new().dial(Dial {
//!     caller_id: Some("+15550000001".into()),
//!     answer_on_bridge: true,
//!     targets: vec![DialTarget::number_with_all_events("+15551230001", "https://example.com/twilio/status")],
//!     ..Dial::default()
//! });
//! assert!(twiml.to_xml().starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><Response><Dial callerId="+15550000001" answerOnBridge="true">"#));
//!
//! // Checking a webhook's X-Twilio-Signature.
//! let params = vec![("CallSid".to_string(), "CA1".to_string())];
//! let sig = mpt_twilio::signature::compute("auth-token", "https://example.com/twilio/voice", &params);
//! assert!(mpt_twilio::signature::validate_form("auth-token", "https://example.com:443/twilio/voice", &params, &sig));
//! # Ok::<(), mpt_twilio::TwilioError>(())
//! ```

#![warn(missing_docs)]

pub mod call_state;
mod error;
pub mod rest;
pub mod rest_standin;
pub mod sid;
pub mod signature;
pub mod standin;
pub mod time_fmt;
pub mod token;
pub mod twiml;
pub mod webhook;
mod xml;

pub use error::TwilioError;

/// The API version Twilio reports in webhooks (`ApiVersion`).
pub const API_VERSION: &str = "2010-04-01";
