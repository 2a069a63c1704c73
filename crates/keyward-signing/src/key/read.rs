//! `read_key`: what a secret text holds, by its declared form (see the module docs).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pkcs8::der::asn1::ObjectIdentifier;
use pkcs8::der::pem;
use pkcs8::spki::SubjectPublicKeyInfoRef;
use pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, PrivateKeyInfo};
use sec1::der::Decode as _;
use zeroize::Zeroizing;

use super::{KeyError, KeyKind, PrivateKey, PublicKey, rsa_key};

/// Ed25519 (RFC 8410).
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// id-ecPublicKey (RFC 5480).
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / prime256v1 / NIST P-256.
const P256_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// rsaEncryption (RFC 8017).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// What a secret text holds.
pub(crate) enum KeyText {
    /// Not an asymmetric key: the text is an HMAC secret, used as before.
    Hmac,
    /// A private key.
    Private(PrivateKey),
    /// A public key (SPKI or PKCS#1 PEM).
    Public(PublicKey),
}

impl fmt::Debug for KeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hmac => f.write_str("Hmac"),
            Self::Private(key) => f.debug_tuple("Private").field(key).finish(),
            Self::Public(key) => f.debug_tuple("Public").field(key).finish(),
        }
    }
}

/// Reads a secret text by the rules in the module docs: a PEM key by its label, Coinbase's
/// base64 Ed25519 form, or else an HMAC secret.
pub(crate) fn read_key(text: &str) -> Result<KeyText, KeyError> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        // Coinbase's JSON key files carry the PEM with literal `\n` for its newlines.
        let pem_text = Zeroizing::new(text.replace("\\n", "\n"));
        return read_pem(skip_ec_parameters(&pem_text));
    }
    if text.contains("-----BEGIN") {
        // A PEM block after other text is never an HMAC secret: say so rather than sign with it.
        return Err(KeyError::MalformedPem {
            reason: "text comes before its -----BEGIN line",
        });
    }
    if let Some(key) = coinbase_ed25519(text) {
        return Ok(KeyText::Private(PrivateKey::Ed25519(key)));
    }
    Ok(KeyText::Hmac)
}

/// Coinbase CDP's Ed25519 secret: standard base64 of the 32-byte seed followed by the 32-byte
/// public key. Only a text whose second half is the public key of its first half is taken:
/// other 64-byte base64 secrets (Kraken's HMAC secrets are exactly that) stay HMAC.
///
/// coinbase-advanced-py 1.8.4 (`coinbase/jwt_generator.py`, `_load_private_key`) takes any
/// non-PEM text that is base64 of 32 or 64 bytes and uses the first 32 as the seed, without
/// checking the second half; ccxt 4.5.90 (`coinbase.py`, `create_auth_token`) treats an
/// 88-character secret as this form and also signs with `base64(secret)[0:32]`. keyward
/// declares the form by its checkable structure instead, so that an HMAC secret is never
/// mistaken for a key.
fn coinbase_ed25519(text: &str) -> Option<ed25519_dalek::SigningKey> {
    if text.len() != 88 {
        return None;
    }
    let raw = Zeroizing::new(STANDARD.decode(text).ok()?);
    let (seed, public) = raw.split_at_checked(32)?;
    if public.len() != 32 {
        return None;
    }
    let seed: Zeroizing<[u8; 32]> = Zeroizing::new(seed.try_into().ok()?);
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    (key.verifying_key().as_bytes() == public).then_some(key)
}

/// The label of a PEM block, for an error: shown only when it looks like a label (at most 40
/// upper-case letters, digits and spaces), so that key text pasted into a BEGIN line is never
/// echoed.
fn shown_label(label: &str) -> Option<String> {
    let label_like = label.len() <= 40
        && label
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ');
    label_like.then(|| label.to_owned())
}

