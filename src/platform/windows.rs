//! Windows: console control events, NTSTATUS exit codes, a loaded `.pyd` that cannot be
//! replaced. Checked with `cargo check --target x86_64-pc-windows-msvc`; never run (no Windows
//! machine here: `docs/platforms.md`).

use std::borrow::Cow;
use std::path::Path;
use std::process::ExitStatus;

use super::FileIdentity;

/// The interpreter `python -m venv` falls back to: python.org's installer puts `python` (and
/// the `py` launcher) on PATH, not `python3`.
pub(crate) const DEFAULT_PYTHON: &str = "python";

/// Windows has no list of a process's mapped files that Python can read without a native
/// module; the check is not made and the receipt says why.
pub(crate) const MAPPED_FILES: Result<&str, &str> = Err(
    "not checked: Windows has no `/proc/self/maps`; the proof rests on `__file__` and the hash",
);

/// Children stay in our console process group. A Ctrl-C (or Ctrl-Break) on a console is
/// delivered by Windows to every process attached to it, the children included, so there is
/// nothing to forward; a child started with `CREATE_NEW_PROCESS_GROUP` would instead have
/// Ctrl-C disabled and could only be sent Ctrl-Break, which Python does not turn into
/// `KeyboardInterrupt` (it ends the process without cleanup).
pub(crate) fn prepare_child(command: &mut std::process::Command) {
    let _ = command;
}

/// Nothing to do: the console has already delivered the event to the child (see
/// [`prepare_child`]); the caller waits for it to end.
pub(crate) fn forward_interrupt(child: u32) {
    let _ = child;
}

/// No FIFOs: a command is never started ahead of a line it waits for.
pub(crate) fn wait_line(_path: &Path) -> Option<fs_err::File> {
    None
}

/// Windows has no signals: a process ends with an exit code (an NTSTATUS after a crash).
pub(crate) fn signal(status: ExitStatus) -> Option<i32> {
    let _ = status;
    None
}

/// Windows has no inode or change time that std exposes on stable Rust: the file's size and
/// modification time stand in (the digest then rehashes what they cannot vouch for).
pub(crate) fn file_identity(metadata: &std::fs::Metadata) -> FileIdentity {
    let modified_ns = metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |elapsed| elapsed.as_nanos() as i64);
    FileIdentity {
        inode: 0,
        modified_ns,
        changed_ns: modified_ns,
    }
}

/// A crash ends a Windows process with an NTSTATUS of error severity (`0xC0000005`) as its
/// exit code; there are no signals.
pub(crate) fn crash(status: ExitStatus) -> Option<String> {
    let code = status.code()? as u32;
    super::windows_facts::is_ntstatus_crash(code)
        .then(|| super::windows_facts::describe_windows_exit(code))
}

pub(crate) fn describe_status(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => super::windows_facts::describe_windows_exit(code as u32),
        None => status.to_string(),
    }
}

/// A word of a command line, quoted as `CommandLineToArgvW` reads it.
pub(crate) fn quote(word: &str) -> Cow<'_, str> {
    shell_escape::windows::escape(Cow::Borrowed(word))
}

/// Nothing to widen: a file created in a directory inherits that directory's ACL, as the
/// installers' files do.
pub(crate) fn extension_permissions() -> Option<std::fs::Permissions> {
    None
}

/// Windows refuses to replace a `.pyd` a running process has loaded. Which process holds it is
/// not told yet: the Restart Manager (`RmGetList`) can name it, and is not wired in
/// (`docs/platforms.md`).
pub(crate) fn replace_error(target: &Path, error: std::io::Error) -> anyhow::Error {
    let held = super::windows_facts::file_in_use(error.raw_os_error());
    super::replace_failed(target, error, held)
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::os::windows::process::ExitStatusExt;
    use std::path::Path;

    pub(crate) fn crashed_status() -> (std::process::ExitStatus, &'static str) {
        (
            std::process::ExitStatus::from_raw(0xC000_0005),
            "exception 0xc0000005, STATUS_ACCESS_VIOLATION",
        )
    }

    /// Windows has no mode bits to lose: permissions stay as they are.
    pub(crate) fn set_unusual_permissions(path: &Path) {
        let _ = path;
    }

    pub(crate) fn symlink_file(original: &Path, link: &Path) {
        std::os::windows::fs::symlink_file(original, link).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use std::os::windows::process::ExitStatusExt;

    use super::*;

    #[test]
    fn an_access_violation_is_a_crash() {
        let status = ExitStatus::from_raw(0xC000_0005);
        assert_eq!(
            crash(status).as_deref(),
            Some("exception 0xc0000005, STATUS_ACCESS_VIOLATION")
        );
        assert_eq!(crash(ExitStatus::from_raw(1)), None);
    }
}
