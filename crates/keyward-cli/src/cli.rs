//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit code for any failure at run time (bad token, bad key, loose key file, I/O).
pub const EXIT_FAILURE: u8 = 1;

/// The environment variable holding the master key ring: comma-separated keys, primary first.
pub const MASTER_KEY_ENV: &str = "KEYWARD_MASTER_KEY";

const AFTER_HELP: &str = "\
Keys and secrets are never taken from argument values: a key ring comes from --key-file (repeatable,
the first is the primary) or from KEYWARD_MASTER_KEY (comma-separated keys, the first is the primary);
data comes from standard input.

Exit codes: 0 success, 1 failure (the reason is one sentence on stderr), 2 usage error.

Examples:
  keyward key generate --out master.key
  echo -n 'my api secret' | keyward encrypt --key-file master.key > secret.token
  keyward decrypt --key-file master.key --ttl 3600 < secret.token
  keyward key generate --out new.key
  keyward rotate-token --key-file new.key --key-file master.key < secret.token > rotated.token";

/// keyward: credential encryption, request signing and resilience for exchange integrations.
#[derive(Debug, Parser)]
#[command(name = "keyward", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// The environment: the dotenv store reads .env.NAME (wins over KEYWARD_ENV; a missing
    /// file is an error, never a fallback to .env).
    #[arg(long, global = true, value_name = "NAME")]
    pub environment: Option<String>,
    /// Log to stderr: -v info, -vv debug, -vvv trace for keyward's crates (RUST_LOG, in
    /// tracing's EnvFilter syntax, wins). Never a secret value.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Tour the whole stack against a local testnet: no account, no network, no configuration.
    #[command(after_help = QUICKSTART_HELP)]
    Quickstart(QuickstartArgs),
    /// Generate and inspect Fernet master keys, and venue key pairs (Ed25519, RSA, P-256).
    #[command(
        subcommand,
        after_help = "Examples:\n  keyward key generate --out master.key\n  keyward key id --key-file master.key\n  keyward key generate --type ed25519 --name binance-main --venue binance\n  keyward key public --name binance-main"
    )]
    Key(KeyCommand),
    /// Encrypt standard input into a Fernet token on standard output (or a 0600 file).
    #[command(
        after_help = "Example:\n  echo -n 'my api secret' | keyward encrypt --key-file master.key --out secret.token"
    )]
    Encrypt(EncryptArgs),
    /// Decrypt a Fernet token on standard input to standard output (or a 0600 file).
    #[command(
        after_help = "Example:\n  keyward decrypt --key-file master.key --ttl 3600 < secret.token"
    )]
    Decrypt(DecryptArgs),
    /// Re-encrypt a token on standard input under the primary key, keeping its timestamp.
    #[command(
        name = "rotate-token",
        after_help = "Example (new key first, old key after it):\n  keyward rotate-token --key-file new.key --key-file old.key < old.token > new.token"
    )]
    RotateToken(RingArgs),
    /// Sign a request (or build a WebSocket auth message) as a venue or service scheme expects,
    /// and print it as JSON.
    #[command(after_help = SIGN_HELP)]
    Sign(Box<SignArgs>),
    /// Draw strictly increasing nonces from a state file shared by processes and restarts, or
    /// from a sequence a fleet shares in Redis.
    #[command(
        subcommand,
        after_help = "Examples:\n  keyward nonce next --state ~/.keyward/kraken.nonce --count 3\n  keyward nonce next --store redis://127.0.0.1:6379 --key kraken-main --count 3"
    )]
    Nonce(NonceCommand),
    /// Store, read and list secrets in the vault, env, .env or encrypted-file stores.
    #[command(subcommand, after_help = SECRET_HELP)]
    Secret(SecretCommand),
    /// Create the encrypted SQLite vault, rotate its master key, read its audit trail.
    #[command(subcommand, after_help = VAULT_HELP)]
    Vault(VaultCommand),
    /// Check a project directory and the local vault for exposed or badly kept secrets.
    #[command(after_help = DOCTOR_HELP)]
    Doctor(DoctorArgs),
    /// Run the local exchange testnet (127.0.0.1 only).
    #[command(
        subcommand,
        after_help = "Example:\n  keyward testnet serve --faults clock_offset_ms=3000,venue=binance"
    )]
    Testnet(TestnetCommand),
    /// Print the current TOTP code of a seed kept in a store, and the seconds it has left.
    #[command(after_help = TOTP_HELP)]
    Totp(TotpArgs),
    /// Check a tamper-evident audit log: its JSON lines, sequence, hash chain and MACs.
    #[command(subcommand, after_help = AUDIT_HELP)]
    Audit(AuditCommand),
    /// Inspect a broker's access token (a JWT) without verifying it.
    #[command(subcommand, after_help = TOKEN_HELP)]
    Token(TokenCommand),
    /// Log in to a broker (Upstox) with the fields of a stored secret and store the token.
    #[command(subcommand, after_help = BROKER_HELP)]
    Broker(BrokerCommand),
    /// Sign a bot's plain requests for one venue on a loopback port or a Unix socket: the bot
    /// never holds the key.
    #[command(after_help = PROXY_HELP)]
    Proxy(ProxyArgs),
    /// Print a shell completion script (bash, zsh or fish) on standard output.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Print the man page keyward.1, or write it and one page per subcommand into a directory.
    #[command(after_help = MAN_HELP)]
    Man(ManArgs),
    /// Start a command with secrets from a store in its environment, masked in its output.
    #[command(after_help = RUN_HELP)]
    Run(RunArgs),
}

const TOKEN_HELP: &str = "\
Example:
  keyward token inspect < token.jwt";

/// `keyward token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a JWT's header and claims and its time to expiry (never the signature).
    #[command(after_help = TOKEN_INSPECT_HELP)]
    Inspect(TokenInspectArgs),
}

const TOKEN_INSPECT_HELP: &str = "\
The token is read from standard input (at most 16 KiB; surrounding whitespace and a leading
'Bearer ' are ignored), never from an argument. It is decoded WITHOUT verifying its signature,
as the token cache does to schedule a refresh: what it prints says what the token claims, not
that the claims are true. The signature is neither decoded nor printed.

