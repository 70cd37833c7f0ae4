//! The workflow `dev`, `test`, `run` and their `--watch` share: lock → venv → uv guard → digest
//! and clean → build → inspect → runtime dependencies → install (editable when there are Python
//! sources) → prove → receipt. Each step is a call into its own module; this one sequences and
//! times them. The commands above it decide what to do with a proven build.

mod hint;
mod report;
mod reuse;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;

use crate::failure::ExitStatus;
use crate::output;
use crate::process::{self, Cmd};
use crate::project::{self, Project};
use crate::receipt::{
    self, Receipt, ReceiptEditable, ReceiptPython, ReceiptTools, ReceiptWheel, Timings,
};
use crate::settings::{CleanMode, DevSettings, UvPolicy};
use crate::toolchain::{self, Installer, Toolchain};
use crate::venv::Venv;
use crate::{
    build_python, editable, install, interpreter, lock, locked, maturin, outcome, proof,
    requirements, uv_guard, wheel, wheel_store,
};

/// Milliseconds since `step`, restarting it.
fn lap(step: &mut Instant) -> u64 {
    let elapsed = step.elapsed().as_millis() as u64;
    *step = Instant::now();
    elapsed
}

/// What `--watch` watches for a project: the build inputs the digest covers (with the files the
/// last build read beyond the walker's, as its receipt recorded them), and with `tests` the
/// Python files under the Python project root (its tests).
pub(crate) fn watch_scope(project: &Project, tests: bool) -> Result<crate::watch::Scope> {
    let mut files = crate::digest::inputs(project);
    let recorded = receipt::read(&project.state_dir());
    if let Some(digest) = recorded
        .receipt()
        .and_then(|receipt| receipt.inputs.as_ref())
    {
        files.extend(digest.paths().map(Path::to_path_buf));
        files.sort();
        files.dedup();
    }
    let mut roots: Vec<PathBuf> = project
        .source_dirs()
        .into_iter()
        .map(|source| source.dir)
        .collect();
    roots.extend(project.python_package());
    if tests {
        let root = project.pyproject_dir();
        files.extend(crate::watch::python_files(root, &project.target_dir));
        roots.push(root.to_path_buf());
        files.sort();
        files.dedup();
    }
    Ok(crate::watch::Scope {
        files,
        roots,
        lockfile: Some(project.cargo_lock.clone()),
        base: project.project_dir.clone(),
        target_dir: project.target_dir.clone(),
    })
}

/// How a `develop` that returned ended, for the watch's cycle line.
pub(crate) fn cycle_of(
    (status, developed): (ExitStatus, Option<Developed>),
) -> crate::watch::Cycle {
    let proven = developed
        .as_ref()
        .and_then(|developed| developed.receipt.extensions.first())
        .map(|extension| extension.wheel_sha256.clone());
    crate::watch::Cycle {
        result: match status {
            ExitStatus::Success => "proven".to_owned(),
            ExitStatus::CheckFailed => "proof failed".to_owned(),
            other => format!("failed (exit {})", other.code()),
        },
        proven,
    }
}

/// What a proven `dev` hands to the commands that go on from it (`test`, `run`).
pub(crate) struct Developed {
    pub(crate) project: Project,
    pub(crate) venv: Venv,
    pub(crate) installer: Installer,
    pub(crate) receipt: Receipt,
    /// The lock whose versions this run installs from (none with `--no-lock`), and uv to read
    /// it, for what `test` installs after it.
    pub(crate) lock: Option<locked::Lock>,
}

/// The whole workflow, on resolved settings; the build is `Some` exactly when the status is a
/// success.
pub(crate) fn develop(settings: DevSettings) -> Result<(ExitStatus, Option<Developed>)> {
    develop_with(settings, |_, _| None::<()>).map(|(status, developed, _)| (status, developed))
}

