//! Asymmetric key material: Ed25519, ECDSA P-256 and (feature `rsa`) RSA keys, read from the
//! texts venues hand out, generated, and used to sign and verify.
//!
//! # Forms a secret text is read in
//! [`read_key`] reads a secret by its declared form, never by guessing:
//! 1. The text is trimmed. If it starts with `-----BEGIN` and contains the two characters `\`
//!    `n` (Coinbase's JSON key files carry the PEM with literal `\n`), each is turned into a
//!    newline first.
//! 2. A PEM block is read by its label:
//!    - `PRIVATE KEY`: PKCS#8, by its algorithm OID: Ed25519 (1.3.101.112), id-ecPublicKey
//!      (1.2.840.10045.2.1) on P-256 (1.2.840.10045.3.1.7; any other curve is
//!      [`KeyError::UnsupportedCurve`]), or rsaEncryption (1.2.840.113549.1.1.1; without the
//!      `rsa` feature [`KeyError::RsaNotCompiled`]).
//!    - `EC PRIVATE KEY`: SEC1, what Coinbase hands out; must be P-256.
//!    - `RSA PRIVATE KEY`: PKCS#1.
//!    - `PUBLIC KEY`: an SPKI public key (Ed25519, P-256 or RSA), read as a public key.
//!    - `RSA PUBLIC KEY`: a PKCS#1 public key.
//!    - `ENCRYPTED PRIVATE KEY` (or a legacy OpenSSL PEM with `Proc-Type` headers):
//!      [`KeyError::EncryptedKey`].
//!    - any other label: [`KeyError::UnsupportedLabel`].
//!
//!    The body is read strictly (RFC 7468); a body on one line or wrapped at another width is
//!    re-wrapped at 64 columns and read again. An `EC PARAMETERS` block before the key (as
//!    `openssl ecparam -genkey` writes) is skipped. The decoded DER is held in `Zeroizing`.
//!    A text that holds `-----BEGIN` after other text is [`KeyError::MalformedPem`], never
//!    an HMAC secret.
//! 3. Coinbase CDP's Ed25519 secret: standard base64 (88 characters) of exactly 64 bytes whose
//!    last 32 bytes are the Ed25519 public key of the first 32 (seed || public key). A 64-byte
//!    base64 text whose halves do not match in that way (a Kraken HMAC secret, for one) is an
//!    HMAC secret.
//! 4. Anything else is an HMAC secret ([`KeyText::Hmac`]), used exactly as before.
//!
//! No error made from a key-looking text carries any of its bytes: messages name the form, a
//! PEM label (when short), an algorithm or curve OID, and a fixed reason.
//!
//! # RSA and RUSTSEC-2023-0071
//! RSA support (the `rsa` feature, off by default) uses the `rsa` crate, which carries
//! RUSTSEC-2023-0071: the Marvin attack, a timing side channel in its private-key operations,
//! with no fixed release. keyward blinds each RSA signature with the OS RNG, which the advisory
//! does not count as a fix. Prefer Ed25519 wherever the venue accepts it (Binance does, and its
//! WebSocket `session.logon` takes nothing else); use RSA only where it is the venue's only
//! asymmetric option.

mod error;
mod generate;
mod kind;
mod private;
mod public;
mod read;
mod rsa_key;

use secrecy::{ExposeSecret as _, SecretString};

pub use error::KeyError;
pub use generate::{GeneratedKey, generate};
pub use kind::KeyKind;
pub(crate) use private::PrivateKey;
pub(crate) use public::PublicKey;
pub(crate) use read::{KeyText, read_key};

/// What a secret text holds, for `keyward doctor` and the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// The kind of key ([`KeyKind::Hmac`] for any text that is not an asymmetric key).
    pub kind: KeyKind,
    /// The modulus size in bits of an RSA key; `None` for other kinds.
    pub rsa_bits: Option<usize>,
    /// Whether the text is a public key (a `PUBLIC KEY` or `RSA PUBLIC KEY` PEM) rather than a
    /// private key or an HMAC secret.
    pub public: bool,
}