/// Maps a PEM decoding failure to a fixed reason (pem-rfc7468's errors carry no input bytes,
/// but are not echoed anyway).
fn pem_error(error: pem::Error) -> KeyError {
    let reason = match error {
        pem::Error::HeaderDisallowed => return KeyError::EncryptedKey,
        pem::Error::Base64(_) => "its body is not valid base64",
        pem::Error::Label => "its BEGIN and END labels differ or are invalid",
        pem::Error::PreEncapsulationBoundary => {
            "its -----BEGIN or -----END line is malformed, or text follows the -----END line"
        }
        pem::Error::PostEncapsulationBoundary => "its -----END line is missing or malformed",
        pem::Error::CharacterEncoding => "it holds characters that are not ASCII",
        _ => "it is truncated or malformed",
    };
    KeyError::MalformedPem { reason }
}

/// `openssl ecparam -genkey` writes an `EC PARAMETERS` block before the `EC PRIVATE KEY`; the
/// key block names its curve itself, so the parameters block is skipped.
fn skip_ec_parameters(text: &str) -> &str {
    const END: &str = "-----END EC PARAMETERS-----";
    match text.strip_prefix("-----BEGIN EC PARAMETERS-----") {
        Some(rest) => rest
            .find(END)
            .map_or(text, |at| rest[at + END.len()..].trim_start()),
        None => text,
    }
}

/// The PEM with its body re-wrapped at 64 columns, for keys whose body is on one line or wrapped
/// at another width (RFC 7468's lax reading); the strict decoder then reads it. `None` when the
/// text has no END line or has encapsulated headers.
fn rewrapped(text: &str) -> Option<Zeroizing<String>> {
    let mut lines = text.lines();
    let begin = lines.next()?.trim_end();
    let mut body = Zeroizing::new(String::with_capacity(text.len()));
    for line in lines.by_ref() {
        let line = line.trim();
        if line.starts_with("-----END") {
            let mut out = Zeroizing::new(String::with_capacity(text.len() + text.len() / 64));
            out.push_str(begin);
            out.push('\n');
            for chunk in body.as_bytes().chunks(64) {
                out.push_str(std::str::from_utf8(chunk).ok()?);
                out.push('\n');
            }
            out.push_str(line);
            out.push('\n');
            return (lines.all(|l| l.trim().is_empty())).then_some(out);
        }
        if line.contains(':') {
            return None;
        }
        body.extend(line.chars().filter(|c| !c.is_whitespace()));
    }
    None
}

fn read_pem(text: &str) -> Result<KeyText, KeyError> {
    let strict = read_strict_pem(text);
    if let Err(KeyError::MalformedPem { .. }) = strict {
        if let Some(again) = rewrapped(text) {
            return read_strict_pem(&again);
        }
    }
    strict
}

fn read_strict_pem(text: &str) -> Result<KeyText, KeyError> {
    let label = pem::decode_label(text.as_bytes()).map_err(pem_error)?;
    match label {
        "PRIVATE KEY" | "EC PRIVATE KEY" | "RSA PRIVATE KEY" | "PUBLIC KEY" | "RSA PUBLIC KEY" => {}
        "ENCRYPTED PRIVATE KEY" => return Err(KeyError::EncryptedKey),
        other => {
            return Err(KeyError::UnsupportedLabel {
                label: shown_label(other),
            });
        }
    }
    let (label, der) = pem::decode_vec(text.as_bytes()).map_err(pem_error)?;
    let der = Zeroizing::new(der);
    match label {
        "PRIVATE KEY" => read_pkcs8(&der).map(KeyText::Private),
        "EC PRIVATE KEY" => read_sec1(&der).map(|k| KeyText::Private(PrivateKey::P256(k))),
        "RSA PRIVATE KEY" => rsa_key::from_pkcs1_private(&der).map(KeyText::Private),
        "PUBLIC KEY" => read_spki(&der).map(KeyText::Public),
        _ => rsa_key::from_pkcs1_public(&der).map(KeyText::Public),
    }
}

fn invalid(kind: KeyKind) -> impl Fn(pkcs8::Error) -> KeyError {
    move |_| KeyError::InvalidKey {
        kind,
        reason: "its encoding does not hold a valid key of this kind",
    }
}

