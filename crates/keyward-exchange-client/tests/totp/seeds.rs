//! Seed forms: base32 with spaces, dashes, lower case, with or without padding; `otpauth://`
//! URIs and their parameters; seeds in a `SecretStore` (whole value or `totp_secret` field);
//! and the typed errors of bad seeds.

use keyward_exchange_client::session::{TOTP_SECRET_FIELD, Totp, TotpAlgorithm, TotpError};
use keyward_secrets_backends::VarStore;

/// "Hello!\xde\xad\xbe\xef" in base32, the seed of many authenticator examples.
const SEED: &str = "JBSWY3DPEHPK3PXP";
const AT_MS: u64 = 1_700_000_000_000;

fn code(seed: &str) -> String {
    Totp::parse(seed)
        .unwrap()
        .code_at_ms(AT_MS)
        .expose()
        .to_owned()
}

#[test]
fn base32_forms_give_the_same_codes() {
    let want = code(SEED);
    let raw = Totp::new(b"Hello!\xde\xad\xbe\xef", TotpAlgorithm::Sha1, 6, 30).unwrap();
    assert_eq!(raw.code_at_ms(AT_MS).expose(), want);
    for form in [
        "jbswy3dpehpk3pxp",
        "JBSW Y3DP EHPK 3PXP",
        "jbsw y3dp ehpk 3pxp\n",
        "JBSW-Y3DP-EHPK-3PXP",
        "  JBSWY3DPEHPK3PXP  ",
    ] {
        assert_eq!(code(form), want, "{form:?}");
    }
    // 10 bytes take 16 characters, no padding; 11 bytes take 18 characters, padded to 24.
    let eleven = Totp::new(b"Hello!\xde\xad\xbe\xef!", TotpAlgorithm::Sha1, 6, 30)
        .unwrap()
        .code_at_ms(AT_MS);
    for form in [
        "JBSWY3DPEHPK3PXPEE",
        "JBSWY3DPEHPK3PXPEE======",
        "jbswy3dpehpk3pxpee==",
    ] {
        assert_eq!(code(form), eleven.expose(), "{form:?}");
    }
}

#[test]
fn defaults_are_sha1_six_digits_thirty_seconds() {
    let totp = Totp::parse(SEED).unwrap();
    assert_eq!(totp.algorithm(), TotpAlgorithm::Sha1);
    assert_eq!(totp.digits(), 6);
    assert_eq!(totp.period(), 30);
    assert_eq!(totp.code_at_ms(AT_MS).expose().len(), 6);
}

#[test]
fn otpauth_uris_carry_their_parameters() {
    let totp = Totp::parse(
        "otpauth://totp/Broker:user%40example.com?secret=jbsw%20y3dp%20ehpk%203pxp&issuer=Broker&algorithm=sha512&digits=8&period=60",
    )
    .unwrap();
    assert_eq!(totp.algorithm(), TotpAlgorithm::Sha512);
    assert_eq!(totp.digits(), 8);
    assert_eq!(totp.period(), 60);
    let want = Totp::new(b"Hello!\xde\xad\xbe\xef", TotpAlgorithm::Sha512, 8, 60)
        .unwrap()
        .code_at_ms(AT_MS);
    assert_eq!(totp.code_at_ms(AT_MS).expose(), want.expose());

    // Defaults for what a URI leaves out; the scheme and type in any case.
    let plain = Totp::parse("OTPAUTH://TOTP/x?secret=JBSWY3DPEHPK3PXP").unwrap();
    assert_eq!(
        (plain.algorithm(), plain.digits(), plain.period()),
        (TotpAlgorithm::Sha1, 6, 30)
    );
    assert_eq!(plain.code_at_ms(AT_MS).expose(), code(SEED));
    let sha256 = Totp::parse("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256").unwrap();
    assert_eq!(sha256.algorithm(), TotpAlgorithm::Sha256);
}

