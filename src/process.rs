//! The one subprocess runner. Every external command (cargo, maturin, python, uv, pip) goes
//! through here as an argv vector — never a shell — so errors look the same everywhere: the
//! command as a pasteable line, how it ended, and what it printed.
//!
//! On Ctrl-C (or SIGTERM) the child is interrupted too, the tool waits for it to end, and returns
//! an error, so temporary directories are removed by their destructors on the way out instead of
//! being left behind by a hard kill. How the interrupt reaches the child is the platform's (its own
//! process group and a forwarded SIGINT on Unix, the console's own delivery on Windows:
//! `platform`). The interrupt flag and what the interrupt stopped live here; `outcome::report`
//! words it, once.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use crate::platform;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// What the run was doing when the interrupt stopped it, as the first step to notice said it.
static INTERRUPTION: Mutex<Option<String>> = Mutex::new(None);

/// How often a wait of our own (the project lock) looks at the interrupt flag. The handler is
/// installed with `SA_RESTART` (ctrlc does), so a blocking call such as `flock` would restart
/// after the signal and never notice it: waits poll instead.
pub(crate) const INTERRUPT_POLL: Duration = Duration::from_millis(50);

/// Installs the Ctrl-C / SIGTERM handler. Called once from `main`.
pub(crate) fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
}

pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Returns an error when the user has interrupted the run; checked between steps.
pub(crate) fn check_interrupted() -> anyhow::Result<()> {
    if interrupted() {
        anyhow::bail!("interrupted");
    }
    Ok(())
}

/// The error a wait of our own returns when it is interrupted: "interrupted while {doing}".
pub(crate) fn interrupted_while(doing: &str) -> anyhow::Error {
    let message = format!("interrupted while {doing}");
    note_interruption(&message);
    anyhow::anyhow!(message)
}

fn note_interruption(message: &str) {
    let mut noted = INTERRUPTION
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    noted.get_or_insert_with(|| message.to_owned());
}

/// What the interrupt stopped, for the one place that words it (`outcome::report`).
pub(crate) fn interruption() -> String {
    let noted = INTERRUPTION
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    noted.clone().unwrap_or_else(|| "interrupted".to_owned())
}

/// A command to run: program, arguments, working directory and environment changes.
#[derive(Clone)]
pub(crate) struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    dir: Option<PathBuf>,
    env: Vec<(OsString, Option<OsString>)>,
    stdin: Option<Vec<u8>>,
    /// Run beside the pipeline, not as a step of it: its interruption is not the one the run's
    /// error names (the step the user was waiting on is).
    background: bool,
}

/// What a captured command printed.
#[derive(Debug)]
pub(crate) struct Captured {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) status: ExitStatus,
}

impl From<std::process::Output> for Captured {
    fn from(output: std::process::Output) -> Self {
        Captured {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            status: output.status,
        }
    }
}

/// A command that could not start, or did not succeed.
#[derive(Debug)]
pub(crate) enum ProcessError {
    /// Not found, not executable, or the spawn itself failed.
    CouldNotExecute {
        command: String,
        source: std::io::Error,
    },
    /// It ran and ended badly.
    Failed {
        command: String,
        status: ExitStatus,
        stdout: String,
        stderr: String,
    },
    /// The user pressed Ctrl-C while it ran (it has been stopped), or before it could start.
    Interrupted { command: String, started: bool },
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessError::CouldNotExecute { command, source } => {
                write!(f, "could not execute process `{command}`: {source}")
            }
            ProcessError::Failed {
                command,
                status,
                stdout,
                stderr,
            } => {
                write!(
                    f,
                    "process didn't exit successfully: `{command}` ({})",
                    describe_status(*status)
                )?;
                for (name, text) in [("stdout", stdout), ("stderr", stderr)] {
                    if !text.trim().is_empty() {
                        write!(f, "\n--- {name}\n{}", text.trim_end())?;
                    }
                }
                Ok(())
            }
            ProcessError::Interrupted {
                command,
                started: true,
            } => write!(f, "interrupted while running `{command}`"),
            ProcessError::Interrupted {
                command,
                started: false,
            } => write!(f, "interrupted before running `{command}`"),
        }
    }
}

impl std::error::Error for ProcessError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProcessError::CouldNotExecute { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// "exit status: 1", "signal: 6, SIGABRT: process abort signal" (Unix) or
/// "exception 0xc0000005, STATUS_ACCESS_VIOLATION" (Windows).
pub(crate) fn describe_status(status: ExitStatus) -> String {
    platform::describe_status(status)
}

impl Cmd {
    pub(crate) fn new(program: impl AsRef<OsStr>) -> Self {
        Cmd {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            dir: None,
            env: Vec::new(),
            stdin: None,
            background: false,
        }
    }

