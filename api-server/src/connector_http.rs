//! Outbound HTTP to CRM connectors, guarded against server-side request forgery.
//!
//! A connector URL is data a tenant admin typed. Unguarded, an admin pointed one at
//! `http://127.0.0.1:<port>/latest/meta-data…` and the server fetched it, following
//! redirects, sending any header and reading any amount. Now:
//! - the host is resolved here, and every address must be public unless the tenant
//!   allowlists the host (`connector_hosts`; the demo allowlists its own demo CRMs); the
//!   request then goes to exactly the addresses that were checked, so a DNS answer that
//!   changes between check and connect (rebinding) cannot redirect it;
//! - redirects are never followed (a 3xx is an error);
//! - the auth header may not be a hop-by-hop, routing or cookie header;
//! - the answer is read up to [`MAX_BODY`] bytes; time and cache lifetime are clamped.
//!
//! Errors never carry the URL: connector URLs hold the number looked up.

use crate::tenant::{ConnectorConfig, Tenant};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Largest connector answer read.
pub const MAX_BODY: usize = 1 << 20;
/// Longest a connector answer is cached.
pub const MAX_CACHE_TTL_SECS: u64 = 3600;

/// Headers an admin may not set on connector requests.
const DENIED_HEADERS: &[&str] = &[
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "cookie",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

/// Why a connector request was refused or failed (never holds the URL).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConnectorError {
    /// Not an http(s) URL with a host.
    #[error("connector URLs must be http(s) URLs with a host")]
    BadUrl,
    /// The host resolves to an address the connector may not reach.
    #[error("connector host {0} resolves to a loopback, private or link-local address; allowlist it to use it")]
    ForbiddenAddress(String),
    /// The host could not be resolved.
    #[error("connector host {0} could not be resolved")]
    Unresolved(String),
    /// The auth header is not allowed.
    #[error("header {0:?} may not be set on connector requests")]
    DeniedHeader(String),
    /// The CRM answered with a redirect.
    #[error("the CRM answered with a redirect; redirects are not followed")]
    Redirect,
    /// The CRM answered with an error status.
    #[error("the CRM answered HTTP {0}")]
    Status(u16),
    /// The answer is larger than [`MAX_BODY`].
    #[error("the CRM's answer is larger than {MAX_BODY} bytes")]
    TooLarge,
    /// Transport or body failure.
    #[error("{0}")]
    Transport(String),
}

/// Whether a connector may reach this address without an allowlist entry: public
/// unicast only.
pub fn is_public(ip: IpAddr) -> bool {
    const BLOCKED: &[&str] = &[
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "64:ff9b::/96",
        "100::/64",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    ];
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    !BLOCKED.iter().filter_map(|n| n.parse::<IpNet>().ok()).any(|net| net.contains(&ip))
}

fn allowlisted(tenant: &Tenant, host: &str, port: u16) -> bool {
    let with_port = format!("{host}:{port}");
    tenant.connector_hosts.iter().any(|h| h.eq_ignore_ascii_case(host) || h.eq_ignore_ascii_case(&with_port))
}

/// The `host:port` entries that allowlist these connectors' URLs (the demo's own CRMs).
pub fn hosts_of(conns: &[ConnectorConfig]) -> Vec<String> {
    let mut hosts: Vec<String> = conns
        .iter()
        .flat_map(|c| [&c.lookup_url, &c.search_url])
        .filter_map(|u| reqwest::Url::parse(u).ok())
        .filter_map(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// Checks a connector's configuration when an admin saves it: URL templates, header,
/// and, for hosts that need no lookup (IP literals, `localhost`), the address rule.
pub fn validate(tenant: &Tenant, conn: &ConnectorConfig) -> Result<(), ConnectorError> {
    for template in [&conn.lookup_url, &conn.search_url] {
        let url = reqwest::Url::parse(&template.replace("{phone}", "0").replace("{q}", "q")).map_err(|_| ConnectorError::BadUrl)?;
        let (host, port) = host_port(&url)?;
        if allowlisted(tenant, &host, port) {
            continue;
        }
        let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
        let forbidden = match literal {
            Some(ip) => !is_public(ip),
            None => host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost"),
        };
        if forbidden {
            return Err(ConnectorError::ForbiddenAddress(host));
        }
    }
    if let Some((name, _)) = &conn.auth_header {
        check_header(name)?;
    }
    Ok(())
}

fn check_header(name: &str) -> Result<(), ConnectorError> {
    let lower = name.trim().to_ascii_lowercase();
    if lower.is_empty() || DENIED_HEADERS.contains(&lower.as_str()) || lower.starts_with("proxy-") || lower.starts_with("sec-") {
        return Err(ConnectorError::DeniedHeader(name.to_string()));
    }
    Ok(())
}

fn host_port(url: &reqwest::Url) -> Result<(String, u16), ConnectorError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConnectorError::BadUrl);
    }
    let host = url.host_str().ok_or(ConnectorError::BadUrl)?.to_string();
    let port = url.port_or_known_default().ok_or(ConnectorError::BadUrl)?;
    Ok((host, port))
}

/// Resolves the URL's host and keeps the addresses the tenant may reach.
async fn resolve(tenant: &Tenant, url: &reqwest::Url) -> Result<(String, Vec<SocketAddr>), ConnectorError> {
    let (host, port) = host_port(url)?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port)).await.map_err(|_| ConnectorError::Unresolved(host.clone()))?.collect(),
    };
    if addrs.is_empty() {
        return Err(ConnectorError::Unresolved(host));
    }
    // One private answer taints the host (split-horizon DNS, rebinding).
    if !allowlisted(tenant, &host, port) && addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(ConnectorError::ForbiddenAddress(host));
    }
    Ok((bare.to_string(), addrs))
}

/// GETs a connector URL under the rules of the module doc and parses the JSON answer.
pub async fn get_json(tenant: &Tenant, conn: &ConnectorConfig, url: &str) -> Result<serde_json::Value, ConnectorError> {
    let url = reqwest::Url::parse(url).map_err(|_| ConnectorError::BadUrl)?;
    let (host, addrs) = resolve(tenant, &url).await?;
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_millis(conn.timeout_ms.clamp(100, 10_000)));
    // IP literals connect as they are; names connect only to the addresses checked above.
    if host.parse::<IpAddr>().is_err() {
        builder = builder.resolve_to_addrs(&host, &addrs);
    }
    let client = builder.build().map_err(|e| ConnectorError::Transport(format!("client: {}", e.without_url())))?;
    let mut req = client.get(url);
    if let Some((name, value)) = &conn.auth_header {
        check_header(name)?;
        req = req.header(name.as_str(), value.as_str());
    }
    let mut resp = req.send().await.map_err(|e| ConnectorError::Transport(format!("request: {}", e.without_url())))?;
    let status = resp.status();
    if status.is_redirection() {
        return Err(ConnectorError::Redirect);
    }
    if !status.is_success() {
        return Err(ConnectorError::Status(status.as_u16()));
    }
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(ConnectorError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| ConnectorError::Transport(format!("body: {}", e.without_url())))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ConnectorError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| ConnectorError::Transport(format!("body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast_is_reachable_by_default() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip} must be refused");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(ip.parse().expect("ip")), "{ip} is public");
        }
    }

    #[test]
    fn headers_that_route_or_smuggle_are_denied() {
        for h in ["Host", "cookie", "Transfer-Encoding", "X-Forwarded-For", "Proxy-Authorization", "sec-fetch-site", ""] {
            assert!(check_header(h).is_err(), "{h}");
        }
        assert!(check_header("Authorization").is_ok() && check_header("X-Api-Key").is_ok());
    }
}
