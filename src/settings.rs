//! Plain settings, resolved from the command line once, at the command boundary: the commands
//! turn their clap arguments into these, and nothing below `commands/` sees a clap type.

use std::path::PathBuf;

use crate::cli::{self, BuildArgs, DevArgs, ProjectArgs};

/// Which project, package and venv a command works on.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProjectSettings {
    pub(crate) manifest_path: Option<PathBuf>,
    pub(crate) package: Option<String>,
    pub(crate) venv: Option<PathBuf>,
    pub(crate) target_dir: Option<PathBuf>,
}

impl ProjectSettings {
    pub(crate) fn resolve(args: ProjectArgs) -> ProjectSettings {
        let ProjectArgs {
            manifest_path,
            package,
            venv,
            target_dir,
        } = args;
        ProjectSettings {
            manifest_path,
            package,
            venv,
            target_dir,
        }
    }
}

/// The cargo profile a build uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Profile {
    #[default]
    Dev,
    Release,
    Named(String),
}

/// How to build: profile and features, as cargo and maturin take them.
#[derive(Debug, Clone, Default)]
pub(crate) struct BuildSettings {
    pub(crate) profile: Profile,
    /// Each feature once, as `-F a,b -F "c d"` named them.
    pub(crate) features: Vec<String>,
    pub(crate) all_features: bool,
    pub(crate) no_default_features: bool,
}

impl BuildSettings {
    pub(crate) fn resolve(args: BuildArgs) -> BuildSettings {
        let BuildArgs {
            release,
            profile,
            features,
            all_features,
            no_default_features,
        } = args;
        let profile = match (profile, release) {
            (Some(profile), _) => Profile::Named(profile),
            (None, true) => Profile::Release,
            (None, false) => Profile::Dev,
        };
        let features = features
            .iter()
            .flat_map(|features| features.split([',', ' ']))
            .filter(|feature| !feature.is_empty())
            .map(str::to_owned)
            .collect();
        BuildSettings {
            profile,
            features,
            all_features,
            no_default_features,
        }
    }

    /// The profile as cargo names it.
    pub(crate) fn profile_name(&self) -> &str {
        match &self.profile {
            Profile::Dev => "dev",
            Profile::Release => "release",
            Profile::Named(name) => name,
        }
    }

    /// Arguments shared by `maturin build` and `cargo clean`: the profile.
    pub(crate) fn profile_args(&self) -> Vec<String> {
        match &self.profile {
            Profile::Dev => Vec::new(),
            Profile::Release => vec!["--release".into()],
            Profile::Named(name) => vec!["--profile".into(), name.clone()],
        }
    }

    /// The feature flags as cargo and maturin take them.
    pub(crate) fn feature_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if !self.features.is_empty() {
            args.push("--features".into());
            args.push(self.features.join(","));
        }
        if self.all_features {
            args.push("--all-features".into());
        }
        if self.no_default_features {
            args.push("--no-default-features".into());
        }
        args
    }
}

impl From<cli::ColorChoice> for crate::output::ColorChoice {
    fn from(choice: cli::ColorChoice) -> Self {
        match choice {
            cli::ColorChoice::Auto => Self::Auto,
            cli::ColorChoice::Always => Self::Always,
            cli::ColorChoice::Never => Self::Never,
        }
    }
}

impl From<cli::Layout> for crate::scaffold::Layout {
    fn from(layout: cli::Layout) -> Self {
        match layout {
            cli::Layout::Pure => Self::Pure,
            cli::Layout::Mixed => Self::Mixed,
        }
    }
}

impl From<cli::Vcs> for crate::scaffold::vcs::Vcs {
    fn from(vcs: cli::Vcs) -> Self {
        match vcs {
            cli::Vcs::Git => Self::Git,
            cli::Vcs::None => Self::None,
        }
    }
}

/// What `dev --clean` does before the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CleanMode {
    /// Invalidate the package's fingerprint; keep its incremental cache.
    Package,
    /// `cargo clean -p <package>`: the incremental cache goes too.
    Full,
}

impl From<cli::CleanMode> for CleanMode {
    fn from(mode: cli::CleanMode) -> CleanMode {
        match mode {
            cli::CleanMode::Package => CleanMode::Package,
            cli::CleanMode::Full => CleanMode::Full,
        }
    }
}

