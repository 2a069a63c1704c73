//! Seed corpora of the fuzz targets over the I/O crates' parsers (`dotenv`, `vault_rows`,
//! `otpauth`, `venue_answers`, `testnet`), made from what the repository already keeps: the
//! test vectors in `crates/*/tests/data/*.json`, and the `.env` and `otpauth://` samples in
//! the test sources (string literals, read out of the files, never copied here).
//!
//! Each seed is in the input layout its target's doc comment gives (fuzz/fuzz_targets/), so
//! the fuzzer starts from inputs that reach past the first byte's choice.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The seeds of `target`, or None when the target is not one of this module's.
pub fn seeds(target: &str) -> Option<Vec<Vec<u8>>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let seeds = match target {
        "dotenv" => dotenv(&root),
        "vault_rows" => vault_rows(&root),
        "otpauth" => otpauth(&root),
        "venue_answers" => venue_answers(&root),
        "testnet" => testnet(&root),
        _ => return None,
    };
    Some(seeds)
}

/// The venue names in the order of `keyward_signing::Scheme::ALL`, which `venue_answers`
/// indexes with its venue byte (xtask depends on no workspace crate, so the order is spelt
/// here; `fuzz_seeds_io::tests` checks it against the scheme's source).
const SCHEMES: [&str; 12] = [
    "binance",
    "bybit",
    "okx",
    "coinbase-exchange",
    "coinbase-advanced",
    "kraken",
    "bitmex",
    "deribit",
    "bitmart",
    "hmac-newline-v0",
    "hmac-concat",
    "keyward-v1",
];

/// The routers of the `testnet` target, in the order `keyward_testnet::fuzzing::routers`
/// returns them (the venues of `keyward_testnet::VENUES`, then the service schemes, then the
/// brokers and admin).
const ROUTERS: [&str; 13] = [
    "binance",
    "bybit",
    "okx",
    "coinbase-exchange",
    "coinbase-advanced",
    "kraken",
    "bitmex",
    "deribit",
    "bitmart",
    "svc",
    "ibkr",
    "upstox",
    "admin",
];

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or(Value::Null)
}

/// The `.rs` files directly in `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
}

