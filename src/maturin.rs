//! The `maturin build` invocation and the one wheel it made.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::failure::user_error;
use crate::process::Cmd;
use crate::project::Project;
use crate::settings::BuildSettings;

/// Builds one wheel into `out_dir` (fresh and empty) and returns its path.
///
/// `interpreter` should stay put between builds (pyo3 recompiles when it moves): the build venv's
/// python, see [`crate::build_python`].
pub(crate) fn build(
    maturin: &Path,
    project: &Project,
    build: &BuildSettings,
    interpreter: &Path,
    out_dir: &Path,
) -> Result<PathBuf> {
    let mut command = Cmd::new(maturin)
        .arg("build")
        .arg("--interpreter")
        .arg(interpreter)
        .arg("--out")
        .arg(out_dir)
        .arg("--manifest-path")
        .arg(&project.manifest_path)
        .arg("--target-dir")
        .arg(&project.target_dir)
        .args(build.profile_args())
        .args(build.feature_args())
        // The wheel is only ever installed into the local venv, as `maturin develop` does; the
        // manylinux audit reads the whole `.so` and cost 0.6–0.8 s per build of the small
        // example on 2 cores (docs/performance.md). `maturin develop` skips it as well.
        .args(["--auditwheel", "skip"]);
    // A debug extension is megabytes of debuginfo: deflating it costs more than it saves.
    if build.profile_name() == "dev" {
        command = command.args(["--compression-method", "stored"]);
    }
    let output = crate::output::settings();
    // maturin 1.16 prints its `🐍 Found`/`📦 Built` lines even with `--quiet`: under `-q` its
    // output is captured instead, and shown only when the build fails.
    if output.quiet {
        command = command.arg("--quiet");
    }
    // `-vv`: the tools' own verbose output (maturin passes `--verbose` on to cargo).
    if output.verbose >= 2 {
        command = command.arg("--verbose");
    }
    match output.color_choice {
        crate::output::ColorChoice::Always => command = command.args(["--color", "always"]),
        crate::output::ColorChoice::Never => command = command.args(["--color", "never"]),
        crate::output::ColorChoice::Auto => {}
    }
    // maturin and cargo start `cargo` and `rustc` by name; when rustup's choice is certain, they
    // start the toolchain's binaries without a proxy in between (src/rustup.rs).
    let toolchain_first = crate::rustup::toolchain_bin()
        .and_then(|bin| Some((bin, crate::env::with_first(crate::env::PATH, bin).ok()?)));
    if let Some((bin, path)) = toolchain_first {
        crate::output::verbose(format_args!(
            "the build runs `cargo` and `rustc` from `{}`, the toolchain rustup chose, without \
             its proxies",
            bin.display()
        ));
        command = command.env(crate::env::PATH, path);
    }
    // maturin picks interpreters and venvs from these on its own; `-i` is the only truth here.
    command = command
        .env_remove(crate::env::VIRTUAL_ENV)
        .env_remove(crate::env::CONDA_PREFIX)
        .dir(&project.project_dir);
    let ran = if output.quiet {
        command.run_captured().map(drop)
    } else {
        command.run_streamed()
    };
    // An interrupt is worded by `outcome::report`, whatever this says.
    ran.map_err(|error| {
        user_error(
            format!("the build failed: {error}"),
            "fix the errors above; nothing was installed and the previous install is untouched",
        )
    })?;
    the_one_wheel(out_dir, &command)
}

/// The single `.whl` maturin wrote; anything else is an error, never a guess.
fn the_one_wheel(out_dir: &Path, command: &Cmd) -> Result<PathBuf> {
    let mut wheels: Vec<PathBuf> = fs_err::read_dir(out_dir)?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "whl"))
        .collect();
    match wheels.len() {
        1 => Ok(wheels.remove(0)),
        0 => Err(user_error(
            format!(
                "`{command}` succeeded but wrote no wheel into `{}`",
                out_dir.display()
            ),
            "run the command above by hand to see what maturin did",
        )),
        count => Err(user_error(
            format!(
                "`{command}` wrote {count} wheels into `{}`; expected exactly one",
                out_dir.display()
            ),
            "check `[tool.maturin]` for settings that build several wheels",
        )),
    }
}