/// The named curve of an EC algorithm identifier must be P-256.
fn check_curve(parameters: Option<ObjectIdentifier>) -> Result<(), KeyError> {
    match parameters {
        Some(P256_CURVE) => Ok(()),
        Some(other) => Err(KeyError::UnsupportedCurve {
            oid: other.to_string(),
        }),
        None => Err(KeyError::UnsupportedCurve {
            oid: "unnamed".to_owned(),
        }),
    }
}

fn read_pkcs8(der: &[u8]) -> Result<PrivateKey, KeyError> {
    let info = PrivateKeyInfo::try_from(der).map_err(|_| KeyError::MalformedPem {
        reason: "its body is not a PKCS#8 private key",
    })?;
    match info.algorithm.oid {
        ED25519 => ed25519_dalek::SigningKey::from_pkcs8_der(der)
            .map(PrivateKey::Ed25519)
            .map_err(invalid(KeyKind::Ed25519)),
        EC_PUBLIC_KEY => {
            check_curve(info.algorithm.parameters_oid().ok())?;
            p256::ecdsa::SigningKey::from_pkcs8_der(der)
                .map(PrivateKey::P256)
                .map_err(invalid(KeyKind::P256))
        }
        RSA_ENCRYPTION => rsa_key::from_pkcs8(der),
        other => Err(KeyError::UnsupportedAlgorithm {
            oid: other.to_string(),
        }),
    }
}

fn read_sec1(der: &[u8]) -> Result<p256::ecdsa::SigningKey, KeyError> {
    let sec1 = sec1::EcPrivateKey::from_der(der).map_err(|_| KeyError::InvalidKey {
        kind: KeyKind::P256,
        reason: "the EC PRIVATE KEY block is not a SEC1 private key",
    })?;
    // A SEC1 key without parameters says nothing of its curve: a 32-byte scalar is read as P-256.
    if let Some(params) = sec1.parameters {
        check_curve(params.named_curve())?;
    }
    p256::SecretKey::from_sec1_der(der)
        .map(p256::ecdsa::SigningKey::from)
        .map_err(|_| KeyError::InvalidKey {
            kind: KeyKind::P256,
            reason: "its scalar is not a valid P-256 private key",
        })
}

