//! A redis-server of a test's own: started on 127.0.0.1 on a free port, without persistence,
//! stopped (killed) and started again empty on the same port when a test asks, killed on drop.
//!
//! Included with `#[path]` by every suite that needs Redis. The executable comes from
//! `KEYWARD_REDIS_SERVER` (set by `cargo xtask ci`, which installs Debian's `redis-server` when it
//! is missing), else from `PATH`. When there is none, [`RedisServer::start`] returns `None` and
//! the test skips with a line on stderr, unless `KEYWARD_REQUIRE_REDIS=1` (set by `cargo xtask
//! ci`), where it fails: CI never passes by skipping.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer PING after it was started.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// A running redis-server owned by one test.
pub struct RedisServer {
    exe: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server, or `None` (the test should return) when redis-server is not installed
    /// and not required.
    pub fn start() -> Option<Self> {
        let Some(exe) = executable() else {
            assert!(
                std::env::var("KEYWARD_REQUIRE_REDIS").as_deref() != Ok("1"),
                "KEYWARD_REQUIRE_REDIS=1 but no redis-server: set KEYWARD_REDIS_SERVER or run `cargo xtask ci`"
            );
            eprintln!("skipped: no redis-server (run `cargo xtask ci`, which installs it)");
            return None;
        };
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut server = Self {
                exe: exe.clone(),
                port,
                child: None,
            };
            match server.spawn() {
                Ok(()) => return Some(server),
                Err(why) => last = why,
            }
        }
        panic!("redis-server did not start: {last}");
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (SIGKILL: nothing is saved, connections drop).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again, empty, on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let mut last = String::new();
        // The old socket may linger for a moment; a few tries on the same port.
        for _ in 0..20 {
            match self.spawn() {
                Ok(()) => return,
                Err(why) => last = why,
            }
        }
        panic!("redis-server did not restart on port {}: {last}", self.port);
    }

    /// Whether it is running now.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut child = Command::new(&self.exe)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "yes"])
            .args(["--dir", &std::env::temp_dir().to_string_lossy()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", self.exe.display()))?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("exited before answering ({status})"));
            }
            if pong(addr) {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer within {READY_WITHIN:?}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn executable() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KEYWARD_REDIS_SERVER") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("redis-server"))
            .find(|candidate| candidate.is_file())
    })
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

fn pong(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    stream.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}
