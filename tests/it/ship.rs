//! How the tool ships (issue 25): the wheel maturin builds from this repository (`bindings =
//! "bin"`) installs a `cargo-pyo3` that cargo dispatches to and that proves a generated project;
//! `--version` names the commit; the CI workflow runs `.ci/run` on the three systems.

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use crate::common;
use crate::common::{TestCommand, TestProject};

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `abcdef123456 2026-12-06`: HEAD as git describes it, which `--version` must name.
fn head_commit() -> String {
    let run = TestCommand::new("git", repository())
        .args(["log", "-1", "--format=%h %cs", "--abbrev=12"])
        .run_unlocked();
    run.assert_code(0);
    run.stdout.trim().to_owned()
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let run = common::cargo_pyo3(repository())
        .arg("--version")
        .run_unlocked();
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        format!(
            "cargo-pyo3 {} ({})\n",
            env!("CARGO_PKG_VERSION"),
            head_commit()
        )
    );
}

/// maturin builds the wheel in a target dir of its own (the test binary's is cargo's, locked
/// while the tests run), in the dev profile: what is under test is the packaging, and a release
/// build would triple the compile. Installed into a fresh venv, its `cargo-pyo3` is on that
/// venv's PATH, and `cargo pyo3 dev` with that PATH proves an unmodified `maturin new` project.
#[test]
fn the_wheel_installs_a_cargo_pyo3_that_proves_a_new_project() {
    let scratch = tempfile::Builder::new()
        .prefix("cargo-pyo3-test-")
        .tempdir()
        .unwrap();
    let wheels = scratch.path().join("wheels");
    TestCommand::new(common::tools().all.join("maturin"), repository())
        .args(["build", "--profile", "dev", "--locked", "--out"])
        .arg(&wheels)
        .env("CARGO_TARGET_DIR", common::scratch().join("ship-target"))
        .run_unlocked()
        .assert_code(0);
    let wheel = only_wheel(&wheels);
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!(
            "cargo_pyo3-{}-py3-none-",
            env!("CARGO_PKG_VERSION")
        )),
        "one wheel for any Python 3 of this platform, got {name}"
    );

    let venv = scratch.path().join("tool-venv");
    TestCommand::new("python3", scratch.path())
        .args(["-m", "venv"])
        .arg(&venv)
        .run_unlocked()
        .assert_code(0);
    TestCommand::new(venv.join("bin/python"), scratch.path())
        .args(["-m", "pip", "install", "--quiet", "--no-index"])
        .arg(&wheel)
        .run_unlocked()
        .assert_code(0);
    let installed = venv.join("bin/cargo-pyo3");
    assert!(
        installed.is_file(),
        "the wheel put no cargo-pyo3 into {}",
        venv.join("bin").display()
    );

    let project = TestProject::maturin_new("shipped", false);
    let version = TestCommand::new("cargo", &project.root)
        .args(["pyo3", "--version"])
        .path_first(&venv.join("bin"))
        .run_unlocked();
    version.assert_code(0);
    assert_eq!(
        version.stdout,
        format!(
            "cargo-pyo3 {} ({})\n",
            env!("CARGO_PKG_VERSION"),
            head_commit()
        )
    );
    let dev = TestCommand::new("cargo", &project.root)
        .args(["pyo3", "dev"])
        .path_first(&venv.join("bin"))
        .run();
    dev.assert_code(0).assert_stderr_contains("Proven");
    let receipt = project.receipt();
    assert_eq!(receipt["module"], "shipped");
    let extension = &receipt["extensions"][0];
    assert_eq!(extension["problem"], serde_json::Value::Null, "{receipt:#}");
    let loaded = extension["loaded_path"].as_str().unwrap();
    assert_eq!(
        common::sha256(loaded.as_ref()),
        extension["wheel_sha256"].as_str().unwrap(),
        "what loaded is what the wheel holds: {receipt:#}"
    );
}

fn only_wheel(dir: &Path) -> PathBuf {
    let wheels: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "whl"))
        .collect();
    assert_eq!(
        wheels.len(),
        1,
        "one wheel in {}: {wheels:?}",
        dir.display()
    );
    wheels.into_iter().next().unwrap()
}

/// The workflow cannot run here; what can be checked is that it asks for the three systems and
/// that its steps are the scripts that do run here.
#[test]
fn the_ci_workflow_runs_ci_run_on_linux_macos_arm64_and_windows() {
    let path = repository().join(".github/workflows/ci.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let workflow = YamlLoader::load_from_str(&text).unwrap().remove(0);
    let jobs = workflow["jobs"].as_hash().expect("a `jobs` table");
    let job_running = |script: &str| -> &Yaml {
        jobs.values()
            .find(|job| {
                job["steps"].as_vec().into_iter().flatten().any(|step| {
                    step["run"].as_str() == Some(script) && step["shell"].as_str() == Some("bash")
                })
            })
            .unwrap_or_else(|| panic!("no job in {} runs `{script}` with bash", path.display()))
    };
    for script in [".ci/run", ".ci/wheel"] {
        let job = job_running(script);
        let systems: Vec<&str> = job["strategy"]["matrix"]["os"]
            .as_vec()
            .unwrap_or_else(|| panic!("the job running {script} has no os matrix"))
            .iter()
            .filter_map(Yaml::as_str)
            .collect();
        assert_eq!(job["runs-on"].as_str(), Some("${{ matrix.os }}"));
        // GitHub's `macos-14` and later are arm64 machines; `macos-13` was the last Intel one.
        assert!(
            systems.iter().any(|os| os.starts_with("ubuntu-"))
                && systems.contains(&"macos-14")
                && systems.iter().any(|os| os.starts_with("windows-")),
            "{script} runs on Linux, macOS arm64 and Windows, not only on {systems:?}"
        );
        assert!(
            repository().join(script).is_file(),
            "the workflow calls {script}, which is not in the repository"
        );
    }
}

/// What `cargo install` builds from: the sources, the templates, the docs, the licenses; no
/// test, fixture, benchmark or CI file (they need the repository).
#[test]
fn the_crate_package_holds_only_what_builds_and_documents_the_tool() {
    let run = TestCommand::new("cargo", repository())
        .args(["package", "--locked", "--list", "--allow-dirty"])
        .run_unlocked();
    run.assert_code(0);
    let stray: Vec<&str> = run
        .stdout
        .lines()
        .filter(|file| {
            let wanted = ["src/", "templates/", "docs/"]
                .iter()
                .any(|dir| file.starts_with(dir))
                || [
                    "build.rs",
                    "Cargo.toml",
                    "Cargo.toml.orig",
                    "Cargo.lock",
                    "README.md",
                    "LICENSE-APACHE",
                    "LICENSE-MIT",
                    ".cargo_vcs_info.json",
                ]
                .contains(file);
            !wanted
        })
        .collect();
    assert!(stray.is_empty(), "stray files in the package: {stray:?}");
    for needed in [
        "src/main.rs",
        "build.rs",
        "templates/pure/src/lib.rs",
        "src/python/proof.py",
    ] {
        assert!(
            run.stdout.lines().any(|file| file == needed),
            "{needed} is not in the package:\n{}",
            run.stdout
        );
    }
}