fn read_spki(der: &[u8]) -> Result<PublicKey, KeyError> {
    let spki = SubjectPublicKeyInfoRef::try_from(der).map_err(|_| KeyError::MalformedPem {
        reason: "its body is not a SubjectPublicKeyInfo public key",
    })?;
    let bad = |kind| {
        move |_| KeyError::InvalidKey {
            kind,
            reason: "its encoding does not hold a valid public key of this kind",
        }
    };
    match spki.algorithm.oid {
        ED25519 => ed25519_dalek::VerifyingKey::from_public_key_der(der)
            .map(PublicKey::Ed25519)
            .map_err(bad(KeyKind::Ed25519)),
        EC_PUBLIC_KEY => {
            check_curve(spki.algorithm.parameters_oid().ok())?;
            p256::ecdsa::VerifyingKey::from_public_key_der(der)
                .map(PublicKey::P256)
                .map_err(bad(KeyKind::P256))
        }
        RSA_ENCRYPTION => rsa_key::from_spki(der),
        other => Err(KeyError::UnsupportedAlgorithm {
            oid: other.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The known-answer data made with Python `cryptography` (tests/data/keys.json).
    fn case(name: &str) -> serde_json::Value {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/keys.json")).unwrap();
        doc["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no case {name}"))
            .clone()
    }

    fn private(text: &str) -> PrivateKey {
        match read_key(text).unwrap() {
            KeyText::Private(key) => key,
            other => panic!("not a private key: {other:?}"),
        }
    }

    /// The DER inside a PEM (test helper; the PEM is known good).
    fn der_of(pem_text: &str) -> (String, Vec<u8>) {
        let (label, der) = pem::decode_vec(pem_text.as_bytes()).unwrap();
        (label.to_owned(), der)
    }

    fn to_pem(label: &str, der: &[u8]) -> String {
        pem::encode_string(label, pem::LineEnding::LF, der).unwrap()
    }

    /// `der` with the first occurrence of `from` replaced by `to` (same length).
    fn patched(der: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let at = der.windows(from.len()).position(|w| w == from).unwrap();
        let mut out = der.to_vec();
        out[at..at + from.len()].copy_from_slice(to);
        out
    }

    const P256_OID_DER: &[u8] = &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
    const P192_OID_DER: &[u8] = &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x01];

    #[test]
    fn each_private_form_reads_as_its_kind() {
        for (name, kind) in [
            ("ed25519 pkcs8", KeyKind::Ed25519),
            ("ed25519 coinbase base64 seed||public", KeyKind::Ed25519),
            ("p256 pkcs8", KeyKind::P256),
            ("p256 sec1", KeyKind::P256),
            ("p256 sec1 literal \\n", KeyKind::P256),
        ] {
            let c = case(name);
            let key = private(c["private"].as_str().unwrap());
            assert_eq!(key.kind(), kind, "{name}");
            assert_eq!(key.public_key().to_pem().unwrap(), c["public"], "{name}");
        }
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        let c = case("p256 sec1");
        let padded = format!("\n  {}  \n\n", c["private"].as_str().unwrap());
        assert_eq!(private(&padded).kind(), KeyKind::P256);
        let c = case("ed25519 coinbase base64 seed||public");
        let padded = format!(" {}\n", c["private"].as_str().unwrap());
        assert_eq!(private(&padded).kind(), KeyKind::Ed25519);
    }

    #[test]
    fn public_pems_read_as_public_keys() {
        for name in ["ed25519 pkcs8", "p256 pkcs8"] {
            let c = case(name);
            match read_key(c["public"].as_str().unwrap()).unwrap() {
                KeyText::Public(key) => assert_eq!(key.to_pem().unwrap(), c["public"]),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[cfg(feature = "rsa")]
    #[test]
    fn rsa_forms_read_with_the_feature() {
        for name in ["rsa2048 pkcs8", "rsa2048 pkcs1"] {
            let c = case(name);
            let key = private(c["private"].as_str().unwrap());
            assert_eq!(key.kind(), KeyKind::Rsa);
            assert_eq!(key.public_key().rsa_bits(), Some(2048));
            assert_eq!(key.public_key().to_pem().unwrap(), c["public"]);
            assert!(format!("{key:?}").contains("2048"));
        }
        // The PKCS#1 public form.
        let c = case("rsa2048 pkcs1");
        let (_, spki_der) = der_of(c["public"].as_str().unwrap());
        let spki = SubjectPublicKeyInfoRef::try_from(spki_der.as_slice()).unwrap();
        let pkcs1 = to_pem("RSA PUBLIC KEY", spki.subject_public_key.raw_bytes());
        match read_key(&pkcs1).unwrap() {
            KeyText::Public(key) => assert_eq!(key.to_pem().unwrap(), c["public"]),
            other => panic!("{other:?}"),
        }
    }

    #[cfg(not(feature = "rsa"))]
    #[test]
    fn rsa_forms_without_the_feature_say_to_enable_it() {
        for name in ["rsa2048 pkcs8", "rsa2048 pkcs1"] {
            let c = case(name);
            for text in [&c["private"], &c["public"]] {
                let e = read_key(text.as_str().unwrap()).unwrap_err();
                assert_eq!(e, KeyError::RsaNotCompiled, "{name}");
                assert!(e.to_string().contains("`rsa` feature"));
            }
        }
    }

    #[test]
    fn hmac_secrets_stay_hmac() {
        // A Kraken-style secret: base64 of 64 random bytes, whose halves are not a key pair.
        let kraken = STANDARD.encode([7u8; 64]);
        assert_eq!(kraken.len(), 88);
        // Coinbase's form with one byte of the public half changed.
        let c = case("ed25519 coinbase base64 seed||public");
        let mut raw = STANDARD.decode(c["private"].as_str().unwrap()).unwrap();
        raw[63] ^= 1;
        let tampered = STANDARD.encode(&raw);
        for text in [
            "test-secret",
            "",
            kraken.as_str(),
            tampered.as_str(),
            "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
        ] {
            assert!(matches!(read_key(text).unwrap(), KeyText::Hmac), "{text}");
        }
    }

    #[test]
    fn other_curves_and_algorithms_are_named() {
        let c = case("p256 sec1");
        let (label, der) = der_of(c["private"].as_str().unwrap());
        let p192 = to_pem(&label, &patched(&der, P256_OID_DER, P192_OID_DER));
        let e = read_key(&p192).unwrap_err();
        assert_eq!(
            e,
            KeyError::UnsupportedCurve {
                oid: "1.2.840.10045.3.1.1".into()
            }
        );
        let c = case("p256 pkcs8");
        let (label, der) = der_of(c["private"].as_str().unwrap());
        let p192 = to_pem(&label, &patched(&der, P256_OID_DER, P192_OID_DER));
        assert!(matches!(
            read_key(&p192),
            Err(KeyError::UnsupportedCurve { .. })
        ));
        let (label, der) = der_of(c["public"].as_str().unwrap());
        let p192 = to_pem(&label, &patched(&der, P256_OID_DER, P192_OID_DER));
        assert!(matches!(
            read_key(&p192),
            Err(KeyError::UnsupportedCurve { .. })
        ));
        // X25519 (1.3.101.110) in place of Ed25519 (1.3.101.112).
        let c = case("ed25519 pkcs8");
        let (label, der) = der_of(c["private"].as_str().unwrap());
        let x25519 = to_pem(
            &label,
            &patched(
                &der,
                &[0x06, 0x03, 0x2B, 0x65, 0x70],
                &[0x06, 0x03, 0x2B, 0x65, 0x6E],
            ),
        );
        assert_eq!(
            read_key(&x25519).unwrap_err(),
            KeyError::UnsupportedAlgorithm {
                oid: "1.3.101.110".into()
            }
        );
    }

    #[test]
    fn bodies_on_one_line_or_other_widths_are_read() {
        let c = case("p256 pkcs8");
        let (label, der) = der_of(c["private"].as_str().unwrap());
        let body = STANDARD.encode(&der);
        let one_line = format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n");
        let wrapped: Vec<&str> = body
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let w76 = format!(
            "-----BEGIN {label}-----\r\n{}\r\n-----END {label}-----",
            wrapped.join("\r\n")
        );
        for text in [one_line, w76] {
            assert_eq!(private(&text).public_key().to_pem().unwrap(), c["public"]);
        }
    }

    #[test]
    fn openssl_ecparam_output_is_read() {
        let c = case("p256 sec1");
        let with_params = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
            c["private"].as_str().unwrap()
        );
        assert_eq!(
            private(&with_params).public_key().to_pem().unwrap(),
            c["public"]
        );
    }

    #[test]
    fn text_before_a_pem_block_is_an_error_not_an_hmac_secret() {
        let c = case("p256 sec1");
        let text = format!("Bag Attributes\n{}", c["private"].as_str().unwrap());
        assert!(matches!(
            read_key(&text),
            Err(KeyError::MalformedPem { .. })
        ));
    }

    #[test]
    fn labels_are_declared_forms() {
        let body = "MC4CAQAwBQYDK2VwBCIEICUqOECqY3DUhQYeTj6g20XdWkqwiFbd6uADQJHCFMvp";
        let wrap =
            |label: &str| format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n");
        assert_eq!(
            read_key(&wrap("ENCRYPTED PRIVATE KEY")).unwrap_err(),
            KeyError::EncryptedKey
        );
        assert_eq!(
            read_key(&wrap("CERTIFICATE")).unwrap_err(),
            KeyError::UnsupportedLabel {
                label: Some("CERTIFICATE".into())
            }
        );
        let legacy = "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\nMC4CAQAwBQYDK2VwBCIEICUqOECqY3DUhQYeTj6g20XdWkqwiFbd6uADQJHCFMvp\n-----END EC PRIVATE KEY-----\n";
        assert_eq!(read_key(legacy).unwrap_err(), KeyError::EncryptedKey);
    }

    /// The canary: every error from a key-looking text, and the Debug of every key type, shows
    /// no 8-character run of the text's base64 body.
    #[test]
    fn no_error_or_debug_carries_key_text() {
        const CANARY: &str = "CANARYkeyMATERIALdoNotLEAKcanary0123456789abcdefCANARYxyzw";
        let canary_pem =
            |label: &str| format!("-----BEGIN {label}-----\n{CANARY}\n-----END {label}-----\n");
        let mut texts: Vec<String> = [
            "PRIVATE KEY",
            "EC PRIVATE KEY",
            "RSA PRIVATE KEY",
            "PUBLIC KEY",
            "RSA PUBLIC KEY",
            "ENCRYPTED PRIVATE KEY",
            "OPENSSH PRIVATE KEY",
            "CERTIFICATE",
            "CANARYkeyMATERIALdoNotLEAK",
        ]
        .iter()
        .map(|l| canary_pem(l))
        .collect();
        // Bad base64, a missing END line, literal \n, mismatched labels.
        texts.push(format!(
            "-----BEGIN PRIVATE KEY-----\n{CANARY}!!**\n-----END PRIVATE KEY-----"
        ));
        texts.push(format!("-----BEGIN PRIVATE KEY-----\n{CANARY}\n"));
        texts.push(format!(
            "-----BEGIN PRIVATE KEY-----\\n{CANARY}\\n-----END PRIVATE KEY-----\\n"
        ));
        texts.push(format!(
            "-----BEGIN PRIVATE KEY-----\n{CANARY}\n-----END EC PRIVATE KEY-----"
        ));
        // Real keys, truncated at every tenth byte and with a byte of the body changed.
        for name in [
            "ed25519 pkcs8",
            "p256 pkcs8",
            "p256 sec1",
            "rsa2048 pkcs8",
            "rsa2048 pkcs1",
        ] {
            let pem_text = case(name)["private"].as_str().unwrap().to_owned();
            for cut in (30..pem_text.len()).step_by(10) {
                texts.push(pem_text[..cut].to_owned());
            }
            let mid = pem_text.len() / 2;
            let mut flipped = pem_text.clone().into_bytes();
            flipped[mid] = if flipped[mid] == b'A' { b'B' } else { b'A' };
            texts.push(String::from_utf8(flipped).unwrap());
        }
        let mut checked = 0;
        for text in &texts {
            let body: String = text
                .lines()
                .flat_map(|l| l.split("\\n"))
                .filter(|l| !l.starts_with("-----") && !l.contains(':'))
                .collect();
            let shown = match read_key(text) {
                Ok(key) => format!("{key:?}"),
                Err(e) => {
                    checked += 1;
                    format!("{e} {e:?} {:?}", crate::Error::from(e.clone()))
                }
            };
            let runs = body.as_bytes().windows(8);
            for run in runs {
                let run = std::str::from_utf8(run).unwrap();
                assert!(!shown.contains(run), "{shown:?} carries {run:?}");
            }
        }
        assert!(checked > 40, "only {checked} errors checked");
        // The Debug of keys read from real texts.
        for c in [
            "ed25519 pkcs8",
            "p256 sec1",
            "ed25519 coinbase base64 seed||public",
        ] {
            let text = case(c)["private"].as_str().unwrap().to_owned();
            let key = private(&text);
            let shown = format!(
                "{key:?} {:?} {:?}",
                key.public_key(),
                KeyText::Private(key.clone())
            );
            assert!(shown.contains("kind"), "{shown}");
            let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
            for run in body.as_bytes().windows(8) {
                assert!(
                    !shown.contains(std::str::from_utf8(run).unwrap()),
                    "{shown}"
                );
            }
        }
    }
}