Text output is the header and the claims as JSON, then the expiry (the exp claim, in UTC) and
the whole seconds to it from the system clock (negative once expired), or 'no exp claim';
--format json prints {\"header\", \"claims\", \"expires_at\", \"seconds_to_expiry\",
\"expired\"} (the last three null without an exp claim).

Examples:
  keyward token inspect < token.jwt
  printf '%s' \"$ACCESS_TOKEN\" | keyward token inspect --format json";

/// `keyward token inspect`
#[derive(Debug, Args)]
pub struct TokenInspectArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

const BROKER_HELP: &str = "\
Example:
  keyward broker login upstox --venue upstox";

/// `keyward broker ...`
#[derive(Debug, Subcommand)]
pub enum BrokerCommand {
    /// Run a broker's login once and store its access token as the secret NAME/token.
    #[command(after_help = BROKER_LOGIN_HELP)]
    Login(BrokerLoginArgs),
}

const BROKER_LOGIN_HELP: &str = "\
The secret NAME holds the login fields, as named fields or one JSON object of strings: for
Upstox, username (the registered mobile number), pin, totp_secret (a base32 seed or an
otpauth://totp/ URI), client_id, client_secret and redirect_uri (a password field may be there;
the TOTP flow does not send it). With --prompt the one-time code is typed at the terminal (not
echoed; one line of standard input when that is not a terminal) instead of computed from
totp_secret, for accounts whose terms forbid automating it.

The login runs once: a refused TOTP code or PIN ends it at once with the broker's reason, never
a second attempt, since brokers lock an account after a few failures. The token is stored in the
same store as the secret NAME/token, with fields access_token, expires_at_ms (Unix milliseconds:
the earlier of the token's exp claim and the broker's rule; 0 when neither is known) and venue,
the form the SDK's TokenCache reads back; only that it was stored and when it expires are
printed, never the token. Upstox tokens expire at 03:30 Asia/Kolkata after they are issued.

--base-url serves both Upstox hosts from one URL, as the testnet does: the API at <URL>/api and
the login service at <URL>/service (https://, or http:// to a loopback address only). Without it
the real hosts are used: https://api.upstox.com and https://service.upstox.com.

Examples:
  printf 'username=%s\\npin=%s\\ntotp_secret=%s\\nclient_id=%s\\nclient_secret=%s\\nredirect_uri=%s\\n' ... \\
    | keyward secret put upstox --field username --field pin --field totp_secret \\
        --field client_id --field client_secret --field redirect_uri
  keyward broker login upstox --venue upstox
  keyward broker login testnet/upstox --venue upstox --base-url http://127.0.0.1:PORT";

/// The brokers `keyward broker login` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BrokerVenue {
    /// Upstox: the TOTP login the upstox-totp SDK drives.
    Upstox,
}

/// `keyward broker login`
#[derive(Debug, Args)]
pub struct BrokerLoginArgs {
    /// The secret holding the login fields; the token is stored as NAME/token.
    pub name: String,
    /// The broker.
    #[arg(long, value_enum)]
    pub venue: BrokerVenue,
    /// One base URL for the broker's hosts (the testnet's), instead of the real ones.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Ask for the one-time code at the terminal instead of computing it from totp_secret.
    #[arg(long)]
    pub prompt: bool,
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
}

const TOTP_HELP: &str = "\
The secret NAME holds the seed: its whole value, or its totp_secret field (so that a broker's
login fields and its seed can live in one secret). The seed is base32 (spaces, dashes, lower
case and missing '=' padding accepted; SHA-1, 6 digits, 30 s) or an otpauth://totp/ URI, whose
algorithm (SHA1, SHA256, SHA512), digits (6 to 8) and period are used. The code is computed
from the system clock; the seconds left are whole seconds, rounded down. A seed that cannot be
read is an error that says what is wrong with it, never the seed.

Text output is the code and the seconds left (`123456 17s left`); --format json prints
{\"code\", \"seconds_left\", \"algorithm\", \"digits\", \"period\"}.

Examples:
  printf 'totp_secret=%s\\n' \"$SEED\" | keyward secret put upstox --field totp_secret
  keyward totp upstox
  keyward totp broker-seed --store dotenv:.env --format json";

/// `keyward totp`
#[derive(Debug, Args)]
pub struct TotpArgs {
    /// The secret holding the seed (its whole value, or its totp_secret field).
    pub name: String,
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
}

const AUDIT_HELP: &str = "\
An audit log is written by keyward::secrets::audit::AuditLog: one JSON line per event (secret
read or write, login, token, rotation, revocation, integrity alert, verifier refusal), naming
what it is about and never a value; each line carries the SHA-256 of the line before and an
HMAC-SHA256 under a key kept in a secret store.

Example:
  keyward audit verify ./bot/audit.log --store sqlite:./bot/vault.db --key-name audit/mac";

/// `keyward audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify an audit log and name its first broken line.
    #[command(after_help = AUDIT_VERIFY_HELP)]
    Verify(AuditVerifyArgs),
}

const AUDIT_VERIFY_HELP: &str = "\
Without --key-name, checks that every line is an entry, that sequence numbers run 0, 1, 2 ...
and that each line's prev is the SHA-256 of the line before: this finds any edited, inserted,
reordered or deleted line, except an edited last line or lines cut from the end. With --key-name NAME (the MAC key in
the store, its head beside it as NAME.head) it also checks every MAC, which finds a chain
rebuilt from scratch or an edited last line, and that the log reaches the head its writer
stored, which finds a cut tail or a deleted log. With --vault PATH it also checks the vault's
audit table against the log: each row the vault chained into it (a vault opened with
SqliteVault::with_audit_log) must name an entry with the same line hash, event and secret name,
which finds an edited row.

Exit codes: 0 the log verifies (a summary on standard output), 1 it does not (the first broken
line and what is wrong with it on stderr) or it could not be read, 2 usage error.

Examples:
  keyward audit verify audit.log
  keyward audit verify audit.log --key-name audit/mac
  keyward audit verify audit.log --store file:secrets.fernet --key-file master.key \\
      --key-name audit/mac --format json";

/// `keyward audit verify`
#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// The audit log file (mode 0600).
    pub file: PathBuf,
    /// The store holding the log's MAC key and head (with --key-name).
    #[command(flatten)]
    pub store: StoreArgs,
    /// The MAC key's name in the store: check MACs and the stored head too.
    #[arg(long, value_name = "NAME")]
    pub key_name: Option<String>,
    /// A vault whose audit rows were chained into this log: check that each chained row
    /// matches its log entry (line hash, event, name).
    #[arg(long, value_name = "PATH")]
    pub vault: Option<PathBuf>,
}

const QUICKSTART_HELP: &str = "\
Creates a vault and its master key in a temporary directory, stores fresh testnet credentials in
it as testnet/<venue>, starts the local testnet on 127.0.0.1 (in this process) and, with clients
built by keyward::RestClient::builder() that read those credentials back from the vault:
  rest             each venue preset: server time, balance, place order, cancel order (signed)
  service          each service scheme: a signed POST and GET, verified by the testnet
  websocket        each venue and scheme with WebSocket auth: connect and authenticate
  clock skew       the server clock jumps 3 s ahead: one refusal, exactly one resync, success
  retry 5xx        an injected 503 on a read: retried once, success
  circuit breaker  sustained 503s open the circuit (calls refused locally), recovery closes it
  rate limit       a burst of 10 requests under a tighter client limit: delayed, never refused
  retry-after 429  a forced 429 with Retry-After: waited out, then success
A summary table follows (step, venue, ok or FAIL, detail); then the testnet stops and the
temporary directory is removed. Nothing is read from or written to your own vault.

--faults SPEC applies testnet faults for the whole run, with the syntax of
`keyward testnet serve --faults` (comma-separated key=value: clock_offset_ms, fail_5xx,
error_rate, latency_ms, drop_ws, force_429, retry_after_s, seed, venue=NAME): watch the stack
under them; steps they break are marked FAIL.

