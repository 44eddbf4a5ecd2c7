//! Reading a calendar address over the network, safely: only from servers outside this machine
//! and its networks (see [`refused`]), checked on every redirect, with the request sent to
//! exactly the addresses checked. Every refusal reads the same as a server that cannot be
//! reached ([`UNREACHABLE`]), so the form tells nothing about what is listening where.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration as StdDuration;

use url::Url;

use crate::config::Settings;
use crate::schedule::budget::MAX_BYTES;

/// How long one fetch may take.
const FETCH_TIMEOUT: StdDuration = StdDuration::from_secs(30);
/// How many redirects a calendar address may take.
const MAX_REDIRECTS: usize = 5;
/// The one text for an address that is refused or cannot be reached, whatever the reason.
pub const UNREACHABLE: &str = "servern gick inte att nå";

/// What a fetch brought back.
pub(super) enum Fetched {
    NotModified,
    Body {
        text: String,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// The IANA IPv4 Special-Purpose Address Registry (every entry, also those marked globally
/// reachable: no calendar is served from an anycast relay or a benchmarking network), with the
/// multicast range. Each is (network, prefix length).
const SPECIAL_V4: &[(Ipv4Addr, u8)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8),       // "this network" (RFC 791)
    (Ipv4Addr::new(10, 0, 0, 0), 8),      // private (RFC 1918)
    (Ipv4Addr::new(100, 64, 0, 0), 10),   // shared address space, CGNAT (RFC 6598)
    (Ipv4Addr::new(127, 0, 0, 0), 8),     // loopback (RFC 1122)
    (Ipv4Addr::new(169, 254, 0, 0), 16),  // link-local (RFC 3927)
    (Ipv4Addr::new(172, 16, 0, 0), 12),   // private (RFC 1918)
    (Ipv4Addr::new(192, 0, 0, 0), 24),    // IETF protocol assignments (RFC 6890)
    (Ipv4Addr::new(192, 0, 2, 0), 24),    // documentation, TEST-NET-1 (RFC 5737)
    (Ipv4Addr::new(192, 31, 196, 0), 24), // AS112-v4 (RFC 7535)
    (Ipv4Addr::new(192, 52, 193, 0), 24), // AMT (RFC 7450)
    (Ipv4Addr::new(192, 88, 99, 0), 24),  // deprecated 6to4 relay anycast (RFC 7526)
    (Ipv4Addr::new(192, 168, 0, 0), 16),  // private (RFC 1918)
    (Ipv4Addr::new(192, 175, 48, 0), 24), // direct delegation AS112 (RFC 7534)
    (Ipv4Addr::new(198, 18, 0, 0), 15),   // benchmarking (RFC 2544)
    (Ipv4Addr::new(198, 51, 100, 0), 24), // documentation, TEST-NET-2 (RFC 5737)
    (Ipv4Addr::new(203, 0, 113, 0), 24),  // documentation, TEST-NET-3 (RFC 5737)
    (Ipv4Addr::new(224, 0, 0, 0), 4),     // multicast (RFC 5771)
    (Ipv4Addr::new(240, 0, 0, 0), 4),     // reserved (RFC 1112), with the broadcast address
];

/// The IANA IPv6 Special-Purpose Address Registry (every entry, as for IPv4) with multicast and
/// the deprecated site-local and IPv4-compatible ranges. The two ranges that carry an IPv4
/// address (`::ffff:0:0/96`, `64:ff9b::/96`) are not here: the IPv4 inside them is checked.
const SPECIAL_V6: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 96), // ::, ::1 and IPv4-compatible (RFC 4291)
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48), // local-use IPv4/IPv6 translation
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64), // discard-only (RFC 6666)
    (Ipv6Addr::new(0x100, 0, 0, 1, 0, 0, 0, 0), 64), // dummy prefix (RFC 9780)
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23), // IETF protocol assignments, Teredo, …
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation (RFC 3849)
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16), // 6to4 (RFC 3056)
    (Ipv6Addr::new(0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0), 48), // direct delegation AS112
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), // documentation (RFC 9637)
    (Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0), 16), // segment routing SIDs (RFC 9602)
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7), // unique local (RFC 4193)
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10), // link-local (RFC 4291)
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10), // site-local, deprecated (RFC 3879)
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8), // multicast (RFC 4291)
];

