//! The uv guard against real uv (PyO3/maturin#2314): the war reproduced, refused, fixed; and
//! projects nobody here wrote (`maturin new`, unmodified) built on their first `dev`.

use crate::common;
use crate::common::{Run, TestCommand, TestProject};

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
    fixed.assert_code(0);
    // What `--fix-uv` prints: the diff it writes into `pyproject.toml`, then the build.
    crate::assert_filtered_snapshot!("fix_uv", common::snapshot::render(&fixed, &project.root));
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
    // The lock is what makes uv manage the project (a uv-made venv is not).
    uv(&project).arg("lock").run().assert_code(0);

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
    assert!(pyproject.contains("../helper/Cargo.toml"), "{pyproject}");
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

/// Without `uv.lock` uv does not manage the project, whoever made the venv: a venv made by
/// `uv venv` (as `dev` makes its own) is no evidence, and no uv command runs.
#[test]
fn without_uv_lock_the_guard_runs_no_uv_command_whoever_made_the_venv() {
    for venv_maker in ["pip", "uv"] {
        let project = TestProject::from_fixture("pure");
        let made = if venv_maker == "uv" {
            uv(&project).arg("venv").run()
        } else {
            TestCommand::new("python3", &project.root)
                .args(["-m", "venv", "--without-pip", ".venv"])
                .run()
        };
        made.assert_code(0);
        let run = project.cargo_pyo3().args(["doctor", "--json"]).run();
        let report = run.json();
        let uv_check = common::doctor_check(&report, "uv");
        assert_eq!(uv_check["verdict"], "ok", "{venv_maker}: {run:?}");
        assert_eq!(uv_check["evidence"]["in_play"], false, "{uv_check:#}");
        assert_eq!(uv_check["evidence"]["verdict"], "covered", "{uv_check:#}");
        assert_eq!(
            uv_check["evidence"]["dry_run"],
            serde_json::Value::Null,
            "no uv call"
        );
        assert!(
            uv_check["evidence"]["not_in_play_reason"]
                .as_str()
                .is_some_and(|reason| reason.contains("no `uv.lock`")),
            "{uv_check:#}"
        );
    }
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

// --- projects nobody here wrote: `maturin new`, unmodified ------------------------------------

/// Adds `#[pyfunction] fn fresh() -> i64 { value }` inside the declarative `#[pymodule] mod` that
/// `maturin new` writes (functions there are registered without a line in a `#[pymodule]` fn).
fn add_fresh_to_template(project: &TestProject, value: i64) {
    project.edit(
        "src/lib.rs",
        "    /// Formats the sum of two numbers as string.\n",
        &format!(
            "    #[pyfunction]\n    fn fresh() -> i64 {{\n        {value}\n    }}\n\n    /// Formats the sum of two numbers as string.\n"
        ),
    );
}

/// A whole run as users read it, for a snapshot: exit code, stdout and stderr, with the temp
/// directory, hashes, times, the interpreter path and cargo's own progress lines filtered (which
/// crates cargo compiles depends on what the shared target dir holds already).
fn snapshot_of(run: &Run, project: &TestProject) -> (String, insta::Settings) {
    let mut settings = insta::Settings::clone_current();
    let root = project.root.parent().unwrap().to_str().unwrap().to_owned();
    settings.add_filter(&regex_escape(&root), "[TEMP]");
    settings.add_filter(r"/tmp/cargo-pyo3-wheel-[A-Za-z0-9]+", "[WHEEL_DIR]");
    settings.add_filter(r"sha256 [0-9a-f]{12}", "sha256 [HASH]");
    let (profile, settings_placeholder) = common::snapshot::PROFILE_SETTINGS;
    settings.add_filter(profile, settings_placeholder);
    settings.add_filter(r"\b\d+(\.\d+)?m?s\b", "[TIME]");
    settings.add_filter(
        r"Found CPython 3\.\d+ at \S+",
        "Found CPython 3.[N] at [PYTHON]",
    );
    settings.add_filter(
        r"(?m)^ +(Compiling|Downloaded|Downloading|Locking|Adding|Updating|Blocking|Fresh|Checking) .*\n",
        "",
    );
    let text = format!(
        "exit code: {:?}\n----- stdout -----\n{}----- stderr -----\n{}",
        run.code, run.stdout, run.stderr
    );
    (text, settings)
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|character| {
            if "\\.+*?()|[]{}^$".contains(character) {
                format!("\\{character}")
            } else {
                character.to_string()
            }
        })
        .collect()
}

