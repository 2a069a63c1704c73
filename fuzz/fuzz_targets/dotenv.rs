//! `.env` files (keyward-secrets-backends: `DotenvStore`, `DotenvLoader`): arbitrary file bytes
//! through the parser they share. Invariants: no panic; a refusal is `Error::Corrupt` whose
//! reason names a byte offset, never the line; what parses, printed back as `KEY='value'`
//! lines (the crate has no `.env` writer: this is the plainest form the format has), parses
//! to the same variables.
#![no_main]

use std::path::Path;

use keyward_secrets_backends::Error;
use keyward_secrets_backends::environment::{Environment, OverridePolicy};
use keyward_secrets_backends::fuzzing::parse_dotenv;
use libfuzzer_sys::fuzz_target;

/// The loaders read at most 1 MiB (`env::MAX_DOTENV_LEN`, private) before parsing.
const MAX_DOTENV_LEN: usize = 1024 * 1024;

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_DOTENV_LEN {
        return;
    }
    // The environment name and the policy word come from a file name and a flag: read them
    // from the same bytes (a typed refusal or a value; never a panic).
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(env) = Environment::new(text) {
            assert_eq!(env.as_str(), text);
            assert!(!text.contains(['/', '.', '\\']));
        }
        if let Some(policy) = OverridePolicy::from_word(text) {
            assert_eq!(OverridePolicy::from_word(policy.word()), Some(policy));
        }
    }
    let path = Path::new("/fuzz/.env");
    let vars = match parse_dotenv(path, data) {
        Ok(vars) => vars,
        Err(Error::Corrupt { name, reason }) => {
            assert_eq!(name, "/fuzz/.env");
            let offset = reason.strip_prefix("cannot parse the line at byte ");
            // The refusal of a file whose substitutions could explode: a number, no input.
            let bound = reason
                .strip_prefix("its `$` substitutions could expand its values to ")
                .and_then(|rest| rest.strip_suffix(" bytes, over the 4194304 allowed"));
            // The reasons `dotenv_error` gives: an offset, a fixed sentence, or an
            // io::ErrorKind's description (reading from memory: bytes that are not UTF-8).
            let io_kinds = [
                std::io::ErrorKind::InvalidData,
                std::io::ErrorKind::UnexpectedEof,
                std::io::ErrorKind::Other,
            ];
            assert!(
                offset.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    || bound.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    || reason == "not a .env file"
                    || io_kinds.iter().any(|k| reason == k.to_string()),
                "a parse error's reason quotes input: {reason:?}"
            );
            return;
        }
        Err(other) => panic!("a .env parse error other than Corrupt: {other:?}"),
    };
    // Print back what parsed, one `KEY='value'` per variable: single quotes take the value
    // as it is (no escapes, no substitution). Values holding a quote cannot be written so,
    // nor values holding a backslash: dotenvy's line reader takes `\'` inside single quotes
    // for an escaped quote where its parser does not (so `K='a\'` never ends).
    let mut printed = String::new();
    let mut expected = Vec::new();
    for (k, v) in &vars {
        if v.contains(['\'', '\r', '\\']) {
            continue;
        }
        printed.push_str(&format!("{k}='{}'\n", v.as_str()));
        expected.push((k.clone(), v.as_str().to_owned()));
    }
    let again = match parse_dotenv(path, printed.as_bytes()) {
        Ok(again) => again,
        // The substitution bound counts every `$`, quoted or not (an over-estimate, by
        // design): single-quoted values full of `$` may be refused where their first reading,
        // unquoted and substituted, was not.
        Err(Error::Corrupt { reason, .. }) if reason.starts_with("its `$` substitutions") => {
            return;
        }
        Err(other) => panic!("a printed .env parses: {other:?}"),
    };
    let again: Vec<(String, String)> = again
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().to_owned()))
        .collect();
    assert_eq!(again, expected, "parse, print, parse changed the variables");
});
