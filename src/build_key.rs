//! The build key: everything outside the build inputs' content that can change the wheel `dev`
//! builds. With the inputs' digest equal too, the proven build in the receipt is what a new build
//! would make, so `dev` skips the build and the install and only proves again (docs/dev.md, "The
//! no-change fast path"). Each part is kept, not just their hash, so `-v` can say which changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::digest::{Stat, StatedFile};
use crate::process::Cmd;
use crate::project::Project;
use crate::settings::BuildSettings;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct BuildKey {
    /// sha256 over every part below: one value to compare.
    pub(crate) sha256: String,
    /// This tool's version: a new one may build differently.
    pub(crate) tool_version: String,
    /// `rustc -vV` and `cargo -V`, run where the build runs (so a `rust-toolchain.toml` counts).
    pub(crate) rustc: String,
    pub(crate) cargo: String,
    /// The maturin program and the venv's base interpreter (which the build python of
    /// `build_python.rs` stands for), by path and `stat` (an upgrade in place rewrites the file).
    pub(crate) maturin: Option<StatedFile>,
    pub(crate) interpreter: Option<StatedFile>,
    pub(crate) profile: String,
    pub(crate) features: Vec<String>,
    /// The environment that reaches the build, by name, each value as its sha256 (a registry
    /// token in `CARGO_REGISTRIES_*` is never written down).
    pub(crate) env: BTreeMap<String, String>,
    /// cargo's configuration files that apply to the project (`.cargo/config.toml` in it and its
    /// parents, and in `CARGO_HOME`), by path and sha256: they set `rustflags`, the linker and
    /// the target as the environment does.
    pub(crate) cargo_config: BTreeMap<PathBuf, String>,
    /// The toolchain's `rustc` and `cargo` that answered above, by path and `stat`, when they
    /// ran without rustup's proxies: a later run whose binaries are in the same state takes the
    /// answers instead of starting them again. Not a part of the key (a run through the proxies
    /// has none, and builds the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) answered_by: Option<Vec<StatedFile>>,
}

/// Variables read by cargo, rustc, the linker drivers and the build tools of every PyO3 crate,
/// whatever their build scripts declare.
const ENV_PREFIXES: &[&str] = &["CARGO", "RUSTC", "RUSTFLAGS", "PYO3_", "MATURIN_"];
const ENV_NAMES: &[&str] = &[
    "RUSTDOCFLAGS",
    "CC",
    "CXX",
    "AR",
    "LD",
    "CFLAGS",
    "CXXFLAGS",
    "LDFLAGS",
    "SDKROOT",
    "MACOSX_DEPLOYMENT_TARGET",
];
/// This tool's own variables and cargo's terminal settings, which reach no build.
const ENV_IGNORED: &[&str] = &["CARGO_PYO3_", "CARGO_TERM_"];

/// `rustc -vV` and `cargo -V` (about 20 ms and 12 ms through rustup's proxies on this machine),
/// started on threads of their own before the project is discovered, in the directory the
/// package most likely is in: they then run beside `cargo metadata` instead of after it.
/// rustup picks the toolchain by the directory (`rust-toolchain.toml`), so their answers are
/// taken only when the discovered package is in that directory; otherwise they run again there.
/// Under `cargo pyo3` rustup's choice is already made, and the toolchain's own binaries run
/// without the proxies (src/rustup.rs), only when the last key's answers are not theirs
/// ([`compute`]).
pub(crate) struct ToolchainProbe {
    dir: Option<PathBuf>,
    running: Option<std::thread::JoinHandle<(String, String)>>,
}

impl ToolchainProbe {
    /// Starts both in `dir` (nothing when it is `None`). Under `cargo pyo3` nothing is started
    /// yet: the last build's key may hold the answers of these very binaries.
    pub(crate) fn start(dir: Option<PathBuf>) -> ToolchainProbe {
        let running = dir
            .clone()
            .filter(|_| crate::rustup::toolchain_bin().is_none())
            .map(|dir| std::thread::spawn(move || probe(&dir)));
        ToolchainProbe { dir, running }
    }

