//! `X-Twilio-Signature`: how Twilio signs its webhook requests.
//!
//! Form-encoded POST: the full URL Twilio requested, then every POST parameter
//! sorted by name as `name` + `value` (a repeated name contributes each distinct
//! value, sorted), HMAC-SHA1 with the auth token, base64. JSON body: the URL
//! carries `bodySHA256=<hex sha256 of the body>`; the URL alone is signed and the
//! body hash is checked. Sorting uses UTF-16 code-unit order, exactly as the
//! official JavaScript library sorts (it differs from byte order only for
//! characters outside the Basic Multilingual Plane).
//!
//! Validation tries the URL as received, with the port removed, and with the
//! scheme's default port added (`:443`/`:80`), because proxies rewrite ports.
//! Behind a reverse proxy, rebuild the public URL from configuration.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Name of the HTTP header carrying the signature.
pub const HEADER: &str = "X-Twilio-Signature";

fn utf16_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// The string Twilio signs: `url` then each parameter name + value, names sorted,
/// distinct values of a repeated name sorted.
pub fn signing_string(url: &str, params: &[(String, String)]) -> String {
    let mut grouped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in params {
        grouped.entry(k.as_str()).or_default().push(v.as_str());
    }
    let mut names: Vec<&str> = grouped.keys().copied().collect();
    names.sort_by(|a, b| utf16_cmp(a, b));
    let mut data = String::from(url);
    for name in names {
        let mut values = grouped.get(name).cloned().unwrap_or_default();
        values.sort_by(|a, b| utf16_cmp(a, b));
        values.dedup();
        for value in values {
            data.push_str(name);
            data.push_str(value);
        }
    }
    data
}

/// The signature Twilio sends for a form-encoded request to `url` with `params`.
pub fn compute(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    sign_data(auth_token, signing_string(url, params).as_bytes())
}

fn sign_data(auth_token: &str, data: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    match <Hmac<Sha1> as Mac>::new_from_slice(auth_token.as_bytes()) {
        Ok(mut mac) => {
            mac.update(data);
            STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

fn ct_eq(a: &str, b: &str) -> bool {
    // Length is not secret (fixed by the algorithm); contents compared in constant time.
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

struct UrlParts<'a> {
    scheme: &'a str,
    userinfo: &'a str,
    host: &'a str,
    port: &'a str,
    rest: &'a str,
}

/// Splits `scheme://[userinfo@]host[:port]rest` without normalising anything.
fn split_url(url: &str) -> Option<UrlParts<'_>> {
    let sep = url.find("://")?;
    let scheme_name = &url[..sep];
    let mut chars = scheme_name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')) {
        return None;
    }
    let scheme = &url[..sep + 3];
    let after = &url[sep + 3..];
    let auth_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = &after[..auth_end];
    let rest = &after[auth_end..];
    let (userinfo, host_port) = match authority.rfind('@') {
        Some(i) => (&authority[..=i], &authority[i + 1..]),
        None => ("", authority),
    };
    let search_from = host_port.rfind(']').map_or(0, |i| i + 1);
    let (host, port) = match host_port[search_from..].find(':') {
        Some(i) => host_port.split_at(search_from + i),
        None => (host_port, ""),
    };
    Some(UrlParts { scheme, userinfo, host, port, rest })
}

/// `url` with its port removed (unchanged if it has none or cannot be split).
pub fn remove_port(url: &str) -> String {
    match split_url(url) {
        Some(p) => format!("{}{}{}{}", p.scheme, p.userinfo, p.host, p.rest),
        None => url.to_string(),
    }
}

/// `url` with the scheme's default port (`:443` for https, `:80` otherwise) added
/// when it has no port.
pub fn add_port(url: &str) -> String {
    match split_url(url) {
        Some(p) if p.port.is_empty() => {
            let port = if p.scheme.eq_ignore_ascii_case("https://") { ":443" } else { ":80" };
            format!("{}{}{}{}{}", p.scheme, p.userinfo, p.host, port, p.rest)
        }
        _ => url.to_string(),
    }
}

fn url_candidates(url: &str) -> [String; 3] {
    [url.to_string(), remove_port(url), add_port(url)]
}

/// Whether `header_sig` is Twilio's signature of a form-encoded request to `url`
/// with `params` (tries the port variants; constant-time comparison).
pub fn validate_form(auth_token: &str, url: &str, params: &[(String, String)], header_sig: &str) -> bool {
    let mut ok = false;
    for candidate in url_candidates(url) {
        ok |= ct_eq(&compute(auth_token, &candidate, params), header_sig.trim());
    }
    ok
}

/// Lowercase hex SHA-256 of a request body (the `bodySHA256` query value).
pub fn body_sha256_hex(body: &[u8]) -> String {
    Sha256::digest(body).iter().map(|b| format!("{b:02x}")).collect()
}

/// The `bodySHA256` query parameter of `url`, percent-decoded, if present.
pub fn body_sha256_param(url: &str) -> Option<String> {
    let query_start = url.find('?')?;
    let query = &url[query_start + 1..];
    let query = query.split('#').next().unwrap_or(query);
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "bodySHA256").map(|(_, v)| v.into_owned())
}

/// Whether `header_sig` signs `url` (which must carry `bodySHA256`) and that
/// parameter is the SHA-256 of `body`. Used for Twilio's JSON-bodied webhooks.
pub fn validate_json(auth_token: &str, url: &str, body: &[u8], header_sig: &str) -> bool {
    let Some(expected_hash) = body_sha256_param(url) else {
        return false;
    };
    let url_ok = validate_form(auth_token, url, &[], header_sig);
    let body_ok = ct_eq(&body_sha256_hex(body), &expected_hash);
    url_ok && body_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn known_vector_from_twilio_docs() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params = p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(compute("12345", url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        // Order of the pairs does not matter.
        let mut reversed = params.clone();
        reversed.reverse();
        assert!(validate_form("12345", url, &reversed, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(validate_form("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!validate_form("12345", url, &params[1..], "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!validate_form("12346", url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!validate_form("12345", url, &params, ""));
    }

    #[test]
    fn port_helpers() {
        assert_eq!(add_port("https://a.b/x?y"), "https://a.b:443/x?y");
        assert_eq!(add_port("http://u:p@a.b"), "http://u:p@a.b:80");
        assert_eq!(add_port("http://a.b:8080/x"), "http://a.b:8080/x");
        assert_eq!(remove_port("http://[::1]:8080/x"), "http://[::1]/x");
        assert_eq!(add_port("http://[::1]/x"), "http://[::1]:80/x");
        assert_eq!(remove_port("not a url"), "not a url");
    }

    #[test]
    fn json_body_validation() {
        let body = br#"{"a":1}"#;
        let url = format!("https://h.example/hook?bodySHA256={}", body_sha256_hex(body));
        let sig = compute("tok", &url, &[]);
        assert!(validate_json("tok", &url, body, &sig));
        assert!(!validate_json("tok", &url, br#"{"a":2}"#, &sig));
        assert!(!validate_json("tok", "https://h.example/hook", body, &sig));
    }

    #[test]
    fn repeated_names_use_distinct_sorted_values() {
        let a = signing_string("u", &p(&[("b", "2"), ("a", "x"), ("b", "1"), ("b", "2")]));
        assert_eq!(a, "uaxb1b2");
    }
}
