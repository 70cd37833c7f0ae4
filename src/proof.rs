//! The proof: import the module with the venv's own python, isolated (`-I`) and from an empty
//! directory so the source tree cannot shadow the install, then hash the file Python actually
//! loaded and compare it with the wheel's extension.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

pub(crate) use crate::python::Vantage;
use crate::python::{self, COPIES, PROOF};
use crate::venv::Venv;
use crate::wheel::{Wheel, sha256_file};

/// What the venv's python reported.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Report {
    pub(crate) version: String,
    pub(crate) executable: String,
    pub(crate) sys_path: Vec<String>,
    pub(crate) modules: Vec<ImportedModule>,
    pub(crate) mapped: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ImportedModule {
    pub(crate) name: String,
    pub(crate) file: Option<String>,
    pub(crate) error: Option<String>,
}

/// One extension: what the wheel holds against what Python loaded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LoadedExtension {
    pub(crate) module: String,
    pub(crate) entry: String,
    pub(crate) wheel_sha256: String,
    pub(crate) loaded_path: Option<PathBuf>,
    pub(crate) loaded_sha256: Option<String>,
    /// Whether `/proc/self/maps` shows the loaded file mapped into the process.
    pub(crate) mapped: Option<bool>,
    pub(crate) in_venv: bool,
    /// Why the proof fails for this extension; `None` when it holds.
    pub(crate) problem: Option<String>,
}

impl LoadedExtension {
    pub(crate) fn holds(&self) -> bool {
        self.problem.is_none()
    }
}

/// Every file along `sys.path` that could be imported as `module`, and the one that wins.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Copies {
    pub(crate) copies: Vec<Copy>,
    pub(crate) winner: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) cwd: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Copy {
    pub(crate) path: String,
    pub(crate) sys_path_entry: String,
}

/// Lists the importable copies of an extension module from one vantage point, importing nothing.
pub(crate) fn find_copies(venv: &Venv, module: &str, vantage: Vantage<'_>) -> Result<Copies> {
    python::run(
        venv,
        COPIES,
        module,
        &serde_json::json!({ "module": module }),
        vantage,
    )
}

/// Imports every extension of the wheel (and the top-level module) and checks each one.
pub(crate) fn prove(
    venv: &Venv,
    top_level_module: &str,
    wheel: &Wheel,
) -> Result<(Report, Vec<LoadedExtension>)> {
    let mut names = vec![top_level_module.to_owned()];
    names.extend(
        wheel
            .extensions
            .iter()
            .map(|extension| extension.module.clone()),
    );
    names.dedup();
    let report: Report = python::run(
        venv,
        PROOF,
        top_level_module,
        &serde_json::json!({ "modules": names }),
        Vantage::Neutral,
    )?;
    let venv_root = fs_err::canonicalize(&venv.root)?;
    let extensions = wheel
        .extensions
        .iter()
        .map(|extension| {
            let imported = report
                .modules
                .iter()
                .find(|module| module.name == extension.module);
            check_one(extension, imported, &report, &venv_root)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((report, extensions))
}

fn check_one(
    extension: &crate::wheel::WheelExtension,
    imported: Option<&ImportedModule>,
    report: &Report,
    venv_root: &Path,
) -> Result<LoadedExtension> {
    let mut loaded = LoadedExtension {
        module: extension.module.clone(),
        entry: extension.entry.clone(),
        wheel_sha256: extension.sha256.clone(),
        loaded_path: None,
        loaded_sha256: None,
        mapped: None,
        in_venv: false,
        problem: None,
    };
    let Some(imported) = imported else {
        loaded.problem = Some("the module was not imported".into());
        return Ok(loaded);
    };
    if let Some(error) = &imported.error {
        loaded.problem = Some(format!("`import {}` failed: {error}", extension.module));
        return Ok(loaded);
    }
    let Some(file) = &imported.file else {
        loaded.problem = Some(format!("`{}` has no `__file__`", extension.module));
        return Ok(loaded);
    };
    let path = fs_err::canonicalize(file)?;
    let sha256 = sha256_file(&path)?;
    loaded.in_venv = path.starts_with(venv_root);
    loaded.mapped = report.mapped.as_ref().map(|mapped| {
        mapped.iter().any(|candidate| {
            Path::new(candidate) == path || Path::new(candidate) == Path::new(file)
        })
    });
    loaded.problem = if !loaded.in_venv {
        Some(format!(
            "Python loaded `{}`, outside the venv `{}`: {}",
            path.display(),
            venv_root.display(),
            why_it_wins(&path, report)
        ))
    } else if sha256 != extension.sha256 {
        Some(format!(
            "the loaded `{}` (sha256 {}) is not the extension just built (sha256 {}): the install did not replace it",
            path.display(),
            crate::output::short_hash(&sha256),
            crate::output::short_hash(&extension.sha256)
        ))
    } else if loaded.mapped == Some(false) {
        Some(format!(
            "`{}` is not mapped into the interpreter that imported it",
            path.display()
        ))
    } else {
        None
    };
    loaded.loaded_path = Some(path);
    loaded.loaded_sha256 = Some(sha256);
    Ok(loaded)
}

/// Names the `sys.path` entry that made a foreign copy win.
fn why_it_wins(path: &Path, report: &Report) -> String {
    let winner = report
        .sys_path
        .iter()
        .enumerate()
        .filter(|(_, entry)| !entry.is_empty())
        .find(|(_, entry)| fs_err::canonicalize(entry).is_ok_and(|entry| path.starts_with(entry)));
    match winner {
        Some((index, entry)) => format!(
            "`sys.path[{index}]` is `{entry}` (added by a `.pth` file or the interpreter's configuration), \
             which is searched before the venv's copy"
        ),
        None => "no `sys.path` entry explains it".into(),
    }
}