    /// Marks it as run beside the pipeline (see the `background` field): a probe started
    /// early whose answers are waited for later.
    pub(crate) fn in_background(mut self) -> Self {
        self.background = true;
        self
    }

    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|arg| arg.as_ref().to_owned()));
        self
    }

    pub(crate) fn dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_owned());
        self
    }

    pub(crate) fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    pub(crate) fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// Bytes fed to the child's stdin (data, never code).
    pub(crate) fn stdin_bytes(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// The program, its arguments, directory and environment: what every way of running shares.
    #[expect(
        clippy::disallowed_methods,
        reason = "the one runner: every other file starts processes through `Cmd` (clippy.toml)"
    )]
    fn command(&self) -> duct::Expression {
        let mut expression = duct::cmd(&self.program, &self.args).unchecked();
        if let Some(dir) = &self.dir {
            expression = expression.dir(dir);
        }
        for (key, value) in &self.env {
            expression = match value {
                Some(value) => expression.env(key, value),
                None => expression.env_remove(key),
            };
        }
        expression
    }

    fn expression(&self) -> duct::Expression {
        let mut expression = self.command();
        expression = match &self.stdin {
            Some(bytes) => expression.stdin_bytes(bytes.clone()),
            None => expression.stdin_null(),
        };
        expression.before_spawn(|command| {
            platform::prepare_child(command);
            Ok(())
        })
    }

    /// Runs it with stdout and stderr captured; a non-zero exit is an error.
    pub(crate) fn run_captured(&self) -> Result<Captured, ProcessError> {
        self.succeeded(self.output()?)
    }

    /// Runs it with stdout and stderr captured, whatever its exit status.
    pub(crate) fn output(&self) -> Result<Captured, ProcessError> {
        let expression = self.expression().stdout_capture().stderr_capture();
        Ok(Captured::from(self.wait(expression)?))
    }

    /// `captured` when it exited successfully, else the error that names this command.
    fn succeeded(&self, captured: Captured) -> Result<Captured, ProcessError> {
        if captured.status.success() {
            Ok(captured)
        } else {
            Err(ProcessError::Failed {
                command: self.to_string(),
                status: captured.status,
                stdout: captured.stdout,
                stderr: captured.stderr,
            })
        }
    }

    /// Runs it with everything it prints streamed to our stderr (stdout is kept for data).
    pub(crate) fn run_streamed(&self) -> Result<(), ProcessError> {
        let expression = self.expression().stdout_to_stderr();
        let output = self.wait(expression)?;
        if output.status.success() {
            Ok(())
        } else {
            Err(ProcessError::Failed {
                command: self.to_string(),
                status: output.status,
                stdout: String::new(),
                stderr: String::new(),
            })
        }
    }

    /// Runs it attached to the user's terminal, for the commands a user runs through `test` and
    /// `run` (pytest, `python`, `ipython`): stdin inherited, `stdout` as chosen, and in our own
    /// process group, so it stays in the terminal's foreground (a child in another group is
    /// stopped by `SIGTTIN` when it reads the terminal). The terminal's Ctrl-C then reaches it
    /// directly, once, and is not forwarded again; the child decides how to end, and its status
    /// is returned whatever it is.
    pub(crate) fn run_attached(&self, stdout: Stdout) -> Result<ExitStatus, ProcessError> {
        self.start_attached(stdout)?.wait()
    }

    /// Starts it as [`Cmd::run_attached`] runs it, for a command that gets through its own start
    /// while this process does other work (and waits for it in a way of its own, such as a line
    /// on a FIFO). Dropped before [`Attached::wait`], it is killed and waited for.
    pub(crate) fn start_attached(&self, stdout: Stdout) -> Result<Attached, ProcessError> {
        if interrupted() {
            return Err(ProcessError::Interrupted {
                command: self.to_string(),
                started: false,
            });
        }
        let mut expression = self.command();
        if let Stdout::ToStderr = stdout {
            expression = expression.stdout_to_stderr();
        }
        let handle = expression
            .start()
            .map_err(|source| ProcessError::CouldNotExecute {
                command: self.to_string(),
                source,
            })?;
        Ok(Attached {
            command: self.to_string(),
            handle: Some(handle),
        })
    }

    fn wait(&self, expression: duct::Expression) -> Result<std::process::Output, ProcessError> {
        let handle = self.start(expression)?;
        self.wait_for(&handle)
    }

    /// Starts it, unless an interrupt has landed: one between two steps must not start the next
    /// command.
    fn start(&self, expression: duct::Expression) -> Result<duct::Handle, ProcessError> {
        if interrupted() {
            return Err(self.interrupted(false));
        }
        expression
            .start()
            .map_err(|source| ProcessError::CouldNotExecute {
                command: self.to_string(),
                source,
            })
    }

    /// Waits for a started command, forwarding an interrupt to it once.
    fn wait_for(&self, handle: &duct::Handle) -> Result<std::process::Output, ProcessError> {
        let could_not_execute = |source| ProcessError::CouldNotExecute {
            command: self.to_string(),
            source,
        };
        let child = handle.pids().first().copied();
        let (sender, receiver) = mpsc::channel();
        let result = std::thread::scope(|scope| {
            scope.spawn(|| sender.send(handle.wait().cloned()));
            let mut forwarded = false;
            loop {
                match receiver.recv_timeout(Duration::from_millis(50)) {
                    Ok(result) => return result,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if interrupted() && !forwarded {
                            if let Some(child) = child {
                                platform::forward_interrupt(child);
                            }
                            forwarded = true;
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(std::io::Error::other("waiter thread ended"));
                    }
                }
            }
        });
        let output = result.map_err(could_not_execute)?;
        if interrupted() {
            return Err(self.interrupted(true));
        }
        Ok(output)
    }

    /// Starts it now with its stdin an open pipe, for a command whose input is not known yet: it
    /// gets through its own start (loading, reading its configuration) while the run does other
    /// work, and stops at its first read of stdin until [`Awaiting::finish`] gives it the input.
    /// Dropped before that, it is killed and waited for, and has read nothing.
    pub(crate) fn start_awaiting_input(&self) -> Result<Awaiting, ProcessError> {
        let (reader, writer) = os_pipe::pipe().map_err(|source| ProcessError::CouldNotExecute {
            command: self.to_string(),
            source,
        })?;
        let expression = self
            .command()
            .stdin_file(reader)
            .stdout_capture()
            .stderr_capture()
            .before_spawn(|command| {
                platform::prepare_child(command);
                Ok(())
            });
        let handle = self.start(expression)?;
        Ok(Awaiting {
            cmd: self.clone(),
            handle: Some(handle),
            input: Some(writer),
        })
    }

    fn interrupted(&self, started: bool) -> ProcessError {
        let error = ProcessError::Interrupted {
            command: self.to_string(),
            started,
        };
        if !self.background {
            note_interruption(&error.to_string());
        }
        error
    }
}

