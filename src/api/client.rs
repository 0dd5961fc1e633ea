//! The client's network address: the TCP peer, unless the peer is one of the configured
//! trusted reverse proxies (`TRUSTED_PROXIES`), in which case the address the proxies
//! forwarded in `Forwarded` (RFC 7239) or `X-Forwarded-For`.
//!
//! Forwarding headers are believed only from a trusted peer: anyone else could write anything
//! in them. Even then, only the addresses the trusted proxies appended mean anything, so the
//! chain is read from the right (the hop nearest to us), skipping trusted proxies, and the
//! first address that is not one of them is the client. Whatever is left of it was written by
//! the client itself and is ignored. A malformed hop, an obfuscated or `unknown` one, or the
//! two headers naming different clients, all fall back to the peer: never to a value the
//! client could have chosen.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header::{HeaderMap, HeaderName};
use ipnet::IpNet;

/// The address of the client of `req` (see the module documentation); `None` only when the
/// connection has no peer address (not over TCP).
pub fn client_address(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    Some(resolve(peer, req.headers(), trusted))
}

/// [`client_address`] from the peer and the request headers.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded = lines(headers, &actix_web::http::header::FORWARDED).map(|value| {
        walk(
            peer,
            rfc7239::parse(&value)
                .map(|hop| hop.ok().and_then(|h| h.forwarded_for?.ip().copied()))
                .collect(),
            &is_trusted,
        )
    });
    let x_forwarded_for = lines(headers, &HeaderName::from_static("x-forwarded-for")).map(|v| {
        walk(
            peer,
            v.split(',').map(|hop| parse_hop(hop.trim())).collect(),
            &is_trusted,
        )
    });
    match (forwarded, x_forwarded_for) {
        (Some(a), Some(b)) if a != b => peer,
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => peer,
    }
}

/// Every line of a header, joined as one comma-separated list (RFC 9110 §5.3); `None` when
/// absent or not text.
fn lines(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .map(|v| v.to_str().ok())
        .collect::<Option<_>>()?;
    (!values.is_empty()).then(|| values.join(","))
}

/// One `X-Forwarded-For` hop: an address, possibly with a port (`[v6]:port`, `v4:port`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The client from a chain of hops (leftmost first, `None` for a hop that is not an address)
/// behind the trusted `peer`.
fn walk(peer: IpAddr, hops: Vec<Option<IpAddr>>, is_trusted: &dyn Fn(&IpAddr) -> bool) -> IpAddr {
    let mut nearest = peer;
    for hop in hops.into_iter().rev() {
        let Some(ip) = hop.map(|ip| ip.to_canonical()) else {
            return peer;
        };
        if !is_trusted(&ip) {
            return ip;
        }
        nearest = ip;
    }
    // every hop is one of our proxies: the request started inside
    nearest
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn headers(list: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in list {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            ("forwarded", "for=198.51.100.7"),
        ]);
        assert_eq!(resolve(ip("203.0.113.9"), &h, &[]), ip("203.0.113.9"));
        assert_eq!(
            resolve(ip("203.0.113.9"), &h, &nets(&["10.0.0.0/8"])),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        // the client wrote the leftmost entry itself: ignored
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.1")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("198.51.100.7"));
        // several header lines are one list
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "198.51.100.7"),
        ]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("198.51.100.7"));
        // ports and IPv4-mapped IPv6
        let h = headers(&[("x-forwarded-for", "[2001:db8::1]:4711")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("2001:db8::1"));
        let h = headers(&[("x-forwarded-for", "::ffff:198.51.100.7")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("198.51.100.7"));
        // RFC 7239
        let h = headers(&[(
            "forwarded",
            "for=1.2.3.4, for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.0.0.1",
        )]);
        assert_eq!(
            resolve(ip("10.0.0.2"), &h, &trusted),
            ip("2001:db8:cafe::17")
        );
        // no header: the peer; only proxies: the leftmost
        assert_eq!(
            resolve(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.1")]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("10.9.9.9"));
        // a mapped peer is trusted by its IPv4 network
        let h = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(
            resolve(ip("::ffff:10.0.0.2"), &h, &trusted),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn anything_doubtful_falls_back_to_the_peer() {
        let trusted = nets(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.2");
        for h in [
            headers(&[("x-forwarded-for", "not-an-address")]),
            headers(&[("x-forwarded-for", "198.51.100.7, garbage, 10.0.0.1")]),
            headers(&[("x-forwarded-for", "")]),
            headers(&[("forwarded", "for=unknown")]),
            headers(&[("forwarded", "for=_hidden")]),
            headers(&[("forwarded", "proto=https")]),
            headers(&[("forwarded", "for=2001:db8::1")]), // IPv6 must be quoted in brackets
            // the two headers disagree: one of them was written by the client
            headers(&[
                ("x-forwarded-for", "198.51.100.7"),
                ("forwarded", "for=203.0.113.5"),
            ]),
        ] {
            assert_eq!(resolve(peer, &h, &trusted), peer, "{h:?}");
        }
        // garbage left of the client does not matter: the client wrote it
        let h = headers(&[("x-forwarded-for", "garbage, 198.51.100.7")]);
        assert_eq!(resolve(peer, &h, &trusted), ip("198.51.100.7"));
        // both headers naming the same client agree
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            ("forwarded", "for=198.51.100.7"),
        ]);
        assert_eq!(resolve(peer, &h, &trusted), ip("198.51.100.7"));
    }
}
