//! moto_server, the local AWS Secrets Manager the `aws` tests run against.
//!
//! [`Moto::start`] runs `<venv>/bin/moto_server -H 127.0.0.1 -p <free port>` with its output in
//! `target/moto_server.log`, and returns once the server answers HTTP (polled, at most
//! [`READY_WITHIN`]). Dropping the [`Moto`] kills the server, so it stops when the test steps end,
//! whether they pass or fail.

use crate::cmd::project_root;
use crate::local_server::{LocalServer, Spec};
use anyhow::Result;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How long moto_server may take to answer its first request.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// How often readiness is probed.
const POLL: Duration = Duration::from_millis(100);

/// A running moto_server, killed on drop.
pub struct Moto {
    _server: LocalServer,
    endpoint: String,
}

impl Moto {
    /// Starts moto_server from the virtualenv whose interpreter is `python` and waits until it
    /// answers.
    pub fn start(python: &Path) -> Result<Self> {
        let exe = python.with_file_name("moto_server");
        let log_path = log_path();
        let spec = Spec {
            name: "moto_server",
            log_path: &log_path,
            ready_within: READY_WITHIN,
            poll: POLL,
        };
        let server = LocalServer::start(
            &spec,
            |port| {
                let mut command = Command::new(&exe);
                command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                command
            },
            answers_http,
        )?;
        Ok(Self {
            endpoint: format!("http://127.0.0.1:{}", server.port()),
            _server: server,
        })
    }

    /// Points a test command at this server, with the fake credentials moto accepts.
    pub fn apply<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        command
            .env("KEYWARD_AWS_ENDPOINT", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
    }
}

/// `target/moto_server.log` (or under `CARGO_TARGET_DIR`).
fn log_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| project_root().join("target"), PathBuf::from);
    let _ = std::fs::create_dir_all(&target);
    target.join("moto_server.log")
}

/// Whether an HTTP server answers at `addr` within `wait` (connect, request, first bytes).
fn answers_http(addr: SocketAddr, wait: Duration) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, wait) else {
        return false;
    };
    let mut head = [0_u8; 5];
    stream.set_read_timeout(Some(wait)).is_ok()
        && stream
            .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .is_ok()
        && stream.read_exact(&mut head).is_ok()
        && &head == b"HTTP/"
}

#[cfg(test)]
mod tests {
    use super::{Moto, answers_http};
    use crate::cmd::project_root;
    use crate::local_server::free_port;
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, SocketAddr, TcpListener};
    use std::time::Duration;

    #[test]
    fn readiness_needs_an_http_answer() {
        let wait = Duration::from_millis(200);
        // Nothing listening.
        let port = free_port().unwrap();
        assert!(!answers_http(
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            wait
        ));
        // Listening but silent.
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(!answers_http(silent.local_addr().unwrap(), wait));
        // Answering.
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let thread = std::thread::spawn(move || {
            let (mut socket, _) = server.accept().unwrap();
            let mut request = [0_u8; 16];
            socket.read_exact(&mut request).unwrap();
            socket.write_all(b"HTTP/1.0 200 OK\r\n\r\n").unwrap();
        });
        assert!(answers_http(addr, Duration::from_secs(5)));
        thread.join().unwrap();
    }

    /// Starts the virtualenv's moto_server (when `cargo xtask python` has installed it), checks
    /// that it answers and that dropping the guard stops it.
    #[test]
    fn starts_answers_and_stops_on_drop() {
        let python = project_root().join(".venv/bin/python");
        if !python.with_file_name("moto_server").is_file() {
            eprintln!("SKIPPED: no .venv/bin/moto_server (run `cargo xtask python`)");
            return;
        }
        let moto = Moto::start(&python).unwrap();
        let port: u16 = moto.endpoint.rsplit(':').next().unwrap().parse().unwrap();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        assert!(answers_http(addr, Duration::from_secs(5)));
        let mut command = std::process::Command::new("true");
        moto.apply(&mut command);
        let envs: Vec<_> = command.get_envs().collect();
        assert!(
            envs.iter().any(|(k, v)| *k == "KEYWARD_AWS_ENDPOINT"
                && v.is_some_and(|v| v == moto.endpoint.as_str()))
        );
        drop(moto);
        assert!(!answers_http(addr, Duration::from_millis(500)));
    }
}
