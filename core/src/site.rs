//! Sites the content script may run on, and the server origin rule.
//!
//! A *site* is `scheme://host` without a port, because Chrome's match patterns (and so
//! host permissions and registered content scripts) ignore ports: granting
//! `http://127.0.0.2/*` enables every port of that host. The worker, the popup and the
//! options page all name sites this way, so "Enable on this site" and the enabled-sites
//! list agree with what the browser actually grants.

/// The site (`scheme://host`, lower-case, no port, no user info) of an http(s) URL.
pub fn site_of_url(url: &str) -> Option<String> {
    let (scheme, rest) = split_scheme(url)?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = if host.starts_with('[') {
        // IPv6 literal: keep the brackets, drop a port after them.
        &host[..=host.find(']')?]
    } else {
        host.split(':').next().unwrap_or(host)
    };
    if host.is_empty() || host.contains('*') {
        return None;
    }
    Some(format!("{scheme}://{}", host.to_ascii_lowercase()))
}

/// The match pattern that grants `site`: `scheme://host/*`.
pub fn pattern_of(site: &str) -> String {
    format!("{site}/*")
}

/// The site an exact-host pattern (`https://crm.example.com/*`) grants, or `None` for
/// wildcard patterns (`https://*/*`, `<all_urls>`), which are never a single site.
pub fn site_of_pattern(pattern: &str) -> Option<String> {
    let base = pattern.strip_suffix("/*")?;
    let site = site_of_url(base)?;
    (site == base).then_some(site)
}

fn split_scheme(url: &str) -> Option<(&'static str, &str)> {
    let lower = url.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
    if lower.starts_with("https://") {
        Some(("https", &url[8..]))
    } else if lower.starts_with("http://") {
        Some(("http", &url[7..]))
    } else {
        None
    }
}

/// Whether a match pattern (`http://127.0.0.1/*`, `https://*.example.com/*`, `*://x/*`)
/// covers `site`. Paths are not compared: content-script patterns here are whole hosts.
pub fn pattern_covers(pattern: &str, site: &str) -> bool {
    if pattern == "<all_urls>" {
        return true;
    }
    let Some((p_scheme, p_rest)) = pattern.split_once("://") else { return false };
    let Some((s_scheme, s_host)) = site.split_once("://") else { return false };
    if p_scheme != "*" && p_scheme != s_scheme {
        return false;
    }
    let p_host = p_rest.split('/').next().unwrap_or("");
    let p_host = p_host.split(':').next().unwrap_or(p_host);
    if p_host == "*" {
        return true;
    }
    match p_host.strip_prefix("*.") {
        Some(suffix) => s_host == suffix || s_host.ends_with(&format!(".{suffix}")),
        None => p_host.eq_ignore_ascii_case(s_host),
    }
}

/// Whether `host` (no port) is a loopback name or address.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host == "::1"
        || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Why a server URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerUrlError {
    /// Not `http(s)://host[:port]` (a path, a query, no host…).
    NotAnOrigin,
    /// `http://` to a host that is not loopback: sessions would cross the network in clear.
    Insecure,
}

impl ServerUrlError {
    /// The text the agent or the build sees.
    pub fn message(self) -> &'static str {
        match self {
            ServerUrlError::NotAnOrigin => "The server URL must be an origin like https://phone.example.com (no path).",
            ServerUrlError::Insecure => {
                "The server URL must use https:// (plain http:// is allowed only on this computer: localhost, 127.0.0.1)."
            }
        }
    }
}

