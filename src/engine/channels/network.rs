//! Where channel requests may go. A channel's URL receives its secret and
//! AOL's requests, so unless AOL_ALLOW_PRIVATE_CHANNELS is set it must lead
//! to the public internet: not to this machine, the local network, or a
//! cloud's metadata address. Checked when a channel is added, before each
//! send, and for every address a name resolves to when connecting (a name
//! that later points inside is refused too).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether `ip` is an address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link local
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)) // documentation
}

/// Why `url`'s host may not receive a channel's requests, if it may not: a
/// literal private address, or `localhost`. (Names are checked as they are
/// resolved, by [`PublicOnly`].)
pub fn private_host(url: &url::Url) -> Option<String> {
    let private = match url.host()? {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost"),
        url::Host::Ipv4(ip) => !is_public(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => !is_public(IpAddr::V6(ip)),
    };
    private.then(|| {
        format!(
            "{} is on this machine or a private network; channels post to the public internet (set \
             AOL_ALLOW_PRIVATE_CHANNELS=1 to allow it, e.g. for a test server)",
            url.host_str().unwrap_or_default()
        )
    })
}

/// Resolves names as the system does, keeping only public addresses: a
/// channel whose name leads inside gets an error, not a connection.
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.iter().copied().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() && !found.is_empty() {
                let message = format!(
                    "{host} resolves only to addresses on this machine or a private network; channels post to the \
                     public internet (AOL_ALLOW_PRIVATE_CHANNELS=1 allows it)"
                );
                return Err(message.into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_public_addresses() {
        for private in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "8.8.8.8", "2606:4700::1111", "93.184.216.34"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert!(private_host(&url("http://127.0.0.1:8080/hook")).is_some());
        assert!(private_host(&url("https://localhost/x")).is_some());
        assert!(private_host(&url("https://[::1]/x")).is_some());
        assert!(private_host(&url("https://bsky.social")).is_none());
    }
}