/// A command started by [`Cmd::start_awaiting_input`], waiting for its input.
pub(crate) struct Awaiting {
    cmd: Cmd,
    handle: Option<duct::Handle>,
    input: Option<os_pipe::PipeWriter>,
}

impl Awaiting {
    /// Writes `input` to its stdin, closes it, and waits for it with its output captured; a
    /// non-zero exit is an error. The input is a few lines, well under a pipe's buffer, so the
    /// write cannot wait on the child.
    pub(crate) fn finish(mut self, input: &[u8]) -> Result<Captured, ProcessError> {
        let handle = self
            .handle
            .take()
            .expect("an awaiting command has its handle");
        let written = self
            .input
            .take()
            .map(|mut writer| std::io::Write::write_all(&mut writer, input));
        let output = self.cmd.wait_for(&handle)?;
        // A child that ended before reading says why in its output; a failed write alone does not.
        if let Some(Err(source)) = written
            && output.status.success()
        {
            return Err(ProcessError::CouldNotExecute {
                command: self.cmd.to_string(),
                source,
            });
        }
        self.cmd.succeeded(Captured::from(output))
    }

    /// The command it runs, as errors name it.
    pub(crate) fn command(&self) -> &Cmd {
        &self.cmd
    }
}

impl Drop for Awaiting {
    /// Not given its input: killed before it reads, and reaped.
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = handle.kill();
            let _ = handle.wait();
        }
    }
}

/// A command started by [`Cmd::start_attached`].
pub(crate) struct Attached {
    command: String,
    handle: Option<duct::Handle>,
}

impl Attached {
    /// The command it runs, as errors name it.
    pub(crate) fn command(&self) -> &str {
        &self.command
    }

    /// Waits for it to end; its status, whatever it is.
    pub(crate) fn wait(mut self) -> Result<ExitStatus, ProcessError> {
        let handle = self
            .handle
            .take()
            .expect("a started command has its handle");
        handle
            .wait()
            .map(|output| output.status)
            .map_err(|source| ProcessError::CouldNotExecute {
                command: std::mem::take(&mut self.command),
                source,
            })
    }
}