/// The string literals of a Rust source (`"..."` with its escapes, and `r"..."`/`r#"..."#`),
/// unescaped. A rough lexer: enough for test sources, whose samples are plain literals.
fn string_literals(src: &str) -> Vec<String> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'\'' => {
                // A char literal ('"', '\'', '\\') or a lifetime: skip it whole.
                let end = (i + 1..bytes.len().min(i + 5)).find(|&j| bytes[j] == b'\'');
                i = end.map_or(i + 1, |j| j + 1);
                continue;
            }
            b'r' if matches!(bytes.get(i + 1), Some(b'"' | b'#'))
                && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) =>
            {
                let hashes = bytes[i + 1..].iter().take_while(|b| **b == b'#').count();
                let open = i + 1 + hashes;
                if bytes.get(open) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                if let Some(len) = src[open + 1..].find(&close) {
                    out.push(src[open + 1..open + 1 + len].to_owned());
                    i = open + 1 + len + close.len();
                    continue;
                }
            }
            b'"' => {
                let mut s = String::new();
                let mut j = i + 1;
                let mut chars = src[j..].char_indices();
                while let Some((k, c)) = chars.next() {
                    match c {
                        '"' => {
                            j += k + 1;
                            break;
                        }
                        '\\' => match chars.next().map(|(_, e)| e) {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('r') => s.push('\r'),
                            Some('0') => s.push('\0'),
                            Some('\n') => {
                                // A line continuation: the next line's leading spaces go too.
                                while let Some((_, ' ')) = chars.clone().next() {
                                    chars.next();
                                }
                            }
                            Some(e) => s.push(e),
                            None => {}
                        },
                        c => s.push(c),
                    }
                }
                out.push(s);
                i = j.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Whether `text` reads as `.env` lines: each non-blank, non-comment line starts with a
/// variable name (optionally after `export `) and `=`.
fn looks_like_dotenv(text: &str) -> bool {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .peekable();
    lines.peek().is_some()
        && lines.all(|l| {
            let l = l.strip_prefix("export ").unwrap_or(l);
            l.split_once('=').is_some_and(|(k, _)| {
                k.trim()
                    .starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && k.trim()
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            })
        })
}

/// `.env` samples: the string literals of the secrets-backends' and the workspace's
/// environment tests that read as `.env` text.
fn dotenv(root: &Path) -> Vec<Vec<u8>> {
    let mut files = sources(&root.join("crates/keyward-secrets-backends/tests"));
    files.extend(sources(&root.join("tests/environments")));
    let mut seeds: Vec<Vec<u8>> = files
        .iter()
        .flat_map(|f| string_literals(&read(f)))
        .filter(|s| looks_like_dotenv(s))
        .map(String::into_bytes)
        .collect();
    seeds.sort();
    seeds.dedup();
    seeds
}

/// Stored values (the venue error bodies as JSON objects, and as bytes), audit log lines in
/// the log's form, and vault rows holding those strings.
fn vault_rows(root: &Path) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    let errors = json(&root.join("crates/keyward-exchange-client/tests/data/venue_errors.json"));
    for case in errors.as_array().into_iter().flatten() {
        let body = case["body"].to_string();
        seeds.push([&[0u8][..], body.as_bytes()].concat());
        // A JSON object of strings: the stored form of a fields value.
        if let Some(object) = case["body"].as_object() {
            let strings: serde_json::Map<String, Value> = object
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.to_string())))
                .collect();
            let stored = Value::Object(strings).to_string();
            seeds.push([&[0u8][..], stored.as_bytes()].concat());
            // Vault rows: the same strings as column values (the fields the target's
            // `Rows` reads with `arbitrary`).
            seeds.push([&[2u8][..], stored.as_bytes()].concat());
        }
    }
    // Audit lines in the log's own layout, chained by the SHA-256 placeholders the verifier
    // checks: wrong hashes and MACs, right form (the verifier's error paths).
    let subjects = ["binance-testnet", "upstox", "fuzz"];
    let mut log = String::new();
    for (seq, subject) in subjects.iter().enumerate() {
        let prev = format!("{:064x}", seq);
        let line = serde_json::json!({
            "seq": seq, "prev": prev, "time_ms": 1_767_225_600_000u64 + seq as u64,
            "event": "get", "subject": subject, "outcome": "success",
            "mac": format!("{:064x}", seq + 7),
        });
        log.push_str(&line.to_string());
        log.push('\n');
        seeds.push([&[1u8][..], log.as_bytes()].concat());
    }
    seeds
}

/// `otpauth://` URIs and base32 seeds from the TOTP tests, the RFC 6238 seeds (as base32,
/// and as round-trip inputs), each behind the parse selector (an even first byte).
fn otpauth(root: &Path) -> Vec<Vec<u8>> {
    let mut files = sources(&root.join("crates/keyward-exchange-client/tests/totp"));
    files.extend(sources(&root.join("tests/totp")));
    files.push(root.join("crates/keyward-exchange-client/src/session/totp.rs"));
    let mut texts: Vec<String> = files
        .iter()
        .flat_map(|f| string_literals(&read(f)))
        .filter(|s| {
            s.to_ascii_lowercase().starts_with("otpauth://")
                || (s.len() >= 16
                    && s.chars()
                        .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c) || c == '='))
        })
        .collect();
    let vectors = json(&root.join("crates/keyward-exchange-client/tests/data/rfc6238.json"));
    let mut raw_seeds = Vec::new();
    for (algorithm, seed) in vectors["seeds_ascii"].as_object().into_iter().flatten() {
        let seed = seed.as_str().unwrap_or_default().as_bytes().to_vec();
        let b32 = base32(&seed);
        texts.push(b32.clone());
        texts.push(format!(
            "otpauth://totp/rfc6238?secret={b32}&algorithm={algorithm}&digits=8&period=30"
        ));
        raw_seeds.push(seed);
    }
    texts.sort();
    texts.dedup();
    let mut seeds: Vec<Vec<u8>> = texts
        .into_iter()
        .map(|t| [&[0u8][..], t.as_bytes()].concat())
        .collect();
    // Round-trip inputs (odd first byte): the seed as `arbitrary` reads a Vec<u8> (a length
    // taken from the end, the bytes from the front), then parameters.
    for seed in raw_seeds {
        let mut input = vec![1u8];
        input.extend_from_slice(&seed);
        input.extend_from_slice(&[0, 2, 30, 0, 3, b'b', b'o', b't', 1, 0, 4]);
        input.extend_from_slice(&59u64.to_le_bytes());
        seeds.push(input);
    }
    seeds
}

