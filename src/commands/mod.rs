//! The workflows behind each subcommand. Each module composes the lower-level modules and holds
//! no low-level logic of its own.

pub(crate) mod dev;
pub(crate) mod doctor;
pub(crate) mod new;
pub(crate) mod run;
pub(crate) mod test;
pub(crate) mod verify;

use crate::cli::Command;
use crate::failure::ExitStatus;

pub(crate) fn run(command: Command) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Dev(args) => dev::run(args),
        Command::Verify(args) => verify::run(args),
        Command::New(args) => new::run_new(args),
        Command::Init(args) => new::run_init(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Test(args) => test::run(args),
        Command::Run(args) => run::run(args),
    }
}
