//! The proxy suite's harness: the testnet and a vault holding its credentials, `keyward proxy`
//! started as a user would, and Python bots whose environment and memory the tests inspect.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use keyward_testnet::{Testnet, TestnetConfig, VenueCredentials};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// The venues the proxy serves.
pub const VENUES: [&str; 4] = ["binance", "bybit", "okx", "kraken"];

/// A cap on any one wait for a child's line, against a hung child: not a measurement.
const LINE_LIMIT: Duration = Duration::from_secs(120);

/// One venue's credentials, as the vault holds them.
pub struct Creds {
    pub api_key: String,
    pub secret: String,
    pub passphrase: Option<String>,
}

impl Creds {
    /// (what, value) of each credential the bot must never hold.
    pub fn iter(&self) -> Vec<(&'static str, &String)> {
        let mut all = vec![("API key", &self.api_key), ("secret", &self.secret)];
        if let Some(p) = &self.passphrase {
            all.push(("passphrase", p));
        }
        all
    }
}

/// The testnet and a vault (in a private home) holding `bot/<venue>` for each venue.
pub struct Setup {
    pub testnet: Testnet,
    home: tempfile::TempDir,
}

fn secret_of(venue: &str) -> String {
    match venue {
        // Kraken's secrets are base64.
        "kraken" => "Y2FuYXJ5LWtyYWtlbi1zZWNyZXQtZm9yLXRoZS1wcm94eS10ZXN0cw==".to_owned(),
        _ => format!("canary-{venue}-secret-for-the-proxy-tests"),
    }
}

impl Setup {
    pub async fn new() -> Self {
        Self::with_config(|config| config).await
    }

    /// A setup whose testnet is configured by `configure` (credentials are added after it).
    pub async fn with_config(configure: impl FnOnce(TestnetConfig) -> TestnetConfig) -> Self {
        let creds = VENUES
            .iter()
            .map(|venue| {
                let c = VenueCredentials::new(
                    *venue,
                    format!("canary-{venue}-api-key-7f3a"),
                    &secret_of(venue),
                );
                if *venue == "okx" {
                    c.with_passphrase("canary-okx-passphrase")
                } else {
                    c
                }
            })
            .collect();
        let testnet = Testnet::start(configure(TestnetConfig::default()).with_credentials(creds))
            .await
            .unwrap();
        let home = tempfile::tempdir().unwrap();
        let setup = Self { testnet, home };
        let out = setup.keyward(&["vault", "init"]).await;
        assert!(out.status.success(), "{}", common_stderr(&out));
        for venue in VENUES {
            let c = setup.credentials(venue);
            let mut lines = format!("api_key={}\nsecret={}\n", c.api_key, c.secret);
            if let Some(p) = &c.passphrase {
                lines.push_str(&format!("passphrase={p}\n"));
            }
            setup.put_secret(&format!("bot/{venue}"), &lines).await;
        }
        setup
    }

    /// The credentials of `venue`.
    pub fn credentials(&self, venue: &str) -> Creds {
        Creds {
            api_key: format!("canary-{venue}-api-key-7f3a"),
            secret: secret_of(venue),
            passphrase: (venue == "okx").then(|| "canary-okx-passphrase".to_owned()),
        }
    }

    /// Stores `lines` (`field=value` per line) as the secret `name`.
    pub async fn put_secret(&self, name: &str, lines: &str) {
        let fields: Vec<String> = lines
            .lines()
            .filter_map(|l| l.split_once('=').map(|(f, _)| f.to_owned()))
            .collect();
        let mut args = vec!["secret".to_owned(), "put".to_owned(), name.to_owned()];
        for f in fields {
            args.push("--field".to_owned());
            args.push(f);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.keyward_with(&args, lines.as_bytes()).await;
        assert!(out.status.success(), "{}", common_stderr(&out));
    }

    pub fn home(&self) -> &str {
        self.home.path().to_str().unwrap()
    }

    /// Runs `keyward args` to completion in this setup's home.
    pub async fn keyward(&self, args: &[&str]) -> Output {
        self.keyward_with(args, b"").await
    }

    async fn keyward_with(&self, args: &[&str], stdin: &[u8]) -> Output {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        let (home, stdin) = (self.home().to_owned(), stdin.to_vec());
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            crate::common::keyward(&args, &stdin, &[("KEYWARD_HOME", home.as_str())])
        })
        .await
        .unwrap()
    }
}

fn common_stderr(out: &Output) -> String {
    crate::common::stderr(out)
}

/// A running `keyward proxy`.
pub struct Proxy {
    pub url: String,
    /// The /metrics URL, when started with `--metrics`.
    pub metrics: Option<String>,
    child: Child,
    stderr: tokio::task::JoinHandle<String>,
}

impl Proxy {
    /// Starts `keyward proxy` for `venue` (secret `bot/<venue>`) with `extra` arguments, with
    /// RUST_LOG=trace, and reads the URL from its first line.
    pub async fn start(setup: &Setup, venue: &str, extra: &[&str]) -> Self {
        Self::start_as(setup, venue, &format!("bot/{venue}"), extra).await
    }