--keep leaves the testnet running and the vault in place, prints their URLs and paths with
commands to try, and waits for Ctrl-C (the vault's directory is then kept: remove it yourself).

Exit codes: 0 every step ok, 1 a step failed (the summary marks it FAIL; one sentence on stderr)
or the run could not start (a bad --faults SPEC included), 2 usage error.

Examples:
  keyward quickstart
  keyward quickstart --faults latency_ms=20,error_rate=0.05,seed=7
  keyward quickstart --faults fail_5xx=1000000,venue=okx
  keyward quickstart --keep
  keyward quickstart --format json";

/// Arguments of `keyward quickstart`.
#[derive(Debug, Args)]
pub struct QuickstartArgs {
    /// Testnet faults for the whole run, as comma-separated key=value (as `testnet serve`).
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<String>,
    /// Keep the testnet and the vault after the tour, until Ctrl-C.
    #[arg(long)]
    pub keep: bool,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

const DOCTOR_HELP: &str = "\
Checks:
  permissions     .env, key (*.key, *.pem, id_*), token (*.token) and vault files that group or
                  others can access (fix: chmod 600)
  gitignore       .gitignore must ignore .env*, *.key, *.token, and vault.db* when the project
                  holds a vault or --vault/KEYWARD_HOME puts one inside it
  tracked-file    secret files that git tracks
  unignored-file  secret files that git does not ignore (`git add .` would commit them)
  tracked-secret  plaintext secrets in files git tracks (every file without git): private-key
                  blocks, AWS/GitHub/Slack tokens, keyward master keys, and high-entropy values
                  assigned to names such as *_SECRET, *_API_KEY, *TOKEN, *PASSWORD
  untracked-secret  the same in untracked files that git does not ignore
  environment     info: KEYWARD_MASTER_KEY is exported in doctor's environment
  vault           the local vault and its key file must be 0600 and readable
  rotation        credentials in the local vault due for rotation (older than 90 days)
  plain-key       medium: a private key block in any project file, ignored by git or not (a
                  private key belongs in a secret store: `keyward key generate --type ...`)
  weak-key        high: an RSA key shorter than 2048 bits, in a project file or the vault
  hmac-key        low: a vault credential holding an HMAC secret for a venue (its venue field)
                  that takes Ed25519 keys (Binance's session.logon takes nothing else)
  rsa-advisory    info: RSA keys were found; keyward's rsa crate carries RUSTSEC-2023-0071
                  (a timing side channel with no fixed release): prefer Ed25519
  shared-credential  medium: the same credential value in the .env files of two environments
                  (.env, .env.NAME; compared by a keyed hash made for this run, never shown)
  integrity       a file recorded in .keyward/integrity.json that changed (medium), disappeared
                  (medium), or was replaced by a symbolic link or a non-file (high) since its
                  digest was recorded; an unreadable record is high
  clock-skew      with --clock-skew only: this machine's clock against a venue's public time
                  endpoint (its production API for a venue name, or a base URL with --venue):
                  info within 1 s, medium above 1 s, high above 5 s (venues refuse signed
                  requests off by more than their window); an unreachable venue is a low finding
  redis           when a fleet's Redis is configured (--redis URL, else KEYWARD_REDIS_URL with
                  KEYWARD_REDIS_CA_FILE): unreachable (no PONG within the timeout) or a refused
                  configuration (plain redis:// off loopback, #insecure) is high; a server off
                  loopback that answers a client without credentials (no NOAUTH) is high; a
                  maxmemory-policy other than noeviction is high (an evicted replay entry lets a
                  replay through); TLS or loopback and NOAUTH are info
Digests are recorded by --record-integrity (the SHA-256 of every .env file in the project and
of every file the record already holds, written to DIR/.keyward/integrity.json, mode 0600,
atomically) or by a process through keyward::secrets::integrity::IntegrityWatch::persist; run
it again after a change you made. Keep .keyward/ out of git.
Findings name the file and line, never the secret. Each comes with the command that fixes it.
The directory is untrusted: doctor reads the git index and .gitignore files itself and runs no
program (no git, so no hook, fsmonitor, filter or other program a repository's config names).

Exit codes: the worst finding's: 0 none (or info only), 3 low, 4 medium, 5 high, 6 critical;
1 failure, 2 usage error.

Examples:
  keyward doctor
  keyward doctor ~/bots/grid --format json
  keyward doctor . --vault ~/.local/share/keyward/vault.db
  keyward doctor --record-integrity
  keyward doctor --clock-skew binance
  keyward doctor --clock-skew http://127.0.0.1:41001 --venue binance
  KEYWARD_REDIS_URL=rediss://fleet:PASSWORD@redis.internal:6380 keyward doctor
  keyward doctor --store aws --store file:secrets.fernet --key-file master.key --rotation-days 30

Revoked credentials not yet replaced (`keyward secret revoke`) are high findings, credentials
older than --rotation-days medium ones, for the local vault and each --store.";

/// Arguments of `keyward doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The project directory (default: the current directory).
    pub dir: Option<PathBuf>,
    /// The local vault to check (default: vault.db in $KEYWARD_HOME or the platform data
    /// directory, when it exists).
    #[arg(long)]
    pub vault: Option<PathBuf>,
    /// Also measure this machine's clock against a venue's time endpoint: a venue name (its
    /// production API; needs the network) or a base URL (with --venue).
    #[arg(long, value_name = "VENUE_OR_URL")]
    pub clock_skew: Option<String>,
    /// Record the digests of the project's .env files (and of the files already recorded) in
    /// DIR/.keyward/integrity.json before checking.
    #[arg(long)]
    pub record_integrity: bool,
    /// The venue whose time endpoint the --clock-skew URL serves.
    #[arg(long, value_name = "NAME", requires = "clock_skew")]
    pub venue: Option<String>,
    /// Also check this store for revoked credentials not yet replaced and credentials due for
    /// rotation (repeatable): sqlite:PATH, aws, file:PATH (its key ring from --key-file or
    /// KEYWARD_MASTER_KEY), env or dotenv:PATH (which keep neither).
    #[arg(long = "store", value_name = "URL")]
    pub stores: Vec<String>,
    /// The key ring of file: stores.
    #[command(flatten)]
    pub ring: RingArgs,
    /// A credential is due for rotation once its current value is older than this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub rotation_days: u32,
    /// Also check the fleet's Redis at this URL (without a password; one with a password goes
    /// in KEYWARD_REDIS_URL, which is checked when this is not given): reachable, TLS or
    /// loopback, credentials required off loopback, maxmemory-policy noeviction.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

const TESTNET_HELP: &str = "\
Serves every venue preset (binance, bybit, okx, coinbase-exchange, coinbase-advanced, kraken,
bitmex, deribit, bitmart), each on its own port, the service schemes under
/svc/<scheme>/ on one more port, and an admin port for faults (POST {admin}/faults with a JSON
object of the --faults fields and Content-Type: application/json; DELETE clears them). The first line on standard output is one JSON
object mapping each venue, scheme and \"admin\" to its base URL (and, with --metrics, \"metrics\"
to the URL of the Prometheus endpoint). Runs until interrupted.

--credentials FILE is JSON {\"credentials\":[{\"venue\":NAME,\"api_key\":..,\"secret\":..,
\"passphrase\":..}]} and must have mode 0600. An entry may give \"public_key\" (a PEM public key)
in place of \"secret\" for a venue that accepts asymmetric keys (binance: Ed25519, RSA; bybit: RSA;
coinbase-advanced: ECDSA P-256, Ed25519); a venue may have several entries, each with its own
api_key. The testnet holds public keys only.
Without --credentials, fresh credentials are generated and stored in the default vault (created if
missing; its path is printed on stderr) as testnet/<venue>, with fields api_key, secret and
passphrase (where the venue has them), and one key pair per venue and accepted kind as
testnet/<venue>-<kind> (binance-ed25519, binance-rsa, bybit-rsa, coinbase-advanced-ed25519,
coinbase-advanced-p256), with fields api_key and secret (the private key, PKCS#8 PEM); the names
are listed on stderr.

--faults SPEC is comma-separated key=value: clock_offset_ms, fail_5xx, error_rate, latency_ms,
drop_ws, force_429, retry_after_s, seed, each optionally scoped with venue=NAME.

--shared-state URL makes this process one replica of a venue: every testnet started with the same
Redis, --shared-state-prefix and --credentials counts one rate-limit account per venue (a 429
once the replicas together exceed the quota) and serves one Upstox account (a token from a
login on one replica is accepted by all). A replica whose Redis does not answer (500 ms) answers
503 rather than serve a request uncounted. `--shared-state env` reads the URL from
KEYWARD_REDIS_URL (and a private CA from KEYWARD_REDIS_CA_FILE); a URL with a password is
refused on the command line, where anyone on the machine can read it.

Examples:
  keyward testnet serve
  keyward testnet serve --credentials testnet-creds.json --faults fail_5xx=2,venue=binance
  keyward testnet serve --credentials testnet-creds.json --shared-state redis://127.0.0.1:6379
  keyward testnet serve --metrics 127.0.0.1:9464
  keyward secret get testnet/binance --reveal --field secret
  keyward secret get testnet/binance-ed25519 --reveal --field secret";

/// `keyward testnet ...`
#[derive(Debug, Subcommand)]
pub enum TestnetCommand {
    /// Serve the testnet on 127.0.0.1 until interrupted.
    #[command(after_help = TESTNET_HELP)]
    Serve(TestnetServeArgs),
}

/// `keyward testnet serve`
#[derive(Debug, Args)]
pub struct TestnetServeArgs {
    /// The host to bind: a loopback address only.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// A JSON credentials file (mode 0600); without it, fresh credentials go to the vault.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// Faults from the start, as comma-separated key=value.
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<String>,
    /// Act as one replica of a venue whose rate-limit account and broker sessions live in this
    /// Redis (redis://... on loopback or rediss://...; `env` reads KEYWARD_REDIS_URL, where a
    /// URL with a password belongs). Needs --credentials: every replica takes the same.
    #[arg(long, value_name = "URL", requires = "credentials")]
    pub shared_state: Option<String>,
    /// The key prefix of the replicas' shared state: one name per group of replicas.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "keyward-testnet",
        requires = "shared_state"
    )]
    pub shared_state_prefix: String,
    /// Serve counters in the Prometheus text format at http://ADDR/metrics (a loopback
    /// address; port 0 picks one, named by the "metrics" key of the first line).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
}

const VAULT_HELP: &str = "\
PATH defaults to vault.db in $KEYWARD_HOME, else in the platform data directory (for example
~/.local/share/keyward/vault.db). The master key lives beside it in PATH.key (mode 0600).