    /// Their answers for a package in `package_dir`.
    fn finish(self, package_dir: &Path) -> (String, String) {
        let same_dir =
            |dir: &PathBuf| match (fs_err::canonicalize(dir), fs_err::canonicalize(package_dir)) {
                (Ok(guess), Ok(found)) => guess == found,
                _ => false,
            };
        let early = self.running.and_then(|running| running.join().ok());
        match early {
            Some(answers) if self.dir.as_ref().is_some_and(same_dir) => answers,
            _ => probe(package_dir),
        }
    }
}

/// `rustc -vV` and `cargo -V` in `dir`, side by side.
fn probe(dir: &Path) -> (String, String) {
    std::thread::scope(|scope| {
        let rustc = scope.spawn(|| tool_output(&crate::rustup::program("rustc"), &["-vV"], dir));
        let cargo = tool_output(&crate::rustup::program("cargo"), &["-V"], dir);
        (rustc.join().unwrap_or_default(), cargo)
    })
}

/// The toolchain's own `rustc` and `cargo` by path and `stat`, when they run without rustup's
/// proxies (src/rustup.rs).
fn toolchain_binaries() -> Option<Vec<StatedFile>> {
    let bin = crate::rustup::toolchain_bin()?;
    ["rustc", "cargo"]
        .iter()
        .map(|name| stated(&bin.join(name)))
        .collect()
}

/// Computes the key for a build of `project` with `build`, by `maturin` for `interpreter`, with
/// the toolchain's answers from `toolchain`, or from `last`'s key when they came from the same
/// binaries, untouched since (their output depends on nothing else).
pub(crate) fn compute(
    project: &Project,
    build: &BuildSettings,
    maturin: &Path,
    interpreter: &Path,
    toolchain: ToolchainProbe,
    last: Option<&BuildKey>,
) -> BuildKey {
    let answered_by = toolchain_binaries();
    let known = last.filter(|last| {
        answered_by.is_some()
            && last.answered_by == answered_by
            && !last.rustc.is_empty()
            && !last.cargo.is_empty()
    });
    let (rustc, cargo) = match known {
        Some(last) => {
            crate::output::verbose(
                "`rustc -vV` and `cargo -V` as the last build's key has them: the toolchain's \
                 binaries are as they were then",
            );
            (last.rustc.clone(), last.cargo.clone())
        }
        None => toolchain.finish(&project.package_dir),
    };
    let mut key = BuildKey {
        sha256: String::new(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        rustc,
        cargo,
        maturin: stated(maturin),
        interpreter: stated(interpreter),
        profile: build.profile_name().to_owned(),
        features: build.feature_args(),
        env: environment(&declared_env(project)),
        cargo_config: cargo_config(&project.package_dir),
        answered_by,
    };
    key.seal();
    key
}

impl BuildKey {
    /// The key with the environment read again, after a build: its build scripts may have
    /// declared variables with `rerun-if-env-changed` that no earlier build had.
    pub(crate) fn refreshed(mut self, project: &Project) -> BuildKey {
        self.env = environment(&declared_env(project));
        self.seal();
        self
    }

    fn seal(&mut self) {
        self.sha256.clear();
        let answered_by = self.answered_by.take();
        let text = serde_json::to_string(self).expect("a key serializes");
        self.sha256 = format!("{:x}", Sha256::digest(text.as_bytes()));
        self.answered_by = answered_by;
    }

    /// The names of the parts that differ from `other`, for `-v`.
    pub(crate) fn differences(&self, other: &BuildKey) -> Vec<String> {
        let mut differ = Vec::new();
        let mut part = |name: &str, same: bool| {
            if !same {
                differ.push(name.to_owned());
            }
        };
        part(
            "this tool's version",
            self.tool_version == other.tool_version,
        );
        part("`rustc -vV`", self.rustc == other.rustc);
        part("`cargo -V`", self.cargo == other.cargo);
        part("maturin", self.maturin == other.maturin);
        part(
            "the build interpreter",
            self.interpreter == other.interpreter,
        );
        part("the profile", self.profile == other.profile);
        part("the features", self.features == other.features);
        part(
            "cargo's configuration files",
            self.cargo_config == other.cargo_config,
        );
        let names: std::collections::BTreeSet<&String> =
            self.env.keys().chain(other.env.keys()).collect();
        for name in names {
            if self.env.get(name) != other.env.get(name) {
                differ.push(format!("`{name}`"));
            }
        }
        differ
    }
}

fn stated(path: &Path) -> Option<StatedFile> {
    Some(StatedFile {
        path: path.to_path_buf(),
        stat: Stat::of(path)?,
    })
}

/// What `program args` prints, run in `dir`; empty when it cannot run (the build will then say
/// why, and an empty part still differs from a real one).
fn tool_output(program: &Path, args: &[&str], dir: &Path) -> String {
    Cmd::new(program)
        .args(args)
        .dir(dir)
        .in_background()
        .run_captured()
        .map(|captured| captured.stdout)
        .unwrap_or_default()
}

/// The environment that reaches the build: the fixed names and prefixes, and `declared`.
fn environment(declared: &[String]) -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(name, value)| {
            let name = name.into_string().ok()?;
            let ignored = ENV_IGNORED.iter().any(|prefix| name.starts_with(prefix));
            let reaches = !ignored
                && (ENV_PREFIXES.iter().any(|prefix| name.starts_with(prefix))
                    || ENV_NAMES.contains(&name.as_str())
                    || declared.contains(&name));
            reaches.then(|| {
                let sha256 = Sha256::digest(value.as_encoded_bytes());
                (name, format!("{sha256:x}"))
            })
        })
        .collect()
}