    /// As [`Proxy::start`], with the credentials of the secret `name`.
    pub async fn start_as(setup: &Setup, venue: &str, name: &str, extra: &[&str]) -> Self {
        let base = setup.testnet.url(venue).unwrap().to_owned();
        let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args([
                "proxy",
                "--venue",
                venue,
                "--base-url",
                &base,
                "--name",
                name,
            ])
            .args(extra)
            .env("KEYWARD_HOME", setup.home())
            .env("RUST_LOG", "trace")
            .env_remove("KEYWARD_MASTER_KEY")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("ALL_PROXY")
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("all_proxy")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut err = child.stderr.take().unwrap();
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text).await;
            text
        });
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(LINE_LIMIT, out.next_line()).await;
        let Ok(Ok(Some(first))) = first else {
            let _ = child.start_kill();
            let log = stderr.await.unwrap_or_default();
            panic!("the proxy printed no first line: {log}");
        };
        let url: Value = serde_json::from_str(&first).unwrap();
        Self {
            url: url["url"].as_str().unwrap().to_owned(),
            metrics: url["metrics"].as_str().map(str::to_owned),
            child,
            stderr,
        }
    }

    /// Stops the proxy with SIGTERM and returns everything it wrote on stderr.
    pub async fn stop(mut self) -> String {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        let status = tokio::time::timeout(LINE_LIMIT, self.child.wait()).await;
        let log = self.stderr.await.unwrap_or_default();
        let status = status.expect("the proxy did not stop on SIGTERM").unwrap();
        assert!(status.success(), "the proxy exited with {status}: {log}");
        assert!(!log.contains("panicked"), "{log}");
        log
    }
}

/// The interpreter, when it can import `module`; None (with the reason on stderr) when
/// interop is not required.
pub async fn python(module: &str) -> Option<PathBuf> {
    let module = module.to_owned();
    tokio::task::spawn_blocking(move || crate::python::importing(&module))
        .await
        .unwrap()
}

/// Fails unless the bot's memory holds its own `marker` (the scan reads something) and neither
/// its memory nor its environment holds any of `creds`.
pub fn assert_holds_no_key(bot: &Bot, creds: &Creds, marker: &str, venue: &str) {
    let memory = bot.memory();
    assert!(
        contains(&memory, marker.as_bytes()),
        "{venue}: the scan did not find the bot's own marker ({} bytes read)",
        memory.len()
    );
    for (what, value) in creds.iter() {
        assert!(
            !contains(&memory, value.as_bytes()),
            "{venue}: the bot's memory holds the {what}"
        );
    }
    for (name, value) in bot.environment() {
        for (what, secret) in creds.iter() {
            assert!(
                !value.contains(secret.as_str()),
                "{venue}: the bot's environment variable {name} holds the {what}"
            );
        }
    }
}

/// A Python bot from tests/proxy/python, started with an environment that holds no
/// credential (PATH only), its job on stdin.
pub struct Bot {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Bot {
    pub async fn start(python: &Path, script: &str, job: &Value) -> Self {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/proxy/python")
            .join(script);
        let mut child = Command::new(python)
            .arg(path)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("NO_PROXY", "127.0.0.1,localhost")
            // No __pycache__ written into the source tree (ws_orders.py is imported).
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{job}\n").as_bytes())
            .await
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            child,
            stdin,
            lines,
        }
    }

    /// The next JSON line the bot prints.
    pub async fn line(&mut self) -> Value {
        let line = tokio::time::timeout(LINE_LIMIT, self.lines.next_line())
            .await
            .expect("the bot printed nothing in time")
            .unwrap()
            .expect("the bot exited without a line");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// Every line up to `{"done": true}`.
    pub async fn lines_until_done(&mut self) -> Vec<Value> {
        let mut all = Vec::new();
        loop {
            let line = self.line().await;
            if line["done"] == true {
                return all;
            }
            all.push(line);
        }
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// The bot's environment, from /proc/<pid>/environ.
    pub fn environment(&self) -> Vec<(String, String)> {
        let raw = std::fs::read(format!("/proc/{}/environ", self.pid())).unwrap();
        raw.split(|b| *b == 0)
            .filter(|e| !e.is_empty())
            .map(|e| {
                let e = String::from_utf8_lossy(e);
                let (k, v) = e.split_once('=').unwrap_or((&e, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    /// Every readable region of the bot's memory, concatenated (read while it waits on
    /// stdin; this test process is its parent).
    pub fn memory(&self) -> Vec<u8> {
        use std::io::{Read as _, Seek as _, SeekFrom};
        let pid = self.pid();
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
        let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
        let mut all = Vec::new();
        for line in maps.lines() {
            let mut parts = line.split_whitespace();
            let (Some(range), Some(perms)) = (parts.next(), parts.next()) else {
                continue;
            };
            if !perms.starts_with('r') || line.ends_with("[vvar]") || line.ends_with("[vsyscall]") {
                continue;
            }
            let Some((start, end)) = range.split_once('-') else {
                continue;
            };
            let (start, end) = (
                u64::from_str_radix(start, 16).unwrap(),
                u64::from_str_radix(end, 16).unwrap(),
            );
            let mut region = vec![0; usize::try_from(end - start).unwrap()];
            if mem.seek(SeekFrom::Start(start)).is_ok() && mem.read_exact(&mut region).is_ok() {
                all.extend_from_slice(&region);
            }
        }
        all
    }

    /// Lets the bot exit (a line on stdin) and waits for it.
    pub async fn finish(mut self) {
        let _ = self.stdin.write_all(b"\n").await;
        let status = tokio::time::timeout(LINE_LIMIT, self.child.wait())
            .await
            .expect("the bot did not exit")
            .unwrap();
        assert!(status.success(), "the bot exited with {status}");
    }
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

/// A raw HTTP/1.1 GET over a Unix socket; the whole answer as text.
#[cfg(unix)]
pub async fn unix_get(socket: &Path, path: &str) -> String {
    let mut stream = tokio::net::UnixStream::connect(socket).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

/// Scrapes `url` and parses it with Python's `prometheus_client` (`crate::python::scrape`).
pub async fn scrape(python: &Path, url: &str) -> Value {
    let (python, url) = (python.to_owned(), url.to_owned());
    tokio::task::spawn_blocking(move || crate::python::scrape(&python, &url))
        .await
        .unwrap()
}
