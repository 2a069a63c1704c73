//! TOTP seeds (keyward-exchange-client `session::totp_seed`, through `Totp::parse`): arbitrary
//! text as a base32 seed or an `otpauth://` URI. Invariants: no panic; an error never quotes
//! the seed; a generator that parses gives codes of its digits at any time; and the round
//! trip seed → URI (written here in Google Authenticator's key URI format; the crate reads
//! URIs but writes none) → `Totp::parse` gives the generator `Totp::new` makes from the seed,
//! code for code.
#![no_main]

use keyward_exchange_client::{Totp, TotpAlgorithm};
use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

/// A seed and the parameters a URI carries, and how to spell them.
#[derive(Arbitrary, Debug)]
struct Uri {
    seed: Vec<u8>,
    algorithm: u8,
    digits: u8,
    period: u16,
    label: String,
    lower_case: bool,
    unpadded: bool,
    group: u8,
    at: u64,
}

const ALGORITHMS: [(TotpAlgorithm, &str); 3] = [
    (TotpAlgorithm::Sha1, "SHA1"),
    (TotpAlgorithm::Sha256, "SHA256"),
    (TotpAlgorithm::Sha512, "sha512"),
];

/// The seed's text as an authenticator app may show it: base32, in groups, in either case,
/// with or without padding.
fn spell(seed: &[u8], u: &Uri) -> String {
    let mut text = totp_rs::Secret::Raw(seed.to_vec()).to_encoded().to_string();
    if u.unpadded {
        text = text.trim_end_matches('=').to_owned();
    }
    if u.lower_case {
        text = text.to_ascii_lowercase();
    }
    let group = usize::from(u.group % 8);
    if group > 0 {
        let chars: Vec<char> = text.chars().collect();
        text = chars
            .chunks(group)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(if u.group & 8 == 0 { " " } else { "-" });
    }
    text
}

fn round_trip(u: &Uri) {
    if u.seed.is_empty() || u.seed.len() > 64 {
        return;
    }
    let (algorithm, name) = ALGORITHMS[usize::from(u.algorithm) % 3];
    let digits = 6 + u32::from(u.digits % 3);
    let period = u64::from(u.period.max(1));
    let label: String = u
        .label
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ':')
        .take(32)
        .collect();
    let secret = spell(&u.seed, u).replace(' ', "%20");
    let uri = format!(
        "otpauth://totp/{label}?secret={secret}&algorithm={name}&digits={digits}&period={period}"
    );
    let parsed = Totp::parse(&uri).expect("a written URI parses");
    let made = Totp::new(&u.seed, algorithm, digits, period).expect("a generator");
    assert_eq!(parsed.algorithm(), algorithm);
    assert_eq!(parsed.digits(), digits);
    assert_eq!(parsed.period(), period);
    for at in [u.at, u.at / 7, 0, u64::MAX] {
        assert_eq!(
            parsed.code_at_ms(at).expose(),
            made.code_at_ms(at).expose(),
            "the URI's generator differs from the seed's"
        );
    }
    // The bare base32 text is the same seed with the default parameters.
    let bare = Totp::parse(&spell(&u.seed, u)).expect("a written seed parses");
    let sha1 = Totp::new(&u.seed, TotpAlgorithm::Sha1, 6, 30).expect("a generator");
    assert_eq!(
        bare.code_at_ms(u.at).expose(),
        sha1.code_at_ms(u.at).expose()
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    if which & 1 == 1 {
        if let Ok(u) = Uri::arbitrary(&mut Unstructured::new(rest)) {
            round_trip(&u);
        }
        return;
    }
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match Totp::parse(text) {
        Ok(totp) => {
            assert!((6..=8).contains(&totp.digits()));
            assert!(totp.period() >= 1);
            for at in [0, 1_700_000_000_000, u64::MAX] {
                let code = totp.code_at_ms(at);
                assert_eq!(code.expose().len(), totp.digits() as usize);
                assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
            }
            let shown = format!("{totp:?}");
            // A short seed can be a word of the output ("lgorithm" is valid base32 and a part of
            // "algorithm"): only seeds of 16 characters (80 bits) or more, as issued, count.
            assert!(!shown.contains(text.trim()) || text.trim().len() < 16);
        }
        Err(e) => {
            // The seed: a URI's secret parameter, or the whole text.
            let seed = text
                .split(['?', '&'])
                .find_map(|p| p.strip_prefix("secret="))
                .unwrap_or(text)
                .trim();
            let shown = format!("{e} {e:?}");
            // Long enough, without spaces, and with a digit: no fixed part of any message
            // (nor a position or count, at these input sizes) can be such a word.
            if seed.len() >= 12 && !seed.contains(' ') && seed.bytes().any(|b| b.is_ascii_digit()) {
                assert!(
                    !shown.contains(seed),
                    "a TOTP error quotes the seed: {shown}"
                );
            }
        }
    }
});
