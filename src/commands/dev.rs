//! `cargo pyo3 dev`: the shared pipeline once, or again on every change with `--watch`.

use anyhow::Result;

use crate::cli::DevArgs;
use crate::failure::ExitStatus;
use crate::pipeline::{self, cycle_of, develop, watch_scope};
use crate::project;
use crate::settings::DevSettings;

pub(crate) fn run(mut args: DevArgs) -> Result<ExitStatus> {
    let watch = std::mem::take(&mut args.watch);
    let settings = DevSettings::resolve(args);
    if !watch {
        return develop(settings).map(|(status, _)| status);
    }
    let scope = || watch_scope(&project::discover(&settings.project)?, false);
    crate::watch::run(
        scope()?,
        scope,
        |_changed| Ok(cycle_of(pipeline::develop(settings.clone())?)),
        || crate::restore::restore(&settings),
    )
}
