//! IP cloaking: the host others see is a keyed hash of the client's
//! address (masked to a CIDR), like Ergo's `gcjc79gmtbe42.irc`.
//!
//! HMAC-SHA256 with the configured secret, cut to `num_bits` and written in
//! Ergo's base32 alphabet (no 0/1/l/o). Imports `config` and `ring` only.

use std::net::IpAddr;

use ring::hmac;

use crate::config::CloakConfig;

/// Ergo's base32 alphabet for cloaks.
const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// The host shown for a client at `ip`.
pub fn host_for(cfg: &CloakConfig, ip: IpAddr) -> String {
    if !cfg.enabled {
        return ip.to_string();
    }
    let masked: Vec<u8> = match ip {
        IpAddr::V4(v4) => mask_bytes(&v4.octets(), cfg.cidr_len_ipv4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => mask_bytes(&v4.octets(), cfg.cidr_len_ipv4),
            None => mask_bytes(&v6.octets(), cfg.cidr_len_ipv6),
        },
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, &cfg.secret);
    let tag = hmac::sign(&key, &masked);
    let digest = tag.as_ref();
    let chars = (cfg.num_bits.clamp(8, 256) as usize).div_ceil(5);
    let mut out = String::with_capacity(chars + 1 + cfg.netname.len());
    let mut acc: u32 = 0;
    let mut have = 0;
    let mut bytes = digest.iter();
    while out.len() < chars {
        if have < 5 {
            acc = (acc << 8) | u32::from(*bytes.next().unwrap_or(&0));
            have += 8;
        }
        have -= 5;
        out.push(ALPHABET[((acc >> have) & 31) as usize] as char);
    }
    out.push('.');
    out.push_str(&cfg.netname);
    out
}

/// Keeps the first `bits` bits of an address.
fn mask_bytes(addr: &[u8], bits: u8) -> Vec<u8> {
    let mut out = addr.to_vec();
    let bits = usize::from(bits).min(addr.len() * 8);
    for (i, b) in out.iter_mut().enumerate() {
        let start = i * 8;
        if start >= bits {
            *b = 0;
        } else if start + 8 > bits {
            *b &= 0xFFu8 << (8 - (bits - start));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> CloakConfig {
        CloakConfig {
            enabled: true,
            netname: "irc".into(),
            secret: b"secret".to_vec(),
            cidr_len_ipv4: 32,
            cidr_len_ipv6: 64,
            num_bits: 64,
        }
    }

    #[test]
    fn cloaks_are_stable_keyed_and_shaped_like_ergos() {
        let c = cfg();
        let a = host_for(&c, "127.0.0.1".parse().unwrap());
        assert_eq!(a, host_for(&c, "127.0.0.1".parse().unwrap()));
        assert_eq!(a.len(), 13 + 4);
        assert!(a.ends_with(".irc"));
        assert!(a[..13].bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(a, host_for(&c, "127.0.0.2".parse().unwrap()));
        let mut other = cfg();
        other.secret = b"other".to_vec();
        assert_ne!(a, host_for(&other, "127.0.0.1".parse().unwrap()));
        assert!(!a.contains("127"));
    }

    #[test]
    fn v6_is_masked_to_its_prefix() {
        let c = cfg();
        assert_eq!(
            host_for(&c, "2001:db8::1".parse().unwrap()),
            host_for(&c, "2001:db8::2".parse().unwrap())
        );
        let mut off = cfg();
        off.enabled = false;
        assert_eq!(host_for(&off, "10.0.0.1".parse().unwrap()), "10.0.0.1");
    }
}
