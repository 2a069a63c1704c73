//! A server the test steps need (moto_server, redis-server): started on a free 127.0.0.1 port
//! with its output in a log file, returned once it answers, killed on drop, so it stops when
//! the test steps end, whether they pass or fail.

use crate::cmd;
use anyhow::{Context, Result, bail};
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How many ports are tried: another process may take the free port before the server binds it.
const ATTEMPTS: usize = 3;

/// How a server is started and recognised as ready.
pub struct Spec<'a> {
    /// Its name, in messages.
    pub name: &'static str,
    /// Where its output goes (created anew on each attempt).
    pub log_path: &'a Path,
    /// How long it may take to answer.
    pub ready_within: Duration,
    /// How often readiness is probed (also each probe's own timeout).
    pub poll: Duration,
}

/// A running server, killed on drop.
pub struct LocalServer {
    name: &'static str,
    child: Child,
    port: u16,
}

impl LocalServer {
    /// Runs `command(port)` on a free port until `ready(address, wait)` says it answers, trying
    /// up to [`ATTEMPTS`] ports.
    pub fn start(
        spec: &Spec<'_>,
        command: impl Fn(u16) -> Command,
        ready: impl Fn(SocketAddr, Duration) -> bool,
    ) -> Result<Self> {
        let mut last_error = None;
        for _ in 0..ATTEMPTS {
            match Self::try_start(spec, &command, &ready) {
                Ok(server) => return Ok(server),
                Err(error) => last_error = Some(error),
            }
        }
        let error = last_error.unwrap_or_else(|| anyhow::anyhow!("no attempt was made"));
        Err(error.context(format!(
            "{} did not start; its output is in {}",
            spec.name,
            spec.log_path.display()
        )))
    }

    /// One attempt on one free port.
    fn try_start(
        spec: &Spec<'_>,
        command: &impl Fn(u16) -> Command,
        ready: &impl Fn(SocketAddr, Duration) -> bool,
    ) -> Result<Self> {
        let port = free_port()?;
        let log = File::create(spec.log_path)
            .with_context(|| format!("could not create {}", spec.log_path.display()))?;
        let mut command = command(port);
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("could not share the log file")?)
            .stderr(log);
        eprintln!(
            "$ {} (output in {})",
            cmd::display(&command),
            spec.log_path.display()
        );
        let child = command
            .spawn()
            .with_context(|| format!("could not start {}", spec.name))?;
        // From here on, a failure kills the child through Drop.
        let mut server = Self {
            name: spec.name,
            child,
            port,
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + spec.ready_within;
        loop {
            if let Some(status) = server
                .child
                .try_wait()
                .with_context(|| format!("could not poll {}", spec.name))?
            {
                bail!("{} exited before answering ({status})", spec.name);
            }
            if ready(addr, spec.poll) {
                eprintln!("{}: answering on 127.0.0.1:{port}", spec.name);
                return Ok(server);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} did not answer on 127.0.0.1:{port} within {:?}",
                    spec.name,
                    spec.ready_within
                );
            }
            std::thread::sleep(spec.poll);
        }
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        // Already exited is fine; anything else is reported, never fatal.
        if let Err(error) = self.child.kill() {
            eprintln!("{}: could not stop it: {error}", self.name);
        }
        let _ = self.child.wait();
    }
}

/// A port free on 127.0.0.1 a moment ago (bound to port 0, then released).
pub fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("could not bind 127.0.0.1:0")?;
    Ok(listener.local_addr().context("no local address")?.port())
}
