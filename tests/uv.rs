//! The uv guard against real uv (PyO3/maturin#2314): the war reproduced, refused, fixed.

#![expect(
    clippy::disallowed_methods,
    reason = "tests drive the real tools with std::process::Command and build scenes with std::fs; \
              clippy.toml's boundaries are for the tool's own code"
)]

mod common;

use common::{TestCommand, TestProject};

/// The fixture's pyproject with comments and odd spacing the fix must keep byte for byte.
const COMMENTED_PYPROJECT: &str = r#"# Build with maturin.
[build-system]
requires = ["maturin>=1.9,<2"]
build-backend = "maturin"

[project]
name = "purefix"   # the distribution name
requires-python = ">=3.8"
dynamic = ["version"]

[tool.maturin]
features = ["pyo3/extension-module"]
"#;

fn uv(project: &TestProject) -> TestCommand {
    TestCommand::new(common::tools().all.join("uv"), &project.root)
}

#[test]
fn the_war_is_refused_then_fixed_in_one_flag() {
    let project = TestProject::from_fixture("pure");
    project.write("pyproject.toml", COMMENTED_PYPROJECT);
    uv(&project).args(["sync"]).run().assert_code(0);
    let site = project.path(".venv/lib/python3.11/site-packages/purefix");
    let installed = std::fs::read_dir(&site)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|extension| extension == "so"))
        .expect("uv sync installed the extension");
    let uv_build = common::sha256(&installed);

    project.add_fresh_function();
    let refused = project.cargo_pyo3().arg("dev").run();
    refused.assert_code(3).assert_stderr_contains("cache-keys");
    refused.assert_stderr_contains("hint:");
    refused.assert_stderr_contains("--fix-uv");
    assert!(
        refused.stderr.contains("src/lib.rs"),
        "says which input is not covered\n{refused:?}"
    );
    assert!(
        !refused.stderr.contains("Compiling"),
        "nothing was built\n{refused:?}"
    );
    assert_eq!(
        common::sha256(&installed),
        uv_build,
        "nothing was installed"
    );
    assert_eq!(
        project.read("pyproject.toml"),
        COMMENTED_PYPROJECT,
        "nothing was written"
    );

    let fixed = project.cargo_pyo3().args(["dev", "--fix-uv"]).run();
    fixed.assert_code(0).assert_stderr_contains("Proven");
    let pyproject = project.read("pyproject.toml");
    assert!(
        pyproject.starts_with(COMMENTED_PYPROJECT),
        "everything before the new table is byte-identical:\n{pyproject}"
    );
    for key in [
        "{ file = \"pyproject.toml\" }",
        "{ file = \"Cargo.toml\" }",
        "{ file = \"src/**/*.rs\" }",
    ] {
        assert!(pyproject.contains(key), "{key} missing:\n{pyproject}");
    }
    assert!(
        !pyproject.contains("\"**/*.rs\""),
        "never a tree-wide glob:\n{pyproject}"
    );
    project
        .python("import purefix; assert purefix.fresh() == 7")
        .assert_code(0);

    // The point of the keys: `uv run` now rebuilds from the sources instead of putting the
    // stale cached build back, so the new function survives uv's resync.
    let after = uv(&project)
        .args([
            "run",
            "python",
            "-c",
            "import purefix; print(purefix.fresh())",
        ])
        .run();
    after.assert_code(0);
    assert_eq!(after.stdout.trim(), "7", "{after:?}");

    // uv's resync replaced the proven build with uv's own (fresh, but not the one `dev`
    // proved): doctor says so, naming what replaces installs.
    let doctor = project.cargo_pyo3().args(["doctor", "--json"]).run();
    doctor.assert_code(1);
    let freshness = common::doctor_check(&doctor.json(), "freshness").clone();
    assert_eq!(freshness["verdict"], "problem", "{doctor:?}");
    assert!(
        freshness["summary"]
            .as_str()
            .unwrap()
            .contains("replaced since"),
        "{freshness:#}"
    );
}

#[test]
fn covered_keys_pass_silently_and_allow_uv_cache_warns() {
    let project = TestProject::from_fixture("pure");
    project.write(
        "pyproject.toml",
        &format!(
            "{COMMENTED_PYPROJECT}\n[tool.uv]\ncache-keys = [\"pyproject.toml\", {{ file = \"Cargo.toml\" }}, \"Cargo.lock\", {{ file = \"src/**/*.rs\" }}]\n"
        ),
    );
    uv(&project).arg("lock").run().assert_code(0);
    let run = project.cargo_pyo3().arg("dev").run();
    run.assert_code(0);
    assert!(!run.stderr.contains("warning"), "{run:?}");
    assert!(!run.stderr.contains("error"), "{run:?}");
    run.assert_stderr_contains("uv run --no-sync");

    // Now make the keys miss the sources: refused, and `--allow-uv-cache` proceeds with a warning.
    project.write(
        "pyproject.toml",
        &format!("{COMMENTED_PYPROJECT}\n[tool.uv]\ncache-keys = [\"pyproject.toml\"]\n"),
    );
    project.cargo_pyo3().arg("dev").run().assert_code(3);
    let allowed = project.cargo_pyo3().args(["dev", "--allow-uv-cache"]).run();
    allowed.assert_code(0).assert_stderr_contains("warning:");
    allowed.assert_stderr_contains("--allow-uv-cache");
}

