//! The fault executables of `tests/faults/`, put where a test's PATH (or `--python`) finds them.
//! What varies per test reaches a fault through the environment, under the names below
//! (`tests/faults/README.md` says which fault reads which).

use std::path::{Path, PathBuf};

/// The real maturin, for a fault that builds with it.
pub const REAL_MATURIN: &str = "CARGO_PYO3_FAULT_REAL_MATURIN";
/// The real rustc, for a fault that passes calls on to it.
pub const REAL_RUSTC: &str = "CARGO_PYO3_FAULT_REAL_RUSTC";
/// The real uv, for a fault that passes commands on to it.
pub const REAL_UV: &str = "CARGO_PYO3_FAULT_REAL_UV";
/// The installed extension a fault half-overwrites.
pub const INSTALLED: &str = "CARGO_PYO3_FAULT_INSTALLED";
/// A file whose existence arms a one-shot fault, which removes it when it strikes.
pub const ARMED: &str = "CARGO_PYO3_FAULT_ARMED";
/// The file a fault creates once it has started.
pub const STARTED: &str = "CARGO_PYO3_FAULT_STARTED";
/// The absolute entry a fault puts in a wheel.
pub const ABSOLUTE_ENTRY: &str = "CARGO_PYO3_FAULT_ABSOLUTE_ENTRY";
/// The file that exists only if a name from a wheel ran as code.
pub const INJECTED: &str = "CARGO_PYO3_FAULT_INJECTED";

/// `tests/faults/`.
pub fn faults_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/faults")
}

/// Links the fault `tests/faults/<name>` into a new directory `<parent>/<name>/`, as `<name>` and,
/// when given, as `replaces` (the tool it stands in for). Returns the directory, which a test puts
/// first on PATH; the fault itself is `<directory>/<name>`. Links, not copies: a Python fault finds
/// `fault_wheels.py` beside its real path.
pub fn fault_executable(parent: &Path, name: &str, replaces: Option<&str>) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    assert!(
        name.starts_with("fault-"),
        "fault executables are named as such"
    );
    let source = faults_dir().join(name);
    let mode = std::fs::metadata(&source)
        .unwrap_or_else(|error| panic!("no fault {}: {error}", source.display()))
        .permissions()
        .mode();
    assert!(
        mode & 0o111 == 0o111,
        "{} is not executable (mode {mode:o}): commit it with `git update-index --chmod=+x`",
        source.display()
    );
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for link in std::iter::once(name).chain(replaces) {
        std::os::unix::fs::symlink(&source, dir.join(link)).unwrap();
    }
    dir
}
