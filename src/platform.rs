//! What differs between Linux, macOS and Windows, in one place (issue 18; `docs/platforms.md`).
//! `#[cfg]` and `std::os::{unix,windows}` live here and in `platform/{unix,windows}.rs`, nowhere
//! else in `src/`.
//!
//! Two kinds of knowledge sit here:
//! - facts about every platform, needed on every platform: a wheel built for macOS or Windows is
//!   read on Linux too, so extension file names, venv layouts and Windows' NTSTATUS names are
//!   plain data, compiled and unit-tested everywhere;
//! - what this process does on the platform it runs on (`native`): process groups and interrupt
//!   forwarding, how a crash is told from an exit, the mapping check, file permissions and why a
//!   loaded extension cannot be replaced.

use std::path::{Path, PathBuf};

mod names;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as native;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as native;

pub(crate) use names::{c_symbol_name, extension_stem, is_identifier};
pub(crate) use native::{
    DEFAULT_PYTHON, MAPPED_FILES, crash, describe_status, extension_permissions, file_identity,
    forward_interrupt, prepare_child, quote, replace_error, signal, wait_line,
};

/// What identifies a file's state without reading it (see [`file_identity`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    pub(crate) inode: u64,
    pub(crate) modified_ns: i64,
    pub(crate) changed_ns: i64,
}

#[cfg(test)]
pub(crate) use native::test_support;

/// Where a venv keeps its interpreter, scripts and site-packages. CPython's `venv` and uv pick
/// the layout by platform: `bin/` and `lib/pythonX.Y/site-packages` on POSIX (macOS framework
/// and Homebrew Pythons included), `Scripts\` and `Lib\site-packages` on Windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VenvLayout {
    Posix,
    Windows,
}

impl VenvLayout {
    /// The layout of venvs made on the platform this runs on.
    pub(crate) const NATIVE: VenvLayout = if cfg!(windows) {
        VenvLayout::Windows
    } else {
        VenvLayout::Posix
    };

    /// The other one: a venv of that layout was made on another platform (a copied or shared
    /// directory), and its interpreter cannot run here.
    pub(crate) fn other(self) -> VenvLayout {
        match self {
            VenvLayout::Posix => VenvLayout::Windows,
            VenvLayout::Windows => VenvLayout::Posix,
        }
    }

    /// What to call it in a message.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            VenvLayout::Posix => "a Linux or macOS layout (`bin/python`)",
            VenvLayout::Windows => "a Windows layout (`Scripts\\python.exe`)",
        }
    }

    pub(crate) fn scripts_dir(self, root: &Path) -> PathBuf {
        root.join(match self {
            VenvLayout::Posix => "bin",
            VenvLayout::Windows => "Scripts",
        })
    }

    /// An executable the venv installs, `maturin` → `bin/maturin` or `Scripts\maturin.exe`.
    pub(crate) fn executable(self, root: &Path, name: &str) -> PathBuf {
        let dir = self.scripts_dir(root);
        match self {
            VenvLayout::Posix => dir.join(name),
            VenvLayout::Windows => dir.join(format!("{name}.exe")),
        }
    }

    pub(crate) fn python(self, root: &Path) -> PathBuf {
        self.executable(root, "python")
    }

    /// Where site-packages should be, most likely first: `lib/python3.11/site-packages` for the
    /// venv's version, then any `lib/*/site-packages` (the version can be missing from
    /// `pyvenv.cfg`); `Lib\site-packages` on Windows, which has no version directory.
    pub(crate) fn site_packages(self, root: &Path, version: Option<&str>) -> Option<PathBuf> {
        match self {
            VenvLayout::Windows => {
                Some(root.join("Lib").join("site-packages")).filter(|path| path.is_dir())
            }
            VenvLayout::Posix => {
                let lib = root.join("lib");
                if let Some(version) = version {
                    let short: Vec<&str> = version.split('.').take(2).collect();
                    let candidate = lib
                        .join(format!("python{}", short.join(".")))
                        .join("site-packages");
                    if candidate.is_dir() {
                        return Some(candidate);
                    }
                }
                let mut found: Vec<PathBuf> = fs_err::read_dir(&lib)
                    .ok()?
                    .filter_map(|entry| entry.ok())
                    .map(|entry| entry.path().join("site-packages"))
                    .filter(|path| path.is_dir())
                    .collect();
                found.sort();
                found.into_iter().next()
            }
        }
    }

    /// The interpreter the venv's python stands for, whose path stays put when the venv is
    /// recreated. On POSIX the venv's `python` is a symlink to it (macOS framework Pythons
    /// included: `…/Python.framework/Versions/3.11/bin/python3.11`). On Windows the venv's
    /// `python.exe` is a copy of a launcher, not a link: the base is the `executable` that
    /// `pyvenv.cfg` names (CPython 3.11+), else `python.exe` in its `home` directory.
    pub(crate) fn base_interpreter(
        self,
        python: &Path,
        config: impl Fn(&str) -> Option<String>,
    ) -> PathBuf {
        match self {
            VenvLayout::Posix => {
                fs_err::canonicalize(python).unwrap_or_else(|_| python.to_path_buf())
            }
            VenvLayout::Windows => config("executable")
                .map(PathBuf::from)
                .into_iter()
                .chain(config("home").map(|home| Path::new(&home).join("python.exe")))
                .find(|base| base.is_file())
                .unwrap_or_else(|| python.to_path_buf()),
        }
    }
}

