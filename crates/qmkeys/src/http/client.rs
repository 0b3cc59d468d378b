//! Which client a request comes from. The client is the TCP peer, unless the
//! peer is a trusted proxy: then it is the nearest address in
//! `X-Forwarded-For` that is not itself a trusted proxy. Every address is
//! made canonical (IPv4-mapped IPv6 is IPv4) before it is compared or
//! counted, and IPv6 clients are counted by prefix (`domain::ClientId`).

use super::AppState;
use crate::domain::{canonical, ClientId};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

#[derive(Debug, Clone)]
pub struct ClientResolver {
    trusted: Vec<IpNet>,
    v6_prefix: u8,
}

impl ClientResolver {
    pub fn new(trusted: Vec<IpNet>, v6_prefix: u8) -> Self {
        Self { trusted, v6_prefix }
    }

    /// Whether `ip` is one of the trusted proxies (whose own connections are
    /// not held to the per-client connection cap: they carry many clients).
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client a TCP peer is, before any header is read.
    pub fn peer(&self, peer: IpAddr) -> ClientId {
        ClientId::of(peer, self.v6_prefix)
    }

    /// The client behind `peer`, reading `X-Forwarded-For` only from a
    /// trusted proxy.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> ClientId {
        let peer = canonical(peer);
        if !self.is_trusted(peer) {
            return self.peer(peer);
        }
        let mut client = peer;
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim);
        // From the nearest hop outwards.
        let hops: Vec<&str> = hops.collect();
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = canonical(ip);
                    if !self.is_trusted(client) {
                        break;
                    }
                }
                // A hop we cannot read ends what we can trust.
                Err(_) => break,
            }
        }
        self.peer(client)
    }
}

/// The calling client, for handlers that hold per-client places.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client(pub ClientId);

impl FromRequestParts<AppState> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Client(of(state, &parts.extensions, &parts.headers)))
    }
}

/// The client of a request, from its connection info and headers.
pub fn of(state: &AppState, extensions: &axum::http::Extensions, headers: &HeaderMap) -> ClientId {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip());
    state.clients.client(peer, headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn resolver(trusted: &[&str]) -> ClientResolver {
        let trusted = trusted.iter().map(|t| t.parse().expect("net")).collect();
        ClientResolver::new(trusted, 64)
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().expect("value"));
        h
    }

    fn id(s: &str) -> ClientId {
        ClientId::of(ip(s), 64)
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let r = resolver(&["10.0.0.0/8"]);
        assert_eq!(
            r.client(ip("203.0.113.9"), &xff("1.2.3.4")),
            id("203.0.113.9")
        );
        assert_eq!(r.client(ip("10.0.0.1"), &xff("1.2.3.4")), id("1.2.3.4"));
        assert_eq!(
            r.client(ip("10.0.0.1"), &xff("6.6.6.6, 1.2.3.4, 10.0.0.2")),
            id("1.2.3.4"),
            "a forged left end is ignored"
        );
        assert_eq!(r.client(ip("10.0.0.1"), &xff("junk")), id("10.0.0.1"));
        assert_eq!(r.client(ip("10.0.0.1"), &HeaderMap::new()), id("10.0.0.1"));
    }

    #[test]
    fn a_mapped_peer_matches_a_trusted_ipv4_proxy() {
        let r = resolver(&["127.0.0.1/32"]);
        assert!(r.is_trusted(ip("::ffff:127.0.0.1")));
        assert_eq!(
            r.client(ip("::ffff:127.0.0.1"), &xff("198.51.100.7")),
            id("198.51.100.7"),
            "a listener on [::] sees IPv4 peers as mapped addresses"
        );
        assert_eq!(
            r.client(ip("::ffff:127.0.0.1"), &xff("::ffff:198.51.100.7")),
            id("198.51.100.7"),
            "and so may a proxy in front"
        );
    }

    #[test]
    fn forwarded_ipv6_clients_are_counted_by_their_64() {
        let r = resolver(&["127.0.0.1/32"]);
        let a = r.client(ip("127.0.0.1"), &xff("2001:db8:5:6::1"));
        let b = r.client(ip("127.0.0.1"), &xff("2001:db8:5:6:abcd::99"));
        assert_eq!(a, b);
        assert_ne!(a, r.client(ip("127.0.0.1"), &xff("2001:db8:5:7::1")));
    }
}
