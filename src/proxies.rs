//! Who the client is, by network address, when the service sits behind a reverse proxy.
//!
//! A proxy (a load balancer, nginx, HAProxy) connects from its own address and names the client
//! it forwards in `X-Forwarded-For`, appending the address it was reached from. That header is
//! believed only from the proxies the service is told to trust (`SAMORDNA_TRUSTED_PROXIES`), and
//! only as far as those proxies wrote it: the right-most address that is not a trusted proxy is
//! the client. Anything a client wrote further left is ignored, so a client cannot choose its
//! own address (and with it a fresh allowance of the login and filing limits).

use std::net::IpAddr;

use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `10.0.0.5, 10.1.0.0/16, ::1`: addresses or ranges, separated by commas.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<IpNet>()
                    .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{part:?} is not an address or a range like 10.0.0.0/8"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn trust(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client of a request that came from `peer` with these `X-Forwarded-For` header values
    /// (in the order received). Pure: no I/O.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trust(client) {
            return client;
        }
        let hops = forwarded_for
            .iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .rev();
        for hop in hops {
            match parse_hop(hop) {
                // A proxy we trust reached from here: look one step further.
                Some(address) if self.trust(address) => client = address,
                Some(address) => return address,
                // Unreadable: the last trusted proxy is as far as we can tell.
                None => return client,
            }
        }
        client
    }
}

/// An address as written in `X-Forwarded-For`: bare, or with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(address) = hop.parse::<IpAddr>() {
        return Some(canonical(address));
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|s| canonical(s.ip()))
}

/// An IPv4 address reached over IPv6 (`::ffff:10.0.0.5`) is that IPv4 address.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 @ IpAddr::V4(_) => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("203.0.113.9"), &["198.51.100.1"]),
            ip("203.0.113.9")
        );
        // Trusted proxies, but the request did not come from one: a client's own header.
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(
            proxies.client(ip("203.0.113.9"), &["198.51.100.1"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_right_most_untrusted_address_is_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.5, 10.1.0.0/16").unwrap();
        // One proxy.
        assert_eq!(
            proxies.client(ip("10.0.0.5"), &["198.51.100.7"]),
            ip("198.51.100.7")
        );
        // Two proxies; what the client wrote itself (1.1.1.1) is ignored.
        assert_eq!(
            proxies.client(ip("10.0.0.5"), &["1.1.1.1, 198.51.100.7", "10.1.2.3"]),
            ip("198.51.100.7")
        );
        // Ports, IPv6 and IPv4-mapped addresses.
        assert_eq!(
            proxies.client(ip("::ffff:10.0.0.5"), &["198.51.100.7:51234"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            proxies.client(ip("10.0.0.5"), &["[2001:db8::7]:443"]),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn a_missing_or_unreadable_header_stops_at_the_last_trusted_proxy() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(proxies.client(ip("10.0.0.5"), &[]), ip("10.0.0.5"));
        assert_eq!(
            proxies.client(ip("10.0.0.5"), &["198.51.100.7, unknown, 10.0.0.9"]),
            ip("10.0.0.9")
        );
        // Only proxies all the way: the furthest one.
        assert_eq!(
            proxies.client(ip("10.0.0.5"), &["10.0.0.8, 10.0.0.9"]),
            ip("10.0.0.8")
        );
    }

    #[test]
    fn settings_are_addresses_or_ranges() {
        assert_eq!(
            TrustedProxies::parse("").unwrap(),
            TrustedProxies::default()
        );
        assert!(TrustedProxies::parse("10.0.0.5,::1, 192.168.0.0/16").is_ok());
        let err = TrustedProxies::parse("10.0.0.5, proxy.kommun.se").unwrap_err();
        assert!(err.contains("proxy.kommun.se"), "{err}");
    }
}