Examples:
  keyward vault init
  keyward vault rotate-key
  keyward vault audit --format json";

/// `keyward vault ...`
#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Create a vault and its master key file (both mode 0600).
    #[command(
        after_help = "A directory it creates gets mode 0700, never under one that group or others can write\n(unless its sticky bit is set, as on /tmp); an existing vault directory that group or\nothers can write is refused.\n\nExamples:\n  keyward vault init\n  keyward vault init ./bot/vault.db"
    )]
    Init(VaultPath),
    /// Re-encrypt every row under a new master key (all or nothing), then replace the key file.
    #[command(
        after_help = "A progress bar shows on a terminal. Interrupted, the vault stays readable with\nthe old key or the new one, never half of each. A process that opened the vault before\nthe rotation reads the new key from the key file at its next write; nothing is sealed\nunder the old key after the rotation. A failed rotation leaves no PATH.key.next behind.\n\nExample:\n  keyward vault rotate-key ./bot/vault.db"
    )]
    RotateKey(VaultPath),
    /// Print the audit trail (operations, names, times, processes; never a value).
    #[command(
        after_help = "Examples:\n  keyward vault audit\n  keyward vault audit ./bot/vault.db --format json"
    )]
    Audit(VaultAuditArgs),
}

/// A vault path.
#[derive(Debug, Args)]
pub struct VaultPath {
    /// The vault's database file.
    pub path: Option<PathBuf>,
}

/// `keyward vault audit`
#[derive(Debug, Args)]
pub struct VaultAuditArgs {
    /// The vault's database file.
    pub path: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

const SECRET_HELP: &str = "\
Stores (--store URL): sqlite:PATH (an encrypted SQLite vault, its master key in PATH.key; the
default is the default vault, see `keyward vault --help`), aws (AWS Secrets Manager; region,
credentials and endpoint from the standard AWS settings, AWS_ENDPOINT_URL included), env (KEYWARD_<NAME>_<FIELD> variables,
read-only), dotenv:PATH (a .env file with mode 0600, or a directory's .env, read-only; `dotenv`
alone is ./.env), file:PATH (a Fernet-encrypted
file; its key ring comes from --key-file or KEYWARD_MASTER_KEY). Values are read from standard input or a no-echo prompt, never from an
argument; get prints metadata unless --reveal is given.

Environments: --environment NAME (or KEYWARD_ENV=NAME; the option wins) makes the dotenv store read
.env.NAME in the directory given (or beside the .env file given). NAME is letters, digits, '-'
and '_', at most 64 bytes; a missing .env.NAME is an error, never a fallback to .env. A
KEYWARD_* process variable wins over the file's value, except in a production environment
(prod or production, any case; a file named .env.prod or .env.production too): there a process
variable that differs from the file's value is refused, naming the variable (never a value).

Examples:
  keyward secret put binance-testnet --store file:secrets.fernet --key-file master.key \\
      --field api_key --field api_secret
  keyward secret get binance-testnet --store file:secrets.fernet --key-file master.key
  keyward secret get binance-testnet --store env --reveal --field api_secret
  keyward --environment staging secret get binance-testnet --store dotenv:./bot";

