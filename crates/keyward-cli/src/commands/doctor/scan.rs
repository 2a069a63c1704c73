//! Plaintext secrets in text: well-known credential formats, and assignments of high-entropy
//! values to names that say "secret". A finding names the rule and the line, never the text.

use std::sync::LazyLock;

use regex::Regex;

use super::finding::Severity;

/// One way a secret shows itself in text.
struct Rule {
    name: &'static str,
    severity: Severity,
    pattern: &'static str,
}

/// The first line of a PEM (or OpenSSH, PGP) private key block.
const PRIVATE_KEY_BEGIN: &str =
    r"-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----";

/// The rule's name for a private key block.
pub const PRIVATE_KEY_RULE: &str = "private key block";

/// Formats that are secrets whatever their surroundings.
const RULES: &[Rule] = &[
    Rule {
        name: PRIVATE_KEY_RULE,
        severity: Severity::Critical,
        pattern: PRIVATE_KEY_BEGIN,
    },
    Rule {
        name: "AWS access key id",
        severity: Severity::Critical,
        pattern: r"\b(AKIA|ASIA)[0-9A-Z]{16}\b",
    },
    Rule {
        name: "GitHub token",
        severity: Severity::Critical,
        pattern: r"\bgh[pousr]_[A-Za-z0-9]{36,}\b",
    },
    Rule {
        name: "Slack token",
        severity: Severity::Critical,
        pattern: r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
    },
    Rule {
        name: "keyward master key",
        severity: Severity::Critical,
        pattern: r#"KEYWARD_MASTER_KEY\s*[=:]\s*['"]?[A-Za-z0-9_-]{43}="#,
    },
];

/// `NAME = value` where NAME says secret, key, token or password.
const ASSIGNMENT: &str = r#"(?i)\b[a-z0-9_.-]*(secret|api[_.-]?key|apikey|access[_.-]?key|token|passw(or)?d|passphrase|private[_.-]?key)[a-z0-9_.-]*['"]?\s*[:=]\s*['"]?([A-Za-z0-9+/=_.~-]{16,})"#;

/// Values that look like secrets but are placeholders.
const PLACEHOLDERS: &[&str] = &[
    "example",
    "changeme",
    "change_me",
    "your",
    "xxxx",
    "placeholder",
    "dummy",
    "redacted",
    "secret_here",
    "todo",
];

/// Bits per character above which an assigned value is taken for a secret. Random base64 is
/// about 6, random hex about 4, words and identifiers stay near 3.
const ENTROPY_BITS: f64 = 3.5;

static COMPILED: LazyLock<Vec<(&'static Rule, Regex)>> = LazyLock::new(|| {
    RULES
        .iter()
        .filter_map(|rule| Regex::new(rule.pattern).ok().map(|re| (rule, re)))
        .collect()
});

static ASSIGNMENT_RE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(ASSIGNMENT).ok());

/// A secret found in text: the rule, its severity and the line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule: &'static str,
    pub severity: Severity,
    pub line: usize,
}

/// Every secret in `text`, at most one per line (the most severe).
pub fn scan(text: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(hit) = scan_line(line) {
            hits.push(Hit { line: i + 1, ..hit });
        }
    }
    hits
}

fn scan_line(line: &str) -> Option<Hit> {
    for (rule, re) in COMPILED.iter() {
        if re.is_match(line) {
            return Some(Hit {
                rule: rule.name,
                severity: rule.severity,
                line: 0,
            });
        }
    }
    let re = ASSIGNMENT_RE.as_ref()?;
    for caps in re.captures_iter(line) {
        let Some(value) = caps.get(3).map(|m| m.as_str()) else {
            continue;
        };
        let lower = value.to_ascii_lowercase();
        if PLACEHOLDERS.iter().any(|p| lower.contains(p)) {
            continue;
        }
        if entropy(value) >= ENTROPY_BITS {
            return Some(Hit {
                rule: "high-entropy secret assignment",
                severity: Severity::High,
                line: 0,
            });
        }
    }
    None
}