impl Drop for Attached {
    /// Not waited for: not wanted any more, so killed, and reaped.
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = handle.kill();
            let _ = handle.wait();
        }
    }
}

/// Where an attached command's stdout goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stdout {
    /// The user's stdout, as if they had run it themselves.
    Inherit,
    /// Our stderr, when our stdout carries a `--json` report.
    ToStderr,
}

/// The shell's convention for an exit status: the code, or 128 + N for a death by signal N.
pub(crate) fn shell_code(status: ExitStatus) -> u8 {
    match (status.code(), crate::platform::signal(status)) {
        (Some(code), _) => code as u8,
        (None, Some(signal)) => (128 + signal) as u8,
        (None, None) => 255,
    }
}

impl fmt::Display for Cmd {
    /// The command as a line a user can paste into a shell (the platform's quoting).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words = std::iter::once(&self.program).chain(&self.args);
        for (index, word) in words.enumerate() {
            if index > 0 {
                f.write_str(" ")?;
            }
            let word = word.to_string_lossy();
            f.write_str(&platform::quote(&word))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_program_is_could_not_execute() {
        let error = Cmd::new("definitely-not-a-real-program-xyz")
            .run_captured()
            .unwrap_err();
        assert!(matches!(error, ProcessError::CouldNotExecute { .. }));
        assert!(
            error
                .to_string()
                .starts_with("could not execute process `definitely-not-a-real-program-xyz`")
        );
    }

    #[test]
    fn failure_shows_status_and_output() {
        let error = Cmd::new("sh")
            .args(["-c", "echo out; echo err >&2; exit 3"])
            .run_captured()
            .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("(exit status: 3)"), "{text}");
        assert!(text.contains("--- stdout\nout"), "{text}");
        assert!(text.contains("--- stderr\nerr"), "{text}");
    }

    /// The quoting and the crash naming are the platform's; these two run them through the runner
    /// on Unix, where `sh` is.
    #[test]
    fn display_is_pasteable() {
        let cmd = Cmd::new("python").arg("-c").arg("print('hi there')");
        assert_eq!(cmd.to_string(), r#"python -c 'print('\''hi there'\'')'"#);
    }

    #[test]
    fn signal_is_named() {
        let error = Cmd::new("sh")
            .args(["-c", "kill -ABRT $$"])
            .run_captured()
            .unwrap_err();
        assert!(error.to_string().contains("signal: 6, SIGABRT"), "{error}");
        let ProcessError::Failed { status, .. } = error else {
            panic!("{error}");
        };
        assert_eq!(
            platform::crash(status).as_deref(),
            Some("signal: 6, SIGABRT: process abort signal")
        );
    }

    #[test]
    fn an_awaiting_command_runs_on_the_input_it_is_given_later() {
        let started = Cmd::new("sh")
            .args(["-c", "read line; echo \"got $line\""])
            .start_awaiting_input()
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let captured = started.finish(b"the wheel\n").unwrap();
        assert_eq!(captured.stdout, "got the wheel\n");
    }

    #[test]
    fn an_awaiting_command_dropped_unused_is_killed_before_it_reads() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let started = Cmd::new("sh")
            .args(["-c", "read line; echo ran > \"$0\"; sleep 5"])
            .arg(&marker)
            .start_awaiting_input()
            .unwrap();
        let pid = started.handle.as_ref().unwrap().pids()[0];
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            drop(started);
            let _ = sender.send(());
        });
        assert!(
            receiver.recv_timeout(Duration::from_secs(2)).is_ok(),
            "the drop waits for the command to end on its own"
        );
        // Time enough for it to go on, had it been given an end of input instead of a kill.
        std::thread::sleep(Duration::from_millis(200));
        assert!(!marker.exists(), "the command went on past its read");
        // Reaped: no process, not even a zombie, is left with that pid (Linux's `/proc`).
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} is still there"
        );
    }

    #[test]
    fn an_awaiting_command_that_fails_says_so() {
        let started = Cmd::new("sh")
            .args(["-c", "read line; echo \"no $line\" >&2; exit 4"])
            .start_awaiting_input()
            .unwrap();
        let error = started.finish(b"such wheel\n").unwrap_err();
        let text = error.to_string();
        assert!(text.contains("(exit status: 4)"), "{text}");
        assert!(text.contains("--- stderr\nno such wheel"), "{text}");
    }

    #[test]
    fn stdin_is_data() {
        let captured = Cmd::new("cat").stdin_bytes("a;b").run_captured().unwrap();
        assert_eq!(captured.stdout, "a;b");
    }
}