/// `keyward secret ...`
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a new version of a secret, read from standard input or a no-echo prompt.
    #[command(
        after_help = "With --field, standard input holds one FIELD=VALUE line per --field, in any order (a\nvalue may contain '='); without it, standard input is the value, as bytes. More than 16 MiB\nis refused and nothing is stored. At a terminal, each --field is asked for without echo.\n\nExamples:\n  keyward secret put binance-testnet --field api_key --field secret\n  printf 'api_key=%s\\nsecret=%s\\n' \"$KEY\" \"$SECRET\" |\n    keyward secret put binance-testnet --field api_key --field secret"
    )]
    Put(SecretPutArgs),
    /// Show a secret's metadata, or its value with --reveal.
    #[command(
        after_help = "Examples:\n  keyward secret get binance-testnet\n  keyward secret get binance-testnet --reveal --field api_key --format json"
    )]
    Get(SecretGetArgs),
    /// List the secrets in a store.
    #[command(
        after_help = "Examples:\n  keyward secret list\n  keyward secret list --store aws --format json"
    )]
    List(StoreArgs),
    /// Delete a secret and all its versions.
    #[command(after_help = "Example:\n  keyward secret rm binance-testnet")]
    Rm(SecretNameArgs),
    /// List a secret's versions.
    #[command(
        after_help = "Examples:\n  keyward secret versions binance-testnet\n  keyward secret versions binance-testnet --format json"
    )]
    Versions(SecretNameArgs),
    /// Mark a secret's current value compromised: clients refuse it until a new value replaces it.
    #[command(after_help = SECRET_REVOKE_HELP)]
    Revoke(SecretRevokeArgs),
}

const SECRET_REVOKE_HELP: &str = "\
The store records the revocation beside the secret (the vault in its secrets table, an encrypted
file in its document, AWS Secrets Manager as tags on the secret: keyward-revoked-version,
keyward-revoked-at, keyward-revoked-reason): the version that was current, the time and the
reason. From then on every read of that version fails with a revocation error (keyward clients
refuse it at their next read of the store), `keyward doctor` lists it, and storing a new value
(`keyward secret put NAME`, or promoting another version) replaces it and clears the mark.
Revoking a revoked secret again keeps the first revocation. The env and dotenv stores cannot be
written and answer that revocation is unsupported. The reason is at most 180 bytes, without
control characters; it is shown in errors and by doctor, so never put a secret in it.

With --audit-log FILE, the revocation (like every secret command's operation) is appended to that
tamper-evident audit log, whose MAC key is kept in the same store as --audit-key (default
audit/mac).

Examples:
  keyward secret revoke binance-main --reason 'key seen in a CI log'
  keyward secret revoke prod/bybit --store aws
  printf 'api_key=%s\\nsecret=%s\\n' \"$KEY\" \"$SECRET\" | keyward secret put binance-main --field api_key --field secret";

/// `keyward secret revoke`
#[derive(Debug, Args)]
pub struct SecretRevokeArgs {
    /// The secret's name and store.
    #[command(flatten)]
    pub target: SecretNameArgs,
    /// Why it is revoked (shown by doctor and in the error clients get; never a secret).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

/// An audit log the secret commands append to.
#[derive(Debug, Args)]
pub struct AuditLogArgs {
    /// Append this command's operation (read, write, revocation ...) to this tamper-evident
    /// audit log (created with mode 0600 if missing).
    #[arg(long, value_name = "FILE", env = "KEYWARD_AUDIT_LOG")]
    pub audit_log: Option<PathBuf>,
    /// The audit log's MAC key name, kept in the same store (generated there if missing).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "audit/mac",
        requires = "audit_log"
    )]
    pub audit_key: String,
}

/// Which store, and its key ring if it needs one.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The store: sqlite:PATH, aws, env, dotenv[:PATH] or file:PATH (default: the default vault).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// The key ring (file stores).
    #[command(flatten)]
    pub ring: RingArgs,
    /// Output format for data.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// A secret's name and its store.
#[derive(Debug, Args)]
pub struct SecretNameArgs {
    /// The secret's name.
    pub name: String,
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The audit log, if any.
    #[command(flatten)]
    pub audit: AuditLogArgs,
}

/// `keyward secret put`
#[derive(Debug, Args)]
pub struct SecretPutArgs {
    /// The secret's name and store.
    #[command(flatten)]
    pub target: SecretNameArgs,
    /// Store a JSON field of this name (repeatable; one NAME=VALUE line of standard input, or
    /// one prompt, per field). Without it, standard input is stored as bytes.
    #[arg(long = "field", value_name = "NAME")]
    pub fields: Vec<String>,
}

/// `keyward secret get`
#[derive(Debug, Args)]
pub struct SecretGetArgs {
    /// The secret's name and store.
    #[command(flatten)]
    pub target: SecretNameArgs,
    /// Print the value instead of the metadata.
    #[arg(long)]
    pub reveal: bool,
    /// With --reveal, print only this field.
    #[arg(long, value_name = "NAME", requires = "reveal")]
    pub field: Option<String>,
    /// A version id instead of the current version.
    #[arg(long, value_name = "ID", conflicts_with = "stage")]
    pub version: Option<String>,
    /// A stage (current, previous, pending) instead of the current version.
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
}

/// How data is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines for people.
    Text,
    /// JSON for programs.
    Json,
}

const SIGN_HELP: &str = "\
Venues: binance, binance-ws, bybit, bybit-ws, okx, okx-ws, coinbase-exchange, coinbase-exchange-ws,
coinbase-advanced, kraken, bitmex, bitmex-ws, deribit, deribit-ws, bitmart-ws, hmac-newline-v0,
hmac-concat, hmac-concat-ws, keyward-v1.

REST names print {\"method\", \"url\" (path?query as sent), \"headers\", \"body\"}; -ws names take
--params JSON and print the signed parameters (binance-ws) or the auth message. --timestamp is
always milliseconds; each venue converts it to its own unit. The secret is read from the
environment variable named by --secret-env, never from an argument.

The secret's text decides the algorithm: a PEM private key (PKCS#8 Ed25519, P-256 or RSA, SEC1
EC PRIVATE KEY, PKCS#1 RSA PRIVATE KEY; literal \\n accepted) or Coinbase's base64 Ed25519
form signs with that key, anything else is an HMAC secret. binance and binance-ws take HMAC,
Ed25519 or RSA keys (binance-ws --method session.logon: Ed25519 only; any other key is refused
and nothing is printed); bybit and bybit-ws HMAC or RSA; coinbase-advanced a CDP key (P-256 or
Ed25519: the Authorization header carries a fresh JWT whose uri names the --origin host, default
https://api.coinbase.com) or a legacy HMAC secret; the others HMAC only.

Examples:
  BINANCE_SECRET=... keyward sign --venue binance --api-key KEY --secret-env BINANCE_SECRET \\
      --method POST --path /api/v3/order --query 'symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1'
  OKX_SECRET=... OKX_PASS=... keyward sign --venue okx-ws --api-key KEY --secret-env OKX_SECRET \\
      --passphrase-env OKX_PASS
  BINANCE_KEY=\"$(keyward secret get binance-main --reveal --field secret)\" keyward sign \\
      --venue binance-ws --api-key KEY --secret-env BINANCE_KEY --method session.logon
  CDP_KEY=... keyward sign --venue coinbase-advanced --api-key organizations/ORG/apiKeys/ID \\
      --secret-env CDP_KEY --method GET --path /api/v3/brokerage/accounts";

/// `keyward key ...`
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print a new Fernet master key (or write it to a 0600 file); with --type, make an
    /// Ed25519, RSA or P-256 key pair for a venue and print only its public key.
    #[command(after_help = KEY_GENERATE_HELP)]
    Generate(KeyGenerateArgs),
    /// Print the public key (SPKI PEM) of a private key kept in a secret store, to register
    /// with the venue.
    #[command(after_help = KEY_PUBLIC_HELP)]
    Public(KeyPublicArgs),
    /// Record the API key a venue assigned to a stored key pair (a new version of the
    /// credential, its other fields kept).
    #[command(
        name = "set-api-key",
        after_help = "Example:\n  keyward key set-api-key --name binance-main --api-key KEY"
    )]
    SetApiKey(KeySetApiKeyArgs),
    /// Print the non-secret ids of the key ring's keys, primary first.
    #[command(
        after_help = "Examples:\n  keyward key id --key-file master.key\n  keyward key id --key-file new.key --key-file old.key --format json"
    )]
    Id(KeyIdArgs),
}