/// The variables the build reads beyond the fixed names: those the build scripts in the
/// project's target dir declared with `cargo:rerun-if-env-changed=NAME` (or `cargo::`), read from
/// the `output` file cargo keeps for each script run
/// (`<dir>[/<triple>]/<profile>/build/<package>-<hash>/output`), and those the crate's and its
/// path dependencies' sources read with `env!`/`option_env!`, which rustc lists as
/// `# env-dep:NAME=value` in the dep-info it writes (`<profile>/deps/<crate>-<hash>.d`); cargo
/// rebuilds when either changes. A shared target dir lists other projects' too, which only makes
/// the key stricter.
fn declared_env(project: &Project) -> Vec<String> {
    let mut names = Vec::new();
    let mut dirs = vec![project.build_dir.clone(), project.target_dir.clone()];
    dirs.dedup();
    let mut profile_dirs = Vec::new();
    for dir in &dirs {
        for entry in fs_err::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            for nested in fs_err::read_dir(&path).into_iter().flatten().flatten() {
                profile_dirs.push(nested.path());
            }
            profile_dirs.push(path);
        }
    }
    let crates: Vec<String> = std::iter::once(project.lib_name.clone())
        .chain(
            project
                .path_dependencies
                .iter()
                .filter_map(|dependency| dependency.crate_name.clone()),
        )
        .collect();
    // `<crate>-<hash>.d`, or `<crate>.d` for a `cdylib`, which cargo names without the hash.
    let is_dep_info_of = |file_name: &str| {
        file_name.strip_suffix(".d").is_some_and(|stem| {
            crates.iter().any(|name| {
                stem.strip_prefix(name.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
            })
        })
    };
    for deps in profile_dirs.iter().map(|dir| dir.join("deps")) {
        for file in fs_err::read_dir(&deps).into_iter().flatten().flatten() {
            let file_name = file.file_name();
            let file_name = file_name.to_string_lossy();
            if !is_dep_info_of(&file_name) {
                continue;
            }
            let Ok(text) = fs_err::read_to_string(file.path()) else {
                continue;
            };
            names.extend(text.lines().filter_map(|line| {
                let name = line.strip_prefix("# env-dep:")?;
                Some(
                    name.split_once('=')
                        .map_or(name, |(name, _)| name)
                        .to_owned(),
                )
            }));
        }
    }
    for build in profile_dirs.iter().map(|dir| dir.join("build")) {
        for script in fs_err::read_dir(&build).into_iter().flatten().flatten() {
            let Ok(text) = fs_err::read_to_string(script.path().join("output")) else {
                continue;
            };
            names.extend(text.lines().filter_map(|line| {
                line.strip_prefix("cargo::rerun-if-env-changed=")
                    .or_else(|| line.strip_prefix("cargo:rerun-if-env-changed="))
                    .map(|name| name.trim().to_owned())
            }));
        }
    }
    names.sort();
    names.dedup();
    names
}

