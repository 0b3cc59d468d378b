//! Who a request comes from, as every per-client limit counts it: the rate
//! limit, the cap on open connections and the cap on QR logins.
//!
//! One IPv6 subscriber usually holds a whole /64 and can pick any address in
//! it, so IPv6 clients are counted by a prefix; an IPv4 address mapped into
//! IPv6 (`::ffff:a.b.c.d`, what a socket bound to `[::]` reports for IPv4
//! peers) is the IPv4 address it carries.

use std::net::{IpAddr, Ipv6Addr};

/// The default IPv6 prefix a client is counted by.
pub const DEFAULT_IPV6_PREFIX: u8 = 64;

/// A client as the limits count it: an IPv4 address, or an IPv6 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(IpAddr);

impl ClientId {
    /// The client `ip` belongs to, counting IPv6 by its first `v6_prefix` bits
    /// (clamped to 0..=128).
    pub fn of(ip: IpAddr, v6_prefix: u8) -> Self {
        match canonical(ip) {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => {
                let bits = u32::from(v6_prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                Self(IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask)))
            }
        }
    }

    /// The address (or the prefix's first address) that stands for the client.
    #[cfg(test)]
    fn addr(self) -> IpAddr {
        self.0
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// `ip` with an IPv4-mapped IPv6 address turned back into IPv4, so that it
/// compares equal to the same peer seen on an IPv4 socket.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn addresses_of_one_ipv6_64_are_one_client() {
        let a = ClientId::of(ip("2001:db8:1:2:aaaa::1"), 64);
        let b = ClientId::of(ip("2001:db8:1:2:ffff:1:2:3"), 64);
        let other = ClientId::of(ip("2001:db8:1:3::1"), 64);
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(a.addr(), ip("2001:db8:1:2::"));
    }

    #[test]
    fn the_prefix_length_is_honoured_at_its_ends() {
        let x = ip("2001:db8::1");
        let y = ip("2001:db8::2");
        assert_ne!(
            ClientId::of(x, 128),
            ClientId::of(y, 128),
            "/128 is the address"
        );
        assert_eq!(ClientId::of(x, 127), ClientId::of(ip("2001:db8::"), 127));
        assert_eq!(ClientId::of(x, 0).addr(), ip("::"), "/0 is everyone");
        assert_eq!(ClientId::of(x, 200), ClientId::of(x, 128), "clamped");
        assert_eq!(
            ClientId::of(ip("2001:db8:0:ffff::"), 48),
            ClientId::of(ip("2001:db8::"), 48)
        );
        assert_ne!(
            ClientId::of(ip("2001:db8:1::"), 48),
            ClientId::of(ip("2001:db8::"), 48)
        );
    }

    #[test]
    fn ipv4_is_never_cut_and_mapped_addresses_are_ipv4() {
        assert_ne!(
            ClientId::of(ip("192.0.2.1"), 0),
            ClientId::of(ip("192.0.2.2"), 0)
        );
        assert_eq!(
            ClientId::of(ip("::ffff:192.0.2.1"), 64),
            ClientId::of(ip("192.0.2.1"), 64)
        );
        assert_eq!(canonical(ip("::ffff:127.0.0.1")), ip("127.0.0.1"));
        assert_eq!(canonical(ip("::1")), ip("::1"), "not mapped");
    }
}
