//! redis-server, the real Redis the fleet tests (issue 17) run against.
//!
//! [`Redis::start`] finds `redis-server` (installing Debian's `redis-server` package with apt when
//! it is missing and this process may: as root, or through passwordless `sudo`), runs it on
//! 127.0.0.1 on a free port with no persistence (`--save ''`, `--appendonly no`) and its working
//! directory and log under `target/redis/`, and returns once it answers `PING` (polled, at most
//! [`READY_WITHIN`]). Dropping the [`Redis`] kills the server, so it stops when the test steps
//! end, whether they pass or fail.

use crate::cmd::{self, project_root};
use crate::local_server::{LocalServer, Spec};
use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// How long redis-server may take to answer its first `PING`.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// How often readiness is probed.
const POLL: Duration = Duration::from_millis(50);

/// The environment variable naming the redis-server executable, for the tests that start (and
/// kill, and restart) servers of their own.
pub const SERVER_VAR: &str = "KEYWARD_REDIS_SERVER";
/// Set to 1 for the tests: a test that needs Redis fails instead of skipping when it is missing.
pub const REQUIRE_VAR: &str = "KEYWARD_REQUIRE_REDIS";

/// A running redis-server, killed on drop.
pub struct Redis {
    /// Held for its Drop (it kills the server); its port is read by the tests.
    _server: LocalServer,
    exe: PathBuf,
}

impl Redis {
    /// Starts redis-server (installing it first when missing) and waits until it answers.
    pub fn start() -> Result<Self> {
        let exe = ensure_installed()?;
        let dir = work_dir()?;
        let log_path = dir.join("redis-server.log");
        let spec = Spec {
            name: "redis-server",
            log_path: &log_path,
            ready_within: READY_WITHIN,
            poll: POLL,
        };
        let server = LocalServer::start(
            &spec,
            |port| {
                let mut command = Command::new(&exe);
                command
                    .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                    .args([
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--protected-mode",
                        "yes",
                    ])
                    .arg("--dir")
                    .arg(&dir);
                command
            },
            answers_ping,
        )?;
        Ok(Self {
            _server: server,
            exe,
        })
    }

    /// Points a test command at the executable this server runs ([`SERVER_VAR`]), from which
    /// every fleet test starts servers of its own (they kill and restart them, which a shared
    /// one would not allow), and makes Redis required ([`REQUIRE_VAR`]). This server's own
    /// URL is not passed on: it is the proof, before any test runs, that the installed
    /// executable starts and answers here; and `KEYWARD_REDIS_URL` is the product's own
    /// setting, which `keyward doctor` and `FleetConfig::from_env` read.
    pub fn apply<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        command.env(SERVER_VAR, &self.exe).env(REQUIRE_VAR, "1")
    }
}

/// The path of `redis-server`: on `PATH`, or in `/usr/bin` after installing Debian's package.
fn ensure_installed() -> Result<PathBuf> {
    if let Some(found) = on_path("redis-server") {
        return Ok(found);
    }
    eprintln!("redis-server is missing: installing Debian's redis-server package");
    let root = is_root();
    let apt = |args: &[&str]| -> Result<()> {
        let mut command = if root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd::run(&mut command)
    };
    apt(&["update", "-q"]).context(
        "could not run apt-get update (needs root or passwordless sudo); install redis-server",
    )?;
    apt(&[
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "redis-server",
    ])
    .context("could not install Debian's redis-server package")?;
    on_path("redis-server")
        .or_else(|| Some(PathBuf::from("/usr/bin/redis-server")).filter(|p| p.is_file()))
        .context("redis-server is still missing after installing the package")
}

/// `name` in a directory of `PATH`, if it is a file there.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// Whether this process runs as root (`id -u` is 0).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

/// `target/redis/` (or under `CARGO_TARGET_DIR`), created if missing.
fn work_dir() -> Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| project_root().join("target"), PathBuf::from);
    let dir = target.join("redis");
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    Ok(dir)
}

/// Whether a Redis server answers `PING` with `+PONG` at `addr` within `wait`.
fn answers_ping(addr: SocketAddr, wait: Duration) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, wait) else {
        return false;
    };
    let mut answer = [0_u8; 7];
    stream.set_read_timeout(Some(wait)).is_ok()
        && stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
}

#[cfg(test)]
mod tests {
    use super::{Redis, answers_ping, on_path};
    use crate::local_server::free_port;
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, SocketAddr, TcpListener};
    use std::time::Duration;

    #[test]
    fn readiness_needs_a_pong() {
        let wait = Duration::from_millis(200);
        let port = free_port().unwrap();
        assert!(!answers_ping(
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            wait
        ));
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(!answers_ping(silent.local_addr().unwrap(), wait));
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let thread = std::thread::spawn(move || {
            let (mut socket, _) = server.accept().unwrap();
            let mut request = [0_u8; 6];
            socket.read_exact(&mut request).unwrap();
            assert_eq!(&request, b"PING\r\n");
            socket.write_all(b"+PONG\r\n").unwrap();
        });
        assert!(answers_ping(addr, Duration::from_secs(5)));
        thread.join().unwrap();
    }

    /// Starts the installed redis-server, checks that it answers and that dropping the guard
    /// stops it. Skipped where redis-server is not installed (the CI step installs it).
    #[test]
    fn starts_answers_and_stops_on_drop() {
        if on_path("redis-server").is_none() {
            eprintln!("SKIPPED: no redis-server on PATH (cargo xtask ci installs it)");
            return;
        }
        let redis = Redis::start().unwrap();
        let port = redis._server.port();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        assert!(answers_ping(addr, Duration::from_secs(5)));
        drop(redis);
        assert!(!answers_ping(addr, Duration::from_millis(200)));
    }
}
