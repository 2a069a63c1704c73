//! Starting and supervising the command: its environment, its output (masked or inherited),
//! the signals forwarded to it, and the exit code it leaves.
//!
//! keyward installs handlers for SIGINT, SIGTERM and SIGHUP before the child starts, so those
//! signals no longer end keyward itself: each one is sent on to the child, and keyward exits only
//! once the child has exited and its output has been passed on. A child that exits with code C
//! gives C; a child killed by signal N gives 128 + N, as a shell reports it.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt as _;
use std::process::{ExitStatus, Stdio};

use anyhow::{Context, Result, bail};
use rustix::process::{Pid, Signal, kill_process};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::process::Command;
use tokio::signal::unix::{SignalKind, signal};

use super::mask::Masker;
use super::secrets::Resolved;

/// keyward's own variables a child keeps: settings that hold no secret. Every other `KEYWARD_*`
/// variable is removed from the child's environment: the master key ring
/// (`KEYWARD_MASTER_KEY`), a fleet's Redis URL with its password (`KEYWARD_REDIS_URL`), the env
/// store's secrets (`KEYWARD_<NAME>_<FIELD>`) and the rest of keyward's configuration.
pub const KEPT: [&str; 2] = ["KEYWARD_HOME", "KEYWARD_ENV"];

/// How much of the child's output is read at once.
const CHUNK: usize = 8 * 1024;

/// The environment the child starts with: this process's, without keyward's own variables
/// (all `KEYWARD_*` but [`KEPT`]), plus the handed-over ones (which win).
pub fn environment(
    inherited: impl IntoIterator<Item = (OsString, OsString)>,
    handed: &[Resolved],
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = inherited
        .into_iter()
        .filter(|(name, _)| {
            let name = name.to_string_lossy();
            !name.starts_with("KEYWARD_") || KEPT.contains(&name.as_ref())
        })
        .filter(|(name, _)| !handed.iter().any(|h| name == h.spec.var.as_str()))
        .collect();
    env.extend(
        handed
            .iter()
            .map(|h| (OsString::from(&h.spec.var), h.os_value())),
    );
    env
}

/// Runs `command` with `env`, masking `masker`'s values in its output unless `masker` is `None`,
/// and returns the exit code to leave with.
pub async fn supervise(
    command: &[OsString],
    env: Vec<(OsString, OsString)>,
    masker: Option<(Masker, Masker)>,
) -> Result<u8> {
    let (program, args) = command.split_first().context("no command given")?;
    // Installed before the child exists, so no signal meant for it can end keyward first.
    let mut int = signal(SignalKind::interrupt()).context("could not handle SIGINT")?;
    let mut term = signal(SignalKind::terminate()).context("could not handle SIGTERM")?;
    let mut hup = signal(SignalKind::hangup()).context("could not handle SIGHUP")?;

    let mut cmd = Command::new(program);
    cmd.args(args).env_clear().envs(env).stdin(Stdio::inherit());
    let piped = masker.is_some();
    if piped {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    } else {
        cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
    }
    let mut child = cmd.spawn().with_context(|| {
        format!(
            "could not start {}",
            std::path::Path::new(program).display()
        )
    })?;
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(Pid::from_raw)
        .context("the started command has no process id")?;

    let copies = match masker {
        Some((out_mask, err_mask)) => {
            let out = child
                .stdout
                .take()
                .context("no pipe for the command's stdout")?;
            let err = child
                .stderr
                .take()
                .context("no pipe for the command's stderr")?;
            Some((
                tokio::spawn(copy(out, tokio::io::stdout(), out_mask)),
                tokio::spawn(copy(err, tokio::io::stderr(), err_mask)),
            ))
        }
        None => None,
    };

    let status = loop {
        let forward = tokio::select! {
            status = child.wait() => break status.context("could not wait for the command")?,
            _ = int.recv() => Signal::INT,
            _ = term.recv() => Signal::TERM,
            _ = hup.recv() => Signal::HUP,
        };
        // The child has not been waited for yet, so its pid is still its own. It may have
        // exited just now (ESRCH): nothing to forward then.
        let _ = kill_process(pid, forward);
    };

    if let Some((out, err)) = copies {
        // The pipes close when the child (and anything it started that kept them) is gone.
        out.await.context("the stdout copy failed")??;
        err.await.context("the stderr copy failed")??;
    }
    exit_code(status)
}

/// The exit code for a child's `status`: its code, or 128 + the signal that ended it.
pub fn exit_code(status: ExitStatus) -> Result<u8> {
    if let Some(code) = status.code() {
        // Unix exit codes are 0..=255.
        return Ok(u8::try_from(code & 0xff).unwrap_or(1));
    }
    match status.signal() {
        Some(n) => Ok(u8::try_from(128 + n).unwrap_or(255)),
        None => bail!("the command ended without an exit code or a signal"),
    }
}

/// Copies `from` to `to` through `masker`, passing each chunk on (and flushing) as it comes.
async fn copy(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut masker: Masker,
) -> Result<()> {
    let mut buf = zeroize::Zeroizing::new(vec![0u8; CHUNK]);
    loop {
        let n = from
            .read(&mut buf)
            .await
            .context("could not read the command's output")?;
        let out = if n == 0 {
            masker.finish()
        } else {
            masker.push(&buf[..n])
        };
        // A closed stdout of our own (a reader that went away) must not stop the child's
        // output from being drained: keep reading, drop what cannot be written.
        if !out.is_empty() && to.write_all(&out).await.is_ok() {
            let _ = to.flush().await;
        }
        if n == 0 {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command as StdCommand;

    use zeroize::Zeroizing;

    use super::super::plan::{Origin, Spec};
    use super::*;

    #[test]
    fn keyward_variables_are_removed_and_handed_ones_win() {
        let inherited = [
            ("PATH", "/bin"),
            ("KEYWARD_MASTER_KEY", "k"),
            ("KEYWARD_REDIS_URL", "redis://:pw@h"),
            ("KEYWARD_BOT_SECRET", "s"),
            ("KEYWARD_HOME", "/h"),
            ("API_SECRET", "old"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let handed = [Resolved {
            spec: Spec {
                var: "API_SECRET".into(),
                name: "n".into(),
                field: None,
                origin: Origin::Arg,
            },
            value: Zeroizing::new(b"new".to_vec()),
        }];
        let env = environment(inherited, &handed);
        let names: Vec<_> = env.iter().map(|(k, _)| k.to_str().unwrap()).collect();
        assert_eq!(names, ["PATH", "KEYWARD_HOME", "API_SECRET"]);
        assert_eq!(env[2].1, "new");
    }

    #[test]
    fn exit_codes_and_signals() {
        let status = |script: &str| StdCommand::new("sh").args(["-c", script]).status().unwrap();
        assert_eq!(exit_code(status("exit 0")).unwrap(), 0);
        assert_eq!(exit_code(status("exit 7")).unwrap(), 7);
        assert_eq!(exit_code(status("kill -TERM $$")).unwrap(), 143);
        assert_eq!(exit_code(status("kill -KILL $$")).unwrap(), 137);
    }
}