/// The RFC 4648 base32 text of `data`, padded.
fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut block = [0u8; 5];
        block[..chunk.len()].copy_from_slice(chunk);
        let bits = block.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(char::from(ALPHABET[((bits >> (35 - 5 * i)) & 31) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Venue error bodies (selector 0), usage headers and `Retry-After` values (1 and 2), and
/// the JWT and daily-cutoff vectors (3).
fn venue_answers(root: &Path) -> Vec<Vec<u8>> {
    let data = root.join("crates/keyward-exchange-client/tests/data");
    let mut seeds = Vec::new();
    for case in json(&data.join("venue_errors.json"))
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(venue) = SCHEMES
            .iter()
            .position(|s| Some(*s) == case["venue"].as_str())
        else {
            continue;
        };
        // The target reads the status as 100 + (two bytes) % 900.
        let status = case["status"].as_u64().unwrap_or(200).saturating_sub(100) as u16;
        let mut input = vec![0u8, venue as u8];
        input.extend_from_slice(&status.to_be_bytes());
        input.extend_from_slice(case["body"].to_string().as_bytes());
        seeds.push(input);
    }
    // Usage headers named by the venues' own limits, read out of their modules.
    let venues = root.join("crates/keyward-exchange-client/src/venue");
    for (venue, name) in SCHEMES.iter().enumerate() {
        let src = read(&venues.join(format!("{}.rs", name.split('-').next().unwrap_or(name))));
        let headers: Vec<String> = string_literals(&src)
            .into_iter()
            .filter(|s| {
                let l = s.to_ascii_lowercase();
                l.starts_with("x-")
                    && (l.contains("weight") || l.contains("count") || l.contains("ratelimit"))
            })
            .collect();
        if headers.is_empty() {
            continue;
        }
        let mut text = String::new();
        for (i, h) in headers.iter().enumerate() {
            text.push_str(&format!("{h}: {}\n", 10 * (i + 1)));
        }
        text.push_str("Retry-After: 3\n");
        seeds.push([&[1u8, venue as u8][..], text.as_bytes()].concat());
    }
    let retry = read(&root.join("crates/keyward-resilience/src/retry/retry_after.rs"));
    for value in string_literals(&retry).into_iter().filter(|s| {
        s.len() < 64 && (s.trim().bytes().all(|b| b.is_ascii_digit()) || s.contains("GMT"))
    }) {
        seeds.push([&[2u8][..], value.as_bytes()].concat());
    }
    let cutoffs = json(&data.join("daily_cutoff.json"));
    let zones = [
        "Asia/Kolkata",
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "UTC",
    ];
    let tokens = json(&data.join("jwt.json"));
    let tokens: Vec<&str> = tokens["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["token"].as_str())
        .collect();
    let cases = cutoffs["cases"].as_array().cloned().unwrap_or_default();
    for (i, token) in tokens.iter().enumerate() {
        let case = cases
            .get(i % cases.len().max(1))
            .cloned()
            .unwrap_or(Value::Null);
        let zone = zones
            .iter()
            .position(|z| Some(*z) == case["zone"].as_str())
            .unwrap_or(0);
        let issued = case["issued_ms"].as_u64().unwrap_or(0).to_be_bytes();
        let mut input = vec![
            3u8,
            case["hour"].as_u64().unwrap_or(0) as u8,
            case["minute"].as_u64().unwrap_or(0) as u8,
            zone as u8,
        ];
        input.extend_from_slice(&issued[2..]);
        input.extend_from_slice(token.as_bytes());
        seeds.push(input);
    }
    seeds
}

/// Requests as the venues publish them (the worked examples of
/// `crates/keyward-signing/tests/data/official.json`), each sent to its venue's router and
/// to the service router, with the headers its signature would travel in left for the
/// fuzzer to find; and the admin router's `POST /faults`.
fn testnet(root: &Path) -> Vec<Vec<u8>> {
    const METHODS: [&str; 7] = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"];
    let vectors = json(&root.join("crates/keyward-signing/tests/data/official.json"));
    let mut seeds = Vec::new();
    for v in vectors["vectors"].as_array().into_iter().flatten() {
        let request = &v["request"];
        let Some(path) = request["path"].as_str() else {
            continue;
        };
        let method = request["method"].as_str().unwrap_or("GET");
        let method = METHODS.iter().position(|m| *m == method).unwrap_or(0);
        let query = request["query"].as_str().unwrap_or_default();
        let target = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        let body = request["body"].as_str().unwrap_or_default();
        let content_type = if body.starts_with('{') {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        };
        let text = format!("{target}\ncontent-type: {content_type}\n\n{body}");
        for router in [v["venue"].as_str().unwrap_or_default(), "svc"] {
            if let Some(r) = ROUTERS.iter().position(|n| *n == router) {
                seeds.push([&[r as u8, method as u8][..], text.as_bytes()].concat());
            }
        }
    }
    if let Some(admin) = ROUTERS.iter().position(|n| *n == "admin") {
        let text = "/faults\ncontent-type: application/json\n\n{\"status_500_rate\": 0.5}";
        seeds.push([&[admin as u8, 1][..], text.as_bytes()].concat());
    }
    seeds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn every_target_has_seeds_from_the_repository() {
        for target in [
            "dotenv",
            "vault_rows",
            "otpauth",
            "venue_answers",
            "testnet",
        ] {
            let seeds = seeds(target).unwrap();
            assert!(seeds.len() >= 3, "{target}: {} seeds", seeds.len());
        }
        assert!(seeds("fernet").is_none());
    }

    #[test]
    fn the_scheme_order_is_the_signing_crates() {
        let src = read(&root().join("crates/keyward-signing/src/scheme.rs"));
        let all = src.split("pub const ALL").nth(1).unwrap();
        let all = &all[..all.find("];").unwrap()];
        let variants: Vec<&str> = all
            .split("Scheme::")
            .skip(1)
            .map(|v| v.trim_end_matches([',', ' ', '\n']))
            .collect();
        assert_eq!(variants.len(), SCHEMES.len());
        for (variant, name) in variants.iter().zip(SCHEMES) {
            let spelt: String = name
                .split('-')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase())
                        .into_iter()
                        .chain(c)
                        .collect::<String>()
                })
                .collect();
            assert_eq!(variant.to_ascii_lowercase(), spelt.to_ascii_lowercase());
        }
    }

    #[test]
    fn literals_and_base32_read_as_expected() {
        let lits = string_literals(r##"let a = "K=1\nB='x'\n"; let b = r#"C="q""#; // "no""##);
        assert_eq!(lits, ["K=1\nB='x'\n", "C=\"q\""]);
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        assert_eq!(base32(b"f"), "MY======");
        assert!(looks_like_dotenv("# c\nexport A_1=x\nB.c = 'y'\n"));
        assert!(!looks_like_dotenv("max_position 1"));
    }
}
