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
use crate::wheel::{self, Wheel, WheelExtension};

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

/// `Err` says why `previous` cannot be reused, for `-v`; `Ok` is the wheel it installed, its
/// hash still being checked.
pub(super) fn check(previous: &Receipt, now: &Now<'_>) -> Result<Kept, String> {
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
    // The installed extensions are hashed by the proof, after Python loaded them; the rest of
    // what the install wrote is hashed here.
    let extensions: Vec<&str> = previous
        .extensions
        .iter()
        .map(|extension| extension.entry.as_str())
        .collect();
    let installed = super::dependencies_in_place(
        Some(previous),
        now.requirements,
        now.dependency_versions,
        now.venv,
    )
    .then(|| {
        now.venv.installed_intact(
            &previous.distribution,
            &previous.distribution_version,
            &extensions,
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
    Ok(Kept::hash(previous))
}

/// The wheel the last build installed, from the receipt, and the kept file's hash being taken
/// on a thread while the proof runs: the receipt's word is only taken for the wheel's entries
/// once the file is, byte for byte, the one they were read from.
pub(super) struct Kept {
    wheel: Wheel,
    sha256: std::thread::JoinHandle<Result<String>>,
}

impl Kept {
    fn hash(previous: &Receipt) -> Kept {
        let path = previous.wheel.path.clone();
        let wheel = Wheel {
            file_name: previous.wheel.file_name.clone(),
            sha256: previous.wheel.sha256.clone(),
            extensions: previous
                .extensions
                .iter()
                .map(|extension| WheelExtension {
                    entry: extension.entry.clone(),
                    module: extension.module.clone(),
                    sha256: extension.wheel_sha256.clone(),
                })
                .collect(),
            generator: None,
        };
        Kept {
            wheel,
            sha256: std::thread::spawn(move || wheel::sha256_file(&path)),
        }
    }
}

/// The proof of the reused build, from both vantage points as after a build, through the
/// interpreters started ahead when there are; `None` when it does not hold (something outside
/// the key moved: a copy placed in the sources, a `.pth`, an edited or missing extension) or the
/// kept wheel is not the one proven, and the caller builds instead.
pub(super) fn prove(
    previous: &Receipt,
    kept: Kept,
    project: &Project,
    venv: &Venv,
    started: Option<proof::Started>,
) -> Result<Option<(Report, Vec<LoadedExtension>)>> {
    let placed = previous
        .editable
        .as_ref()
        .map(|editable| editable.placed.clone())
        .unwrap_or_default();
    let expected = proof::Expected {
        top_level_module: project.top_level_module(),
        wheel: &kept.wheel,
        placed: &placed,
        project_root: Path::new(&project.project_dir),
    };
    let (report, extensions) = proof::prove(venv, &expected, started)?;
    let kept_sha256 = kept
        .sha256
        .join()
        .map_err(|_| anyhow::anyhow!("hashing the kept wheel panicked"))?;
    if kept_sha256.as_ref().ok() != Some(&previous.wheel.sha256) {
        crate::output::verbose(format_args!(
            "the kept wheel `{}` is not the one proven: building",
            previous.wheel.path.display()
        ));
        return Ok(None);
    }
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