fn in_v4(ip: Ipv4Addr, (net, len): (Ipv4Addr, u8)) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn in_v6(ip: Ipv6Addr, (net, len): (Ipv6Addr, u8)) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:0:0/96`) or NAT64 (`64:ff9b::/96`) IPv6
/// address.
fn inner_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let nat64 = (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);
    match ip.to_ipv4_mapped() {
        Some(v4) => Some(v4),
        None if in_v6(ip, nat64) => Some(Ipv4Addr::from(u128::from(ip) as u32)),
        None => None,
    }
}

/// Whether `ip` is in a special-purpose range (the IANA registries: this machine, private,
/// link-local, shared, documentation, benchmarking, reserved, multicast and the like).
pub fn special_purpose(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => SPECIAL_V4.iter().any(|range| in_v4(v4, *range)),
        IpAddr::V6(v6) => match inner_v4(v6) {
            Some(v4) => special_purpose(IpAddr::V4(v4)),
            None => SPECIAL_V6.iter().any(|range| in_v6(v6, *range)),
        },
    }
}

/// Whether a calendar address may not be read from `ip`: a special-purpose address, or one of
/// `own` (this machine's interface addresses), also inside an IPv4-mapped or NAT64 address.
pub fn refused(ip: IpAddr, own: &[IpAddr]) -> bool {
    let inner = match ip {
        IpAddr::V6(v6) => inner_v4(v6).map(IpAddr::V4),
        IpAddr::V4(_) => None,
    };
    special_purpose(ip) || own.contains(&ip) || inner.is_some_and(|v4| own.contains(&v4))
}

/// This machine's interface addresses. None can be listed: every address is refused.
fn own_addresses() -> Option<Vec<IpAddr>> {
    match if_addrs::get_if_addrs() {
        Ok(interfaces) => Some(interfaces.iter().map(if_addrs::Interface::ip).collect()),
        Err(e) => {
            tracing::warn!(error = %e, "this machine's addresses cannot be listed");
            None
        }
    }
}

/// Which addresses the reader may reach besides those outside this machine's networks.
#[derive(Clone, Debug, Default)]
pub struct Reach {
    /// Every address (`SAMORDNA_BUSY_FETCH_PRIVATE`).
    pub private: bool,
    /// These exactly (`SAMORDNA_BUSY_FETCH_ALLOW`), e.g. an internal calendar server.
    pub allowed: Vec<SocketAddr>,
}

impl Reach {
    pub fn of(settings: &Settings) -> Self {
        Reach {
            private: settings.busy_fetch_private,
            allowed: settings.busy_fetch_allow.clone(),
        }
    }

    /// Whether every one of `addrs` may be reached.
    pub fn permits(&self, addrs: &[SocketAddr]) -> bool {
        let allowed = |a: &SocketAddr| self.allowed.contains(a);
        if self.private || addrs.iter().all(allowed) {
            return true;
        }
        own_addresses()
            .is_some_and(|own| addrs.iter().all(|a| allowed(a) || !refused(a.ip(), &own)))
    }
}

/// The addresses of a URL's host: an IP address as written, or a name looked up.
pub async fn addresses_of(url: &Url) -> Option<Vec<SocketAddr>> {
    let port = url.port_or_known_default()?;
    let addrs: Vec<SocketAddr> = match url.host()? {
        url::Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        url::Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        url::Host::Domain(name) => tokio::net::lookup_host((name, port)).await.ok()?.collect(),
    };
    (!addrs.is_empty()).then_some(addrs)
}

/// Reads a calendar address, following redirects; every hop's host is resolved and checked
/// once, and the request goes to exactly the addresses checked. An address refused, unknown,
/// refusing connections or not answering reads the same: [`UNREACHABLE`].
pub(super) async fn fetch(
    url: &Url,
    etag: Option<&str>,
    last_modified: Option<&str>,
    reach: &Reach,
) -> Result<Fetched, String> {
    let mut url = url.clone();
    for _ in 0..=MAX_REDIRECTS {
        let addrs = addresses_of(&url).await.ok_or(UNREACHABLE)?;
        if !reach.permits(&addrs) {
            return Err(UNREACHABLE.into());
        }
        // No proxy from the environment (HTTP_PROXY, HTTPS_PROXY): through a proxy the request
        // would no longer go to the addresses just checked.
        let mut client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            .user_agent(concat!("samordna/", env!("CARGO_PKG_VERSION")));
        if let Some(url::Host::Domain(name)) = url.host() {
            client = client.resolve_to_addrs(name, &addrs);
        }
        let client = client.build().map_err(|_| UNREACHABLE.to_string())?;
        let mut request = client.get(url.clone());
        if let Some(tag) = etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, tag);
        }
        if let Some(date) = last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, date);
        }
        let mut response = request.send().await.map_err(|_| UNREACHABLE.to_string())?;
        let status = response.status();
        if status.is_redirection() && status != reqwest::StatusCode::NOT_MODIFIED {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or("servern skickade vidare utan att säga vart")?;
            url = url
                .join(location)
                .map_err(|_| "servern skickade vidare till en ogiltig adress".to_string())?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(
                    "servern skickade vidare till en adress som inte är en webbadress".into(),
                );
            }
            continue;
        }
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(match status.as_u16() {
                401 | 403 => {
                    "servern nekade åtkomst (adressen kan ha bytts ut eller stängts av)".into()
                }
                404 | 410 => "kalendern finns inte längre på adressen".into(),
                code => format!("servern svarade med fel {code}"),
            });
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (etag, last_modified) = (
            header(reqwest::header::ETAG),
            header(reqwest::header::LAST_MODIFIED),
        );
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|_| "hämtningen avbröts".to_string())?
        {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(format!(
                    "kalendern är större än {} MB",
                    MAX_BYTES / 1024 / 1024
                ));
            }
            body.extend_from_slice(&chunk);
        }
        return Ok(Fetched::Body {
            text: String::from_utf8_lossy(&body).into_owned(),
            etag,
            last_modified,
        });
    }
    Err("servern skickade vidare för många gånger".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every range the IANA special-purpose registries name (and multicast), at both ends and
    /// inside; IPv4 carried in IPv6 is judged by the IPv4 inside.
    #[test]
    fn special_purpose_ranges_are_refused() {
        let refused_everywhere = [
            // IPv4
            "0.0.0.0",
            "0.255.255.255",
            "10.0.0.0",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.1",
            "192.0.0.9",
            "192.0.0.255",
            "192.0.2.2",
            "192.31.196.1",
            "192.52.193.1",
            "192.88.99.1",
            "192.168.0.1",
            "192.175.48.1",
            "198.18.0.0",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.200",
            "224.0.0.1",
            "239.255.255.255",
            "240.0.0.1",
            "255.255.255.254",
            "255.255.255.255",
            // IPv6
            "::",
            "::1",
            "::10.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:192.0.2.1",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b::c000:201",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:2::1",
            "2001:1ff:ffff::1",
            "2001:db8::1",
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            "2002:7f00:1::1",
            "2620:4f:8000::1",
            "3fff::1",
            "5f00::1",
            "fc00::1",
            "fd00::2",
            "fdff:ffff::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
        ];
        for ip in refused_everywhere {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(special_purpose(ip), "{ip} is special-purpose");
            assert!(refused(ip, &[]), "{ip} is refused");
        }
        let public = [
            "193.11.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "192.0.3.1",
            "198.20.0.1",
            "223.255.255.255",
            "2a00:1450:4001::1",
            "2001:200::1",
            "2001:db9::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ];
        for ip in public {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!special_purpose(ip), "{ip} is public");
            assert!(!refused(ip, &[]), "{ip} may be read");
        }
    }

    /// This machine's own addresses are refused, also when they are public and when written
    /// inside an IPv6 address.
    #[test]
    fn the_machines_own_addresses_are_refused() {
        let own: Vec<IpAddr> = vec!["193.11.1.1".parse().unwrap(), "2a00:1::5".parse().unwrap()];
        for ip in [
            "193.11.1.1",
            "::ffff:193.11.1.1",
            "64:ff9b::c10b:101",
            "2a00:1::5",
        ] {
            assert!(refused(ip.parse().unwrap(), &own), "{ip}");
        }
        for ip in ["193.11.1.2", "2a00:1::6"] {
            assert!(!refused(ip.parse().unwrap(), &own), "{ip}");
        }
    }
}