fn warning_lines(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|line| line.starts_with("warning:"))
        .collect()
}

/// Issue 11: the first `dev` on a fresh `maturin new` project with uv on PATH and no `uv.lock`
/// used to refuse (exit 3) because `dev` had made the venv with `uv venv`. Now it builds, with one
/// warning about the keys, and the project works end to end.
fn a_fresh_maturin_project_works_with_one_warning(mixed: bool) {
    let name = if mixed { "fresh_mixed" } else { "fresh_pure" };
    let project = TestProject::maturin_new(name, mixed);
    assert!(!project.path("uv.lock").exists() && !project.path(".venv").exists());

    let started = std::time::Instant::now();
    let first = project.cargo_pyo3().arg("dev").run();
    let elapsed = started.elapsed();
    first.assert_code(0).assert_stderr_contains("Proven");
    eprintln!("first `dev` on a fresh `maturin new` project: exit 0 in {elapsed:.2?}");
    let warnings = warning_lines(&first);
    assert_eq!(warnings.len(), 1, "one warning\n{first:?}");
    assert!(
        warnings[0].contains("--fix-uv") && warnings[0].contains("src/lib.rs"),
        "{first:?}"
    );
    if !mixed {
        let (text, settings) = snapshot_of(&first, &project);
        settings.bind(|| insta::assert_snapshot!("fresh_maturin_project_first_dev", text));
    }
    // Nothing of the user's was written: the keys are only a suggestion without `--fix-uv`.
    assert!(!project.read("pyproject.toml").contains("cache-keys"));

    add_fresh_to_template(&project, 7);
    let second = project.cargo_pyo3().arg("dev").run();
    second.assert_code(0);
    assert_eq!(warning_lines(&second).len(), 1, "{second:?}");
    project
        .python(&format!("import {name}; assert {name}.fresh() == 7"))
        .assert_code(0);

    project.cargo_pyo3().arg("verify").run().assert_code(0);
    project
        .cargo_pyo3()
        .args(["verify", "fresh", "sum_as_string"])
        .run()
        .assert_code(0);

    // doctor agrees with `dev`: a warning, not a problem, so exit 0.
    let doctor = project.cargo_pyo3().args(["doctor", "--json"]).run();
    doctor.assert_code(0);
    let report = doctor.json();
    let uv_check = common::doctor_check(&report, "uv");
    assert_eq!(uv_check["verdict"], "warning", "{uv_check:#}");
    assert_eq!(uv_check["evidence"]["verdict"], "at-risk", "{uv_check:#}");
    project.cargo_pyo3().arg("doctor").run().assert_code(0);
}

#[test]
fn a_fresh_pure_maturin_project_works_with_one_warning() {
    a_fresh_maturin_project_works_with_one_warning(false);
}

#[test]
fn a_fresh_mixed_maturin_project_works_with_one_warning() {
    a_fresh_maturin_project_works_with_one_warning(true);
}

/// Once `uv lock` makes uv manage the fresh project, `dev` refuses; `--fix-uv` writes keys that
/// stay complete through the build that writes `Cargo.lock` (a clone of a library that commits
/// `uv.lock` but not `Cargo.lock` starts this way), so the next `dev` after an edit builds, and
/// `uv run` rebuilds instead of reinstalling a stale build.
#[test]
fn a_locked_maturin_project_is_refused_then_fixed_for_good() {
    let project = TestProject::maturin_new("locked", false);
    uv(&project).arg("lock").run().assert_code(0);
    // `uv lock` asks maturin for the metadata, and cargo writes `Cargo.lock` on the way.
    let _ = std::fs::remove_file(project.path("Cargo.lock"));
    let untouched = project.read("pyproject.toml");

    let refused = project.cargo_pyo3().arg("dev").run();
    refused.assert_code(3);
    let (text, settings) = snapshot_of(&refused, &project);
    settings.bind(|| insta::assert_snapshot!("locked_maturin_project_refused", text));
    assert_eq!(project.read("pyproject.toml"), untouched);
    assert!(!project.path("Cargo.lock").exists(), "nothing was built");

    let fixed = project.cargo_pyo3().args(["dev", "--fix-uv"]).run();
    fixed.assert_code(0).assert_stderr_contains("Proven");
    let pyproject = project.read("pyproject.toml");
    assert!(
        pyproject.contains("{ file = \"Cargo.lock\" }"),
        "the lock cargo was about to write is a key\n{pyproject}"
    );
    assert!(project.path("Cargo.lock").is_file(), "the build wrote it");

    add_fresh_to_template(&project, 11);
    let after_edit = project.cargo_pyo3().arg("dev").run();
    after_edit.assert_code(0);
    assert!(warning_lines(&after_edit).is_empty(), "{after_edit:?}");
    assert_eq!(
        project.read("pyproject.toml"),
        pyproject,
        "nothing more to add"
    );

    let seen = uv(&project)
        .args([
            "run",
            "python",
            "-c",
            "import locked; print(locked.fresh())",
        ])
        .run();
    seen.assert_code(0);
    assert_eq!(seen.stdout.trim(), "11", "{seen:?}");
}

