//! The client's address: the TCP peer, or, when the peer is one of our own reverse
//! proxies (`MPT_TRUSTED_PROXIES`), the address those proxies put in `X-Forwarded-For`.
//!
//! Behind a TLS proxy every request used to come from the proxy, so the sign-in limiter
//! saw one client: ten sign-ins a minute for the whole world. Only proxies we trust may
//! speak for the client; a client's own `X-Forwarded-For` is never believed.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;

/// Parses `MPT_TRUSTED_PROXIES`: comma-separated addresses or CIDRs.
pub fn parse_trusted(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("MPT_TRUSTED_PROXIES: {s:?} is not an address or CIDR"))
        })
        .collect()
}

/// The client address for a request that arrived from `peer`.
///
/// Walks `X-Forwarded-For` from the right (each proxy appends the address it saw), skipping
/// trusted proxies; the first untrusted address is the client. A malformed entry stops the
/// walk at the last address a trusted proxy vouched for.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> =
        headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = canonical(ip);
                if !is_trusted(&client) {
                    return client;
                }
            }
            Err(_) => return client,
        }
    }
    client
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().expect("header"));
        }
        h
    }

    #[test]
    fn only_trusted_proxies_speak_for_the_client() {
        let trusted = parse_trusted("10.0.0.0/8, 127.0.0.1").expect("parse");
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        // A direct client's own header is ignored.
        assert_eq!(client_ip(ip("203.0.113.9"), &headers(&["1.2.3.4"]), &trusted), ip("203.0.113.9"));
        // Through our proxy: the address it appended.
        assert_eq!(client_ip(ip("127.0.0.1"), &headers(&["198.51.100.7"]), &trusted), ip("198.51.100.7"));
        // A spoofed entry to the left of the proxy's is not believed.
        assert_eq!(client_ip(ip("127.0.0.1"), &headers(&["6.6.6.6, 198.51.100.7"]), &trusted), ip("198.51.100.7"));
        // Two proxies of ours, several header lines.
        assert_eq!(client_ip(ip("10.0.0.2"), &headers(&["198.51.100.7", "10.0.0.1"]), &trusted), ip("198.51.100.7"));
        // Garbage stops at the last vouched address; no header: the proxy itself.
        assert_eq!(client_ip(ip("10.0.0.2"), &headers(&["junk, 10.0.0.1"]), &trusted), ip("10.0.0.1"));
        assert_eq!(client_ip(ip("127.0.0.1"), &headers(&[]), &trusted), ip("127.0.0.1"));
        assert_eq!(client_ip(ip("::ffff:127.0.0.1"), &headers(&["198.51.100.7"]), &trusted), ip("198.51.100.7"));
        assert!(parse_trusted("nope").is_err());
        assert!(parse_trusted("").expect("empty").is_empty());
    }
}
