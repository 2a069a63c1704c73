//! Asymmetric keys: private keys kept in plain files, RSA keys shorter than 2048 bits, HMAC
//! secrets stored for a venue that takes Ed25519 keys, and the advisory that comes with RSA.

use std::path::{Path, PathBuf};

use keyward::crypto::secrecy::{ExposeSecret as _, SecretString};
use keyward::secrets::SecretValue;
use keyward::signing::Scheme;
use keyward::signing::keys::{KeyKind, inspect};

use super::checks::read_text;
use super::finding::{Finding, Severity, shell_quote};
use super::scan;

/// The smallest RSA modulus the venues document, and NIST's floor since 2015.
const MIN_RSA_BITS: usize = 2048;

/// Where a key was found.
#[derive(Clone, Copy)]
enum KeyAt<'a> {
    /// In a project file, at a line.
    File(&'a Path, usize),
    /// In the local vault (its path), under a credential's name.
    Credential(&'a Path, &'a str),
}

/// What the key checks have seen so far: where RSA keys are, for the advisory.
#[derive(Default)]
pub struct KeyChecks {
    rsa: Vec<String>,
}

impl KeyChecks {
    /// Private key blocks in the project's files, whether git ignores them or not: a private
    /// key belongs in a secret store, never in a plain file. A block already reported as a
    /// secret git tracks or would add is not reported again here.
    pub fn plain_files(&mut self, root: &Path, all: &[PathBuf], out: &mut Vec<Finding>) {
        for rel in all {
            let path = root.join(rel);
            let Some(text) = read_text(&path) else {
                continue;
            };
            for block in scan::private_key_blocks(&text) {
                let reported = out.iter().any(|f| {
                    f.path.as_deref() == Some(path.as_path()) && f.line == Some(block.line)
                });
                if !reported {
                    out.push(
                        Finding::new(
                            "plain-key",
                            Severity::Medium,
                            "a private key in a plain file: anyone who can read the file, or a backup of it, can sign as you",
                            format!(
                                "keyward secret put NAME --field api_key --field secret (its secret the key), then delete {}; or make a new key in the vault with `keyward key generate --type ed25519 --name NAME`",
                                shell_quote(&path)
                            ),
                        )
                        .at(&path)
                        .line(block.line),
                    );
                }
                if let Some(key) = block.text {
                    self.key(
                        &SecretString::from(key),
                        KeyAt::File(&path, block.line),
                        out,
                    );
                }
            }
        }
    }

    /// A credential of the local vault at `vault`: its key's size, and an HMAC secret for a
    /// venue that takes Ed25519 keys (the venue is the credential's `venue` field, as
    /// `keyward key generate --venue` stores it).
    pub fn credential(
        &mut self,
        name: &str,
        value: &SecretValue,
        vault: &Path,
        out: &mut Vec<Finding>,
    ) {
        let Some(secret) = crate::commands::key::secret_text(value) else {
            return;
        };
        let kind = self.key(&secret, KeyAt::Credential(vault, name), out);
        let venue = value
            .field(crate::commands::key::VENUE)
            .and_then(|v| v.expose_secret().parse::<Scheme>().ok());
        if let (Some(KeyKind::Hmac), Some(scheme)) = (kind, venue)
            && scheme.accepts_key(KeyKind::Ed25519)
        {
            out.push(
                Finding::new(
                    "hmac-key",
                    Severity::Low,
                    format!(
                        "credential {name:?} is an HMAC secret for {scheme}, which takes Ed25519 keys: the venue holds a copy of an HMAC secret, never of an Ed25519 private key, and some WebSocket logins (Binance's session.logon) take nothing else"
                    ),
                    format!(
                        "keyward key generate --type ed25519 --venue {scheme} --name {name} --store sqlite:{} --force, register the public key it prints with {scheme}, then `keyward key set-api-key --name {name} --api-key KEY --store sqlite:{}` and delete the HMAC key at the venue",
                        shell_quote(vault),
                        shell_quote(vault)
                    ),
                )
                .at(vault),
            );
        }
    }

    /// Inspects one key text found `at`: an RSA key shorter than 2048 bits is a finding, and any
    /// RSA key is remembered for the advisory. The kind, when the text can be read.
    fn key(
        &mut self,
        secret: &SecretString,
        at: KeyAt<'_>,
        out: &mut Vec<Finding>,
    ) -> Option<KeyKind> {
        let info = inspect(secret).ok()?;
        if info.kind == KeyKind::Rsa {
            let (holder, path, line) = match at {
                KeyAt::File(path, line) => {
                    self.rsa.push(format!("{}:{line}", path.display()));
                    ("the file holds".to_owned(), path, Some(line))
                }
                KeyAt::Credential(vault, name) => {
                    self.rsa.push(format!("credential {name:?}"));
                    (format!("credential {name:?} is"), vault, None)
                }
            };
            if let Some(bits) = info.rsa_bits.filter(|&b| b < MIN_RSA_BITS) {
                let mut finding = Finding::new(
                    "weak-key",
                    Severity::High,
                    format!(
                        "{holder} an RSA key of {bits} bits, under the {MIN_RSA_BITS} bits venues require and NIST allows"
                    ),
                    "keyward key generate --type ed25519 (or --type rsa, 2048-bit, where the venue takes no Ed25519) --name NAME, register it with the venue, and delete the old key there",
                );
                finding = finding.at(path);
                if let Some(line) = line {
                    finding = finding.line(line);
                }
                out.push(finding);
            }
        }
        Some(info.kind)
    }

    /// The RSA advisory, once, if any RSA key was seen.
    pub fn advisory(self, out: &mut Vec<Finding>) {
        if self.rsa.is_empty() {
            return;
        }
        out.push(Finding::new(
            "rsa-advisory",
            Severity::Info,
            format!(
                "RSA keys found ({}): keyward signs with them through the rsa crate, which carries RUSTSEC-2023-0071 (the Marvin attack, a timing side channel with no fixed release); prefer Ed25519 wherever the venue takes it",
                self.rsa.join(", ")
            ),
            "keyward key generate --type ed25519 --name NAME for venues that take Ed25519 (Binance, Coinbase Advanced); keep RSA only where it is the venue's one asymmetric option (Bybit)",
        ));
    }
}
