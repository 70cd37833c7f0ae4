//! The integration tests, one binary: real cargo, maturin, python, pip, uv and pytest building
//! real PyO3 crates. Fixture copies share one cargo target dir and one uv cache
//! (`common/mod.rs`), so pyo3 compiles once for the whole suite.

// Unix only: the harness links the tools with symlinks, sets file modes and sends signals to
// process groups. On Windows this binary is empty, and `.ci/run` says so (docs/platforms.md).
#![cfg(unix)]
#![expect(
    clippy::disallowed_methods,
    reason = "tests drive the real tools with std::process::Command and build scenes with std::fs; \
              clippy.toml's boundaries are for the tool's own code"
)]

mod common;

mod clean;
mod dev;
mod doctor;
mod fast_path;
mod layers;
mod locked;
mod new;
mod new_e2e;
mod platforms;
mod pythons;
mod reliability;
mod ship;
mod stubs;
mod test_run;
mod uv;
mod verify;
mod watch;

// The tool is a binary crate: `platforms` tests its wheel and symbol readers compiled from their
// own sources, which need nothing else from the tool but `failure::user_error` and the
// platform's file names.
#[path = "../../src/wheel.rs"]
#[expect(
    dead_code,
    reason = "the tests read wheels; the rest of the reader serves `dev`"
)]
mod wheel;

#[path = "../../src/platform/names.rs"]
mod names;

/// The platform names the reader uses, from the seam's own file.
mod platform {
    pub(crate) use super::names::{c_symbol_name, extension_stem, is_identifier};
}

// What `src/wheel.rs` needs besides: the error that carries a hint, from its own file (it imports
// nothing of the tool).
#[path = "../../src/failure.rs"]
#[expect(
    dead_code,
    reason = "the wheel reader only builds errors with hints; the rest is the tool's exit contract"
)]
mod failure;