/// [`develop`], with work of the caller's that only a reused build can use started beside it:
/// `ahead` runs once the project and the venv are known, and what it started is dropped the
/// moment a build is needed (before anything is cleaned or built), and handed back when the last
/// build was proven again instead. `cargo pyo3 test` starts pytest with it.
pub(crate) fn develop_with<A>(
    settings: DevSettings,
    ahead: impl FnOnce(&Project, &Venv) -> Option<A>,
) -> Result<(ExitStatus, Option<Developed>, Option<A>)> {
    // Destructured whole, so a new setting cannot be silently ignored here.
    let DevSettings {
        project: project_settings,
        build,
        clean: clean_mode,
        requirements: selection,
        use_lock,
        editable: editable_wanted,
        python,
        // The interpreters of a run over several (`pythons/`), each given here as `venv_of`.
        pythons: _,
        venv_of,
        uv_policy,
        wait,
        json,
        force,
    } = settings;
    let started = Instant::now();
    let mut step = Instant::now();
    let mut timings = Timings::default();

    let toolchain_probe =
        crate::build_key::ToolchainProbe::start(project::probable_package_dir(&project_settings));
    let project = project::discover(&project_settings)?;
    timings.discover = lap(&mut step);
    // Before anything that writes: two runs at once would otherwise race to create the same
    // `.venv`, install maturin into it, or edit pyproject.toml.
    let _lock = lock::acquire(&project.lock_path(), wait)?;
    timings.lock = lap(&mut step);

    let toolchain = Toolchain::find();
    let uv = toolchain.uv.as_deref();
    let venv = match &venv_of {
        Some(wanted) => Venv::of_interpreter(wanted, &project.project_dir, uv)?,
        None => match Venv::find(project_settings.venv.as_deref(), &project.project_dir)? {
            Some(venv) => venv,
            None => new_venv(&project.project_dir, python.as_deref(), uv)?,
        },
    };
    output::verbose(format_args!(
        "venv `{}` ({})",
        venv.root.display(),
        venv.origin.describe()
    ));
    timings.venv = lap(&mut step);

    // Before anything is built, so that a refusal costs milliseconds.
    let guard = uv_guard::check(&project, uv)?;
    if guard.refuses() || guard.warns() {
        match uv_policy {
            UvPolicy::Fix => {
                if let Some(diff) = uv_guard::fix(&project)? {
                    output::status("Fixed", "`[tool.uv] cache-keys` in pyproject.toml");
                    output::line(diff.trim_end());
                }
            }
            // The project's, not the venv's: said once in a run over several interpreters.
            _ if guard.warns() => {
                if venv_of.as_ref().is_none_or(|wanted| wanted.first) {
                    output::warning(guard.risk_warning());
                }
            }
            UvPolicy::Allow => output::warning(format_args!(
                "{} (proceeding because of `--allow-uv-cache`)",
                guard.refusal()
            )),
            UvPolicy::Guard => return Err(outcome::refused(guard.refusal())),
        }
    }
    timings.guard = lap(&mut step);

    // Read before anything is built, so a bad requirement or an unknown extra costs nothing.
    let mut requirements = match &selection {
        Some(selection) => requirements::resolve(&project, selection)?,
        None => Vec::new(),
    };
    let state_dir = project.state_dir();
    let previous = receipt::read(&state_dir).receipt().cloned();
    // The receipt this run may reuse and may clean against. `--force` has none; nor has
    // `--clean full`, which asks for a build from scratch by name.
    let reusable = previous
        .as_ref()
        .filter(|_| !force && clean_mode != Some(CleanMode::Full));
    // Only when this run can reuse the last build: otherwise it would only take cores.
    let mut ahead = reusable.and_then(|_| ahead(&project, &venv));
    let installer = toolchain.installer(&venv)?;
    // The lock's pins replace the ranges when there is a fresh lock and uv to read it.
    let lock = use_lock.then(|| locked::Lock::find(&project, uv)).flatten();
    let pinned = match &selection {
        Some(selection) => locked::pinned(
            &project,
            selection,
            lock.as_ref(),
            installer.kind(),
            previous.as_ref(),
        )?,
        None => None,
    };
    let dependency_versions = match &pinned {
        Some(pinned) => {
            output::verbose(format_args!(
                "dependencies at the versions locked in `{}`",
                project.relative(&pinned.lockfile).display()
            ));
            requirements = pinned.requirements.clone();
            receipt::VersionSource::Locked
        }
        None => receipt::VersionSource::Resolved,
    };
    let lock_digest = pinned.as_ref().and_then(|pinned| pinned.digest.clone());
    let maturin = toolchain.maturin(&venv, &installer)?;
    // The walker's files, and those the last build read beyond them (`include_str!`, a
    // `#[path]` module elsewhere), which only cargo's list of them named.
    let mut inputs = crate::digest::inputs(&project);
    if let Some(recorded) = previous
        .as_ref()
        .and_then(|receipt| receipt.inputs.as_ref())
    {
        inputs.extend(recorded.paths().map(Path::to_path_buf));
        inputs.sort();
        inputs.dedup();
    }
    // The key (its `rustc -vV` and `cargo -V` started before `cargo metadata`) is made while
    // the inputs are hashed.
    let interpreter = venv.base_interpreter();
    let (mut digest, key) = std::thread::scope(|scope| {
        let key = scope.spawn(|| {
            let last = previous
                .as_ref()
                .and_then(|receipt| receipt.build_key.as_ref());
            crate::build_key::compute(
                &project,
                &build,
                &maturin,
                &interpreter,
                toolchain_probe,
                last,
            )
        });
        let digest = crate::digest::take(&inputs);
        (
            digest,
            key.join().expect("computing the build key panicked"),
        )
    });
    timings.digest = lap(&mut step);
    // The proof's two interpreters start now, while the last build is checked or a new one is
    // built: the proof of a reused build or of a new one hands them their input, and they run
    // `site` only then, after any install (killed unused if anything fails first). Not before
    // the digest: their start would take the cores it hashes on.
    let mut started_proof = proof::start(&venv, project.top_level_module(), &project.project_dir);

    let editable_install = editable_wanted && project.python_package().is_some();
    if let Some(previous) = reusable {
        let now = reuse::Now {
            project: &project,
            venv: &venv,
            key: &key,
            digest: &digest,
            requirements: &requirements,
            dependency_versions,
            editable: editable_install,
        };
        match reuse::check(previous, &now) {
            Err(why) => output::verbose(format_args!("building: {why}")),
            Ok(kept) => {
                timings.inspect = lap(&mut step);
                let interpreters = started_proof.take();
                if let Some((report, extensions)) =
                    reuse::prove(previous, kept, &project, &venv, interpreters)?
                {
                    timings.prove = lap(&mut step);
                    let mut receipt = previous.clone();
                    receipt.extensions = extensions;
                    receipt.python.version = report.version.clone();
                    receipt.python.executable = report.executable.clone();
                    receipt.reused = true;
                    // The same key, with the state of the binaries that answered for it now.
                    receipt.build_key = Some(key.clone());
                    receipt.lock_digest = lock_digest.clone();
                    timings.receipt = lap(&mut step);
                    timings.total = started.elapsed().as_millis() as u64;
                    receipt.timings_ms = timings;
                    receipt::write(&state_dir, &receipt)?;
                    output::status(
                        "Fresh",
                        format_args!(
                            "`{}`: nothing changed since the proven build, so it is proven \
                             again, not rebuilt (`--force` rebuilds)",
                            project.dist_name
                        ),
                    );
                    report::summarize(&receipt, &project, guard.in_play);
                    if json {
                        output::json(&receipt)?;
                    }
                    let developed = Developed {
                        project,
                        venv,
                        installer,
                        receipt,
                        lock,
                    };
                    return Ok((ExitStatus::Success, Some(developed), ahead));
                }
            }
        }
    }
    // Started for a reuse only: it must not take the cores the build needs.
    drop(ahead.take());

    // Without a receipt to reuse, the clean has no baseline to vouch for cargo's files: the
    // package is invalidated and rebuilt.
    digest.clean =
        crate::clean::before_build(&project, &build, clean_mode, reusable, &digest)?.into();
    timings.clean = lap(&mut step);
    process::check_interrupted()?;

    // maturin starts its interpreter three times a build: a venv's, which skips the base's
    // site-packages, at a path that stays put (src/build_python.rs).
    let build_python = build_python::for_build(&project.target_dir, &interpreter, uv);
    // Facts for the receipt that nothing waits on are gathered while maturin works.
    let built_at_unix_ms = crate::clock::now_unix_ms();
    let out_dir = tempfile::Builder::new()
        .prefix("cargo-pyo3-wheel-")
        .tempdir()?;
    // uv gets through its own start while maturin works (killed unused if anything fails).
    let started_install = install::start(&venv, &installer, &state_dir);
    // And the proof's, unless a proof of the last build already used them.
    let started_proof = started_proof
        .or_else(|| proof::start(&venv, project.top_level_module(), &project.project_dir));
    let (wheel_path, uv_version, git_commit) = std::thread::scope(|scope| -> Result<_> {
        let uv_version = scope.spawn(|| uv.and_then(toolchain::version));
        let git_commit = scope.spawn(|| git_commit(&project.project_dir));
        let wheel_path = maturin::build(&maturin, &project, &build, &build_python, out_dir.path());
        let uv_version = uv_version.join().ok().flatten();
        let git_commit = git_commit.join().ok().flatten();
        Ok((wheel_path?, uv_version, git_commit))
    })?;
    timings.build = lap(&mut step);
    process::check_interrupted()?;
    crate::digest::check_after_build(&project, &mut digest);
    // What the build read beyond the digest: the files cargo names, and the `Cargo.lock` a first
    // build writes (the one input a build makes).
    let mut read = crate::clean::files_rustc_read(&project, &build);
    read.push(project.cargo_lock.clone());
    digest.add_read_by_build(&read);
    digest.cargo_state = crate::clean::cargo_state(&project, &build);
    timings.digest += lap(&mut step);

    let wheel = wheel::inspect(&wheel_path)?;
    // Installed from where it is kept, so the distribution's `direct_url.json` names a file that
    // outlives this run; the wheels the last receipt names stay until this build is proven.
    let kept_wheel = wheel_store::store(&state_dir, &wheel_path, &wheel.file_name, &wheel.sha256)?;
    let editable = editable_install
        .then(|| -> Result<_> {
            let staging = tempfile::tempdir()?;
            let made = editable::editable_wheel(
                &kept_wheel,
                &wheel,
                &project.python_root,
                staging.path(),
            )?;
            let sha256 = wheel::sha256_file(&made)?;
            wheel_store::store(&state_dir, &made, &wheel.file_name, &sha256)
        })
        .transpose()?;
    let mut keep = vec![kept_wheel.as_path()];
    keep.extend(editable.as_deref());
    if let Some(previous) = &previous {
        keep.extend(previous.kept_wheels());
    }
    wheel_store::prune(&state_dir, &keep)?;
    timings.inspect = lap(&mut step);

    // Skipped when the last proven install into this venv had the same requirements and they are
    // still there, so an edit loop pays nothing for it.
    let unchanged =
        dependencies_in_place(previous.as_ref(), &requirements, dependency_versions, &venv);
    outcome::install_started();
    if !requirements.is_empty() && !unchanged {
        output::status(
            "Installing",
            format!(
                "{} {} into `{}`",
                requirements.len(),
                if requirements.len() == 1 {
                    "dependency"
                } else {
                    "dependencies"
                },
                project.relative(&venv.root).display()
            ),
        );
        let what = "the project's dependencies";
        let hint = "fix or remove the requirement the installer names above (in `pyproject.toml` \
                    or the lock), skip this step with `--no-deps`, or resolve afresh with \
                    `--no-lock`; the venv's previous install is untouched";
        match &pinned {
            Some(pinned) => pinned.install(&venv, &installer, what, hint)?,
            None => install::install_requirements(&requirements, &venv, &installer, what, hint)?,
        }
    }
    timings.dependencies = lap(&mut step);

    install::install(
        editable.as_deref().unwrap_or(&kept_wheel),
        &venv,
        &installer,
        &project.dist_name,
        started_install,
    )?;
    // After the installer, which fails far more often than a rename: until then the sources
    // still hold the extension the last proven editable install placed.
    let placed = match (&editable, &previous) {
        (Some(_), _) => editable::place_extensions(&kept_wheel, &wheel, &project.python_root)?,
        (None, Some(previous)) => {
            for removed in editable::remove_placed(previous)? {
                output::verbose(format_args!(
                    "removed `{}`, which the last editable install placed",
                    project.relative(&removed).display()
                ));
            }
            Vec::new()
        }
        (None, None) => Vec::new(),
    };
    timings.install = lap(&mut step);

    let expected = proof::Expected {
        top_level_module: project.top_level_module(),
        wheel: &wheel,
        placed: &placed,
        project_root: &project.project_dir,
    };
    let (report, extensions) = proof::prove(&venv, &expected, started_proof)?;
    timings.prove = lap(&mut step);

    let failures: Vec<&proof::LoadedExtension> = extensions
        .iter()
        .filter(|extension| !extension.holds())
        .collect();
    if !failures.is_empty() {
        for failure in &failures {
            output::error(format_args!(
                "proof failed for `{}`: {}",
                failure.module,
                failure.problem.as_deref().unwrap_or_default()
            ));
        }
        output::line("");
        output::hint(hint::failed_proof(&project, &venv, &failures));
        return Ok((ExitStatus::CheckFailed, None, None));
    }

    let mut keep = vec![kept_wheel.as_path()];
    keep.extend(editable.as_deref());
    wheel_store::prune(&state_dir, &keep)?;
    timings.receipt = lap(&mut step);
    timings.total = started.elapsed().as_millis() as u64;
    let receipt = Receipt {
        schema_version: receipt::SCHEMA_VERSION,
        tool: env!("CARGO_PKG_NAME").into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        package: project.package_name.clone(),
        version: project.version.clone(),
        distribution: project.dist_name.clone(),
        distribution_version: wheel
            .version()
            .unwrap_or(project.display_version())
            .to_owned(),
        module: project.module_name.clone(),
        manifest_path: project.manifest_path.clone(),
        project_root: project.project_dir.clone(),
        profile: build.profile_name().into(),
        features: build.feature_args(),
        wheel: ReceiptWheel {
            file_name: wheel.file_name.clone(),
            path: kept_wheel,
            sha256: wheel.sha256.clone(),
        },
        extensions,
        dependencies: requirements,
        dependency_versions,
        lock_digest,
        editable: editable.map(|wheel| ReceiptEditable {
            python_root: project.python_root.clone(),
            wheel,
            placed,
        }),
        python: ReceiptPython {
            version: report.version.clone(),
            executable: report.executable.clone(),
            venv: venv.root.clone(),
            build_interpreter: build_python,
            venv_created_with: venv.created_with.clone().or_else(|| {
                previous
                    .as_ref()
                    .filter(|previous| previous.python.venv == venv.root)
                    .and_then(|previous| previous.python.venv_created_with.clone())
            }),
        },
        tools: ReceiptTools {
            maturin: wheel.generator.as_deref().and_then(report::maturin_version),
            uv: uv_version,
            installer: installer.kind(),
        },
        built_at_unix_ms,
        git_commit,
        inputs: Some(digest),
        // The build scripts that ran may have declared variables the key did not know of yet.
        build_key: Some(key.refreshed(&project)),
        reused: false,
        timings_ms: timings,
    };
    receipt::write(&state_dir, &receipt)?;

    report::summarize(&receipt, &project, guard.in_play);
    if json {
        output::json(&receipt)?;
    }
    let developed = Developed {
        project,
        venv,
        installer,
        receipt,
        lock,
    };
    Ok((ExitStatus::Success, Some(developed), None))
}

