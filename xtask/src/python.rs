//! The Python virtualenv the interop tests use: `<root>/.venv`, with the packages listed in
//! `xtask/requirements-test.txt` (Python's `cryptography`, to check that Fernet tokens interoperate
//! both ways, `moto[server]`, whose `moto_server` stands in for AWS Secrets Manager, and the
//! venues' official SDKs, or ccxt where a venue has none, that `tests/sdk` runs against the
//! testnet). Every pin there installs on the Python 3.11 this project uses.
//!
//! A second file, `xtask/requirements-ignore-python.txt`, is installed after it with pip's
//! `--ignore-requires-python`: `upstox-totp` 1.0.8 declares Python >= 3.12 but runs on 3.11, and
//! [`verify`] proves that by importing it and running its TOTP (see that file's comment). The flag
//! applies to that file only, so no other pin can slip past its declared Python.
//!
//! pip runs only when the requirements changed: after a successful install both files' exact
//! contents are copied into a stamp file in the virtualenv, and the next run compares them. Any
//! edit to either file (a new line, a new pin) therefore triggers a reinstall.

use crate::cmd::{self, project_root};
use anyhow::{Context, Result, bail};
use std::fs;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The requirements file, relative to the workspace root.
const REQUIREMENTS: &str = "xtask/requirements-test.txt";

/// The requirements installed with `--ignore-requires-python`, relative to the workspace root.
const REQUIREMENTS_IGNORE_PYTHON: &str = "xtask/requirements-ignore-python.txt";

/// Code that must run in the virtualenv: `upstox-totp` (installed past its declared Python)
/// builds its client, with its `curl_cffi` session and `pydantic` configuration, and computes a
/// TOTP code with `pyotp`, on this Python.
const RUNS: &[(&str, &str)] = &[(
    "upstox_totp",
    "from upstox_totp import UpstoxTOTP\n\
     c = UpstoxTOTP(username='9000000000', password='p', pin_code='123456', \
     totp_secret='JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', client_id='c', client_secret='s', \
     redirect_uri='http://127.0.0.1/cb')\n\
     code = c.generate_totp_secret()\n\
     assert len(code) == 6 and code.isdigit(), 'no TOTP code'\n",
)];

/// The virtualenv's directory, relative to the workspace root (ignored by git).
const VENV: &str = ".venv";

/// The stamp file inside the virtualenv: the requirements as last installed successfully.
const STAMP: &str = ".keyward-requirements.stamp";

/// Modules that must import in the virtualenv once the requirements are installed.
const IMPORTS: &[&str] = &[
    "cryptography",
    "pyotp",
    "moto",
    "binance_sdk_spot",
    "binance.spot",
    "pybit",
    "okx",
    "krakenex",
    "BitMEXAPIKeyAuthenticator",
    "ccxt.pro",
];

/// The interpreter that creates the virtualenv.
const SYSTEM_PYTHON: &str = "python3";

/// Creates or updates the virtualenv and returns the absolute path of its interpreter.
///
/// Progress goes to standard error (child processes' output too), so that the only thing
/// `cargo xtask python` prints on standard output is the path.
pub fn setup() -> Result<PathBuf> {
    let root = project_root();
    let venv = root.join(VENV);
    let python = venv_python(&venv);

    if !python.is_file() {
        create_venv(&root, &venv)?;
    }

    let requirements_path = root.join(REQUIREMENTS);
    let mut requirements = fs::read_to_string(&requirements_path)
        .with_context(|| format!("could not read {}", requirements_path.display()))?;
    let ignore_python_path = root.join(REQUIREMENTS_IGNORE_PYTHON);
    let ignore_python = fs::read_to_string(&ignore_python_path)
        .with_context(|| format!("could not read {}", ignore_python_path.display()))?;
    // The stamp covers both files.
    requirements.push_str("\n# --ignore-requires-python\n");
    requirements.push_str(&ignore_python);
    let stamp = venv.join(STAMP);
    if is_up_to_date(&stamp, &requirements) {
        eprintln!("python: {REQUIREMENTS} is already installed in {VENV} (stamp matches)");
    } else {
        // An install that fails half-way must not leave an old stamp claiming success.
        remove_stamp(&stamp)?;
        cmd::run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "-q",
                    "-r",
                ])
                .arg(REQUIREMENTS)
                .current_dir(&root)
                .stdin(Stdio::null())
                .stdout(io::stderr()),
        )
        .context("could not install the Python test requirements")?;
        cmd::run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "-q",
                    "--ignore-requires-python",
                    "-r",
                ])
                .arg(REQUIREMENTS_IGNORE_PYTHON)
                .current_dir(&root)
                .stdin(Stdio::null())
                .stdout(io::stderr()),
        )
        .context("could not install the Python requirements that declare a newer Python")?;
        fs::write(&stamp, &requirements)
            .with_context(|| format!("could not write {}", stamp.display()))?;
    }

    verify(&python, &stamp)?;
    Ok(python)
}

