//! The command line: `cargo pyo3 <command>`, parsed with clap derive. Doc comments here are the
//! help text users read; every flag is resolved into plain settings by the command that owns it.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `0.1.0 (abcdef123456 2026-12-06)`: the version and the commit it was built from (`build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("CARGO_PYO3_BUILT_FROM"),
    ")"
);

/// Cargo runs `cargo-pyo3 pyo3 <args>`; this enum gives the binary that shape.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", styles = clap::builder::Styles::plain())]
pub(crate) enum Cargo {
    Pyo3(Pyo3),
}

/// Build, install and prove PyO3 extensions: the Python you run is the Rust you just built.
#[derive(Debug, Args)]
#[command(version = VERSION, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 success, 1 a check failed, 2 error, 3 refused by the uv guard."
)]
pub(crate) struct Pyo3 {
    #[command(subcommand)]
    pub(crate) command: Command,

    #[command(flatten)]
    pub(crate) global: GlobalArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Build, force-install and prove the fresh build is the one Python loads
    ///
    /// The safe replacement for `maturin develop`: guard against uv's stale cache, make cargo
    /// rebuild the package, `maturin build`, install the project's dependencies and the wheel
    /// into the venv (editable for a project with Python sources: the extension beside them),
    /// import it with the venv's python from a neutral directory and from the project root, and
    /// prove by sha256 that both load the extension just built. Writes a receipt that `verify`
    /// and `doctor` read.
    Dev(DevArgs),
    /// Prove names are exported by the installed module, and explain every miss
    ///
    /// Each NAME is a dotted Python name: `Class`, `Class.method`, `function`, `sub.mod.Name`.
    /// With no names, everything the Rust sources export is checked.
    Verify(VerifyArgs),
    /// Create a new PyO3 project in PATH that is safe with uv from its first commit
    New(NewArgs),
    /// Create a PyO3 project in an existing directory
    Init(InitArgs),
    /// Find every reason the Python you run might not be the Rust you built
    Doctor(DoctorArgs),
    /// Build and prove as `dev` does, then run pytest and prove the tests loaded that build
    ///
    /// Runs `dev` (same flags, same guard, same receipt), then the venv's `python -m pytest` from
    /// the Python project root with the arguments after `--`. A plugin inside the test process
    /// records which file each extension module was loaded from: the run fails when it is not
    /// the proven build, even if every test passed. When the venv has no pytest, installs what
    /// the project declares for its tests, the first of: the `test`, `tests` or `dev` dependency
    /// group, or the `tests`, `test` or `dev` extra; else plain pytest.
    Test(TestArgs),
    /// Build and prove as `dev` does, then run a command in the venv
    ///
    /// The safe replacement for `uv run`: `dev`, then COMMAND with the venv activated
    /// (`VIRTUAL_ENV` set, its `bin/` first on `PATH`), the terminal passed through, and its exit
    /// code passed through (128 + N when it is killed by signal N).
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Print only errors and the final result
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,

    /// Explain each step; repeat for the tools' own verbose output
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    /// When to use colours in messages
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub(crate) color: ColorChoice,
}

/// Which project, package and venv a command works on.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ProjectArgs {
    /// Path to Cargo.toml
    #[arg(long, value_name = "PATH")]
    pub(crate) manifest_path: Option<PathBuf>,

    /// The package to work on, in a workspace with several PyO3 packages
    #[arg(short, long, value_name = "SPEC")]
    pub(crate) package: Option<String>,

    /// The virtual environment to use [default: $VIRTUAL_ENV, else .venv in the project or a parent]
    #[arg(long, value_name = "PATH")]
    pub(crate) venv: Option<PathBuf>,

    /// Directory for all generated artifacts [default: $CARGO_TARGET_DIR, else cargo's]
    #[arg(long, value_name = "DIRECTORY")]
    pub(crate) target_dir: Option<PathBuf>,
}