#[test]
fn bad_seeds_are_typed_errors() {
    let err = |s: &str| Totp::parse(s).unwrap_err();
    assert!(matches!(err(""), TotpError::EmptySeed));
    assert!(matches!(err("  == "), TotpError::EmptySeed));
    assert!(matches!(
        err("JBSW1Y3D"),
        TotpError::NotBase32 { position: 5 }
    ));
    assert!(matches!(
        err("jbsw y3dp ehpk 3pxp!"),
        TotpError::NotBase32 { position: 17 }
    ));
    assert!(matches!(
        err("JB=SWY3D"),
        TotpError::NotBase32 { position: 3 }
    ));
    assert!(matches!(
        err("JBSWY3DPE"),
        TotpError::Base32Length { chars: 9 }
    ));
    assert!(matches!(
        err("otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1"),
        TotpError::Uri { .. }
    ));
    assert!(matches!(
        err("otpauth://totp/x?issuer=a"),
        TotpError::Uri { .. }
    ));
    assert!(matches!(
        err("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5"),
        TotpError::Algorithm
    ));
    assert!(matches!(
        err("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=9"),
        TotpError::Digits { digits: 9 }
    ));
    assert!(matches!(
        err("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=six"),
        TotpError::Uri { .. }
    ));
    assert!(matches!(
        err("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=0"),
        TotpError::Period
    ));
    assert!(matches!(
        err("otpauth://totp/x?secret=JBSW1"),
        TotpError::NotBase32 { position: 5 }
    ));
    assert!(matches!(
        Totp::new(b"seed", TotpAlgorithm::Sha1, 5, 30).unwrap_err(),
        TotpError::Digits { digits: 5 }
    ));
    assert!(matches!(
        Totp::new(b"", TotpAlgorithm::Sha1, 6, 30).unwrap_err(),
        TotpError::EmptySeed
    ));
}

#[tokio::test]
async fn seeds_from_a_store_whole_value_or_totp_secret_field() {
    let uri = "otpauth://totp/Broker:me?secret=JBSWY3DPEHPK3PXP&digits=8";
    let store = VarStore::from_vars(
        "KEYWARD",
        [
            (
                "KEYWARD_BROKER_TOTP".to_owned(),
                "jbsw y3dp ehpk 3pxp".to_owned(),
            ),
            ("KEYWARD_UPSTOX_PASSWORD".to_owned(), "hunter2".to_owned()),
            ("KEYWARD_UPSTOX_TOTP_SECRET".to_owned(), SEED.to_owned()),
            ("KEYWARD_IBKR_TOTP_SECRET".to_owned(), uri.to_owned()),
            ("KEYWARD_NO_SEED_PASSWORD".to_owned(), "hunter2".to_owned()),
            ("KEYWARD_BAD_SEED".to_owned(), "not a seed!".to_owned()),
        ],
    );
    assert_eq!(TOTP_SECRET_FIELD, "totp_secret");
    let want = code(SEED);
    let whole = Totp::from_store(&store, "broker-totp").await.unwrap();
    assert_eq!(whole.code_at_ms(AT_MS).expose(), want);
    let field = Totp::from_store(&store, "upstox").await.unwrap();
    assert_eq!(field.code_at_ms(AT_MS).expose(), want);
    let from_uri = Totp::from_store(&store, "ibkr").await.unwrap();
    assert_eq!(from_uri.digits(), 8);

    let missing = Totp::from_store(&store, "no-seed").await.unwrap_err();
    assert!(
        matches!(&missing, TotpError::MissingField { name } if name == "no-seed"),
        "{missing:?}"
    );
    let absent = Totp::from_store(&store, "nothing-here").await.unwrap_err();
    assert!(matches!(absent, TotpError::Store { .. }), "{absent:?}");
    let bad = Totp::from_store(&store, "bad-seed").await.unwrap_err();
    assert!(matches!(bad, TotpError::NotBase32 { .. }), "{bad:?}");
}