/// How Windows ends a crashed process and refuses to replace a loaded file: read by
/// `platform/windows.rs`, unit-tested on every platform.
#[cfg_attr(
    not(any(windows, test)),
    expect(dead_code, reason = "read on Windows, unit-tested everywhere")
)]
pub(crate) mod windows_facts {
    /// An NTSTATUS a Windows process ends with when it crashes, named the way Windows' `ntstatus.h`
    /// does. Only error-severity codes (`0xC…`) are crashes; the others are exit codes.
    pub(crate) fn ntstatus_name(code: u32) -> Option<&'static str> {
        Some(match code {
            0xC000_0005 => "STATUS_ACCESS_VIOLATION",
            0xC000_001D => "STATUS_ILLEGAL_INSTRUCTION",
            0xC000_0025 => "STATUS_NONCONTINUABLE_EXCEPTION",
            0xC000_008C => "STATUS_ARRAY_BOUNDS_EXCEEDED",
            0xC000_0094 => "STATUS_INTEGER_DIVIDE_BY_ZERO",
            0xC000_0095 => "STATUS_INTEGER_OVERFLOW",
            0xC000_00FD => "STATUS_STACK_OVERFLOW",
            0xC000_0135 => "STATUS_DLL_NOT_FOUND",
            0xC000_0139 => "STATUS_ENTRYPOINT_NOT_FOUND",
            0xC000_013A => "STATUS_CONTROL_C_EXIT",
            0xC000_0142 => "STATUS_DLL_INIT_FAILED",
            0xC000_0374 => "STATUS_HEAP_CORRUPTION",
            // `__fastfail`, which Rust's `std::process::abort` and the MSVC runtime's
            // stack-cookie checks end a process with.
            0xC000_0409 => "STATUS_STACK_BUFFER_OVERRUN",
            _ => return None,
        })
    }

    /// Whether a Windows exit code is an NTSTATUS of error severity: the process crashed.
    pub(crate) fn is_ntstatus_crash(code: u32) -> bool {
        code & 0xC000_0000 == 0xC000_0000
    }

    /// "exception 0xc0000005, STATUS_ACCESS_VIOLATION", or "exit status: 3".
    pub(crate) fn describe_windows_exit(code: u32) -> String {
        if !is_ntstatus_crash(code) {
            return format!("exit status: {code}");
        }
        match ntstatus_name(code) {
            Some(name) => format!("exception {code:#010x}, {name}"),
            None => format!("exception {code:#010x}"),
        }
    }

    /// Whether a failed replacement of a file means another process has it loaded: Windows refuses
    /// to replace an image a process has mapped with `ERROR_ACCESS_DENIED` (5) or
    /// `ERROR_SHARING_VIOLATION` (32). POSIX renames over a mapped file and never refuses for it.
    pub(crate) fn file_in_use(raw_os_error: Option<i32>) -> bool {
        matches!(raw_os_error, Some(5 | 32))
    }
}

/// Why `extensions[].mapped` is null, for the receipt: `None` where the check runs.
pub(crate) fn mapped_unavailable() -> Option<String> {
    MAPPED_FILES.err().map(str::to_owned)
}

/// The error for an extension that could not be replaced, worded for Windows' refusal when the
/// OS error says a process holds the file.
fn replace_failed(target: &Path, error: std::io::Error, held: bool) -> anyhow::Error {
    if held {
        crate::failure::user_error(
            format!(
                "`{}` could not be replaced ({error}): a running process has it loaded, and \
                 Windows does not let a loaded `.pyd` be replaced",
                target.display()
            ),
            "end the Python processes that imported it (a REPL, a Jupyter kernel, a test run, \
             an editor's language server) and run `cargo pyo3 dev` again",
        )
    } else {
        anyhow::Error::new(error).context(format!("failed to replace `{}`", target.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::windows_facts::*;
    use super::*;

    #[test]
    fn windows_crashes_are_named() {
        assert_eq!(
            describe_windows_exit(0xC000_0005),
            "exception 0xc0000005, STATUS_ACCESS_VIOLATION"
        );
        assert_eq!(
            describe_windows_exit(0xC000_0409),
            "exception 0xc0000409, STATUS_STACK_BUFFER_OVERRUN"
        );
        assert_eq!(describe_windows_exit(0xC0DE_0001), "exception 0xc0de0001");
        // C `abort()` under the MSVC runtime exits with 3: an exit code, not a crash.
        assert_eq!(describe_windows_exit(3), "exit status: 3");
        assert!(!is_ntstatus_crash(1));
    }

    #[test]
    fn in_use_is_told_by_the_os_error() {
        assert!(file_in_use(Some(5)));
        assert!(file_in_use(Some(32)));
        assert!(!file_in_use(Some(2)));
        assert!(!file_in_use(None));
        let held = replace_failed(
            Path::new("python/demo/_core.cp311-win_amd64.pyd"),
            std::io::Error::from_raw_os_error(5),
            true,
        );
        assert!(
            held.to_string().contains("a running process has it loaded"),
            "{held}"
        );
        assert!(
            crate::failure::hint_of(&held).is_some_and(|hint| hint.contains("cargo pyo3 dev")),
            "{held:?}"
        );
    }

    #[test]
    fn layouts_name_their_files() {
        let root = Path::new("venv");
        assert_eq!(
            VenvLayout::Posix.python(root),
            root.join("bin").join("python")
        );
        assert_eq!(
            VenvLayout::Windows.python(root),
            root.join("Scripts").join("python.exe")
        );
        assert_eq!(
            VenvLayout::Windows.executable(root, "maturin"),
            root.join("Scripts").join("maturin.exe")
        );
        assert_eq!(VenvLayout::NATIVE.other().other(), VenvLayout::NATIVE);
    }
}