/// How to build: profile and features, as cargo and maturin spell them.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct BuildArgs {
    /// Build with the release profile
    #[arg(short, long, conflicts_with = "profile")]
    pub(crate) release: bool,

    /// Build with the given profile
    #[arg(long, value_name = "PROFILE-NAME")]
    pub(crate) profile: Option<String>,

    /// Space or comma separated list of features to activate
    #[arg(short = 'F', long, value_name = "FEATURES")]
    pub(crate) features: Vec<String>,

    /// Activate all available features
    #[arg(long)]
    pub(crate) all_features: bool,

    /// Do not activate the `default` feature
    #[arg(long)]
    pub(crate) no_default_features: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DevArgs {
    #[command(flatten)]
    pub(crate) project: ProjectArgs,

    #[command(flatten)]
    pub(crate) build: BuildArgs,

    /// How to make cargo rebuild the package before building
    ///
    /// `package` (the default) removes cargo's fingerprint of the package (and of each path
    /// dependency whose sources changed), so cargo recompiles it from its sources while keeping
    /// the incremental cache: an edit whose mtime lies in the past is still built. `full` runs
    /// `cargo clean -p <package>` for the build's profile and target dir, which also deletes the
    /// incremental cache.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = CleanMode::Package)]
    pub(crate) clean: CleanMode,

    /// Accepted for scripts; the default now does what it was for
    ///
    /// The default leaves cargo's fingerprint alone when the build inputs' content is as the last
    /// proven build's, and invalidates it when the content changed, which `--no-clean` (cargo's
    /// mtime check alone) could miss. So `--no-clean` behaves as `--clean package`.
    #[arg(long, conflicts_with = "clean", hide = true)]
    pub(crate) no_clean: bool,

    /// Build and install even when nothing changed since the proven build
    ///
    /// Without it, `dev` skips the build and the install when the build inputs and the build key
    /// (toolchain, maturin, interpreter, environment, features, profile) are as the receipt
    /// recorded them and the installed files are intact; the import-and-hash proof runs either
    /// way. `--force` also invalidates cargo's fingerprint of the package.
    #[arg(long)]
    pub(crate) force: bool,

    /// Also install these extras (`[project.optional-dependencies]`), comma separated
    #[arg(short = 'E', long, value_name = "EXTRAS", value_delimiter = ',')]
    pub(crate) extras: Vec<String>,

    /// Install this dependency group (PEP 735) [default: `dev`, when the project has one]
    #[arg(long = "group", value_name = "GROUP")]
    pub(crate) groups: Vec<String>,

    /// Do not install the project's runtime dependencies, extras or groups
    #[arg(long, conflicts_with_all = ["extras", "groups"])]
    pub(crate) no_deps: bool,

    /// Resolve the dependencies afresh, even when the project has a `uv.lock` or `pylock.toml`
    ///
    /// By default, a project with a `uv.lock` (its own or its uv workspace's) gets the locked
    /// versions of its dependencies, extras and groups, exported with `uv export --locked`, and
    /// one with a `pylock.toml` (and no `uv.lock`) the versions it lists. A
    /// lock out of date with `pyproject.toml` earns a warning naming `uv lock`, and the ranges
    /// are resolved; the lock is never written.
    #[arg(long)]
    pub(crate) no_lock: bool,

    /// Install the plain wheel, even for a project with Python sources
    ///
    /// By default a project with Python sources is installed editable, as `maturin develop`
    /// does: the extension just built is placed beside the sources and the venv points at
    /// them, so Python edits are live.
    #[arg(long)]
    pub(crate) no_editable: bool,

    /// Interpreter for a new `.venv`; repeated, a range or `all`: one venv each
    ///
    /// A path, a command, or a version (`3.12` means `python3.12` on PATH, else pyenv's or uv's
    /// installed 3.12; nothing is downloaded). Once, it picks the interpreter of a new `.venv`.
    /// Repeated (`--python 3.9 --python 3.12`, or `--python 3.9,3.12`), as a range
    /// (`--python 3.9-3.12`, every version between, each of which must be here) or as `all`
    /// (every local CPython the project's `requires-python` and abi3 floor admit), each
    /// interpreter gets its own venv `.venv-3.X` beside the project, its own build and its own
    /// proof, and a table reports them all. See docs/dev.md.
    #[arg(long, value_name = "PYTHON", value_delimiter = ',')]
    pub(crate) python: Vec<String>,

    /// Write targeted `[tool.uv] cache-keys` into pyproject.toml, then proceed
    #[arg(long, conflicts_with = "allow_uv_cache")]
    pub(crate) fix_uv: bool,

    /// Proceed even though uv would reinstall a stale cached build
    #[arg(long)]
    pub(crate) allow_uv_cache: bool,

    /// Fail at once when another `cargo pyo3 dev` holds the project's lock
    #[arg(long)]
    pub(crate) no_wait: bool,

    /// Print the receipt as JSON on stdout
    #[arg(long)]
    pub(crate) json: bool,

    /// Keep watching the build inputs and run again on every save, until Ctrl-C
    ///
    /// Watches the files the build reads (Rust sources, manifests, `Cargo.lock`, build scripts,
    /// path dependencies, and the Python sources of a mixed project); a save that changes one
    /// runs the whole command again and prints one line: what changed, the result, the short
    /// hash, the time. A failure waits for the next save: one before the install leaves the last
    /// proven build installed; one after it (a failed install or proof) reinstalls that build
    /// and proves it again. See docs/watch.md.
    #[arg(long)]
    pub(crate) watch: bool,
}

