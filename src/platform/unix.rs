//! Linux and macOS: process groups and signals, POSIX permissions, rename over a mapped file.

use std::borrow::Cow;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::ExitStatus;

use super::FileIdentity;

/// The interpreter `python -m venv` falls back to when no `--python` is given.
pub(crate) const DEFAULT_PYTHON: &str = "python3";

/// What lists the files mapped into a process, for the proof's "is it really loaded" check:
/// Linux's `/proc/self/maps`. macOS has no `/proc`; there the check is not made, and the
/// receipt says why (`extensions[].mapped_unavailable`).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const MAPPED_FILES: Result<&str, &str> = Ok("/proc/self/maps");
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const MAPPED_FILES: Result<&str, &str> = Err(
    "not checked: only Linux lists a process's mapped files (`/proc/self/maps`); the proof rests \
     on `__file__` and the hash",
);

/// Runs a child in its own process group, so a signal we forward reaches cargo and rustc under
/// maturin, and a Ctrl-C reaches the child only through us (after which no command starts).
pub(crate) fn prepare_child(command: &mut std::process::Command) {
    command.process_group(0);
}

/// Forwards an interrupt to the child's process group (created by [`prepare_child`]).
pub(crate) fn forward_interrupt(child: u32) {
    let Ok(group) = i32::try_from(child) else {
        return;
    };
    // SAFETY: kill(2) has no memory-safety preconditions; a negative pid addresses the child's
    // process group, which we created.
    unsafe { libc::kill(-group, libc::SIGINT) };
}

/// Makes a FIFO at `path` (private to its owner) and opens it for reading and writing: a child
/// that opens it to read does not wait for a writer, and reads until this end writes a line, or
/// sees the end of the file once it is closed (this process ended, or dropped it). `None` where
/// one cannot be made.
pub(crate) fn wait_line(path: &Path) -> Option<fs_err::File> {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `name` is a NUL-terminated path that outlives the call; mkfifo(3) reads only it.
    if unsafe { libc::mkfifo(name.as_ptr(), 0o600) } != 0 {
        return None;
    }
    // Opening a FIFO for both never waits (Linux, macOS): this end is its own writer.
    fs_err::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .ok()
}

/// The number of the signal that killed the process, if one did.
pub(crate) fn signal(status: ExitStatus) -> Option<i32> {
    status.signal()
}

/// A file's inode and its modification and change times in nanoseconds: what tells a file that
/// was not touched since it was hashed (a content change always moves the change time).
pub(crate) fn file_identity(metadata: &std::fs::Metadata) -> FileIdentity {
    use std::os::unix::fs::MetadataExt;
    // An i64 of nanoseconds holds dates until 2262.
    let nanoseconds = |seconds: i64, nanos: i64| seconds * 1_000_000_000 + nanos;
    FileIdentity {
        inode: metadata.ino(),
        modified_ns: nanoseconds(metadata.mtime(), metadata.mtime_nsec()),
        changed_ns: nanoseconds(metadata.ctime(), metadata.ctime_nsec()),
    }
}

/// The signal that killed the process, described: a crash, as opposed to an exit.
pub(crate) fn crash(status: ExitStatus) -> Option<String> {
    status.signal().map(describe_signal)
}

/// "exit status: 1" or "signal: 6, SIGABRT: process abort signal".
pub(crate) fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status: {code}");
    }
    crash(status).unwrap_or_else(|| status.to_string())
}

fn describe_signal(signal: i32) -> String {
    match signal_name(signal) {
        Some(name) => format!("signal: {signal}, {name}"),
        None => format!("signal: {signal}"),
    }
}

fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        libc::SIGHUP => "SIGHUP: terminal line hangup",
        libc::SIGINT => "SIGINT: interrupt",
        libc::SIGQUIT => "SIGQUIT: quit",
        libc::SIGILL => "SIGILL: illegal instruction",
        libc::SIGTRAP => "SIGTRAP: trace/breakpoint trap",
        libc::SIGABRT => "SIGABRT: process abort signal",
        libc::SIGBUS => "SIGBUS: access to undefined memory",
        libc::SIGFPE => "SIGFPE: erroneous arithmetic operation",
        libc::SIGKILL => "SIGKILL: kill",
        libc::SIGSEGV => "SIGSEGV: invalid memory reference",
        libc::SIGPIPE => "SIGPIPE: write on a pipe with no one to read it",
        libc::SIGTERM => "SIGTERM: termination signal",
        _ => return None,
    })
}

/// A word of a command line, quoted for a POSIX shell.
pub(crate) fn quote(word: &str) -> Cow<'_, str> {
    shell_escape::unix::escape(Cow::Borrowed(word))
}

/// The permissions of an extension placed beside the sources: a temporary file is private to
/// its owner (0600); an installed extension is readable by everyone, as the installers leave
/// them (0755).
pub(crate) fn extension_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::Permissions::from_mode(0o755))
}

/// A rename over a file another process has mapped succeeds on POSIX (the process keeps the old
/// inode), so a failure is never that.
pub(crate) fn replace_error(target: &Path, error: std::io::Error) -> anyhow::Error {
    super::replace_failed(target, error, false)
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::ExitStatusExt;
    use std::path::Path;

    /// A process killed by SIGABRT, and how it is described.
    pub(crate) fn crashed_status() -> (std::process::ExitStatus, &'static str) {
        // A wait status of 6: killed by signal 6.
        (
            std::process::ExitStatus::from_raw(libc::SIGABRT),
            "signal: 6, SIGABRT: process abort signal",
        )
    }

    /// Gives `path` permissions a rewrite would lose if it did not keep them (0640).
    pub(crate) fn set_unusual_permissions(path: &Path) {
        fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o640)).unwrap();
    }

    pub(crate) fn symlink_file(original: &Path, link: &Path) {
        std::os::unix::fs::symlink(original, link).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exit_is_no_crash() {
        let status = ExitStatus::from_raw(3 << 8);
        assert_eq!(crash(status), None);
        assert_eq!(describe_status(status), "exit status: 3");
    }

    #[test]
    fn installed_extensions_are_readable_by_all() {
        use std::os::unix::fs::PermissionsExt;
        let mode = extension_permissions().unwrap().mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_lists_mapped_files() {
        let maps = fs_err::read_to_string(MAPPED_FILES.unwrap()).unwrap();
        assert!(
            maps.lines().any(|line| line.contains("cargo_pyo3")),
            "{maps}"
        );
        assert_eq!(super::super::mapped_unavailable(), None);
    }
}
