//! Allowed-origin patterns (`../shared/CONTRACTS.md` §1): the tenant's `allowed_origins`
//! decide which CRM pages may use the phone without the agent's confirmation. One
//! matcher, used by the server (CORS, embed checks) and by every phone host.

/// Does `origin` (`scheme://host[:port]`, as the browser reports it) match `pattern`?
/// A pattern is an exact origin, `scheme://host:*` (any numeric port) or `scheme://*`
/// (any single alphanumeric host, for extension origins). Nothing else is a wildcard.
pub fn origin_matches(pattern: &str, origin: &str) -> bool {
    if pattern == origin {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix(":*") {
        if let Some(port) = origin.strip_prefix(prefix).and_then(|r| r.strip_prefix(':')) {
            return !port.is_empty() && port.chars().all(|c| c.is_ascii_digit());
        }
        return false;
    }
    if let Some(scheme) = pattern.strip_suffix("://*") {
        if let Some(rest) = origin.strip_prefix(scheme).and_then(|r| r.strip_prefix("://")) {
            return !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric());
        }
    }
    false
}

/// Is `pattern` something [`origin_matches`] understands: `http(s)://host[:port]`,
/// `http(s)://host:*`, or `chrome-extension://*` / an exact extension origin? No path,
/// no user info, no bare `*`; at most 200 bytes.
pub fn valid_pattern(pattern: &str) -> bool {
    let Some((scheme, rest)) = pattern.split_once("://") else { return false };
    if pattern.len() > 200 || rest.is_empty() {
        return false;
    }
    match scheme {
        "chrome-extension" => rest == "*" || rest.chars().all(|c| c.is_ascii_lowercase()),
        "http" | "https" => {
            let (host, port) = match rest.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            };
            let host_ok = !host.is_empty()
                && host.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
                || (host.starts_with('[') && host.ends_with(']'));
            let port_ok = match port {
                None => true,
                Some("*") => true,
                Some(p) => !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()),
            };
            host_ok && port_ok
        }
        _ => false,
    }
}

/// Does any of `patterns` allow `origin`?
pub fn origin_allowed<S: AsRef<str>>(patterns: &[S], origin: &str) -> bool {
    patterns.iter().any(|p| origin_matches(p.as_ref(), origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_patterns() {
        assert!(origin_matches("http://127.0.0.1:*", "http://127.0.0.1:5173"));
        assert!(!origin_matches("http://127.0.0.1:*", "http://127.0.0.1.evil.com:80"));
        assert!(!origin_matches("http://127.0.0.1:*", "http://127.0.0.1:"));
        assert!(!origin_matches("http://127.0.0.1:*", "http://127.0.0.1:80/x"));
        assert!(origin_matches("chrome-extension://*", "chrome-extension://abcdefghijklmnop"));
        assert!(!origin_matches("chrome-extension://*", "chrome-extension://a.b"));
        assert!(origin_matches("https://crm.example.com", "https://crm.example.com"));
        assert!(!origin_matches("https://crm.example.com", "https://crm.example.com.evil"));
        assert!(!origin_matches("https://crm.example.com", "http://crm.example.com"));
    }

    #[test]
    fn patterns_an_admin_may_set() {
        for ok in ["https://crm.example.com", "http://localhost:*", "http://127.0.0.1:8801", "chrome-extension://*", "https://a-b.example"]
        {
            assert!(valid_pattern(ok), "{ok}");
        }
        for bad in
            ["*", "https://*", "https://crm.example.com/", "https://a@b.c", "ftp://x.y", "https://", "crm.example.com", "https://x:99999z"]
        {
            assert!(!valid_pattern(bad), "{bad}");
        }
    }

    #[test]
    fn lists() {
        let list = vec!["http://localhost:*".to_owned(), "https://crm.example.com".to_owned()];
        assert!(origin_allowed(&list, "http://localhost:8801"));
        assert!(origin_allowed(&list, "https://crm.example.com"));
        assert!(!origin_allowed(&list, "http://127.0.0.1:8801"));
        assert!(!origin_allowed::<String>(&[], "http://localhost:8801"));
    }
}
