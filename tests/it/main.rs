//! The integration tests, one binary: real cargo, maturin, python, pip, uv and pytest building
//! real PyO3 crates. Fixture copies share one cargo target dir and one uv cache
//! (`common/mod.rs`), so pyo3 compiles once for the whole suite.

#![expect(
    clippy::disallowed_methods,
    reason = "tests drive the real tools with std::process::Command and build scenes with std::fs; \
              clippy.toml's boundaries are for the tool's own code"
)]

mod common;

mod clean;
mod dev;
mod doctor;
mod new;
mod new_e2e;
mod reliability;
mod test_run;
mod uv;
mod verify;
