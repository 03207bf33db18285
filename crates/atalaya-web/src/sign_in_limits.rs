//! How sign-in slows password guessing without locking people out.
//!
//! ```text
//! (username, client address)   the first login_max_failures failures are free, then every
//!                              further attempt waits 1 s, 2 s, 4 s … (up to the window)
//!                              after the latest failure — a correct password too, but only
//!                              for that wait, and only from that address
//! username, every address      above 4 × login_max_failures: the same growing wait, except
//!                              for a device this user signed in from before (a sealed
//!                              `atalaya_device` cookie), so a guesser elsewhere cannot
//!                              keep the owner out
//! client address, every user   above 20 × login_max_failures (password spraying): the same,
//!                              known devices exempt
//! ```
//!
//! Behind a reverse proxy every client has the proxy's address; the client's
//! own address is read from `Forwarded` / `X-Forwarded-For` only when the peer
//! is one of `server.trusted_proxies`, walking from the nearest hop and
//! skipping the trusted ones (a client can write any header it likes, so only
//! what our own proxies appended is believed).

use std::net::IpAddr;
use std::time::Duration;

use atalaya_domain::Timestamp;
use axum::http::HeaderMap;
use ipnet::IpNet;

/// How many more failures than the per-pair allowance one account may have
/// from all addresses before unknown devices wait.
pub const ACCOUNT_FACTOR: i64 = 4;
/// The same for one address over all usernames.
pub const ADDRESS_FACTOR: i64 = 20;

/// How long an attempt must still wait after `count` failures in the window,
/// the latest at `last`, when the first `free` are free: nothing below
/// `free`, then 1 s doubling with every failure, never more than `window`.
pub fn wait(
    count: i64,
    last: Option<Timestamp>,
    now: Timestamp,
    free: i64,
    window: Duration,
) -> Option<Duration> {
    let last = last?;
    if count < free.max(1) {
        return None;
    }
    let doublings = u32::try_from((count - free).min(30)).unwrap_or(30);
    let delay = Duration::from_secs(1_u64 << doublings).min(window);
    let elapsed = Duration::from_millis(u64::try_from(now.0 - last.0).unwrap_or(0));
    delay.checked_sub(elapsed).filter(|left| !left.is_zero())
}

/// The client's address: the peer's, or, when the peer is a trusted proxy,
/// the nearest untrusted hop its forwarding headers name.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops = forwarded_for(headers);
    if hops.is_empty() {
        hops = x_forwarded_for(headers);
    }
    // Nearest first: the last hop was appended by the proxy that reached us.
    hops.into_iter()
        .rev()
        .find(|hop| !is_trusted(hop))
        .unwrap_or(peer)
}

/// The `for=` addresses of every `Forwarded` header (RFC 7239), in order.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    headers
        .get_all("forwarded")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_node(value.trim().trim_matches('"')))
                    .flatten()
            })
        })
        .collect()
}

/// The addresses of every `X-Forwarded-For` header, in order.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|node| parse_node(node.trim()))
        .collect()
}

/// `192.0.2.7`, `192.0.2.7:4711`, `[2001:db8::1]:4711` or `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    node.rsplit_once(':')?.0.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(900);

    fn at(seconds: i64) -> Timestamp {
        Timestamp(1_000_000 + seconds * 1000)
    }

    #[test]
    fn the_wait_doubles_after_the_free_failures_and_never_exceeds_the_window() {
        assert_eq!(wait(4, Some(at(0)), at(0), 5, WINDOW), None);
        assert_eq!(
            wait(5, Some(at(0)), at(0), 5, WINDOW),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            wait(6, Some(at(0)), at(0), 5, WINDOW),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            wait(8, Some(at(0)), at(3), 5, WINDOW),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            wait(8, Some(at(0)), at(8), 5, WINDOW),
            None,
            "waited enough"
        );
        assert_eq!(wait(60, Some(at(0)), at(0), 5, WINDOW), Some(WINDOW));
        assert_eq!(wait(9, None, at(0), 5, WINDOW), None);
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        // Not trusted: a client's own header is ignored.
        let stranger: IpAddr = "198.51.100.1".parse().unwrap();
        let spoofed = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(client_address(stranger, &spoofed, &trusted), stranger);
        assert_eq!(client_address(proxy, &spoofed, &[]), proxy);
        // Trusted: the nearest untrusted hop, whatever the client prepended.
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.7")]);
        assert_eq!(client_address(proxy, &chain, &trusted), client);
        let forwarded = headers(&[(
            "forwarded",
            "for=1.2.3.4, for=\"[2001:db8::7]:4711\";proto=https",
        )]);
        assert_eq!(
            client_address(proxy, &forwarded, &trusted),
            "2001:db8::7".parse::<IpAddr>().unwrap()
        );
        let ported = headers(&[("forwarded", "for=203.0.113.9:5555")]);
        assert_eq!(client_address(proxy, &ported, &trusted), client);
        // A trusted proxy that names nobody: the proxy it is.
        assert_eq!(client_address(proxy, &headers(&[]), &trusted), proxy);
        let garbage = headers(&[("x-forwarded-for", "unknown, _hidden")]);
        assert_eq!(client_address(proxy, &garbage, &trusted), proxy);
    }
}
