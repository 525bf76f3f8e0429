//! RFC 2822 timestamps as Twilio sends them in status callbacks
//! (`Timestamp=Tue, 10 Nov 2020 17:41:47 +0000`).

use crate::TwilioError;
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;

/// Formats Unix seconds the way Twilio does: `Tue, 10 Nov 2020 17:41:47 +0000`.
pub fn format_rfc2822(unix_secs: i64) -> Result<String, TwilioError> {
    let dt = OffsetDateTime::from_unix_timestamp(unix_secs)
        .map_err(|e| TwilioError::InvalidInput { field: "timestamp", reason: e.to_string() })?;
    dt.format(&Rfc2822).map_err(|e| TwilioError::InvalidInput { field: "timestamp", reason: e.to_string() })
}

/// Parses an RFC 2822 timestamp (any offset) into Unix seconds.
pub fn parse_rfc2822(s: &str) -> Result<i64, TwilioError> {
    OffsetDateTime::parse(s.trim(), &Rfc2822).map(|dt| dt.unix_timestamp()).map_err(|e| TwilioError::InvalidParam {
        name: "Timestamp",
        value: s.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_twilio_format() {
        let s = format_rfc2822(1_605_030_107).expect("format");
        assert_eq!(s, "Tue, 10 Nov 2020 17:41:47 +0000");
        assert_eq!(parse_rfc2822(&s).expect("parse"), 1_605_030_107);
        assert_eq!(parse_rfc2822("Tue, 10 Nov 2020 18:41:47 +0100").expect("parse"), 1_605_030_107);
        assert!(parse_rfc2822("yesterday").is_err());
    }
}
