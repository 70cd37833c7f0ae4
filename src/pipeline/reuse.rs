//! The no-change fast path: when nothing that can change the wheel changed since the proven
//! build, and what it installed is intact, that build is proven again instead of rebuilt
//! (docs/dev.md). The proof is the verdict either way; reuse only skips the build and install.

use std::path::Path;

use anyhow::Result;

use crate::build_key::BuildKey;
use crate::digest::InputsDigest;
use crate::project::Project;
use crate::proof::{self, LoadedExtension, Report};
use crate::receipt::Receipt;
use crate::venv::Venv;
use crate::wheel::{self, Wheel};

/// What a new build must match to reuse the last one.
pub(super) struct Now<'a> {
    pub(super) project: &'a Project,
    pub(super) venv: &'a Venv,
    pub(super) key: &'a BuildKey,
    pub(super) digest: &'a InputsDigest,
    pub(super) requirements: &'a [String],
    /// Whether those requirements are a lock's pins or ranges to resolve.
    pub(super) dependency_versions: crate::receipt::VersionSource,
    pub(super) editable: bool,
}

/// `Err` says why `previous` cannot be reused, for `-v`; `Ok` is the wheel it installed.
pub(super) fn check(previous: &Receipt, now: &Now<'_>) -> Result<Wheel, String> {
    if !crate::project::same_file(&previous.python.venv, &now.venv.root) {
        return Err("the receipt is for another venv".into());
    }
    let Some(key) = &previous.build_key else {
        return Err("the receipt has no build key".into());
    };
    if key.sha256 != now.key.sha256 {
        return Err(format!(
            "changed since the proven build: {}",
            now.key.differences(key).join(", ")
        ));
    }
    let Some(inputs) = &previous.inputs else {
        return Err("the receipt has no digest of the build inputs".into());
    };
    if inputs.sha256 != now.digest.sha256 {
        let changed = crate::digest::changed_between(Some(inputs), now.digest).unwrap_or_default();
        let names: Vec<String> = changed
            .iter()
            .map(|path| format!("`{}`", now.project.relative(path).display()))
            .collect();
        return Err(format!("the build inputs changed: {}", names.join(", ")));
    }
    // A build that may hold either version of an input, or one made without a clean (cargo's
    // mtime check may have kept an older library), cannot vouch for these sources.
    if !inputs.changed_during_build.is_empty()
        || !matches!(inputs.clean.as_str(), "package" | "full")
    {
        return Err("the proven build cannot vouch for its sources".into());
    }
    if previous.editable.is_some() != now.editable {
        return Err("the install mode (editable or not) changed".into());
    }
    // The wheel the extensions are proven against comes from the file kept, read and hashed
    // anew: the receipt's word for it is not enough. It is hashed on a thread while the
    // installed files are hashed here (each is the extension's megabytes once or twice).
    let (installed, wheel) = std::thread::scope(|scope| {
        let wheel = scope.spawn(|| wheel::inspect(&previous.wheel.path));
        let installed = super::dependencies_in_place(
            Some(previous),
            now.requirements,
            now.dependency_versions,
            now.venv,
        )
        .then(|| {
            now.venv
                .installed_intact(&previous.distribution, &previous.distribution_version)
        });
        (
            installed,
            wheel.join().expect("reading the kept wheel panicked"),
        )
    });
    match installed {
        None => return Err("the runtime dependencies changed or are missing".into()),
        Some(false) => {
            return Err(format!(
                "the installed `{}` {} is not what was proven (uninstalled, replaced or edited)",
                previous.distribution, previous.distribution_version
            ));
        }
        Some(true) => {}
    }
    let wheel = wheel.map_err(|error| error.to_string())?;
    if wheel.sha256 != previous.wheel.sha256 {
        return Err(format!(
            "the kept wheel `{}` is not the one proven",
            previous.wheel.path.display()
        ));
    }
    Ok(wheel)
}

/// The proof of the reused build, from both vantage points as after a build; `None` when it does
/// not hold (something outside the key moved: a copy placed in the sources, a `.pth`), and the
/// caller builds instead.
pub(super) fn prove(
    previous: &Receipt,
    wheel: &Wheel,
    project: &Project,
    venv: &Venv,
) -> Result<Option<(Report, Vec<LoadedExtension>)>> {
    let placed = previous
        .editable
        .as_ref()
        .map(|editable| editable.placed.clone())
        .unwrap_or_default();
    let expected = proof::Expected {
        top_level_module: project.top_level_module(),
        wheel,
        placed: &placed,
        project_root: Path::new(&project.project_dir),
    };
    let (report, extensions) = proof::prove(venv, &expected, None)?;
    if let Some(failure) = extensions.iter().find(|extension| !extension.holds()) {
        crate::output::verbose(format_args!(
            "proving the last build again failed for `{}` ({}): building",
            failure.module,
            failure.problem.as_deref().unwrap_or_default()
        ));
        return Ok(None);
    }
    Ok(Some((report, extensions)))
}
