//! Putting the last proven build back after a `--watch` cycle that failed once its install had
//! begun (a failed install, a failed or crashed proof): the wheels the receipt names are kept
//! until a new build is proven (`wheel_store`), so they are installed again with the installer
//! `dev` uses, the extensions an editable install placed beside the sources are written back
//! (by rename, as `dev` writes them), and the same proof checks that the venv loads that build
//! again. The receipt is only read: it already describes the build that is put back.

use anyhow::Result;

use crate::output::{self, short_hash};

use crate::failure::UserError;
use crate::project;
use crate::receipt;
use crate::settings::DevSettings;
use crate::toolchain::Toolchain;
use crate::venv::Venv;
use crate::{editable, install, lock, proof, wheel};

/// What to do when the proven build could not be put back, whatever stopped it.
const HINT: &str = "the venv may hold the failed cycle's unproven install; run `cargo pyo3 dev` \
                    to build, install and prove the sources as they are";

/// Reinstalls and proves again the build the receipt describes, into the venv `settings` finds.
/// Returns its extension's sha256, or `None` when there is no receipt for that venv (no build
/// was proven there, so there is nothing to put back).
pub(crate) fn restore(settings: &DevSettings) -> Result<Option<String>> {
    let mut restoring = None;
    restore_proven(settings, &mut restoring).map_err(|source| {
        anyhow::Error::new(UserError {
            kind: None,
            message: match &restoring {
                Some(sha256) => format!(
                    "failed to restore the proven build `{}`",
                    short_hash(sha256)
                ),
                None => "failed to restore the last proven build".to_owned(),
            },
            hint: Some(HINT.to_owned()),
            source: Some(source),
        })
    })
}

/// The restore; `restoring` is set to the sha256 of the build being put back once it is known.
fn restore_proven(
    settings: &DevSettings,
    restoring: &mut Option<String>,
) -> Result<Option<String>> {
    let project = project::discover(&settings.project)?;
    let _lock = lock::acquire(&project.lock_path(), settings.wait)?;
    let Some(receipt) = receipt::read(&project.state_dir()).receipt().cloned() else {
        return Ok(None);
    };
    let venv = match &settings.venv_of {
        // One of several interpreters: its own venv, when a cycle got as far as making it.
        Some(wanted) if wanted.root.join("pyvenv.cfg").is_file() => {
            Venv::open(&wanted.root, crate::venv::VenvOrigin::Interpreter)?
        }
        Some(_) => return Ok(None),
        None => match Venv::find(settings.project.venv.as_deref(), &project.project_dir)? {
            Some(venv) => venv,
            None => return Ok(None),
        },
    };
    let Some(proven) = receipt.extensions.first() else {
        return Ok(None);
    };
    if venv.root != receipt.python.venv {
        return Ok(None);
    }
    *restoring = Some(proven.wheel_sha256.clone());
    output::status(
        "Restoring",
        format_args!(
            "the proven build `{}` from `{}`",
            short_hash(&proven.wheel_sha256),
            project.relative(&receipt.wheel.path).display()
        ),
    );

    let kept = &receipt.wheel.path;
    let built = wheel::inspect(kept)?;
    anyhow::ensure!(
        built.sha256 == receipt.wheel.sha256,
        "the kept wheel `{}` is not the one the receipt names (sha256 {}, the receipt says {})",
        kept.display(),
        short_hash(&built.sha256),
        short_hash(&receipt.wheel.sha256)
    );
    let installer = Toolchain::find().installer(&venv)?;
    let (install_from, placed) = match &receipt.editable {
        Some(editable) => (
            editable.wheel.as_path(),
            editable::place_extensions(kept, &built, &editable.python_root)?,
        ),
        None => (kept.as_path(), Vec::new()),
    };
    install::install(install_from, &venv, &installer, &receipt.distribution, None)?;

    let expected = proof::Expected {
        top_level_module: project.top_level_module(),
        wheel: &built,
        placed: &placed,
        project_root: &receipt.project_root,
    };
    let (_, extensions) = proof::prove(&venv, &expected, None)?;
    if let Some(failure) = extensions.iter().find(|extension| !extension.holds()) {
        anyhow::bail!(
            "the proof failed for `{}`: {}",
            failure.module,
            failure.problem.as_deref().unwrap_or_default()
        );
    }
    Ok(Some(proven.wheel_sha256.clone()))
}
