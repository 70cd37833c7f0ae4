//! The versions a project's `uv.lock` pins are the versions installed (issue 26): on an
//! unmodified `maturin new` project given a `dev` group the way `uv add --dev` writes it and a
//! lock held back to an older pytest than the newest, the way `uv lock --upgrade-package` does.

use std::path::Path;

use crate::assert_filtered_snapshot;
use crate::common;
use crate::common::faults::fault_executable;
use crate::common::{TestCommand, TestProject};

/// Older than the newest pytest, and still installable on the Pythons the tests use.
const LOCKED_PYTEST: &str = "8.0.0";

fn uv(project: &TestProject) -> TestCommand {
    TestCommand::new(common::tools().all.join("uv"), &project.root)
}

/// `maturin new` with `uv add --dev pytest` and a lock holding pytest at [`LOCKED_PYTEST`], and
/// a test module as a maintainer would write it.
fn locked_project(name: &str) -> TestProject {
    locked_project_with(name, "--dev")
}

/// The same, with pytest added by `uv add <group_flag>` (`--dev`, or `--group test`).
fn locked_project_with(name: &str, group_flag: &str) -> TestProject {
    let project = TestProject::maturin_new(name, false);
    uv(&project)
        .args(["add", "--no-sync"])
        .args(group_flag.split(' '))
        .arg("pytest>=7")
        .run()
        .assert_code(0);
    uv(&project)
        .args([
            "lock",
            "--upgrade-package",
            &format!("pytest=={LOCKED_PYTEST}"),
        ])
        .run()
        .assert_code(0);
    project.write(
        &format!("tests/test_{name}.py"),
        &format!(
            "import {name}\n\n\ndef test_sum_as_string():\n    assert {name}.sum_as_string(2, 3) == \"5\"\n"
        ),
    );
    project
}

/// A venv made by `uv venv` in the project, with nothing installed.
fn new_venv(project: &TestProject, name: &str) -> std::path::PathBuf {
    uv(project)
        .args(["venv", "--python", "3.11", name])
        .run()
        .assert_code(0);
    project.path(name)
}

