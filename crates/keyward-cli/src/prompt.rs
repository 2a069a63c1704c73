//! [`TerminalPrompt`]: the SDK's `CodePrompt` for a person at the terminal, for broker logins
//! in prompt-only mode (a broker whose terms forbid automating the second factor): it asks on
//! standard error and reads one line from standard input, without echo when that is a terminal.

use std::fmt;
use std::io::{BufRead, Read as _, Write};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use keyward::exchange::session::{CodePrompt, LoginError};
use zeroize::Zeroizing;

/// The longest line read: a one-time code is 6 to 8 digits; anything past 256 bytes is refused.
const MAX_LINE: u64 = 256;

type Input = Box<dyn BufRead + Send>;
type Output = Box<dyn Write + Send>;

/// Asks a person for a one-time code: writes `<what>: ` to its output (standard error) and
/// reads one line from its input (standard input). When standard input is a terminal the
/// code is read with the terminal's echo off (rpassword); a pipe is read as it is. The line is
/// held in zeroizing memory and never echoed back or logged.
#[derive(Clone)]
pub struct TerminalPrompt {
    io: Arc<Mutex<(Input, Output)>>,
    /// Standard input is a terminal: read with echo off.
    tty: bool,
}

impl fmt::Debug for TerminalPrompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TerminalPrompt")
    }
}

impl TerminalPrompt {
    /// A prompt on the process's standard error and standard input.
    pub fn stdio() -> Self {
        let mut prompt = Self::new(
            Box::new(std::io::BufReader::new(std::io::stdin())),
            Box::new(std::io::stderr()),
        );
        prompt.tty = std::io::IsTerminal::is_terminal(&std::io::stdin());
        prompt
    }

    /// A prompt on other streams.
    pub fn new(input: Input, output: Output) -> Self {
        Self {
            io: Arc::new(Mutex::new((input, output))),
            tty: false,
        }
    }
}

#[async_trait]
impl CodePrompt for TerminalPrompt {
    async fn ask(&self, what: &str) -> Result<Zeroizing<String>, LoginError> {
        let io = Arc::clone(&self.io);
        let what = what.to_owned();
        let tty = self.tty;
        // Reading a terminal blocks: off the async threads.
        tokio::task::spawn_blocking(move || {
            if tty {
                read_hidden(&what)
            } else {
                read_code(&io, &what)
            }
        })
        .await
        .map_err(|_| LoginError::Prompt("the prompt was interrupted".into()))?
    }
}

/// Reads the code from the terminal with its echo off.
fn read_hidden(what: &str) -> Result<Zeroizing<String>, LoginError> {
    let typed = Zeroizing::new(
        rpassword::prompt_password(format!("{what} (not echoed): "))
            .map_err(|e| LoginError::Prompt(format!("could not read the code: {e}")))?,
    );
    if typed.len() as u64 > MAX_LINE {
        return Err(LoginError::Prompt(format!(
            "the line entered is longer than {MAX_LINE} bytes"
        )));
    }
    Ok(Zeroizing::new(typed.trim().to_owned()))
}

fn read_code(io: &Mutex<(Input, Output)>, what: &str) -> Result<Zeroizing<String>, LoginError> {
    let mut io = io.lock().unwrap_or_else(PoisonError::into_inner);
    let (input, output) = &mut *io;
    write!(output, "{what}: ")
        .and_then(|()| output.flush())
        .map_err(|e| LoginError::Prompt(format!("could not write the prompt: {e}")))?;
    let mut line = Zeroizing::new(String::new());
    let read = input
        .take(MAX_LINE + 1)
        .read_line(&mut line)
        .map_err(|e| LoginError::Prompt(format!("could not read the code: {e}")))?;
    if read == 0 {
        return Err(LoginError::Prompt(
            "standard input ended before a code was entered".into(),
        ));
    }
    if line.len() as u64 > MAX_LINE {
        return Err(LoginError::Prompt(format!(
            "the line entered is longer than {MAX_LINE} bytes"
        )));
    }
    Ok(Zeroizing::new(line.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use keyward::exchange::session::CodeSource;

    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn prompt(input: &'static [u8]) -> (TerminalPrompt, Shared) {
        let out = Shared::default();
        (
            TerminalPrompt::new(Box::new(input), Box::new(out.clone())),
            out,
        )
    }

    #[tokio::test]
    async fn reads_one_line_per_question() {
        let (p, out) = prompt(b" 123456 \n654321\n");
        assert_eq!(
            p.ask("Upstox TOTP for bot1").await.unwrap().as_str(),
            "123456"
        );
        assert_eq!(p.ask("again").await.unwrap().as_str(), "654321");
        let asked = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(asked, "Upstox TOTP for bot1: again: ");
        assert!(!asked.contains("123456"), "the code is never echoed");
    }

    #[tokio::test]
    async fn an_empty_answer_or_end_of_input_is_a_prompt_error() {
        let (p, _) = prompt(b"\n");
        let source = CodeSource::Prompt(Arc::new(p));
        assert!(matches!(source.code("x").await, Err(LoginError::Prompt(_))));
        let (p, _) = prompt(b"");
        assert!(matches!(p.ask("x").await, Err(LoginError::Prompt(_))));
        let long: &'static [u8] = Box::leak(vec![b'1'; 300].into_boxed_slice());
        let (p, _) = prompt(long);
        assert!(matches!(p.ask("x").await, Err(LoginError::Prompt(_))));
    }
}
