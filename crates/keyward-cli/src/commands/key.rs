//! `keyward key generate|public|set-api-key|id`: Fernet master keys, and venue key pairs whose
//! private half goes into a secret store (or, when asked, a 0600 file) and whose public half is
//! printed to register with the venue.

use anyhow::{Context as _, Result, bail};
use keyward::crypto::FernetKey;
use keyward::crypto::keyfile::write_key_file;
use keyward::crypto::private_file::{Overwrite, write_private_file};
use keyward::crypto::secrecy::{ExposeSecret as _, SecretString};
use keyward::secrets::{Error as StoreError, SecretStore, SecretValue, Selector};
use keyward::signing::Scheme;
use keyward::signing::keys::{self, KeyKind};
use serde_json::json;

use crate::cli::{
    Format, KeyCommand, KeyGenerateArgs, KeyPublicArgs, KeySetApiKeyArgs, KeyTypeArg,
};
use crate::stdio::write_stdout;

/// The fields of a stored credential, as the exchange client reads them
/// (`ClientBuilder::secret_store`).
const API_KEY: &str = "api_key";
const SECRET: &str = "secret";
/// The venue a credential is for; `keyward doctor` reads it.
pub(crate) const VENUE: &str = "venue";

/// Runs a `keyward key` subcommand.
pub fn run(cmd: KeyCommand) -> Result<()> {
    match cmd {
        KeyCommand::Generate(args) => match args.key_type {
            Some(kind) => key_pair(&args, kind),
            None => fernet(&args),
        },
        KeyCommand::Public(args) => public(&args),
        KeyCommand::SetApiKey(args) => set_api_key(&args),
        KeyCommand::Id(args) => {
            let ring = crate::keys::ring(&args.ring)?;
            let keys: Vec<(String, &str)> = ring
                .key_ids()
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    (
                        id.to_string(),
                        if i == 0 { "primary" } else { "decrypt-only" },
                    )
                })
                .collect();
            let text = match args.format {
                Format::Text => keys
                    .iter()
                    .map(|(id, role)| format!("{id} {role}\n"))
                    .collect::<String>(),
                Format::Json => {
                    let keys: Vec<_> = keys
                        .iter()
                        .map(|(id, role)| serde_json::json!({"id": id, "role": role}))
                        .collect();
                    format!("{}\n", serde_json::json!({ "keys": keys }))
                }
            };
            write_stdout(text.as_bytes())
        }
    }
}

/// A Fernet master key, printed or written to `--out` (the command as it always was).
fn fernet(args: &KeyGenerateArgs) -> Result<()> {
    if args.store.store.is_some() {
        bail!(
            "--store needs --type and --name: a Fernet master key is printed or written to --out"
        );
    }
    let key = FernetKey::generate()?;
    match &args.out {
        Some(path) => {
            write_key_file(path, &key, overwrite(args.force))?;
            eprintln!("wrote key {} to {} (mode 0600)", key.id(), path.display());
            Ok(())
        }
        None => {
            let mut text = key.expose_base64();
            text.push('\n');
            write_stdout(text.as_bytes())
        }
    }
}

fn overwrite(force: bool) -> Overwrite {
    if force { Overwrite::Yes } else { Overwrite::No }
}

/// The key kind a `--type` names.
fn kind_of(arg: KeyTypeArg) -> KeyKind {
    match arg {
        KeyTypeArg::Ed25519 => KeyKind::Ed25519,
        KeyTypeArg::Rsa => KeyKind::Rsa,
        KeyTypeArg::P256 => KeyKind::P256,
    }
}