/// `.venv` made for a project that has none: a `--python 3.X` is looked up the way several are
/// (`interpreter/`: a pyenv shim answers only for the versions pyenv selected), any other
/// `--python` and none by [`Venv::create`].
fn new_venv(project_dir: &Path, python: Option<&str>, uv: Option<&Path>) -> Result<Venv> {
    match python.and_then(interpreter::Minor::parse) {
        Some(minor) => Venv::create_from(project_dir, interpreter::for_new_venv(minor)?, uv),
        None => Venv::create(project_dir, python, uv),
    }
}

/// Whether the last proven install into `venv` had exactly `requirements`, and every one of them
/// that applies everywhere is still installed: a venv made anew at the same path, an exact
/// `uv sync` or a `pip uninstall` since then removed them, and the receipt cannot know.
///
/// A lock's pins are the requirements, so a changed `uv.lock` is a changed list, and a switch
/// between locked and resolved versions always installs again.
fn dependencies_in_place(
    previous: Option<&Receipt>,
    requirements: &[String],
    versions: receipt::VersionSource,
    venv: &Venv,
) -> bool {
    let Some(previous) = previous else {
        return false;
    };
    if previous.dependencies != requirements
        || previous.dependency_versions != versions
        || previous.python.venv != venv.root
    {
        return false;
    }
    let installed = venv.installed_names();
    requirements
        .iter()
        .filter_map(|requirement| requirements::unconditional_distribution(requirement))
        .all(|distribution| installed.contains(&distribution))
}

/// The commit the sources are at, when the project is in a git repository.
fn git_commit(dir: &Path) -> Option<String> {
    let git = which::which("git").ok()?;
    let captured = Cmd::new(git)
        .args(["rev-parse", "--verify", "--quiet", "HEAD"])
        .dir(dir)
        .run_captured()
        .ok()?;
    Some(captured.stdout.trim().to_owned()).filter(|commit| !commit.is_empty())
}