static PRIVATE_KEY_RE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(PRIVATE_KEY_BEGIN).ok());

/// The longest private key block taken from a file (a 16384-bit RSA key in PEM is under 13
/// KiB); a longer one is reported but not read.
const MAX_BLOCK: usize = 16 * 1024;

/// A private key block found in text: its first line (1-based) and, when it is complete and
/// short enough, the block itself, from its `-----BEGIN` line to its `-----END` line (a block
/// written on one line with literal `\n`, as in a JSON key file, included).
pub struct KeyBlock<'a> {
    pub line: usize,
    pub text: Option<&'a str>,
}

/// Every private key block in `text`.
pub fn private_key_blocks(text: &str) -> Vec<KeyBlock<'_>> {
    let Some(re) = PRIVATE_KEY_RE.as_ref() else {
        return Vec::new();
    };
    re.find_iter(text)
        .map(|m| {
            let line = text[..m.start()].matches('\n').count() + 1;
            let rest = &text[m.start()..];
            let block = rest.find("-----END").and_then(|end| {
                let close = rest[end + 8..].find("-----")? + end + 8 + 5;
                (close <= MAX_BLOCK).then(|| &rest[..close])
            });
            KeyBlock { line, text: block }
        })
        .collect()
}

/// Shannon entropy of `text` in bits per character.
fn entropy(text: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in text.bytes() {
        counts[usize::from(b)] += 1;
    }
    let len = text.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_formats_are_found() {
        for (text, rule) in [
            ("-----BEGIN OPENSSH PRIVATE KEY-----", "private key block"),
            ("-----BEGIN PRIVATE KEY-----", "private key block"),
            (
                "aws_access_key_id = AKIAIOSFODNN7EXAMPLF",
                "AWS access key id",
            ),
            (
                "token: ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                "GitHub token",
            ),
            (
                "KEYWARD_MASTER_KEY=cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=",
                "keyward master key",
            ),
            (
                r#"BINANCE_API_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j""#,
                "high-entropy secret assignment",
            ),
            (
                "\"apiKey\": \"q8Zk3Jr0Lm4Tn7Vb2Xc9\"",
                "high-entropy secret assignment",
            ),
        ] {
            let hits = scan(text);
            assert_eq!(hits.len(), 1, "{text}");
            assert_eq!(hits[0].rule, rule, "{text}");
            assert_eq!(hits[0].line, 1);
        }
    }

    #[test]
    fn ordinary_code_and_placeholders_are_not() {
        for text in [
            "let secret = read_secret_from_store(name);",
            "API_KEY=your-api-key-goes-here",
            "BINANCE_API_SECRET=changeme_changeme_changeme",
            "token_count = 1234567890123456",
            "password = aaaaaaaaaaaaaaaaaaaa",
            "fn sign(secret: &SecretString) -> String {",
            "KEYWARD_MASTER_KEY=",
        ] {
            assert_eq!(scan(text), vec![], "{text}");
        }
    }

    #[test]
    fn private_key_blocks_are_cut_out_whole() {
        let text = "a\nb\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\nc\n\
                    {\"k\": \"-----BEGIN EC PRIVATE KEY-----\\nBBBB\\n-----END EC PRIVATE KEY-----\\n\"}\n\
                    -----BEGIN RSA PRIVATE KEY-----\nCCCC\n";
        let blocks = private_key_blocks(text);
        let found: Vec<_> = blocks.iter().map(|b| (b.line, b.text)).collect();
        assert_eq!(
            found,
            vec![
                (
                    3,
                    Some("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                ),
                (
                    7,
                    Some("-----BEGIN EC PRIVATE KEY-----\\nBBBB\\n-----END EC PRIVATE KEY-----")
                ),
                (8, None),
            ]
        );
    }

    #[test]
    fn lines_are_numbered_from_one() {
        let text = "first\nsecond\n-----BEGIN RSA PRIVATE KEY-----\n";
        assert_eq!(scan(text)[0].line, 3);
    }
}