/// The interpreter inside a virtualenv.
fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// Whether the stamp file holds exactly the current requirements.
fn is_up_to_date(stamp: &Path, requirements: &str) -> bool {
    fs::read_to_string(stamp).is_ok_and(|installed| installed == requirements)
}

/// Removes the stamp file if there is one.
fn remove_stamp(stamp: &Path) -> Result<()> {
    match fs::remove_file(stamp) {
        Err(error) if error.kind() != ErrorKind::NotFound => {
            Err(error).with_context(|| format!("could not remove {}", stamp.display()))
        }
        _ => Ok(()),
    }
}

/// Creates the virtualenv with the system's `python3 -m venv`.
///
/// A `.venv` directory without an interpreter is broken (a moved or removed Python): it is
/// recreated from scratch with `--clear`.
fn create_venv(root: &Path, venv: &Path) -> Result<()> {
    match Command::new(SYSTEM_PYTHON)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Err(error) if error.kind() == ErrorKind::NotFound => bail!(
            "`{SYSTEM_PYTHON}` was not found on PATH: the tests need Python 3 with its venv \
             module to check interoperability with Python's `cryptography` (on Debian or \
             Ubuntu: apt-get install python3 python3-venv)"
        ),
        Err(error) => {
            return Err(error).with_context(|| format!("could not run `{SYSTEM_PYTHON}`"));
        }
        Ok(status) if !status.success() => {
            bail!("`{SYSTEM_PYTHON} --version` failed ({status}): is Python 3 installed correctly?")
        }
        Ok(_) => {}
    }

    let mut command = Command::new(SYSTEM_PYTHON);
    command.args(["-m", "venv"]);
    if venv.exists() {
        command.arg("--clear");
    }
    cmd::run(
        command
            .arg(VENV)
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(io::stderr()),
    )
    .with_context(|| {
        format!(
            "could not create the virtualenv {} (on Debian or Ubuntu the venv module is a \
             separate package: apt-get install python3-venv)",
            venv.display()
        )
    })
}

/// Checks that the virtualenv imports every module in [`IMPORTS`] and runs every check in
/// [`RUNS`].
///
/// On failure the stamp is removed, so that the next run reinstalls the requirements.
fn verify(python: &Path, stamp: &Path) -> Result<()> {
    let imports = IMPORTS
        .iter()
        .map(|m| (*m, format!("import {m}")))
        .chain(RUNS.iter().map(|(m, code)| (*m, (*code).to_owned())));
    for (module, code) in imports {
        let checked = cmd::run(
            Command::new(python)
                .args(["-c", &code])
                .stdin(Stdio::null())
                .stdout(io::stderr()),
        );
        if let Err(error) = checked {
            remove_stamp(stamp)?;
            return Err(error).with_context(|| {
                format!(
                    "the virtualenv's Python cannot import or run `{module}`; the next run \
                     reinstalls {REQUIREMENTS} and {REQUIREMENTS_IGNORE_PYTHON} (delete {} if it \
                     keeps failing)",
                    python
                        .parent()
                        .and_then(Path::parent)
                        .unwrap_or(python)
                        .display()
                )
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_up_to_date;
    use std::fs;

    #[test]
    fn stamp_must_match_the_requirements_exactly() {
        let dir = std::env::temp_dir().join(format!("xtask-stamp-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let stamp = dir.join("stamp");

        assert!(
            !is_up_to_date(&stamp, "cryptography==50.0.2\n"),
            "no stamp yet"
        );
        fs::write(&stamp, "cryptography==50.0.2\n").unwrap();
        assert!(is_up_to_date(&stamp, "cryptography==50.0.2\n"));
        assert!(
            !is_up_to_date(&stamp, "cryptography==50.0.2\nmoto[server]\n"),
            "an added line must trigger a reinstall"
        );
        assert!(!is_up_to_date(&stamp, "cryptography==50.0.3\n"));

        fs::remove_dir_all(&dir).unwrap();
    }
}