/// cargo's configuration files for a build run in `dir`: `.cargo/config.toml` and
/// `.cargo/config` in it and every parent, and in `CARGO_HOME` (`~/.cargo`).
fn cargo_config(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut dirs: Vec<PathBuf> = dir.ancestors().map(|dir| dir.join(".cargo")).collect();
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|home| home.join(".cargo")));
    dirs.extend(home);
    let mut found = BTreeMap::new();
    for dir in dirs {
        for name in ["config.toml", "config"] {
            let path = dir.join(name);
            if let Ok(sha256) = crate::wheel::sha256_file(&path) {
                found.insert(path, sha256);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed_key() -> BuildKey {
        let mut key = BuildKey {
            rustc: "rustc 1.95.0".into(),
            ..BuildKey::default()
        };
        key.seal();
        key
    }

    #[test]
    fn a_changed_part_changes_the_hash_and_is_named() {
        let key = sealed_key();
        let mut other = key.clone();
        other.env.insert("RUSTFLAGS".into(), "0a".into());
        other.seal();
        assert_ne!(key.sha256, other.sha256);
        assert_eq!(key.differences(&other), ["`RUSTFLAGS`"]);
        let mut again = key.clone();
        again.seal();
        assert_eq!(key, again, "sealing is deterministic");
    }

    #[test]
    fn the_binaries_that_answered_are_not_a_part_of_the_key() {
        let through_proxies = sealed_key();
        let binary = tempfile::NamedTempFile::new().unwrap();
        let mut direct = through_proxies.clone();
        direct.answered_by = Some(vec![stated(binary.path()).unwrap()]);
        direct.seal();
        assert_eq!(direct.sha256, through_proxies.sha256);
        assert!(direct.differences(&through_proxies).is_empty());
        assert!(direct.answered_by.is_some(), "sealing keeps them");
    }

    #[test]
    fn build_scripts_declare_their_variables_in_cargos_output_files() {
        let root = tempfile::tempdir().unwrap();
        let project = Project::for_tests(root.path().to_path_buf());
        let script = project.target_dir.join("debug/build/demo-0123/");
        fs_err::create_dir_all(&script).unwrap();
        fs_err::write(
            script.join("output"),
            "cargo:rerun-if-env-changed=DEMO_MODE\ncargo::rerun-if-env-changed=OTHER\n\
             cargo:rustc-cfg=x\n",
        )
        .unwrap();
        assert_eq!(declared_env(&project), ["DEMO_MODE", "OTHER"]);
    }

    #[test]
    fn sources_declare_the_variables_they_read_in_rustcs_dep_info() {
        let root = tempfile::tempdir().unwrap();
        let project = Project::for_tests(root.path().to_path_buf());
        let deps = project.target_dir.join("debug/deps");
        fs_err::create_dir_all(&deps).unwrap();
        let lib = format!("{}-0123abcd.d", project.lib_name);
        fs_err::write(
            deps.join(lib),
            "/t/debug/deps/x.so: src/lib.rs\n\nsrc/lib.rs:\n\n# env-dep:GREETING=hi\n\
             # env-dep:UNSET\n",
        )
        .unwrap();
        fs_err::write(deps.join("other_crate-0123.d"), "# env-dep:NOT_OURS=1\n").unwrap();
        fs_err::write(
            deps.join(format!("{}_x.d", project.lib_name)),
            "# env-dep:NOR=1\n",
        )
        .unwrap();
        // A `cdylib`'s dep-info has no hash in its name.
        fs_err::write(
            deps.join(format!("{}.d", project.lib_name)),
            "# env-dep:CDYLIB=1\n",
        )
        .unwrap();
        assert_eq!(declared_env(&project), ["CDYLIB", "GREETING", "UNSET"]);
    }
}