/// A key pair: the private half stored (or written to `--out`), the public half printed.
fn key_pair(args: &KeyGenerateArgs, arg: KeyTypeArg) -> Result<()> {
    let kind = kind_of(arg);
    let venue = match &args.venue {
        Some(name) => {
            let scheme: Scheme = name.parse()?;
            if !scheme.accepts_key(kind) {
                bail!("{scheme} does not accept {kind} keys; see `keyward key generate --help`");
            }
            Some(scheme)
        }
        None => None,
    };
    if args.out.is_some() && args.store.store.is_some() {
        bail!("--out writes the private key to a file and --store keeps it in a store: give one");
    }
    let pair = keys::generate(kind)?;
    if let Some(path) = &args.out {
        write_private_file(
            path,
            pair.private_pem().expose_secret().as_bytes(),
            overwrite(args.force),
        )?;
        eprintln!(
            "wrote the {kind} private key to {} (mode 0600); the public key follows on standard output: register it with the venue",
            path.display()
        );
    } else {
        let Some(name) = &args.name else {
            bail!("--type needs --name NAME (to store the private key) or --out FILE");
        };
        let runtime = runtime()?;
        runtime.block_on(async {
            let store = super::secret::open(&args.store).await?;
            if !args.force && exists(&*store, name).await? {
                bail!(
                    "a credential {name:?} exists already in the store; pass --force to store the new key as its next version (the old one stays as the previous version)"
                );
            }
            let mut fields = vec![
                (API_KEY, args.api_key.as_deref().unwrap_or("")),
                (SECRET, pair.private_pem().expose_secret()),
            ];
            if let Some(scheme) = venue {
                fields.push((VENUE, scheme.name()));
            }
            let meta = store.put(name, &SecretValue::fields(fields)).await?;
            eprintln!(
                "stored the {kind} private key as {} version {} ({} store); the public key follows on standard output: register it with the venue{}",
                meta.name,
                meta.version,
                store.kind(),
                if args.api_key.is_none() {
                    format!(", then record the API key it assigns with `keyward key set-api-key --name {name} --api-key KEY`")
                } else {
                    String::new()
                }
            );
            Ok(())
        })?;
    }
    print_public(args.store.format, None, kind, pair.public_pem())
}

/// Whether `name` has a current version in `store`.
async fn exists(store: &dyn SecretStore, name: &str) -> Result<bool> {
    match store.get(name, &Selector::Current).await {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e).with_context(|| format!("could not check whether {name:?} exists")),
    }
}

/// `keyward key public`: the public half of a stored private key.
fn public(args: &KeyPublicArgs) -> Result<()> {
    let runtime = runtime()?;
    let secret = runtime.block_on(async {
        let store = super::secret::open(&args.store).await?;
        let secret = store.get(&args.name, &Selector::Current).await?;
        secret_text(&secret.value).with_context(|| {
            format!(
                "{:?} holds neither a secret field nor a text value",
                args.name
            )
        })
    })?;
    let info = keys::inspect(&secret)
        .with_context(|| format!("the key stored as {:?} cannot be read", args.name))?;
    if info.kind == KeyKind::Hmac {
        bail!(
            "{:?} holds an HMAC secret, which has no public key; make a key pair with `keyward key generate --type ed25519`",
            args.name
        );
    }
    let pem = keys::public_pem(&secret)
        .with_context(|| format!("the key stored as {:?} cannot be read", args.name))?;
    print_public(args.store.format, Some(&args.name), info.kind, &pem)
}

/// `keyward key set-api-key`: a new version of the credential with `api_key` set and every
/// other field kept.
fn set_api_key(args: &KeySetApiKeyArgs) -> Result<()> {
    let runtime = runtime()?;
    runtime.block_on(async {
        let store = super::secret::open(&args.store).await?;
        let secret = store.get(&args.name, &Selector::Current).await?;
        let SecretValue::Fields(fields) = &secret.value else {
            bail!(
                "{:?} is not a credential with fields (api_key, secret); store it with `keyward secret put {} --field api_key --field secret`",
                args.name,
                args.name
            );
        };
        let value = SecretValue::fields(
            fields
                .iter()
                .filter(|(k, _)| k.as_str() != API_KEY)
                .map(|(k, v)| (k.as_str(), v.expose_secret()))
                .chain([(API_KEY, args.api_key.as_str())]),
        );
        let meta = store.put(&args.name, &value).await?;
        eprintln!("stored {} version {} with its API key", meta.name, meta.version);
        Ok(())
    })
}

/// The secret text of a stored credential: its `secret` (or `api_secret`) field, or a value
/// stored as bytes that are UTF-8 text.
pub(crate) fn secret_text(value: &SecretValue) -> Option<SecretString> {
    match value {
        SecretValue::Fields(_) => value
            .field(SECRET)
            .or_else(|| value.field("api_secret"))
            .cloned(),
        SecretValue::Bytes(bytes) => std::str::from_utf8(bytes.expose_secret())
            .ok()
            .map(SecretString::from),
    }
}

/// Prints the public key: the PEM as it is, or JSON.
fn print_public(format: Format, name: Option<&str>, kind: KeyKind, pem: &str) -> Result<()> {
    let text = match format {
        Format::Text => {
            let mut pem = pem.to_owned();
            if !pem.ends_with('\n') {
                pem.push('\n');
            }
            pem
        }
        Format::Json => {
            let mut doc = json!({"kind": kind.word(), "public_key": pem});
            if let Some(name) = name {
                doc["name"] = json!(name);
            }
            format!("{doc}\n")
        }
    };
    write_stdout(text.as_bytes())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")
}