#[derive(Debug, Args)]
#[command(mut_arg("json", |arg| arg.help(
    "Print the receipt, pytest's counts and the in-process proof as JSON on stdout \
     (pytest's own output then goes to stderr)"
)))]
pub(crate) struct TestArgs {
    #[command(flatten)]
    pub(crate) dev: DevArgs,

    /// Arguments for pytest, after `--`
    #[arg(last = true, value_name = "PYTEST_ARGS")]
    pub(crate) pytest_args: Vec<OsString>,
}

#[derive(Debug, Args)]
#[command(mut_arg("json", |arg| arg.hide(true)))]
#[command(mut_arg("watch", |arg| arg.hide(true)))]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) dev: DevArgs,

    /// The command to run in the venv, and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub(crate) command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    pub(crate) project: ProjectArgs,

    /// Names to check: `Class`, `Class.method`, `function`, `sub.mod.Name`
    #[arg(value_name = "NAME")]
    pub(crate) names: Vec<String>,

    /// Also list classes that are defined but only returned from methods
    #[arg(long)]
    pub(crate) all: bool,

    /// Do not fail when the installed build is older than the sources
    #[arg(long)]
    pub(crate) allow_stale: bool,

    /// Also check the project's `.pyi` stubs against the build with mypy's stubtest
    ///
    /// The stubs are found where maturin packages them (every `.pyi` in the Python package, or
    /// `<module>.pyi` at the root of a pure Rust project) and checked only against a fresh build
    /// `cargo pyo3 dev` proved. mypy comes from the venv, else it is installed once into a tools
    /// venv under the target dir; the project's venv is not changed.
    #[arg(long)]
    pub(crate) stubs: bool,

    /// With `--stubs`: count what PyO3 generates by itself (a class not marked `@final`, `#[new]`
    /// against a stub's `__init__`, `...` defaults, `*args` dunders) as mismatches too
    #[arg(long, requires = "stubs")]
    pub(crate) strict: bool,

    /// Print the result as JSON on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ScaffoldArgs {
    /// Package name [default: the directory name]
    #[arg(long)]
    pub(crate) name: Option<String>,

    /// Project layout
    #[arg(long, value_enum, default_value_t = Layout::Pure)]
    pub(crate) layout: Layout,

    /// Initialize a version control repository
    #[arg(long, value_enum, default_value_t = Vcs::Git)]
    pub(crate) vcs: Vcs,
}

#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// Directory to create
    pub(crate) path: PathBuf,

    #[command(flatten)]
    pub(crate) scaffold: ScaffoldArgs,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Existing directory [default: the current directory]
    pub(crate) path: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) scaffold: ScaffoldArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub(crate) project: ProjectArgs,

    /// Apply the fixes that are safe to apply (uv cache-keys)
    #[arg(long)]
    pub(crate) fix: bool,

    /// Print every check as JSON on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

/// Parses the process arguments, also when the binary is run directly as `cargo-pyo3 dev`.
pub(crate) fn parse() -> Pyo3 {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_none_or(|first| first != "pyo3") {
        args.insert(1, "pyo3".into());
    }
    let Cargo::Pyo3(pyo3) = Cargo::parse_from(args);
    pyo3
}

// The values of the flags that take one. These are clap's types only: the settings and the
// commands map each onto the domain's own enum, so nothing below `commands/` sees them.

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// `--clean`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CleanMode {
    /// Invalidate the package's fingerprint; keep its incremental cache
    Package,
    /// `cargo clean -p <package>`: the incremental cache goes too
    Full,
}

/// `--layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Layout {
    /// Rust only: the extension is the whole package
    Pure,
    /// Python package in `python/` around the extension `<module>._core`
    Mixed,
}

/// `--vcs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Vcs {
    /// `git init` unless the directory is already inside a repository
    Git,
    /// No version control
    None,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cargo::command().debug_assert();
    }

    #[test]
    fn release_conflicts_with_profile() {
        let error = Cargo::try_parse_from(["cargo", "pyo3", "dev", "--release", "--profile", "x"])
            .unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
    }
}
