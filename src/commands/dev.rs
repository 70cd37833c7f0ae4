//! `cargo pyo3 dev`: the shared pipeline once, or again on every change with `--watch`; with
//! several `--python` interpreters, once per interpreter and a table (`pythons/`).

use anyhow::Result;

use crate::cli::DevArgs;
use crate::failure::ExitStatus;
use crate::pipeline::{self, cycle_of, develop, watch_scope};
use crate::project;
use crate::pythons::{self, Extra, StepOutcome};
use crate::settings::DevSettings;

pub(crate) fn run(mut args: DevArgs) -> Result<ExitStatus> {
    let watch = std::mem::take(&mut args.watch);
    let settings = DevSettings::resolve(args);
    if pythons::several(&settings.pythons) {
        return several(&settings, watch);
    }
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

/// `dev --python A --python B …`: every interpreter built, installed and proven in its own venv.
fn several(settings: &DevSettings, watch: bool) -> Result<ExitStatus> {
    let plan = pythons::plan(settings)?;
    let once = |restore: bool| -> Result<(ExitStatus, Vec<pythons::Row>)> {
        let rows = pythons::run_each(&plan, restore, |_| Ok(StepOutcome::default()))?;
        let status = pythons::report(&plan, &rows, Extra::None, settings.json)?;
        Ok((status, rows))
    };
    if !watch {
        return once(false).map(|(status, _)| status);
    }
    let scope = || watch_scope(&project::discover(&settings.project)?, false);
    crate::watch::run(
        scope()?,
        scope,
        |_changed| Ok(pythons::cycle_of(&once(true)?.1)),
        // Each interpreter's venv was put back by `run_each` as its run failed.
        || Ok(None),
    )
}