fn pytest_version(python: &Path) -> String {
    let output = std::process::Command::new(python)
        .args(["-c", "import pytest; print(pytest.__version__)"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The venv's installed files, but the project's own (which every build replaces).
fn other_packages(venv: &Path, own: &str) -> std::collections::BTreeMap<String, String> {
    let site = venv.join("lib/python3.11/site-packages");
    common::snapshot_tree(&site)
        .into_iter()
        .filter(|(path, _)| !path.starts_with(own))
        .collect()
}

#[test]
fn dev_and_test_install_the_locked_pytest_and_write_nothing_to_the_lock() {
    let project = locked_project("lockpin");
    // The guard wants the Rust sources in uv's cache keys first: that is the one edit asked for.
    project
        .cargo_pyo3()
        .arg("dev")
        .run()
        .assert_code(3)
        .assert_stderr_contains("--fix-uv");
    project
        .cargo_pyo3()
        .args(["dev", "--fix-uv"])
        .run()
        .assert_code(0);
    let lock = project.read("uv.lock");
    let pyproject = project.read("pyproject.toml");

    assert_eq!(pytest_version(&project.venv_python()), LOCKED_PYTEST);
    let receipt = project.receipt();
    assert_eq!(receipt["dependency_versions"], "locked", "{receipt:#}");
    assert!(
        receipt["dependencies"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(format!("pytest=={LOCKED_PYTEST}"))),
        "{receipt:#}"
    );

    // An edit rebuilds; the locked dependencies stay as installed, and the unchanged lock is not
    // exported again (a `uv export` would fail here).
    let venv = project.path(".venv");
    let before = other_packages(&venv, "lockpin");
    project.edit("src/lib.rs", "(a + b).to_string()", "(b + a).to_string()");
    let faults = tempfile::tempdir().unwrap();
    let edited = project
        .cargo_pyo3()
        .arg("dev")
        .path_first(&fault_executable(
            faults.path(),
            "fault-uv-export-fails",
            Some("uv"),
        ))
        .env(common::faults::REAL_UV, common::tools().all.join("uv"))
        .run();
    edited.assert_code(0);
    assert!(!edited.stderr.contains("warning"), "{edited:?}");
    assert_eq!(project.receipt()["dependency_versions"], "locked");
    assert_eq!(other_packages(&venv, "lockpin"), before);

    // `test` into another venv installs the same pins there, and the suite passes on them.
    let other = new_venv(&project, "other-venv");
    let test = project
        .cargo_pyo3()
        .args(["test", "--venv"])
        .arg(&other)
        .arg("-q")
        .run();
    test.assert_code(0);
    assert!(test.stdout.contains("1 passed"), "{test:?}");
    assert_eq!(pytest_version(&other.join("bin/python")), LOCKED_PYTEST);
    assert_eq!(
        other_packages(&venv, "lockpin"),
        before,
        "`.venv` untouched"
    );

    // `--no-lock` resolves on purpose: in a new venv, the newest pytest the group's range allows
    // (in `.venv` the locked one already satisfies it, and an installer keeps what satisfies).
    let fresh = new_venv(&project, "fresh-venv");
    project
        .cargo_pyo3()
        .args(["dev", "--no-lock", "--venv"])
        .arg(&fresh)
        .run()
        .assert_code(0);
    assert_ne!(pytest_version(&fresh.join("bin/python")), LOCKED_PYTEST);
    assert_eq!(project.receipt()["dependency_versions"], "resolved");

    assert_eq!(project.read("uv.lock"), lock, "the lock is never written");
    assert_eq!(project.read("pyproject.toml"), pyproject);
}

#[test]
fn a_stale_lock_is_named_with_the_command_that_updates_it_and_left_alone() {
    let project = locked_project("stalepin");
    project
        .cargo_pyo3()
        .args(["dev", "--fix-uv"])
        .run()
        .assert_code(0);
    assert_eq!(pytest_version(&project.venv_python()), LOCKED_PYTEST);

    // A dependency added by hand, without `uv lock`.
    project.edit(
        "pyproject.toml",
        "\"pytest>=7\"",
        "\"pytest>=7\",\n    \"iniconfig\"",
    );
    let lock = project.read("uv.lock");
    let pyproject = project.read("pyproject.toml");
    let fresh = new_venv(&project, "fresh-venv");
    let stale = project
        .cargo_pyo3()
        .args(["dev", "--venv"])
        .arg(&fresh)
        .run();
    assert_filtered_snapshot!(
        "dev_with_a_stale_uv_lock",
        common::snapshot::render(&stale, &project.root)
    );
    stale.assert_code(0);
    assert_eq!(project.read("uv.lock"), lock);
    assert_eq!(project.read("pyproject.toml"), pyproject);
    assert_eq!(project.receipt()["dependency_versions"], "resolved");
    assert_ne!(pytest_version(&fresh.join("bin/python")), LOCKED_PYTEST);
    assert_eq!(
        pytest_version(&project.venv_python()),
        LOCKED_PYTEST,
        "`.venv` untouched"
    );
}

#[test]
fn a_lock_uv_cannot_read_is_a_user_error_before_anything_is_built() {
    let project = locked_project("badlock");
    project
        .cargo_pyo3()
        .args(["dev", "--fix-uv"])
        .run()
        .assert_code(0);
    project.write("uv.lock", "version = 1\n[[package]\n");
    let before = project.receipt();
    let broken = project.cargo_pyo3().arg("dev").run();
    assert_filtered_snapshot!(
        "dev_with_an_unreadable_uv_lock",
        common::snapshot::render(&broken, &project.root)
    );
    broken.assert_code(2);
    assert!(!broken.stderr.contains("Compiling"), "{broken:?}");
    assert_eq!(project.read("uv.lock"), "version = 1\n[[package]\n");
    assert_eq!(project.receipt(), before, "the proven install stays");
}

/// `dev` installs the `dev` group; pytest in a `test` group is installed by `test` when the
/// venv lacks it, at the locked version too.
#[test]
fn test_installs_a_locked_test_group_that_dev_does_not() {
    let project = locked_project_with("testpin", "--group test");
    let test = project.cargo_pyo3().args(["test", "--fix-uv"]).run();
    test.assert_code(0).assert_stderr_contains(
        "Installing the `test` dependency group at the versions locked in `uv.lock` into",
    );
    assert!(test.stdout.contains("1 passed"), "{test:?}");
    assert_eq!(pytest_version(&project.venv_python()), LOCKED_PYTEST);
}

/// A project that keeps a `pylock.toml` (PEP 751; here the one `uv export` writes, which lists
/// the project itself as an editable directory) and no `uv.lock`: its versions are installed,
/// and the project is still the wheel just built, not a build of the sources by uv.
#[test]
fn a_pylock_toml_is_installed_without_the_project_in_it() {
    let project = locked_project("pylockpin");
    uv(&project)
        .args(["export", "--format", "pylock.toml", "-o", "pylock.toml"])
        .run()
        .assert_code(0);
    std::fs::remove_file(project.path("uv.lock")).unwrap();
    let lock = project.read("pylock.toml");
    assert!(lock.contains("name = \"pylockpin\""), "{lock}");

    let dev = project.cargo_pyo3().arg("dev").run();
    dev.assert_code(0);
    assert!(
        !dev.stderr.contains("pylock.toml"),
        "read without a word: {dev:?}"
    );
    assert_eq!(pytest_version(&project.venv_python()), LOCKED_PYTEST);
    let receipt = project.receipt();
    assert_eq!(receipt["dependency_versions"], "locked", "{receipt:#}");
    assert_eq!(
        receipt["extensions"][0]["loaded_sha256"], receipt["extensions"][0]["wheel_sha256"],
        "{receipt:#}"
    );
    let direct_url = std::fs::read_to_string(
        project
            .path(".venv/lib/python3.11/site-packages/pylockpin-0.1.0.dist-info/direct_url.json"),
    )
    .unwrap();
    assert!(
        direct_url.contains(".whl"),
        "installed from the built wheel: {direct_url}"
    );
    assert_eq!(
        project.read("pylock.toml"),
        lock,
        "the lock is never written"
    );
}
