//! `cargo pyo3`: parse, run the command, report an error once, exit with the documented code.

mod clean;
mod cli;
mod commands;
mod digest;
mod env;
mod install;
mod lock;
mod maturin;
mod output;
mod process;
mod project;
mod proof;
mod receipt;
mod rust_source;
mod scaffold;
mod tools;
mod uv_guard;
mod venv;
mod wheel;

use std::process::ExitCode;

use output::ExitStatus;

fn main() -> ExitCode {
    let args = cli::parse();
    output::init(args.global.quiet, args.global.verbose, args.global.color);
    process::install_interrupt_handler();
    let status = commands::run(args.command).unwrap_or_else(|error| {
        output::report_error(&error);
        ExitStatus::Error
    });
    ExitCode::from(status.code())
}
