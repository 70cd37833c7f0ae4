//! `cargo pyo3 dev`: guard → clean → build → inspect → install → prove → receipt.
//! Each step is a call into its own module; this file only sequences and times them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;

use crate::cli::DevArgs;
use crate::output::{self, ExitStatus, short_hash};
use crate::process::{self, Cmd};
use crate::project::{self, Project};
use crate::receipt::{self, Receipt, ReceiptPython, ReceiptTools, ReceiptWheel, Timings};
use crate::venv::Venv;
use crate::{install, lock, maturin, proof, tools, uv_guard, wheel};

/// Milliseconds since `step`, restarting it.
fn lap(step: &mut Instant) -> u64 {
    let elapsed = step.elapsed().as_millis() as u64;
    *step = Instant::now();
    elapsed
}

pub(crate) fn run(args: DevArgs) -> Result<ExitStatus> {
    // Destructured whole, so a new flag cannot be silently ignored here.
    let DevArgs {
        project: project_args,
        build,
        clean,
        no_clean,
        python,
        fix_uv,
        allow_uv_cache,
        no_wait,
        json,
    } = args;
    let started = Instant::now();
    let mut step = Instant::now();
    let mut timings = Timings::default();

    let project = project::discover(&project_args)?;
    timings.discover = lap(&mut step);
    // Before anything that writes: two runs at once would otherwise race to create the same
    // `.venv`, install maturin into it, or edit pyproject.toml.
    let _lock = lock::acquire(&project.lock_path(), !no_wait)?;
    timings.lock = lap(&mut step);

    let uv = tools::find_uv();
    let venv = match Venv::find(project_args.venv.as_deref(), &project.project_dir)? {
        Some(venv) => venv,
        None => Venv::create(&project.project_dir, python.as_deref(), uv.as_deref())?,
    };
    output::verbose(format_args!(
        "venv `{}` ({})",
        venv.root.display(),
        venv.origin.describe()
    ));
    timings.venv = lap(&mut step);

    // Before anything is built, so that a refusal costs milliseconds.
    let guard = uv_guard::check(&project, Some(&venv), uv.as_deref())?;
    if guard.refuses() {
        if fix_uv {
            if let Some(diff) = uv_guard::fix(&project)? {
                output::status("Fixed", "`[tool.uv] cache-keys` in pyproject.toml");
                output::line(diff.trim_end());
            }
        } else if allow_uv_cache {
            output::warning(format_args!(
                "{} (proceeding because of `--allow-uv-cache`)",
                guard.refusal()
            ));
        } else {
            output::report_error(&guard.refusal());
            return Ok(ExitStatus::Refused);
        }
    }
    timings.guard = lap(&mut step);

    let installer = install::choose(&venv, uv.as_deref())?;
    let maturin = tools::maturin_or_install(&venv, uv.as_deref())?;

    let inputs = crate::digest::inputs(&project);
    let mut digest = crate::digest::take(&inputs);
    timings.digest = lap(&mut step);
    let previous = receipt::read(&project.state_dir()).ok().flatten();
    let clean_mode = (!no_clean).then_some(clean);
    digest.clean =
        crate::clean::before_build(&project, &build, clean_mode, previous.as_ref(), &digest)?
            .into();
    timings.clean = lap(&mut step);
    process::check_interrupted()?;

    // Facts for the receipt that nothing waits on are gathered while maturin works.
    let built_at_unix_ms = receipt::now_unix_ms();
    let interpreter = venv.base_interpreter();
    let out_dir = tempfile::Builder::new()
        .prefix("cargo-pyo3-wheel-")
        .tempdir()?;
    let (wheel_path, uv_version, git_commit) = std::thread::scope(|scope| -> Result<_> {
        let uv_version = scope.spawn(|| uv.as_deref().and_then(tools::version));
        let git_commit = scope.spawn(|| git_commit(&project.project_dir));
        let wheel_path = maturin::build(&maturin, &project, &build, &interpreter, out_dir.path());
        let uv_version = uv_version.join().ok().flatten();
        let git_commit = git_commit.join().ok().flatten();
        Ok((wheel_path?, uv_version, git_commit))
    })?;
    timings.build = lap(&mut step);
    process::check_interrupted()?;
    crate::digest::check_after_build(&project, &mut digest);
    digest.cargo_state = crate::clean::cargo_state(&project, &build);
    timings.digest += lap(&mut step);

    let wheel = wheel::inspect(&wheel_path)?;
    timings.inspect = lap(&mut step);

    install::install(&wheel_path, &venv, installer, uv.as_deref())?;
    timings.install = lap(&mut step);

    let (report, extensions) = match proof::prove(&venv, project.top_level_module(), &wheel) {
        Ok(proven) => proven,
        Err(error) if error.downcast_ref::<proof::ImportCrashed>().is_some() => {
            output::report_error(&error);
            return Ok(ExitStatus::CheckFailed);
        }
        Err(error) => return Err(error),
    };
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
        output::hint(
            "run `cargo pyo3 doctor` to list every copy of the extension and which one wins",
        );
        return Ok(ExitStatus::CheckFailed);
    }

    let kept_wheel = receipt::keep_wheel(&project.state_dir(), &wheel_path, &wheel.file_name)?;
    timings.receipt = lap(&mut step);
    timings.total = started.elapsed().as_millis() as u64;
    let receipt = Receipt {
        schema_version: receipt::SCHEMA_VERSION,
        tool: env!("CARGO_PKG_NAME").into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        package: project.package_name.clone(),
        version: project.version.clone(),
        distribution: project.dist_name.clone(),
        module: project.module_name.clone(),
        manifest_path: project.manifest_path.clone(),
        profile: maturin::profile_name(&build).into(),
        features: maturin::feature_args(&build),
        wheel: ReceiptWheel {
            file_name: wheel.file_name.clone(),
            path: kept_wheel,
            sha256: wheel.sha256.clone(),
        },
        extensions,
        python: ReceiptPython {
            version: report.version.clone(),
            executable: report.executable.clone(),
            venv: venv.root.clone(),
            build_interpreter: interpreter.clone(),
        },
        tools: ReceiptTools {
            maturin: wheel.generator.as_deref().and_then(maturin_version),
            uv: uv_version,
            installer,
        },
        built_at_unix_ms,
        git_commit,
        inputs: Some(digest),
        timings_ms: timings,
    };
    receipt::write(&project.state_dir(), &receipt)?;

    summarize(&receipt, &project, guard.in_play);
    if json {
        output::json(&receipt)?;
    }
    Ok(ExitStatus::Success)
}

/// `maturin (1.16.0)` → `1.16.0`.
fn maturin_version(generator: &str) -> Option<String> {
    generator
        .strip_prefix("maturin (")?
        .strip_suffix(')')
        .map(str::to_owned)
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

fn summarize(receipt: &Receipt, project: &Project, uv_in_play: bool) {
    let Some(first) = receipt.extensions.first() else {
        return;
    };
    let location: PathBuf = first
        .loaded_path
        .as_deref()
        .and_then(|path| path.strip_prefix(&project.project_dir).ok())
        .map(Path::to_path_buf)
        .or_else(|| first.loaded_path.clone())
        .unwrap_or_default();
    output::status(
        "Proven",
        format_args!(
            "`{}` {} loads `{}` (sha256 {}) in {:.2}s",
            project.module_name,
            receipt.version,
            location.display(),
            short_hash(&first.wheel_sha256),
            receipt.timings_ms.total as f64 / 1000.0
        ),
    );
    if uv_in_play {
        output::hint(format_args!(
            "`uv run` and `uv sync` reinstall `{}` from uv's own build; keep this proven build with \
             `uv run --no-sync …` or `UV_NO_SYNC=1`",
            project.dist_name
        ));
    }
}
