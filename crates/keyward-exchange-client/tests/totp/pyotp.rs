//! pyotp (the reference Python library, pinned in xtask/requirements-test.txt) and keyward agree
//! on 96 pseudo-random cases, in one Python process: random seeds of 16 to 64 bytes (pyotp
//! refuses seeds under 128 bits), random times up to the year 2242, SHA-1/256/512, 6, 7 and 8
//! digits and periods from 15 s to 120 s. Each case is checked twice: keyward over the raw seed,
//! and keyward over pyotp's own `otpauth://` provisioning URI.

use keyward_exchange_client::session::{Totp, TotpAlgorithm};
use serde_json::{Value, json};

use crate::python::Python;

/// SplitMix64: a fixed-seed generator, so that a failing case is the same on every run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const ALGORITHMS: [TotpAlgorithm; 3] = [
    TotpAlgorithm::Sha1,
    TotpAlgorithm::Sha256,
    TotpAlgorithm::Sha512,
];
const PERIODS: [u64; 5] = [15, 30, 45, 60, 120];

#[test]
fn pyotp_agrees_on_random_seeds_and_times() {
    let Some(python) = Python::find("pyotp") else {
        return;
    };
    let mut rng = SplitMix(0x16_7074_6F74);
    let mut cases = Vec::new();
    for i in 0..96u64 {
        let len = 16 + rng.below(49);
        let seed: Vec<u8> = (0..len).map(|_| rng.next().to_le_bytes()[0]).collect();
        let algorithm = ALGORITHMS[(i % 3) as usize];
        let digits = 6 + (i / 3) % 3;
        let period = PERIODS[rng.below(5) as usize];
        // Some times on a step's last second or first second, the rest anywhere.
        let time = match i % 4 {
            0 => (rng.below(8_589_934_592) / period) * period + period - 1,
            1 => (rng.below(8_589_934_592) / period) * period,
            _ => rng.below(8_589_934_592),
        };
        cases.push((seed, algorithm, digits, period, time));
    }
    let input: Vec<Value> = cases
        .iter()
        .map(|(seed, algorithm, digits, period, time)| {
            json!({
                "seed_hex": hex(seed),
                "algorithm": algorithm.name(),
                "digits": digits,
                "period": period,
                "time": time,
            })
        })
        .collect();
    let answers = python.run("tests/totp/pyotp_codes.py", &[], &Value::from(input));
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), cases.len());

    for ((seed, algorithm, digits, period, time), answer) in cases.iter().zip(answers) {
        let want = answer["code"].as_str().unwrap();
        let what = format!("{algorithm:?}, {digits} digits, {period} s, T = {time}");
        let totp = Totp::new(seed, *algorithm, u32::try_from(*digits).unwrap(), *period).unwrap();
        assert_eq!(totp.code_at_ms(time * 1000).expose(), want, "{what}");

        let from_uri = Totp::parse(answer["uri"].as_str().unwrap()).unwrap();
        assert_eq!(from_uri.algorithm(), *algorithm, "{what}");
        assert_eq!(u64::from(from_uri.digits()), *digits, "{what}");
        assert_eq!(from_uri.period(), *period, "{what}");
        assert_eq!(
            from_uri.code_at_ms(time * 1000).expose(),
            want,
            "{what} (URI)"
        );
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