/// Which optional parts to install, as the flags say.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    pub(crate) extras: Vec<String>,
    /// `--group`; empty means the `dev` group when there is one.
    pub(crate) groups: Vec<String>,
}

/// What `dev` does when the uv guard finds that uv would put a stale build back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UvPolicy {
    /// Refuse (exit 3) with the fix, or warn when uv does not manage the project yet.
    Guard,
    /// `--fix-uv`: write the missing cache keys, then proceed.
    Fix,
    /// `--allow-uv-cache`: proceed with a warning.
    Allow,
}

/// `cargo pyo3 dev`, resolved.
#[derive(Debug, Clone)]
pub(crate) struct DevSettings {
    pub(crate) project: ProjectSettings,
    pub(crate) build: BuildSettings,
    /// How to make cargo rebuild the package; `None` only where a caller asks for cargo's
    /// mtime check alone (`--no-clean` now means the default).
    pub(crate) clean: Option<CleanMode>,
    /// Build and install even when nothing changed (`--force`).
    pub(crate) force: bool,
    /// The requirements to install before the project; `None` with `--no-deps`.
    pub(crate) requirements: Option<Selection>,
    /// Install the requirements at the versions of the project's `uv.lock` (not with `--no-lock`).
    pub(crate) use_lock: bool,
    /// Install a project with Python sources editable (not with `--no-editable`).
    pub(crate) editable: bool,
    /// The interpreter for a new `.venv`: the one `--python`, when it names one interpreter.
    pub(crate) python: Option<String>,
    /// Every `--python` as given (`3.12`, a path, `3.9-3.12`, `all`): several, a range or `all`
    /// run the pipeline once per interpreter (`pythons/`).
    pub(crate) pythons: Vec<String>,
    /// Set for one run of several interpreters: the venv of that interpreter, found or made at
    /// its own path, in place of the usual discovery.
    pub(crate) venv_of: Option<crate::venv::InterpreterVenv>,
    pub(crate) uv_policy: UvPolicy,
    /// Wait for another `dev` holding the lock (not with `--no-wait`).
    pub(crate) wait: bool,
    pub(crate) json: bool,
}

impl DevSettings {
    pub(crate) fn resolve(args: DevArgs) -> DevSettings {
        // Destructured whole, so a new flag cannot be silently ignored here.
        let DevArgs {
            project,
            build,
            clean,
            no_clean: _,
            force,
            extras,
            groups,
            no_deps,
            no_lock,
            no_editable,
            python,
            fix_uv,
            allow_uv_cache,
            no_wait,
            json,
            // The loop around `develop`: `dev` and `test` read it before resolving.
            watch: _,
        } = args;
        DevSettings {
            project: ProjectSettings::resolve(project),
            build: BuildSettings::resolve(build),
            clean: Some(clean.into()),
            force,
            requirements: (!no_deps).then_some(Selection { extras, groups }),
            use_lock: !no_lock,
            editable: !no_editable,
            python: match python.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            },
            pythons: python,
            venv_of: None,
            uv_policy: match (fix_uv, allow_uv_cache) {
                (true, _) => UvPolicy::Fix,
                (false, true) => UvPolicy::Allow,
                (false, false) => UvPolicy::Guard,
            },
            wait: !no_wait,
            json,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_joined_once() {
        let build = BuildSettings::resolve(BuildArgs {
            features: vec!["a,b".into(), "c d".into()],
            no_default_features: true,
            ..BuildArgs::default()
        });
        assert_eq!(
            build.feature_args(),
            ["--features", "a,b,c,d", "--no-default-features"]
        );
    }

    #[test]
    fn profile_follows_flags() {
        let release = BuildSettings::resolve(BuildArgs {
            release: true,
            ..BuildArgs::default()
        });
        assert_eq!(release.profile_name(), "release");
        assert_eq!(release.profile_args(), ["--release"]);
        let named = BuildSettings::resolve(BuildArgs {
            profile: Some("bench".into()),
            ..BuildArgs::default()
        });
        assert_eq!(named.profile_args(), ["--profile", "bench"]);
        let dev = BuildSettings::default();
        assert_eq!(dev.profile_name(), "dev");
        assert!(dev.profile_args().is_empty());
    }
}