/// What `secret` holds: its kind, RSA size and whether it is a public key.
///
/// # Errors
/// A [`KeyError`] when the text looks like a key (a PEM block) but cannot be read; an HMAC
/// secret is not an error.
pub fn inspect(secret: &SecretString) -> Result<KeyInfo, KeyError> {
    Ok(match read_key(secret.expose_secret())? {
        KeyText::Hmac => KeyInfo {
            kind: KeyKind::Hmac,
            rsa_bits: None,
            public: false,
        },
        KeyText::Private(key) => {
            let public = key.public_key();
            KeyInfo {
                kind: key.kind(),
                rsa_bits: public.rsa_bits(),
                public: false,
            }
        }
        KeyText::Public(key) => KeyInfo {
            kind: key.kind(),
            rsa_bits: key.rsa_bits(),
            public: true,
        },
    })
}

/// The SPKI `PUBLIC KEY` PEM of the key in `secret`, in any form the crate reads (listed in the
/// crate documentation's "Asymmetric keys"; a public key text gives its own key back in SPKI
/// form): what to register with the venue.
///
/// # Errors
/// [`KeyError::NotAsymmetric`] for an HMAC secret, or the reason the key cannot be read.
pub fn public_pem(secret: &SecretString) -> Result<String, KeyError> {
    match read_key(secret.expose_secret())? {
        KeyText::Hmac => Err(KeyError::NotAsymmetric),
        KeyText::Private(key) => key.public_key().to_pem(),
        KeyText::Public(key) => key.to_pem(),
    }
}

/// The test virtualenv's Python, shared with the integration tests.
#[cfg(test)]
#[path = "../../tests/common/python.rs"]
#[allow(clippy::expect_used)] // reason: a test helper fails loudly
mod python;

#[cfg(test)]
mod tests {
    use super::*;

    /// The kinds this build can generate.
    fn kinds() -> Vec<KeyKind> {
        let mut kinds = vec![KeyKind::Ed25519, KeyKind::P256];
        if cfg!(feature = "rsa") {
            kinds.push(KeyKind::Rsa);
        }
        kinds
    }

    fn private(text: &str) -> PrivateKey {
        match read_key(text).unwrap() {
            KeyText::Private(key) => key,
            other => panic!("not a private key: {other:?}"),
        }
    }

    /// The known-answer data made with Python `cryptography` (tests/data/keys.json).
    fn cases() -> Vec<serde_json::Value> {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/keys.json")).unwrap();
        doc["cases"].as_array().unwrap().clone()
    }

    fn available(case: &serde_json::Value) -> bool {
        cfg!(feature = "rsa") || case["kind"] != "rsa"
    }

    #[test]
    fn generated_keys_round_trip_through_pkcs8() {
        for kind in kinds() {
            let generated = generate(kind).unwrap();
            let key = private(generated.private_pem().expose_secret());
            assert_eq!(key.kind(), kind);
            assert_eq!(key.public_key().to_pem().unwrap(), generated.public_pem());
            let again = private(&key.to_pkcs8_pem().unwrap());
            assert_eq!(
                again.public_key().to_pem().unwrap(),
                generated.public_pem(),
                "{kind}"
            );
            let public = match read_key(generated.public_pem()).unwrap() {
                KeyText::Public(public) => public,
                other => panic!("{other:?}"),
            };
            assert_eq!(public.kind(), kind);

            let message = b"POST /api/v3/order symbol=BTCUSDT&side=BUY";
            let signature = key.sign(message).unwrap();
            assert!(public.verify(message, &signature), "{kind}");
            assert!(again.public_key().verify(message, &signature), "{kind}");
            for bit in [0, 7, signature.len() * 8 - 1] {
                let mut bad = signature.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                assert!(!public.verify(message, &bad), "{kind} bit {bit}");
            }
            assert!(!public.verify(b"POST /api/v3/order symbol=BTCUSDT&side=BUZ", &signature));
            assert!(!public.verify(message, &signature[1..]));
            assert!(!public.verify(message, &[]));
        }
    }

