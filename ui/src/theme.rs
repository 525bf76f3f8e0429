//! Themes and layouts. Colours are CSS custom properties set per `data-theme` in
//! `static/mpt-ui.css`, so a host (or a tenant) can override any of them.

use std::str::FromStr;

/// Colour themes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// MPT-CRM's blue.
    MptCrm,
    /// AMS-APP-CRM's green.
    AmsCrm,
    /// Follows the system's light or dark preference.
    #[default]
    Auto,
}

impl Theme {
    /// The `data-theme` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::MptCrm => "mpt-crm",
            Theme::AmsCrm => "ams-crm",
            Theme::Auto => "auto",
        }
    }
}

impl FromStr for Theme {
    type Err = String;
    fn from_str(s: &str) -> Result<Theme, String> {
        match s {
            "mpt-crm" => Ok(Theme::MptCrm),
            "ams-crm" => Ok(Theme::AmsCrm),
            "auto" => Ok(Theme::Auto),
            other => Err(format!("unknown theme {other:?} (mpt-crm, ams-crm, auto)")),
        }
    }
}

/// How much of the phone to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Dialer, call, recent calls, contacts in a narrow column (the popup).
    #[default]
    Compact,
    /// Everything, with room (the side panel).
    Full,
    /// Only the call, or the dialer when there is none (a CRM toolbar).
    Minimal,
}

impl Layout {
    /// The `data-layout` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Compact => "compact",
            Layout::Full => "full",
            Layout::Minimal => "minimal",
        }
    }
}

impl FromStr for Layout {
    type Err = String;
    fn from_str(s: &str) -> Result<Layout, String> {
        match s {
            "compact" => Ok(Layout::Compact),
            "full" => Ok(Layout::Full),
            "minimal" => Ok(Layout::Minimal),
            other => Err(format!("unknown layout {other:?} (compact, full, minimal)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in [Theme::MptCrm, Theme::AmsCrm, Theme::Auto] {
            assert_eq!(t.as_str().parse::<Theme>(), Ok(t));
        }
        for l in [Layout::Compact, Layout::Full, Layout::Minimal] {
            assert_eq!(l.as_str().parse::<Layout>(), Ok(l));
        }
        assert!("neon".parse::<Theme>().is_err());
    }
}
