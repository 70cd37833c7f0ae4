//! Placeholder for the uv guard (issue 3); replaced by the real module.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::project::Project;
use crate::venv::Venv;

#[derive(Debug, Clone, Serialize)]
pub(crate) struct GuardReport {
    pub(crate) in_play: bool,
    pub(crate) not_in_play_reason: Option<String>,
    pub(crate) uncovered: Vec<String>,
    pub(crate) missing_keys: Vec<String>,
    pub(crate) elapsed_ms: u64,
}

impl GuardReport {
    pub(crate) fn refuses(&self) -> bool {
        false
    }

    pub(crate) fn refusal(&self) -> anyhow::Error {
        anyhow::anyhow!("uv would reinstall a stale cached build")
    }
}

pub(crate) fn check(
    project: &Project,
    venv: Option<&Venv>,
    uv: Option<&Path>,
) -> Result<GuardReport> {
    let in_play = uv.is_some() && (project.uses_uv_lock() || venv.is_some_and(Venv::created_by_uv));
    Ok(GuardReport {
        in_play,
        not_in_play_reason: None,
        uncovered: Vec::new(),
        missing_keys: Vec::new(),
        elapsed_ms: 0,
    })
}

pub(crate) fn fix(_project: &Project) -> Result<Option<String>> {
    Ok(None)
}
