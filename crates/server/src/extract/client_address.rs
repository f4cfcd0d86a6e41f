//! The client's address, the key of per-address throttling. Behind a reverse proxy every
//! peer is the proxy, so forwarding headers are read, but only from peers listed in
//! `server.trusted_proxies`; from anyone else they are the client's to forge, and ignored.

use std::net::IpAddr;

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;

/// One trusted network: an address and how many leading bits of it must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `10.0.0.0/8`, `::1`, `192.168.1.7` (a lone address is a whole-length prefix).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address.parse::<IpAddr>().ok()?, prefix.parse().ok()?),
            None => {
                let address = text.parse::<IpAddr>().ok()?;
                (address, if address.is_ipv4() { 32 } else { 128 })
            }
        };
        let bits = if address.is_ipv4() { 32 } else { 128 };
        (prefix <= bits).then_some(Self { address, prefix })
    }

    /// Whether `address` lies in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        let prefix = u32::from(self.prefix);
        match (self.address, address) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The proxies whose forwarding headers are believed (`server.trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<Network>);

impl TrustedProxies {
    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(address))
    }

    /// The client behind `peer`: the peer itself unless it is trusted; otherwise the
    /// right-most hop of `Forwarded` (or else `X-Forwarded-For`) that is not a trusted proxy.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> String {
        if !self.trusts(peer) {
            return peer.to_string();
        }
        let hops = forwarded_hops(headers);
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(address) if self.trusts(address) => continue,
                Ok(address) => return address.to_string(),
                // An obfuscated or garbled hop: it is the proxy's word for the client.
                Err(_) => return hop.clone(),
            }
        }
        hops.first().cloned().unwrap_or_else(|| peer.to_string())
    }
}

/// The `for=` hops of `Forwarded` (RFC 7239), or else those of `X-Forwarded-For`, in order,
/// without ports, quotes or brackets.
fn forwarded_hops(headers: &HeaderMap) -> Vec<String> {
    let forwarded: Vec<String> = headers
        .get_all("forwarded")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| strip_port(value.trim().trim_matches('"')))
            })
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|hop| strip_port(hop.trim()))
        .filter(|hop| !hop.is_empty())
        .collect()
}

/// `[2001:db8::1]:4711` → `2001:db8::1`, `192.0.2.1:80` → `192.0.2.1`; bare IPv6 kept whole.
fn strip_port(hop: &str) -> String {
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest).to_owned();
    }
    match hop.split_once(':') {
        Some((host, port)) if !port.contains(':') => host.to_owned(),
        _ => hop.to_owned(),
    }
}

/// The client's address, as the throttles key it.
pub fn client_address(req: &HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|addr| addr.ip()) else {
        return "unknown".to_owned();
    };
    match req.app_data::<TrustedProxies>() {
        Some(proxies) => proxies.client(peer, req.headers()),
        None => peer.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn networks_match_by_prefix() {
        let private = Network::parse("10.0.0.0/8").expect("network");
        assert!(private.contains(ip("10.200.1.2")));
        assert!(!private.contains(ip("11.0.0.1")));
        assert!(private.contains(ip("::ffff:10.1.1.1")));
        let loopback6 = Network::parse("::1").expect("network");
        assert!(loopback6.contains(ip("::1")) && !loopback6.contains(ip("::2")));
        assert!(Network::parse("0.0.0.0/0")
            .expect("all")
            .contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/x", ""] {
            assert_eq!(Network::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_trusted_peers_may_name_the_client() {
        let proxies = TrustedProxies(vec![
            Network::parse("127.0.0.1").expect("network"),
            Network::parse("10.0.0.0/8").expect("network"),
        ]);
        let forged = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(proxies.client(ip("203.0.113.9"), &forged), "203.0.113.9");
        assert_eq!(proxies.client(ip("127.0.0.1"), &forged), "1.2.3.4");
        // The right-most untrusted hop: what the client wrote before it is not believed.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.1, 10.0.0.5")]);
        assert_eq!(proxies.client(ip("127.0.0.1"), &chain), "198.51.100.1");
        let standard = headers(&[(
            "forwarded",
            "for=\"[2001:db8::1]:4711\";proto=https, for=10.1.1.1",
        )]);
        assert_eq!(proxies.client(ip("127.0.0.1"), &standard), "2001:db8::1");
        let ported = headers(&[("x-forwarded-for", "192.0.2.1:5000")]);
        assert_eq!(proxies.client(ip("127.0.0.1"), &ported), "192.0.2.1");
        assert_eq!(proxies.client(ip("127.0.0.1"), &headers(&[])), "127.0.0.1");
        let all_trusted = headers(&[("x-forwarded-for", "10.0.0.1, 10.0.0.2")]);
        assert_eq!(proxies.client(ip("127.0.0.1"), &all_trusted), "10.0.0.1");
    }
}