const KEY_GENERATE_HELP: &str = "\
Without --type: a Fernet master key, printed or written to --out FILE (mode 0600).

With --type ed25519|rsa|p256: a key pair for a venue's API. The private key (PKCS#8 PEM) is
stored in the secret store as the credential NAME, with the fields the exchange client reads
(api_key, secret; venue with --venue), or written to --out FILE (mode 0600, atomically) when
asked; only the public key (SPKI PEM) is printed, to register with the venue. The venue assigns
an API key once the public key is registered: give it with --api-key, or store it later with
`keyward key set-api-key`. An existing credential or file is kept unless --force (a store
keeps the old key as the previous version).

Which venue takes which key: binance Ed25519 (preferred; the only key its WebSocket API's
session.logon takes), RSA or HMAC; bybit RSA or HMAC; coinbase-advanced CDP keys, P-256
(ES256) or Ed25519. RSA keys are 2048-bit; the rsa crate behind them carries the unfixed
timing advisory RUSTSEC-2023-0071: prefer Ed25519 wherever the venue takes it.

Examples:
  keyward key generate --out master.key
  keyward key generate --type ed25519 --name binance-main --venue binance
  keyward key generate --type rsa --store sqlite:./bot/vault.db --name bybit-main --api-key KEY
  keyward key generate --type p256 --out cdp-key.pem";

const KEY_PUBLIC_HELP: &str = "\
Reads the credential NAME from the store (field secret, or the whole value) and prints the
public half of its private key as an SPKI PEM (--format json: {\"name\", \"kind\",
\"public_key\"}). The private key is never printed; an HMAC secret has no public key and is
refused.

Examples:
  keyward key public --name binance-main
  keyward key public --store sqlite:./bot/vault.db --name bybit-main --format json";

/// The kinds of key pair `keyward key generate --type` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyTypeArg {
    /// Ed25519 (Binance, Coinbase Advanced): preferred.
    Ed25519,
    /// RSA, 2048-bit (Binance, Bybit); see RUSTSEC-2023-0071.
    Rsa,
    /// ECDSA P-256 (Coinbase Advanced CDP keys, ES256).
    P256,
}

/// `keyward key generate`
#[derive(Debug, Args)]
pub struct KeyGenerateArgs {
    /// Make a key pair of this type instead of a Fernet master key.
    #[arg(long = "type", value_enum, value_name = "TYPE", requires = "target")]
    pub key_type: Option<KeyTypeArg>,
    /// Write the key to this file (mode 0600, atomically) instead of printing it (Fernet) or
    /// storing it (--type).
    #[arg(long, value_name = "FILE", group = "target")]
    pub out: Option<PathBuf>,
    /// Store the private key under this name (with --type).
    #[arg(long, value_name = "NAME", group = "target", requires = "key_type")]
    pub name: Option<String>,
    /// The API key the venue assigned to this key pair (stored as the credential's api_key).
    #[arg(long, value_name = "KEY", requires = "name")]
    pub api_key: Option<String>,
    /// The venue the key is for (stored as the credential's venue; the key type is checked
    /// against what the venue accepts).
    #[arg(long, value_name = "NAME", requires = "key_type")]
    pub venue: Option<String>,
    /// Replace FILE, or store a new version over an existing credential NAME.
    #[arg(long, requires = "target")]
    pub force: bool,
    /// The store (with --name) and its key ring; --format json prints {"kind", "public_key"}.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `keyward key set-api-key`
#[derive(Debug, Args)]
pub struct KeySetApiKeyArgs {
    /// The credential's name in the store.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// The API key the venue assigned (a public identifier).
    #[arg(long, value_name = "KEY")]
    pub api_key: String,
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `keyward key public`
#[derive(Debug, Args)]
pub struct KeyPublicArgs {
    /// The credential's name in the store.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `keyward nonce ...`
#[derive(Debug, Subcommand)]
pub enum NonceCommand {
    /// Print the next nonces, one per line, from a state file (created with mode 0600) or from
    /// the sequence a fleet shares in Redis.
    #[command(after_help = NONCE_NEXT_HELP)]
    Next(NonceNextArgs),
}

const NONCE_NEXT_HELP: &str = "\
Nonces strictly increase for each run and are never issued twice by any run on this machine
that uses the same state file, even after a crash: each run leases a block of --block nonces
and saves the block's end in FILE (locked through FILE.lock) before printing any of them. With
a block above 1, runs that overlap interleave their nonces; a venue that refuses a nonce lower
than the last one it saw for a key (Kraken) then needs one key per process, or --block 1,
which saves every nonce before printing it (a global order, one fsync per nonce). A corrupt
FILE is an error, never reset. Each line is flushed as it is printed.

With --store redis://... (or rediss:// for TLS) and --key NAME, the nonces come from the one
sequence every process of the fleet shares for that key: each run leases --block nonces from
the counter <prefix>:{nonce:<hash of NAME>}:next. --state FILE is then optional: given, it is
the local floor (the lease starts above FILE's mark, and its end is saved in FILE before any
nonce is printed), so a Redis restarted empty never makes this machine's nonces go back.
Without FILE the floor is the clock. Redis out of reach, or a counter holding something else,
is an error, and nothing is printed for it. The fleet's connection rules apply: plain redis://
only to loopback, rediss:// always verified (KEYWARD_REDIS_CA_FILE adds a CA of your own). A
URL with a password is refused on the command line (anyone on the machine can read it): put it
in KEYWARD_REDIS_URL and give --store env.

Examples:
  keyward nonce next --state ~/.keyward/kraken.nonce
  keyward nonce next --state kraken.nonce --count 3 --unit us --block 1
  keyward nonce next --store redis://127.0.0.1:6379 --key kraken-main --state kraken.nonce";

/// `keyward key id`
#[derive(Debug, Args)]
pub struct KeyIdArgs {
    /// The key ring.
    #[command(flatten)]
    pub ring: RingArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `keyward nonce next`
#[derive(Debug, Args)]
pub struct NonceNextArgs {
    /// Output format: text prints and flushes one nonce per line as it is issued; json streams
    /// one object, `{"nonces":[...]}`, each nonce flushed as it is issued.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The state file holding the high-water mark (with --store: the local floor, optional).
    #[arg(long, value_name = "FILE", required_unless_present = "store")]
    pub state: Option<PathBuf>,
    /// Draw from the sequence a fleet shares in Redis at this redis:// or rediss:// URL, or
    /// `env` for the URL in KEYWARD_REDIS_URL.
    #[arg(long, value_name = "URL", requires = "key")]
    pub store: Option<String>,
    /// With --store: the API key's name (its credential name); it is hashed into the counter's
    /// key, never stored in Redis.
    #[arg(long, value_name = "NAME", requires = "store")]
    pub key: Option<String>,
    /// With --store: the fleet's key prefix in Redis.
    #[arg(
        long,
        value_name = "PREFIX",
        default_value = "keyward",
        requires = "store"
    )]
    pub prefix: String,
    /// How many nonces to print.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,
    /// The unit of the time a new sequence starts from.
    #[arg(long, value_enum, default_value_t = NonceUnitArg::Ms)]
    pub unit: NonceUnitArg,
    /// How many nonces to lease (and save) at a time, from the state file or from Redis.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub block: u64,
}

/// `--unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NonceUnitArg {
    /// Milliseconds since the Unix epoch.
    Ms,
    /// Microseconds since the Unix epoch.
    Us,
}

/// Where the key ring comes from.
#[derive(Debug, Args)]
pub struct RingArgs {
    /// A key file (mode 0600); repeat for a ring, the first is the primary.
    /// Without it, keys come from KEYWARD_MASTER_KEY.
    #[arg(long = "key-file", value_name = "FILE")]
    pub key_files: Vec<PathBuf>,
}

/// `keyward sign`
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The venue or scheme (see the list below).
    #[arg(long, value_name = "NAME")]
    pub venue: String,
    /// The API key (a public identifier).
    #[arg(long, value_name = "KEY")]
    pub api_key: String,
    /// The environment variable holding the secret: an HMAC secret, or a private key (PEM,
    /// or Coinbase's base64 Ed25519 form) whose type picks the algorithm.
    #[arg(long, value_name = "VAR")]
    pub secret_env: String,
    /// The environment variable holding the passphrase (OKX, Coinbase Exchange; BitMart's memo).
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// The HTTP method (REST names); binance-ws: the WebSocket API method the parameters are
    /// signed for (session.logon takes Ed25519 keys only).
    #[arg(long, value_name = "M")]
    pub method: Option<String>,
    /// The path, as sent (REST names).
    #[arg(long, value_name = "P")]
    pub path: Option<String>,
    /// The query string without '?', exactly as sent.
    #[arg(long, value_name = "Q", default_value = "")]
    pub query: String,
    /// The body, exactly as sent.
    #[arg(long, value_name = "B", default_value = "")]
    pub body: String,
    /// A header to send, as NAME:VALUE (repeatable).
    #[arg(long = "header", value_name = "NAME:VALUE")]
    pub headers: Vec<String>,
    /// A header the signature covers (hmac-newline-v0, keyward-v1; repeatable).
    #[arg(long = "signed-header", value_name = "NAME")]
    pub signed_headers: Vec<String>,
    /// The timestamp in milliseconds since the Unix epoch (default: now).
    #[arg(long, value_name = "MS")]
    pub timestamp: Option<u64>,
    /// The nonce (Kraken, Deribit, keyward-v1; default: fresh).
    #[arg(long, value_name = "N")]
    pub nonce: Option<String>,
    /// The expiry in seconds since the Unix epoch (BitMEX, Bybit WS, keyward-v1).
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub expires: Option<u64>,
    /// The receive window in milliseconds (Binance: sent only when given; Bybit: default 5000).
    #[arg(long, value_name = "MS")]
    pub recv_window: Option<u64>,
    /// The request or auth parameters as a JSON object (-ws names).
    #[arg(long, value_name = "JSON")]
    pub params: Option<String>,
    /// Deribit client_signature data part (deribit-ws).
    #[arg(long, value_name = "DATA")]
    pub data: Option<String>,
    /// hmac-newline-v0: sign the absolute URL ORIGIN + path?query; coinbase-advanced with a
    /// CDP key: the origin whose host the JWT's uri names (default https://api.coinbase.com).
    #[arg(long, value_name = "ORIGIN")]
    pub origin: Option<String>,
}

/// `keyward decrypt`
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// The key ring.
    #[command(flatten)]
    pub ring: RingArgs,
    /// Where the output goes.
    #[command(flatten)]
    pub out: OutArgs,
    /// Refuse tokens older than this many seconds (and more than 60 s in the future).
    #[arg(long, value_name = "SECONDS")]
    pub ttl: Option<u64>,
}

