//! The `maturin build` invocation and the one wheel it made.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cli::BuildArgs;
use crate::output::user_error;
use crate::process::Cmd;
use crate::project::Project;

/// The cargo profile a build uses, as cargo names it.
pub(crate) fn profile_name(build: &BuildArgs) -> &str {
    match (&build.profile, build.release) {
        (Some(profile), _) => profile,
        (None, true) => "release",
        (None, false) => "dev",
    }
}

/// Arguments shared by `maturin build` and `cargo clean`: profile and target dir.
pub(crate) fn profile_args(build: &BuildArgs) -> Vec<String> {
    match (&build.profile, build.release) {
        (Some(profile), _) => vec!["--profile".into(), profile.clone()],
        (None, true) => vec!["--release".into()],
        (None, false) => Vec::new(),
    }
}

/// The feature flags as cargo and maturin take them.
pub(crate) fn feature_args(build: &BuildArgs) -> Vec<String> {
    let mut args = Vec::new();
    let features: Vec<&str> = build
        .features
        .iter()
        .flat_map(|features| features.split([',', ' ']))
        .filter(|feature| !feature.is_empty())
        .collect();
    if !features.is_empty() {
        args.push("--features".into());
        args.push(features.join(","));
    }
    if build.all_features {
        args.push("--all-features".into());
    }
    if build.no_default_features {
        args.push("--no-default-features".into());
    }
    args
}

/// Builds one wheel into `out_dir` (fresh and empty) and returns its path.
///
/// `interpreter` should be the venv's base interpreter: see [`crate::venv::Venv::base_interpreter`].
pub(crate) fn build(
    maturin: &Path,
    project: &Project,
    build: &BuildArgs,
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
        .args(profile_args(build))
        .args(feature_args(build))
        // The wheel is only ever installed into the local venv, as `maturin develop` does; the
        // manylinux audit reads the whole `.so` and cost 0.6–0.8 s per build of the small
        // example on 2 cores (docs/performance.md). `maturin develop` skips it as well.
        .args(["--auditwheel", "skip"]);
    // A debug extension is megabytes of debuginfo: deflating it costs more than it saves.
    if profile_name(build) == "dev" {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_joined_once() {
        let build = BuildArgs {
            features: vec!["a,b".into(), "c d".into()],
            no_default_features: true,
            ..BuildArgs::default()
        };
        assert_eq!(
            feature_args(&build),
            ["--features", "a,b,c,d", "--no-default-features"]
        );
    }

    #[test]
    fn profile_follows_flags() {
        let release = BuildArgs {
            release: true,
            ..BuildArgs::default()
        };
        assert_eq!(profile_name(&release), "release");
        assert_eq!(profile_args(&release), ["--release"]);
        assert_eq!(profile_name(&BuildArgs::default()), "dev");
        assert!(profile_args(&BuildArgs::default()).is_empty());
    }
}