#[test]
fn a_path_dependency_outside_the_project_needs_its_own_keys() {
    let workspace = TestProject::empty("outer");
    let project_dir = workspace.path("project");
    common::copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pure"),
        &project_dir,
    );
    workspace.write(
        "helper/Cargo.toml",
        "[package]\nname = \"helper\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    workspace.write("helper/src/lib.rs", "pub fn answer() -> i64 {\n    42\n}\n");
    let project = TestProject::from_existing(project_dir);
    project.edit(
        "Cargo.toml",
        "[dependencies]\n",
        "[dependencies]\nhelper = { path = \"../helper\" }\n",
    );
    project.write(
        "pyproject.toml",
        &format!(
            "{COMMENTED_PYPROJECT}\n[tool.uv]\ncache-keys = [{{ file = \"pyproject.toml\" }}, {{ file = \"Cargo.toml\" }}, {{ file = \"Cargo.lock\" }}, {{ file = \"src/**/*.rs\" }}]\n"
        ),
    );
    project.edit("src/lib.rs", "    42\n", "    helper::answer()\n");
    uv(&project).arg("venv").run().assert_code(0);

    let refused = project.cargo_pyo3().arg("dev").run();
    refused.assert_code(3);
    assert!(refused.stderr.contains("../helper"), "{refused:?}");

    project
        .cargo_pyo3()
        .args(["dev", "--fix-uv"])
        .run()
        .assert_code(0);
    let pyproject = project.read("pyproject.toml");
    assert!(pyproject.contains("../helper/src/**/*.rs"), "{pyproject}");
    project
        .python("import purefix; assert purefix.answer() == 42")
        .assert_code(0);
    // A second fix has nothing to add.
    project
        .cargo_pyo3()
        .args(["dev", "--no-clean"])
        .run()
        .assert_code(0);
    assert_eq!(project.read("pyproject.toml"), pyproject);
}

#[test]
fn a_malformed_pyproject_is_never_written() {
    let project = TestProject::from_fixture("pure");
    let broken = format!("{COMMENTED_PYPROJECT}\n[tool.uv\ncache-keys = []\n");
    project.write("pyproject.toml", &broken);
    uv(&project).arg("venv").run().assert_code(0);
    let run = project.cargo_pyo3().args(["dev", "--fix-uv"]).run();
    run.assert_code(2).assert_stderr_contains("pyproject.toml");
    run.assert_stderr_contains("line 14");
    assert_eq!(project.read("pyproject.toml"), broken);
}

#[test]
fn without_uv_lock_and_a_pip_venv_the_guard_stays_out() {
    let project = TestProject::from_fixture("pure");
    TestCommand::new("python3", &project.root)
        .args(["-m", "venv", "--without-pip", ".venv"])
        .run()
        .assert_code(0);
    let run = project.cargo_pyo3().args(["doctor", "--json"]).run();
    let report = run.json();
    let uv_check = common::doctor_check(&report, "uv");
    assert_eq!(uv_check["verdict"], "ok", "{run:?}");
    assert_eq!(uv_check["evidence"]["in_play"], false, "{uv_check:#}");
    assert_eq!(
        uv_check["evidence"]["dry_run"],
        serde_json::Value::Null,
        "no uv call"
    );
    assert!(
        uv_check["evidence"]["not_in_play_reason"].is_string(),
        "{uv_check:#}"
    );
}

#[test]
fn doctor_reports_the_guard_and_fixes_it() {
    let project = TestProject::from_fixture("pure");
    project.write("pyproject.toml", COMMENTED_PYPROJECT);
    uv(&project).arg("lock").run().assert_code(0);
    uv(&project).arg("venv").run().assert_code(0);
    let first = project.cargo_pyo3().arg("doctor").run();
    first.assert_code(1).assert_stderr_contains("problem  uv:");

    let fixed = project.cargo_pyo3().args(["doctor", "--fix"]).run();
    fixed.assert_stderr_contains("Fixed");
    assert!(project.read("pyproject.toml").contains("cache-keys"));
    let again = project.cargo_pyo3().args(["doctor", "--json"]).run();
    let report = again.json();
    let uv_check = common::doctor_check(&report, "uv");
    assert_eq!(uv_check["verdict"], "ok", "{again:?}");
}
