//! Which reverse proxies Taskr believes about a client's address (`TASKR_TRUSTED_PROXIES`), and
//! the one rule that turns a peer and its `X-Forwarded-For` into the client's address. The rate
//! limits and the request logs depend on it, so it is a pure function with its own tests.

use std::net::IpAddr;

use ipnet::IpNet;

/// The networks whose connections may say, in `X-Forwarded-For`, whom they forward for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Comma-separated CIDRs (`10.0.0.0/8, 127.0.0.1/32`); a bare address means that one host.
    /// `Err` says which entry is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!("{entry:?} is not a CIDR such as 10.0.0.0/8 or 127.0.0.1/32")
                })?;
            nets.push(net);
        }
        Ok(Self(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer itself unless the peer is a trusted proxy; then the
    /// right-most `X-Forwarded-For` entry that is not a trusted proxy (entries to its left were
    /// written by the client or by proxies we cannot vouch for, so they are never believed).
    /// A header that does not parse as a whole is ignored: the peer is the answer.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let mut entries = Vec::new();
        for value in forwarded_for {
            for entry in value.split(',') {
                match parse_entry(entry) {
                    Some(ip) => entries.push(ip),
                    None => return peer,
                }
            }
        }
        // Every hop trusted: the left-most is the farthest one we know of.
        let leftmost = entries.first().copied().unwrap_or(peer);
        entries
            .into_iter()
            .rev()
            .find(|ip| !self.contains(*ip))
            .unwrap_or(leftmost)
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_forwarded_address_is_believed_only_from_a_trusted_peer() {
        let trusted = TrustedProxies::parse("127.0.0.1/32, 10.0.0.0/8").unwrap();
        let cases: &[(&str, &[&str], &str, &str)] = &[
            (
                "203.0.113.9",
                &["1.2.3.4"],
                "203.0.113.9",
                "untrusted peer: header ignored",
            ),
            (
                "127.0.0.1",
                &["1.2.3.4"],
                "1.2.3.4",
                "trusted peer: its client",
            ),
            (
                "::ffff:127.0.0.1",
                &["1.2.3.4"],
                "1.2.3.4",
                "v4-mapped peer",
            ),
            ("127.0.0.1", &[], "127.0.0.1", "no header: the peer"),
            (
                "127.0.0.1",
                &["6.6.6.6, 1.2.3.4"],
                "1.2.3.4",
                "spoofed left entry ignored",
            ),
            (
                "127.0.0.1",
                &["6.6.6.6, 1.2.3.4, 10.1.1.1"],
                "1.2.3.4",
                "trusted hops skipped",
            ),
            (
                "127.0.0.1",
                &["6.6.6.6", "1.2.3.4"],
                "1.2.3.4",
                "several header lines",
            ),
            (
                "127.0.0.1",
                &["10.2.2.2, 10.1.1.1"],
                "10.2.2.2",
                "all hops trusted: left-most",
            ),
            ("127.0.0.1", &["1.2.3.4:5678"], "1.2.3.4", "with a port"),
            (
                "127.0.0.1",
                &["[2001:db8::1]:443"],
                "2001:db8::1",
                "IPv6 with a port",
            ),
            (
                "127.0.0.1",
                &["unknown"],
                "127.0.0.1",
                "malformed: the peer",
            ),
            (
                "127.0.0.1",
                &["1.2.3.4,, 5.6.7.8"],
                "127.0.0.1",
                "empty entry: the peer",
            ),
            (
                "127.0.0.1",
                &["1.2.3.4 5.6.7.8"],
                "127.0.0.1",
                "no comma: the peer",
            ),
        ];
        for (peer, header, expected, why) in cases {
            assert_eq!(trusted.client(ip(peer), header), ip(expected), "{why}");
        }
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("127.0.0.1"), &["1.2.3.4"]), ip("127.0.0.1"));
    }

    #[test]
    fn trusted_proxies_parse_cidrs_and_name_a_bad_entry() {
        let parsed = TrustedProxies::parse(" 10.0.0.0/8 ,::1, 192.168.1.7").unwrap();
        assert!(parsed.contains(ip("10.200.0.1")));
        assert!(parsed.contains(ip("::1")));
        assert!(parsed.contains(ip("192.168.1.7")));
        assert!(!parsed.contains(ip("192.168.1.8")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        let error = TrustedProxies::parse("10.0.0.0/8, nginx").unwrap_err();
        assert!(error.contains("\"nginx\""), "{error}");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }
}
