//! RFC 6238 appendix B: every vector of `tests/data/rfc6238.json` (SHA-1, SHA-256, SHA-512;
//! 8 digits; 30 s), through raw seeds and through the same seeds as `otpauth://` URIs.

use keyward_exchange_client::session::{Totp, TotpAlgorithm};
use serde_json::Value;

fn data() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rfc6238.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// RFC 4648 base32 without padding, for building URIs from the RFC's ASCII seeds.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            out.push(char::from(ALPHABET[((bits >> (35 - 5 * i)) & 31) as usize]));
        }
    }
    out
}

#[test]
fn rfc6238_appendix_b_vectors() {
    let data = data();
    let vectors = data["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 18, "six times by three algorithms");
    let digits = u32::try_from(data["digits"].as_u64().unwrap()).unwrap();
    let period = data["period"].as_u64().unwrap();
    for v in vectors {
        let name = v["algorithm"].as_str().unwrap();
        let algorithm: TotpAlgorithm = name.parse().unwrap();
        let seed = data["seeds_ascii"][name].as_str().unwrap();
        let time = v["time"].as_u64().unwrap();
        let want = v["totp"].as_str().unwrap();

        let totp = Totp::new(seed.as_bytes(), algorithm, digits, period).unwrap();
        let code = totp.code_at_ms(time * 1000);
        assert_eq!(code.expose(), want, "{name} at T = {time}");
        assert_eq!(code.step(), time / period);

        let uri = format!(
            "otpauth://totp/RFC6238:test?secret={}&algorithm={name}&digits={digits}&period={period}",
            base32(seed.as_bytes())
        );
        let parsed = Totp::parse(&uri).unwrap();
        assert_eq!(parsed.algorithm(), algorithm);
        assert_eq!(parsed.code_at_ms(time * 1000).expose(), want, "{uri}");
    }
}

#[test]
fn rfc6238_seed_lengths() {
    let data = data();
    for (name, bytes) in [("SHA1", 20), ("SHA256", 32), ("SHA512", 64)] {
        assert_eq!(data["seeds_ascii"][name].as_str().unwrap().len(), bytes);
    }
}