/// `keyward encrypt`
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// The key ring.
    #[command(flatten)]
    pub ring: RingArgs,
    /// Where the output goes.
    #[command(flatten)]
    pub out: OutArgs,
}

/// A file to write instead of standard output.
#[derive(Debug, Args)]
pub struct OutArgs {
    /// Write to this file (mode 0600, written atomically) instead of standard output; a shell
    /// redirection would create it with the umask (often 0644).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Replace the --out file if it exists.
    #[arg(long, requires = "out")]
    pub force: bool,
}

const COMPLETIONS_HELP: &str = "\
The script is generated from this command line's own definition, so it completes every
subcommand and option of this version. Load it once per shell, or install it where the shell
looks for completions.

Examples:
  source <(keyward completions bash)
  keyward completions bash > ~/.local/share/bash-completion/completions/keyward
  keyward completions zsh > ~/.zfunc/_keyward     # with fpath+=(~/.zfunc) before compinit
  keyward completions fish > ~/.config/fish/completions/keyward.fish";

/// `keyward completions`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// The shells `keyward completions` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    /// GNU bash (a `complete -F` function).
    Bash,
    /// zsh (a `#compdef` function for compinit).
    Zsh,
    /// fish (`complete -c keyward` lines).
    Fish,
}

const MAN_HELP: &str = "\
Without --out, keyward.1 (roff) is printed on standard output. With --out DIR, the directory
(created when missing) receives keyward.1 and one page per subcommand, named after its path:
keyward-secret.1, keyward-secret-put.1, ...; an existing page of the same name is replaced.

Examples:
  keyward man | man -l -
  keyward man --out ~/.local/share/man/man1 && mandb --user-db";

/// `keyward man`
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write keyward.1 and a page per subcommand into this directory instead of printing
    /// keyward.1.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}