    #[test]
    fn signatures_match_python_cryptography() {
        for case in cases().iter().filter(|c| available(c)) {
            let name = case["name"].as_str().unwrap();
            let key = private(case["private"].as_str().unwrap());
            let message = case["message"].as_str().unwrap().as_bytes();
            let theirs = hex::decode(case["signature_hex"].as_str().unwrap()).unwrap();
            let public = match read_key(case["public"].as_str().unwrap()).unwrap() {
                KeyText::Public(public) => public,
                other => panic!("{other:?}"),
            };
            assert!(public.verify(message, &theirs), "{name}: their signature");
            let ours = key.sign(message).unwrap();
            assert!(public.verify(message, &ours), "{name}: our signature");
            if case["deterministic"] == true {
                assert_eq!(hex::encode(&ours), case["signature_hex"], "{name}");
            }
        }
    }

    /// Python `cryptography` accepts keyward's signatures, ECDSA included (randomized in
    /// general, so it cannot be a byte comparison). Runs `tests/python/make_key_vectors.py
    /// verify` with `KEYWARD_PYTHON` (else the workspace's `.venv`, else `python3`); when no
    /// Python with `cryptography` runs, it says so and passes unless `KEYWARD_REQUIRE_INTEROP`
    /// is set, as `tests/python_interop.rs` does.
    #[test]
    fn python_cryptography_accepts_our_signatures() {
        let Some(py) = super::python::Python::find("cryptography") else {
            return;
        };
        let message = "GET api.coinbase.com/api/v3/brokerage/accounts \u{e9}";
        let mut items = Vec::new();
        let mut expected = Vec::new();
        for case in cases().iter().filter(|c| available(c)) {
            let key = private(case["private"].as_str().unwrap());
            let signature = key.sign(message.as_bytes()).unwrap();
            let mut bad = signature.clone();
            bad[10] ^= 0x20;
            for (sig, ok) in [(signature, true), (bad, false)] {
                items.push(serde_json::json!({
                    "public_pem": case["public"],
                    "message": message,
                    "signature_hex": hex::encode(sig),
                }));
                expected.push(ok);
            }
        }
        let out = py.run(
            "tests/python/make_key_vectors.py",
            &["verify"],
            &serde_json::Value::from(items),
        );
        let accepted: Vec<bool> = serde_json::from_value(out).unwrap();
        assert_eq!(accepted, expected);
    }

    #[test]
    fn inspect_and_public_pem() {
        for case in cases().iter().filter(|c| available(c)) {
            let name = case["name"].as_str().unwrap();
            let kind: KeyKind = case["kind"].as_str().unwrap().parse().unwrap();
            let secret = SecretString::from(case["private"].as_str().unwrap());
            let info = inspect(&secret).unwrap();
            assert_eq!(
                info,
                KeyInfo {
                    kind,
                    rsa_bits: case["rsa_bits"].as_u64().map(|b| b as usize),
                    public: false
                },
                "{name}"
            );
            assert_eq!(public_pem(&secret).unwrap(), case["public"], "{name}");
            let public = SecretString::from(case["public"].as_str().unwrap());
            assert!(inspect(&public).unwrap().public, "{name}");
            assert_eq!(public_pem(&public).unwrap(), case["public"], "{name}");
        }
        let hmac = SecretString::from("test-secret");
        assert_eq!(
            inspect(&hmac).unwrap(),
            KeyInfo {
                kind: KeyKind::Hmac,
                rsa_bits: None,
                public: false
            }
        );
        assert_eq!(public_pem(&hmac).unwrap_err(), KeyError::NotAsymmetric);
    }
}
