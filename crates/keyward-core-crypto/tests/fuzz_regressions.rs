//! Inputs the fuzz targets (`fuzz/`, `cargo xtask fuzz`) found, kept as regression tests. Each
//! names its target and what it found.

use std::str::FromStr;

use keyward_core_crypto::KeyId;

/// Target `fernet`, key ids: `KeyId::from_str` took a `+` sign inside a digit pair
/// (`from_str_radix` accepts one), so this text, which is not 16 hexadecimal digits, parsed as
/// the id `faaaaa0a0eaafaaa`.
#[test]
fn a_key_id_with_a_plus_sign_is_refused() {
    assert!(KeyId::from_str("fAaAaA+A+EAAfAaA").is_err());
    assert!(KeyId::from_str("+aaaaaaaaaaaaaaa").is_err());
    assert!(KeyId::from_str("-aaaaaaaaaaaaaaa").is_err());
    let id = KeyId::from_str("fAaAaA0A0EAAfAaA").unwrap();
    assert_eq!(id.to_string(), "faaaaa0a0eaafaaa");
}