const PROXY_HELP: &str = "\
Listens on 127.0.0.1 (or a Unix socket, mode 0600) and sends each request it gets on to the
venue at --base-url, at the same path, signed with the credentials stored under --name (fields
api_key, secret and, for OKX, passphrase: as `keyward testnet serve` stores them). The bot sends
plain requests and never holds the key. The first line on standard output is
{\"url\": \"http://127.0.0.1:PORT\"} (or {\"url\": \"unix:PATH\"}; with --metrics, also
\"metrics\": the /metrics URL); it serves until interrupted.

Every request gets what keyward's own client does: clock sync and one resync on a timestamp
refusal, the venue's rate limits (waits up to --max-wait), retries by request class, a circuit
breaker, nonces in order (Kraken) and TLS always verified; plain http only to loopback. The
answer is the venue's own status and body. The proxy's own refusals are JSON
{\"keyward_error\": {\"kind\", \"message\"}} with the header X-Keyward-Refusal:
rate_limit_wait 429, circuit_open 503, unknown_outcome 502, venue_timeout 504,
venue_unreachable 502, bad_request 400, carries_credentials 400, unauthorized 401,
cross_origin 403 (a web page's Origin, or a Host that is not loopback),
body_too_large 413, busy 503, credentials_unavailable 503, not_served 501, ws_not_served 501,
ws_auth_rejected 502.

Without --resign a request that carries the venue's signature or API key is refused; with it,
they are stripped and the request is signed again, so ccxt or a venue's SDK works through the
proxy with placeholder keys. --access-token NAME#FIELD requires
Proxy-Authorization: Bearer <that secret's value> on every request. Venues: binance, bybit,
okx, kraken.

WebSocket (--ws-base-url): a WebSocket opened to the proxy at a path (ws://127.0.0.1:PORT/v5/private)
is passed through to the venue at that path below --ws-base-url, after the proxy sent the venue's
auth message and got it accepted (Bybit, OKX; Binance's listenKey and Kraken's token come from
REST, through the proxy). A bot's own auth message is refused (close 1008) or, with --resign,
answered by the proxy. When the venue's connection is lost, the bot's is closed with 1012.

Fleet (--shared-state): every proxy given the same Redis, prefix and key draws from one rate-limit
budget per scope the venue counts in (per key, per IP by --egress), and Kraken's nonces from one
sequence, so proxies on several machines never exceed the venue's limits together.

Examples:
  keyward proxy --venue binance --base-url https://testnet.binance.vision --name binance-testnet
  keyward proxy --venue kraken --base-url https://api.kraken.com --name kraken --unix ~/.keyward/kraken.sock
  keyward proxy --venue okx --base-url https://www.okx.com --name okx --resign --listen 127.0.0.1:8801
  keyward proxy --venue bybit --base-url https://api.bybit.com --name bybit --ws-base-url wss://stream.bybit.com
  keyward proxy --venue kraken --base-url https://api.kraken.com --name kraken --shared-state redis://127.0.0.1:6379";

/// `keyward proxy`
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// The venue: binance, bybit, okx or kraken.
    #[arg(long, value_name = "NAME")]
    pub venue: String,
    /// The venue's REST base URL (https, or http on loopback only).
    #[arg(long, value_name = "URL")]
    pub base_url: String,
    /// The secret holding the credentials (fields api_key, secret, passphrase).
    #[arg(long, value_name = "SECRET")]
    pub name: String,
    /// Where the secrets are.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The loopback address to listen on (port 0: any free port).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:0",
        conflicts_with = "unix"
    )]
    pub listen: String,
    /// A Unix socket to listen on instead (created with mode 0600; must not exist).
    #[arg(long, value_name = "PATH")]
    pub unix: Option<PathBuf>,
    /// Strip a signature and key a client added with placeholder credentials, and sign again.
    #[arg(long)]
    pub resign: bool,
    /// Require Proxy-Authorization: Bearer <token>, the token being this secret (NAME#FIELD,
    /// or NAME for a secret without fields) in the same store.
    #[arg(long, value_name = "NAME#FIELD")]
    pub access_token: Option<String>,
    /// The longest wait for the venue's rate limit, in seconds; past it, 429 rate_limit_wait.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub max_wait: u64,
    /// Serve Prometheus metrics at http://ADDR/metrics (a loopback address; port 0: any free
    /// port), named as "metrics" in the first JSON line.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// The venue's WebSocket origin (wss://..., or ws:// on loopback): a WebSocket upgrade to
    /// the proxy at a path is passed through to that path below it, authenticated by the proxy
    /// (Bybit, OKX).
    #[arg(long, value_name = "URL")]
    pub ws_base_url: Option<String>,
    /// WebSocket streams passed through at once, each one connection to the venue; past it an
    /// upgrade is refused (503 busy).
    #[arg(long, value_name = "N", default_value_t = 16, requires = "ws_base_url")]
    pub max_ws_sessions: usize,
    /// Decide the rate limits (and Kraken's nonces) in a fleet's shared state on this Redis,
    /// with every other process given the same: redis://... or rediss://... without a
    /// password, or `env` (KEYWARD_REDIS_URL, where a URL with a password belongs).
    #[arg(long, value_name = "URL")]
    pub shared_state: Option<String>,
    /// The key prefix of the fleet's shared state: one name per fleet.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "keyward",
        requires = "shared_state"
    )]
    pub shared_state_prefix: String,
    /// With --shared-state, the name of the address this proxy sends from: every process
    /// behind one IP gives the same name, so the venue's per-IP limits count them together.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "default",
        requires = "shared_state"
    )]
    pub egress: String,
}

const RUN_HELP: &str = "\
Every value is read before COMMAND starts: a bad or duplicate VAR, a missing secret or field, or
a revoked secret is an error and COMMAND never runs. The child's environment is keyward's own
without keyward's variables (every KEYWARD_* but KEYWARD_HOME and KEYWARD_ENV: the master key,
a Redis URL with its password, the env store's secrets), plus the requested VARs.

Masking: each value (and each line of at least 4 bytes of a multi-line value) that COMMAND
writes on stdout or stderr is replaced by <concealed by keyward>, also when split across writes;
output is passed on as it comes (only a possible start of a value is held back). --no-masking
passes COMMAND's stdout and stderr through untouched.

stdin is COMMAND's. SIGINT, SIGTERM and SIGHUP are forwarded to COMMAND; keyward exits with its
exit code, or 128+N when a signal N killed it, after its output is passed on. With --audit-log,
each variable handed over is recorded as run/PROGRAM/VAR=NAME[+FIELD] (the program's file name,
never its arguments, never a value).

An env file (--env-file, repeatable) holds VAR=NAME#FIELD lines (or VAR=NAME), blank lines and
lines starting with #: names only, no values, so it is safe to commit. At most 64 KiB.

Examples:
  keyward run --env EXCHANGE_API_KEY=testnet/binance#api_key \\
      --env EXCHANGE_API_SECRET=testnet/binance#secret -- python bot.py
  keyward run --store aws --env-file bot.env -- ./bot --live
  keyward run --store sqlite:team.db --audit-log audit.log --env-file bot.env -- python bot.py";

/// `keyward run`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The store: sqlite:PATH, aws, env, dotenv[:PATH] or file:PATH (default: the default vault).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// The key ring (file stores).
    #[command(flatten)]
    pub ring: RingArgs,
    /// The audit log, if any.
    #[command(flatten)]
    pub audit: AuditLogArgs,
    /// Set VAR to a secret's field (VAR=NAME#FIELD), or to a secret stored as bytes (VAR=NAME).
    #[arg(long = "env", value_name = "VAR=NAME#FIELD")]
    pub env: Vec<String>,
    /// Read VAR=NAME#FIELD lines from FILE (repeatable).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Pass the command's stdout and stderr through untouched, values unmasked.
    #[arg(long)]
    pub no_masking: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}