/// A workspace member whose path dependency has a path dependency of its own, outside the
/// workspace (excluded, so `cargo metadata` of the workspace does not list it): the keys cover
/// every one of them, their build scripts, the workspace's root `Cargo.toml` and the
/// `Cargo.lock` cargo writes at the root, which does not exist when the keys are written.
#[test]
fn a_workspace_member_gets_keys_for_every_path_dependency() {
    let project = TestProject::maturin_new("member", false);
    let workspace = TestProject::from_existing(project.root.parent().unwrap().to_path_buf());
    workspace.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"member\"]\nexclude = [\"leaf\"]\nresolver = \"3\"\n",
    );
    workspace.write(
        "middle/Cargo.toml",
        "[package]\nname = \"middle\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\nleaf = { path = \"../leaf\" }\n",
    );
    workspace.write("middle/build.rs", "fn main() {}\n");
    workspace.write(
        "middle/src/lib.rs",
        "pub fn answer() -> i64 {\n    leaf::base() + 1\n}\n",
    );
    workspace.write(
        "leaf/Cargo.toml",
        "[package]\nname = \"leaf\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    );
    workspace.write("leaf/src/lib.rs", "pub fn base() -> i64 {\n    41\n}\n");
    project.edit(
        "Cargo.toml",
        "[dependencies]\n",
        "[dependencies]\nmiddle = { path = \"../middle\" }\n",
    );
    project.edit(
        "src/lib.rs",
        "    /// Formats the sum of two numbers as string.\n",
        "    #[pyfunction]\n    fn answer() -> i64 {\n        middle::answer()\n    }\n\n    /// Formats the sum of two numbers as string.\n",
    );
    assert!(!workspace.path("Cargo.lock").exists());

    let fixed = project.cargo_pyo3().args(["dev", "--fix-uv"]).run();
    fixed.assert_code(0).assert_stderr_contains("Proven");
    let pyproject = project.read("pyproject.toml");
    for key in [
        "{ file = \"pyproject.toml\" }",
        "{ file = \"Cargo.toml\" }",
        "{ file = \"../Cargo.toml\" }",
        "{ file = \"../Cargo.lock\" }",
        "{ file = \"../middle/Cargo.toml\" }",
        "{ file = \"../middle/build.rs\" }",
        "{ file = \"../middle/src/**/*.rs\" }",
        "{ file = \"../leaf/Cargo.toml\" }",
        "{ file = \"../leaf/src/**/*.rs\" }",
        "{ file = \"src/**/*.rs\" }",
    ] {
        assert!(pyproject.contains(key), "{key} missing:\n{pyproject}");
    }
    assert!(!pyproject.contains("\"**/*.rs\""), "{pyproject}");
    assert!(
        workspace.path("Cargo.lock").is_file(),
        "cargo wrote the lock at the root"
    );
    project
        .python("import member; assert member.answer() == 42")
        .assert_code(0);

    // An edit two path dependencies away, after the build wrote `Cargo.lock`: the keys still
    // cover everything, uv is locked in now, and `dev` builds it without a word from the guard.
    workspace.write("leaf/src/lib.rs", "pub fn base() -> i64 {\n    99\n}\n");
    uv(&project).arg("lock").run().assert_code(0);
    let again = project.cargo_pyo3().arg("dev").run();
    again.assert_code(0);
    assert!(warning_lines(&again).is_empty(), "{again:?}");
    assert_eq!(project.read("pyproject.toml"), pyproject);
    project
        .python("import member; assert member.answer() == 100")
        .assert_code(0);
    let doctor = project.cargo_pyo3().args(["doctor", "--json"]).run();
    let report = doctor.json();
    let uv_check = common::doctor_check(&report, "uv");
    assert_eq!(uv_check["evidence"]["verdict"], "covered", "{uv_check:#}");
    assert_eq!(uv_check["evidence"]["in_play"], true, "{uv_check:#}");
}
