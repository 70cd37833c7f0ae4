//! `cargo pyo3`: parse, run the command, then turn its outcome into the documented exit code
//! (`outcome.rs` classifies and words a failure once).

mod build_key;
mod build_python;
mod clean;
mod cli;
mod clock;
mod commands;
mod digest;
mod editable;
mod env;
mod failure;
mod fs_atomic;
mod install;
mod interpreter;
mod lock;
mod locked;
mod maturin;
mod module_name;
mod outcome;
mod output;
mod pipeline;
mod platform;
mod process;
mod project;
mod proof;
mod python;
mod pythons;
mod receipt;
mod requirements;
mod restore;
mod rust_source;
mod rustup;
mod scaffold;
mod settings;
mod site_packages;
mod toolchain;
mod uv_guard;
mod venv;
mod watch;
mod wheel;
mod wheel_store;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::parse();
    output::init(
        args.global.quiet,
        args.global.verbose,
        args.global.color.into(),
    );
    process::install_interrupt_handler();
    let status = commands::run(args.command).unwrap_or_else(|error| outcome::report(&error));
    ExitCode::from(status.code())
}
