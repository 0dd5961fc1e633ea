//! Where a receiver may be: an `https://` URL (plain `http://` only when allowed) whose host
//! resolves to public addresses only, unless private targets are allowed. This keeps the
//! service from being pointed at itself, its database or the cloud metadata endpoint (SSRF).
//!
//! Addresses are checked when a receiver is registered and again on every connection: the
//! delivery client resolves names through [`CheckedResolver`], which drops disallowed
//! addresses, so a name that later resolves elsewhere (DNS rebinding) is refused too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// What the configuration allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetPolicy {
    pub allow_http: bool,
    pub allow_private: bool,
}

/// Why a receiver URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("not an absolute http(s) URL")]
    NotAUrl,
    #[error("plain http:// receivers are not allowed here; use https://")]
    HttpNotAllowed,
    #[error("the URL may not carry a user name, password or fragment")]
    Credentials,
    #[error("{0} is not a public address")]
    PrivateAddress(IpAddr),
    #[error("the host {0} does not resolve")]
    Unresolvable(String),
}

impl TargetError {
    /// The stable code of the field error it becomes.
    pub fn code(&self) -> &'static str {
        match self {
            TargetError::NotAUrl => "INVALID_URL",
            TargetError::Credentials => "URL_CREDENTIALS",
            TargetError::HttpNotAllowed => "HTTP_NOT_ALLOWED",
            TargetError::PrivateAddress(_) => "PRIVATE_ADDRESS",
            TargetError::Unresolvable(_) => "UNRESOLVABLE_HOST",
        }
    }
}

/// Parses and checks a receiver URL without looking its host up.
pub fn parse_url(text: &str, policy: TargetPolicy) -> Result<Url, TargetError> {
    let url = Url::parse(text.trim()).map_err(|_| TargetError::NotAUrl)?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        "http" => return Err(TargetError::HttpNotAllowed),
        _ => return Err(TargetError::NotAUrl),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(TargetError::NotAUrl);
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(TargetError::Credentials);
    }
    if let Some(ip) = literal_ip(&url)
        && !ip_allowed(ip, policy)
    {
        return Err(TargetError::PrivateAddress(ip));
    }
    Ok(url)
}

/// The host of `url` when it is an IP address.
pub fn literal_ip(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .parse()
        .ok()
}

/// A receiver URL that passed [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverUrl(String);

impl ReceiverUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses the URL and resolves its host: every address must be allowed.
pub async fn check(text: &str, policy: TargetPolicy) -> Result<ReceiverUrl, TargetError> {
    let url = parse_url(text, policy)?;
    if literal_ip(&url).is_some() {
        return Ok(ReceiverUrl(url.into()));
    }
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .ok()
    .and_then(Result::ok)
    .map(Iterator::collect)
    .unwrap_or_default();
    if addrs.is_empty() {
        return Err(TargetError::Unresolvable(host));
    }
    match addrs.iter().find(|a| !ip_allowed(a.ip(), policy)) {
        Some(a) => Err(TargetError::PrivateAddress(a.ip())),
        None => Ok(ReceiverUrl(url.into())),
    }
}

/// Whether the service may connect to `ip`.
pub fn ip_allowed(ip: IpAddr, policy: TargetPolicy) -> bool {
    policy.allow_private || is_public(ip)
}

/// A globally routable unicast address: not loopback, private, link-local, shared (CGNAT),
/// documentation, benchmarking, multicast, reserved or unspecified; IPv4 inside IPv6 is judged
/// as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => is_public_v4(a),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(a),
        },
    }
}

fn is_public_v4(a: Ipv4Addr) -> bool {
    let [o0, o1, o2, _] = a.octets();
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_broadcast()
        || a.is_documentation()
        || a.is_multicast()
        || o0 == 0
        || (o0 == 100 && (64..128).contains(&o1)) // shared address space (CGNAT)
        || (o0 == 192 && o1 == 0 && o2 == 0) // IETF protocol assignments
        || (o0 == 198 && (18..20).contains(&o1)) // benchmarking
        || o0 >= 240) // reserved
}

fn is_public_v6(a: Ipv6Addr) -> bool {
    let s = a.segments();
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 (embeds IPv4)
        || (s[0] == 0x2002) // 6to4 (embeds IPv4)
        || (s[0..6] == [0, 0, 0, 0, 0, 0])) // IPv4-compatible
}

/// The delivery client's resolver: the system's, minus the addresses the policy refuses.
pub struct CheckedResolver {
    pub policy: TargetPolicy,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| ip_allowed(a.ip(), policy))
                .collect();
            if allowed.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> = match found.first() {
                    Some(a) => Box::new(TargetError::PrivateAddress(a.ip())),
                    None => Box::new(TargetError::Unresolvable(host)),
                };
                return Err(err);
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: TargetPolicy = TargetPolicy {
        allow_http: false,
        allow_private: false,
    };

    #[test]
    fn only_public_unicast_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "203.162.4.190",
            "2001:4860:4860::8888",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_are_checked_for_scheme_credentials_and_literal_addresses() {
        assert!(parse_url("https://hooks.example.vn/dti", STRICT).is_ok());
        assert_eq!(
            parse_url("http://hooks.example.vn/dti", STRICT),
            Err(TargetError::HttpNotAllowed)
        );
        assert_eq!(parse_url("ftp://x.vn/", STRICT), Err(TargetError::NotAUrl));
        assert_eq!(parse_url("/relative", STRICT), Err(TargetError::NotAUrl));
        assert_eq!(
            parse_url("https://user:pw@x.vn/", STRICT),
            Err(TargetError::Credentials)
        );
        assert_eq!(
            parse_url("https://127.0.0.1:8080/", STRICT),
            Err(TargetError::PrivateAddress("127.0.0.1".parse().unwrap()))
        );
        assert_eq!(
            parse_url("https://[::ffff:169.254.169.254]/", STRICT),
            Err(TargetError::PrivateAddress(
                "::ffff:169.254.169.254".parse().unwrap()
            ))
        );
        let open = TargetPolicy {
            allow_http: true,
            allow_private: true,
        };
        assert!(parse_url("http://127.0.0.1:9000/hook", open).is_ok());
    }

    #[tokio::test]
    async fn names_that_resolve_to_private_addresses_are_refused() {
        // localhost resolves from the hosts file, without asking a DNS server
        assert!(matches!(
            check("https://localhost:9/hook", STRICT).await,
            Err(TargetError::PrivateAddress(ip)) if ip.is_loopback()
        ));
    }
}