/// The api-server origin for `url` (trailing slash dropped): `https://` anywhere,
/// `http://` only on loopback.
pub fn server_origin(url: &str) -> Result<String, ServerUrlError> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = split_scheme(url).ok_or(ServerUrlError::NotAnOrigin)?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(ServerUrlError::NotAnOrigin);
    }
    let host = if rest.starts_with('[') {
        &rest[..rest.find(']').ok_or(ServerUrlError::NotAnOrigin)? + 1]
    } else {
        rest.split(':').next().unwrap_or(rest)
    };
    if host.is_empty() {
        return Err(ServerUrlError::NotAnOrigin);
    }
    if let Some(port) = rest.strip_prefix(host).and_then(|p| p.strip_prefix(':')) {
        port.parse::<u16>().map_err(|_| ServerUrlError::NotAnOrigin)?;
    }
    if scheme == "http" && !is_loopback_host(host) {
        return Err(ServerUrlError::Insecure);
    }
    Ok(format!("{scheme}://{}", rest.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites() {
        assert_eq!(site_of_url("http://127.0.0.2:4000/contacts?x#y").as_deref(), Some("http://127.0.0.2"));
        assert_eq!(site_of_url("HTTPS://user:pw@CRM.Example.com/").as_deref(), Some("https://crm.example.com"));
        assert_eq!(site_of_url("http://[::1]:80/").as_deref(), Some("http://[::1]"));
        assert_eq!(site_of_url("chrome://extensions"), None);
        assert_eq!(site_of_url("chrome-extension://abc/popup/index.html"), None);
        assert_eq!(site_of_url("https:///x"), None);
        assert_eq!(pattern_of("https://crm.example.com"), "https://crm.example.com/*");
        assert_eq!(site_of_pattern("https://crm.example.com/*").as_deref(), Some("https://crm.example.com"));
        assert_eq!(site_of_pattern("https://*/*"), None);
        assert_eq!(site_of_pattern("https://*.example.com/*"), None);
        assert_eq!(site_of_pattern("http://127.0.0.1:8787/*"), None, "a server pattern with a port is not a site");
    }

    #[test]
    fn patterns() {
        assert!(pattern_covers("http://127.0.0.1/*", "http://127.0.0.1"));
        assert!(!pattern_covers("http://127.0.0.1/*", "http://127.0.0.2"));
        assert!(!pattern_covers("http://127.0.0.1/*", "https://127.0.0.1"));
        assert!(pattern_covers("*://crm.example.com/*", "https://crm.example.com"));
        assert!(pattern_covers("https://*.example.com/*", "https://eu.crm.example.com"));
        assert!(pattern_covers("https://*.example.com/*", "https://example.com"));
        assert!(!pattern_covers("https://*.example.com/*", "https://badexample.com"));
        assert!(pattern_covers("<all_urls>", "https://a.b"));
    }

    #[test]
    fn server_origins() {
        assert_eq!(server_origin("https://phone.example.com/"), Ok("https://phone.example.com".into()));
        assert_eq!(server_origin("http://127.0.0.1:8787"), Ok("http://127.0.0.1:8787".into()));
        assert_eq!(server_origin("http://localhost:3000"), Ok("http://localhost:3000".into()));
        assert_eq!(server_origin("http://[::1]:3000"), Ok("http://[::1]:3000".into()));
        assert_eq!(server_origin("http://phone.example.com"), Err(ServerUrlError::Insecure));
        assert_eq!(server_origin("http://10.0.0.5:8787"), Err(ServerUrlError::Insecure));
        assert_eq!(server_origin("https://phone.example.com/api"), Err(ServerUrlError::NotAnOrigin));
        assert_eq!(server_origin("https://a@b.c"), Err(ServerUrlError::NotAnOrigin));
        assert_eq!(server_origin("https://b.c:99999"), Err(ServerUrlError::NotAnOrigin));
        assert_eq!(server_origin("ftp://b.c"), Err(ServerUrlError::NotAnOrigin));
        assert_eq!(server_origin(""), Err(ServerUrlError::NotAnOrigin));
    }

    #[test]
    fn loopback() {
        for h in ["localhost", "127.0.0.1", "127.0.0.2", "[::1]", "app.localhost"] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["10.0.0.1", "example.com", "localhost.example.com", "128.0.0.1"] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}
