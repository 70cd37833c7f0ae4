//! Reliability and security of `cargo pyo3`, against real cargo, maturin, python, pip and uv:
//!
//! - a catalog of bad input: each case asserts the exit code, that the error names the file or
//!   argument, that a `hint:` follows it, and that the project and its venvs are byte-for-byte
//!   unchanged;
//! - faults, injected by executables named `fault-*` that stand in for a real tool (first on
//!   PATH, or passed as `--python`): a failing or lying maturin, an installer killed mid-install,
//!   an import that aborts the interpreter, Ctrl-C during the build;
//! - two `dev` runs at once in one project;
//! - the security promises: no shell, names never turned into code, no environment in receipts,
//!   no temporary files left behind.
//!
//! `docs/reliability.md` lists what this file proves; keep the two in step.

mod common;

use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

use common::{Run, TestCommand, TestProject};

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// The temporary directory around a test project: the project, and whatever a case puts beside
/// it (other venvs, links). Everything in it is compared before and after a refused command.
fn scene(project: &TestProject) -> &Path {
    project.root.parent().unwrap()
}

fn dev(project: &TestProject, args: &[&str]) -> TestCommand {
    project.cargo_pyo3().arg("dev").args(args)
}

/// A venv made by uv (fast; `pyvenv.cfg` says `uv = …`).
fn uv_venv(path: &Path) {
    TestCommand::new(common::tools().all.join("uv"), path.parent().unwrap())
        .args(["venv", "--quiet"])
        .arg(path)
        .run()
        .assert_code(0);
}

/// A venv made by CPython's own `venv` module, with or without pip.
fn python_venv(path: &Path, pip: bool) {
    let mut command = TestCommand::new("python3", path.parent().unwrap()).args(["-m", "venv"]);
    if !pip {
        command = command.arg("--without-pip");
    }
    command.arg(path).run().assert_code(0);
}

/// Gives a copy of the `pure` fixture a `Cargo.lock`, so that cargo has nothing to write into
/// the project when a case reaches the build. Resolved once, then copied.
fn write_lockfile(project: &TestProject) {
    static LOCKFILE: OnceLock<String> = OnceLock::new();
    let text = LOCKFILE.get_or_init(|| {
        TestCommand::new("cargo", &project.root)
            .arg("generate-lockfile")
            .run()
            .assert_code(0);
        project.read("Cargo.lock")
    });
    project.write("Cargo.lock", text);
}

/// The receipt of `project`, if `dev` ever wrote one.
fn find_receipt(project: &TestProject) -> Option<serde_json::Value> {
    let state = common::fixture_target_dir().join("cargo-pyo3");
    let manifest = std::fs::canonicalize(project.path("Cargo.toml")).unwrap();
    std::fs::read_dir(&state)
        .ok()?
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path().join("receipt.json")).ok())
        .map(|text| serde_json::from_str::<serde_json::Value>(&text).unwrap())
        .find(|receipt| receipt["manifest_path"] == manifest.to_str().unwrap())
}

/// The receipt says the install is proven, and the file in the venv is still that build: hashed
/// here, not taken from the receipt.
#[track_caller]
fn assert_receipt_holds(project: &TestProject) -> serde_json::Value {
    let receipt = project.receipt();
    let extension = &receipt["extensions"][0];
    assert_eq!(extension["problem"], serde_json::Value::Null, "{receipt:#}");
    let loaded = Path::new(extension["loaded_path"].as_str().unwrap());
    let venv = std::fs::canonicalize(receipt["python"]["venv"].as_str().unwrap()).unwrap();
    assert!(loaded.starts_with(&venv), "{loaded:?} is not in {venv:?}");
    assert_eq!(
        common::sha256(loaded),
        extension["wheel_sha256"].as_str().unwrap(),
        "the installed extension is not the build the receipt describes"
    );
    receipt
}

/// A private temporary directory for `TMPDIR`, to see what a run leaves there.
fn private_tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("cargo-pyo3-test-tmpdir-")
        .tempdir()
        .unwrap()
}

#[track_caller]
fn assert_empty(tmp: &Path, after: &str) {
    let left: Vec<_> = std::fs::read_dir(tmp)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in TMPDIR after {after}: {left:?}");
}

/// `error: …` and, after the last error line, `hint: …`.
#[track_caller]
fn assert_error_then_hint(run: &Run) {
    let lines: Vec<&str> = run.stderr.lines().collect();
    let error = lines.iter().rposition(|line| line.starts_with("error: "));
    let hint = lines.iter().rposition(|line| line.starts_with("hint: "));
    assert!(
        matches!((error, hint), (Some(error), Some(hint)) if hint > error),
        "expected `error: …` followed by `hint: …`\n{run:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The catalog of bad input
// ---------------------------------------------------------------------------------------------

/// What a case starts from.
#[derive(Clone, Copy)]
enum Start {
    /// A copy of the `pure` fixture, in a directory of this name.
    Pure(&'static str),
    /// An empty directory.
    Empty,
}

enum Expect {
    /// clap rejects the arguments: exit 2, its usage line, and these texts.
    Usage(&'static [&'static str]),
    /// `cargo pyo3` refuses: exit 2, `error:` with these texts (`{project}` is the project
    /// directory), then a `hint:`.
    Error(&'static [&'static str]),
    /// The input is unusual but fine: exit 0 and a proven install. Only the documented write,
    /// the new `.venv` in the project, changes the scene.
    Proven,
}

struct Case {
    name: &'static str,
    start: Start,
    /// Shapes the scene (files, venvs, links) and returns the command to run in it.
    prepare: fn(&TestProject) -> TestCommand,
    expect: Expect,
}

fn case(
    name: &'static str,
    start: Start,
    prepare: fn(&TestProject) -> TestCommand,
    expect: Expect,
) -> Case {
    Case {
        name,
        start,
        prepare,
        expect,
    }
}

const PROJECT: Start = Start::Pure("project");

/// A workspace with two members, `one` (PyO3) and `two` (PyO3 when `two_is_pyo3`).
fn write_workspace(project: &TestProject, two_is_pyo3: bool) {
    project.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"one\", \"two\"]\nresolver = \"2\"\n",
    );
    for (name, pyo3) in [("one", true), ("two", two_is_pyo3)] {
        let dependencies = if pyo3 { "pyo3 = \"0.29\"\n" } else { "" };
        project.write(
            &format!("{name}/Cargo.toml"),
            &format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\n{dependencies}"
            ),
        );
        project.write(&format!("{name}/src/lib.rs"), "");
    }
}

/// The fixture's manifest with `[dependencies]` renamed: pyo3 is then only a dev- or
/// build-dependency, which does not make a PyO3 extension.
fn pyo3_only_as(project: &TestProject, table: &str) {
    project.edit("Cargo.toml", "[dependencies]", table);
}

fn dangling_python(venv: &Path) {
    let python = venv.join("bin/python");
    std::fs::remove_file(&python).unwrap();
    std::os::unix::fs::symlink("/nonexistent/cargo-pyo3-test/python3", &python).unwrap();
}

/// A `.venv` directory the user made for something else: no `pyvenv.cfg`.
fn user_dot_venv(project: &TestProject) {
    project.write(".venv/notes.txt", "not a virtual environment\n");
}

fn cases() -> Vec<Case> {
    use Expect::{Error, Proven, Usage};
    vec![
        // clap: usage errors, before any file is read.
        case(
            "dev: unknown flag",
            PROJECT,
            |p| dev(p, &["--bogus"]),
            Usage(&["unexpected argument '--bogus'"]),
        ),
        case(
            "dev: stray positional argument",
            PROJECT,
            |p| dev(p, &["stray"]),
            Usage(&["unexpected argument 'stray'"]),
        ),
        case(
            "dev: --release with --profile",
            PROJECT,
            |p| dev(p, &["--release", "--profile", "fast"]),
            Usage(&["'--release' cannot be used with '--profile <PROFILE-NAME>'"]),
        ),
        case(
            "dev: --fix-uv with --allow-uv-cache",
            PROJECT,
            |p| dev(p, &["--fix-uv", "--allow-uv-cache"]),
            Usage(&["'--fix-uv' cannot be used with '--allow-uv-cache'"]),
        ),
        case(
            "dev: --quiet with --verbose",
            PROJECT,
            |p| dev(p, &["--quiet", "--verbose"]),
            Usage(&["'--quiet' cannot be used with '--verbose"]),
        ),
        case(
            "dev: bad --color value",
            PROJECT,
            |p| dev(p, &["--color", "sometimes"]),
            Usage(&[
                "invalid value 'sometimes' for '--color <WHEN>'",
                "auto, always, never",
            ]),
        ),
        case(
            "dev: --json twice",
            PROJECT,
            |p| dev(p, &["--json", "--json"]),
            Usage(&["'--json' cannot be used multiple times"]),
        ),
        case(
            "dev: --manifest-path without a value",
            PROJECT,
            |p| dev(p, &["--manifest-path"]),
            Usage(&["a value is required for '--manifest-path <PATH>'"]),
        ),
        case(
            "dev: -p without a value",
            PROJECT,
            |p| dev(p, &["-p"]),
            Usage(&["a value is required for '--package <SPEC>'"]),
        ),
        case(
            "dev: empty --venv",
            PROJECT,
            |p| dev(p, &["--venv", ""]),
            Usage(&["a value is required for '--venv <PATH>'"]),
        ),
        case(
            "dev: empty --target-dir",
            PROJECT,
            |p| dev(p, &["--target-dir", ""]),
            Usage(&["a value is required for '--target-dir <DIRECTORY>'"]),
        ),
        case(
            "no command",
            PROJECT,
            |p| p.cargo_pyo3(),
            Usage(&["<COMMAND>"]),
        ),
        case(
            "unknown command",
            PROJECT,
            |p| p.cargo_pyo3().arg("build"),
            Usage(&["unrecognized subcommand 'build'"]),
        ),
        case(
            "verify: unknown flag",
            PROJECT,
            |p| p.cargo_pyo3().args(["verify", "--bogus"]),
            Usage(&["unexpected argument '--bogus'"]),
        ),
        case(
            "verify: --quiet with --verbose",
            PROJECT,
            |p| p.cargo_pyo3().args(["verify", "-q", "-v"]),
            Usage(&["'--quiet' cannot be used with '--verbose"]),
        ),
        case(
            "new: no PATH",
            PROJECT,
            |p| p.cargo_pyo3().arg("new"),
            Usage(&["required arguments were not provided", "<PATH>"]),
        ),
        case(
            "new: bad --layout",
            PROJECT,
            |p| {
                p.cargo_pyo3()
                    .args(["new", "elsewhere", "--layout", "flat"])
            },
            Usage(&["invalid value 'flat' for '--layout <LAYOUT>'"]),
        ),
        case(
            "init: bad --vcs",
            PROJECT,
            |p| p.cargo_pyo3().args(["init", "--vcs", "svn"]),
            Usage(&["invalid value 'svn' for '--vcs <VCS>'"]),
        ),
        case(
            "doctor: unknown flag",
            PROJECT,
            |p| p.cargo_pyo3().args(["doctor", "--bogus"]),
            Usage(&["unexpected argument '--bogus'"]),
        ),
        case(
            "doctor: a flag only dev has",
            PROJECT,
            |p| p.cargo_pyo3().args(["doctor", "--release"]),
            Usage(&["unexpected argument '--release'"]),
        ),
        // The project: found and read before anything is built or installed.
        case(
            "no Cargo.toml",
            Start::Empty,
            |p| dev(p, &[]),
            Error(&["could not find `Cargo.toml` in `{project}`"]),
        ),
        case(
            "malformed Cargo.toml",
            PROJECT,
            |p| {
                p.edit("Cargo.toml", "[lib]", "[lib");
                dev(p, &[])
            },
            Error(&["`{project}/Cargo.toml`", "Cargo.toml:7"]),
        ),
        case(
            "Cargo.toml whose lib source is missing",
            PROJECT,
            |p| {
                std::fs::remove_file(p.path("src/lib.rs")).unwrap();
                dev(p, &[])
            },
            Error(&["`{project}/Cargo.toml`", "src/lib.rs"]),
        ),
        case(
            "malformed pyproject.toml",
            PROJECT,
            |p| {
                p.edit("pyproject.toml", "[project]", "[project\n");
                dev(p, &[])
            },
            Error(&["`{project}/pyproject.toml`", "line 5"]),
        ),
        case(
            "pyproject.toml with a value of the wrong type",
            PROJECT,
            |p| {
                p.edit(
                    "pyproject.toml",
                    "features = [\"pyo3/extension-module\"]",
                    "features = \"pyo3/extension-module\"",
                );
                dev(p, &[])
            },
            Error(&[
                "`{project}/pyproject.toml`",
                "line 11",
                "expected a sequence",
            ]),
        ),
        case(
            "pyproject.toml that is not UTF-8",
            PROJECT,
            |p| {
                std::fs::write(p.path("pyproject.toml"), b"[project]\nname = \"caf\xe9\"\n")
                    .unwrap();
                dev(p, &[])
            },
            Error(&["`{project}/pyproject.toml`", "UTF-8"]),
        ),
        case(
            "tool.maturin.manifest-path pointing nowhere",
            PROJECT,
            |p| {
                p.edit(
                    "pyproject.toml",
                    "[tool.maturin]",
                    "[tool.maturin]\nmanifest-path = \"rust/Cargo.toml\"",
                );
                dev(p, &[])
            },
            Error(&[
                "`tool.maturin.manifest-path` in `{project}/pyproject.toml`",
                "`rust/Cargo.toml`",
            ]),
        ),
        case(
            "package that is not a cdylib",
            PROJECT,
            |p| {
                p.edit(
                    "Cargo.toml",
                    "crate-type = [\"cdylib\"]",
                    "crate-type = [\"rlib\"]",
                );
                dev(p, &[])
            },
            Error(&["`{project}/Cargo.toml` is not a PyO3 project"]),
        ),
        case(
            "cdylib without pyo3",
            PROJECT,
            |p| {
                p.edit("Cargo.toml", "pyo3 = \"0.29\"", "");
                dev(p, &[])
            },
            Error(&["`{project}/Cargo.toml` is not a PyO3 project"]),
        ),
        case(
            "pyo3 only as a dev-dependency",
            PROJECT,
            |p| {
                pyo3_only_as(p, "[dev-dependencies]");
                dev(p, &[])
            },
            Error(&["`{project}/Cargo.toml` is not a PyO3 project"]),
        ),
        case(
            "pyo3 only as a build-dependency",
            PROJECT,
            |p| {
                pyo3_only_as(p, "[build-dependencies]");
                dev(p, &[])
            },
            Error(&["`{project}/Cargo.toml` is not a PyO3 project"]),
        ),
        case(
            "workspace with two PyO3 packages and no -p",
            Start::Empty,
            |p| {
                write_workspace(p, true);
                dev(p, &[])
            },
            Error(&["has 2 PyO3 packages: `one`, `two`", "`-p one`"]),
        ),
        case(
            "-p naming a package that is not a member",
            PROJECT,
            |p| dev(p, &["-p", "nope"]),
            Error(&["package `nope` is not a member", "`purefix`"]),
        ),
        case(
            "-p naming a member that is not PyO3",
            Start::Empty,
            |p| {
                write_workspace(p, false);
                dev(p, &["-p", "two"])
            },
            Error(&["`{project}/two/Cargo.toml` is not a PyO3 project"]),
        ),
        case(
            "--manifest-path to a directory",
            PROJECT,
            |p| dev(p, &["--manifest-path", "src"]),
            Error(&["`--manifest-path`", "`src`", "`src/Cargo.toml`"]),
        ),
        case(
            "--manifest-path to a missing file",
            PROJECT,
            |p| dev(p, &["--manifest-path", "nope/Cargo.toml"]),
            Error(&["`nope/Cargo.toml`", "`--manifest-path`"]),
        ),
        case(
            "--manifest-path to a file that is not Cargo.toml",
            PROJECT,
            |p| dev(p, &["--manifest-path", "pyproject.toml"]),
            Error(&["`--manifest-path`", "`pyproject.toml`", "`Cargo.toml`"]),
        ),
        // The venv: found and checked before anything is built or installed.
        case(
            "--venv that does not exist",
            PROJECT,
            |p| dev(p, &["--venv", "missing-venv"]),
            Error(&["`--venv`", "`missing-venv`"]),
        ),
        case(
            "--venv at a directory that is not a venv",
            PROJECT,
            |p| dev(p, &["--venv", "src"]),
            Error(&["`--venv`", "`{project}/src`", "pyvenv.cfg"]),
        ),
        case(
            "--venv at a file",
            PROJECT,
            |p| dev(p, &["--venv", "Cargo.toml"]),
            Error(&["`--venv`", "`{project}/Cargo.toml`", "pyvenv.cfg"]),
        ),
        case(
            "--venv whose python is a dangling symlink",
            PROJECT,
            |p| {
                let venv = scene(p).join("other-venv");
                uv_venv(&venv);
                dangling_python(&venv);
                dev(p, &["--venv"]).arg(&venv)
            },
            Error(&["`--venv`", "other-venv/bin/python` is a dangling symlink"]),
        ),
        case(
            ".venv whose python is a dangling symlink",
            PROJECT,
            |p| {
                uv_venv(&p.path(".venv"));
                dangling_python(&p.path(".venv"));
                dev(p, &[])
            },
            Error(&["`{project}/.venv/bin/python` is a dangling symlink"]),
        ),
        case(
            "VIRTUAL_ENV pointing nowhere",
            PROJECT,
            |p| dev(p, &[]).env("VIRTUAL_ENV", "/nonexistent/cargo-pyo3-test/venv"),
            Error(&["`VIRTUAL_ENV`", "`/nonexistent/cargo-pyo3-test/venv`"]),
        ),
        case(
            "VIRTUAL_ENV at a directory that is not a venv",
            PROJECT,
            |p| dev(p, &[]).env("VIRTUAL_ENV", p.path("src")),
            Error(&["`VIRTUAL_ENV`", "`{project}/src`", "pyvenv.cfg"]),
        ),
        case(
            ".venv that is not a venv, with uv",
            PROJECT,
            |p| {
                user_dot_venv(p);
                dev(p, &[])
            },
            Error(&["`{project}/.venv`", "not a virtual environment"]),
        ),
        case(
            ".venv that is not a venv, without uv",
            PROJECT,
            |p| {
                user_dot_venv(p);
                dev(p, &[]).without_uv()
            },
            Error(&["`{project}/.venv`", "not a virtual environment"]),
        ),
        case(
            "venv without pip, and no uv",
            PROJECT,
            |p| {
                python_venv(&p.path(".venv"), false);
                dev(p, &[]).without_uv()
            },
            Error(&["`{project}/.venv`", "has no pip and uv is not on PATH"]),
        ),
        case(
            "--python that does not exist, with uv",
            PROJECT,
            |p| dev(p, &["--python", "python9.99"]),
            Error(&["`{project}/.venv`", "python9.99"]),
        ),
        case(
            "--python that does not exist, without uv",
            PROJECT,
            |p| dev(p, &["--python", "python9.99"]).without_uv(),
            Error(&["`{project}/.venv`", "python9.99"]),
        ),
        // Values only cargo can judge: they stop the build, and nothing is installed.
        case(
            "--features naming a feature that does not exist",
            PROJECT,
            |p| {
                write_lockfile(p);
                uv_venv(&p.path(".venv"));
                dev(p, &["--features", "no-such-feature"])
            },
            Error(&["no-such-feature"]),
        ),
        case(
            "--profile naming a profile that does not exist",
            PROJECT,
            |p| {
                write_lockfile(p);
                uv_venv(&p.path(".venv"));
                dev(p, &["--profile", "no-such-profile"])
            },
            Error(&["`no-such-profile`"]),
        ),
        case(
            "--target-dir at a file",
            PROJECT,
            |p| {
                uv_venv(&p.path(".venv"));
                dev(p, &["--target-dir", "Cargo.toml"])
            },
            Error(&["`{project}/Cargo.toml`", "`--target-dir`"]),
        ),
        // Unusual but valid: these must work, and write nothing but the new `.venv`.
        case(
            "project path with spaces and quotes",
            Start::Pure("my project 'with' \"quotes\" & spaces"),
            |p| {
                write_lockfile(p);
                dev(p, &[])
            },
            Proven,
        ),
        case(
            "project path with non-ASCII characters",
            Start::Pure("projé-ñ-日本語"),
            |p| {
                write_lockfile(p);
                dev(p, &[])
            },
            Proven,
        ),
        case(
            "symlinked project directory",
            PROJECT,
            |p| {
                write_lockfile(p);
                std::os::unix::fs::symlink(&p.root, scene(p).join("link")).unwrap();
                common::cargo_pyo3(scene(p)).args(["dev", "--manifest-path", "link/Cargo.toml"])
            },
            Proven,
        ),
    ]
}

fn check_case(case: &Case) {
    let project = match case.start {
        Start::Pure(dir_name) => TestProject::from_fixture_at("pure", dir_name),
        Start::Empty => TestProject::empty("project"),
    };
    let command = (case.prepare)(&project);
    let scene = scene(&project).to_owned();
    let before = common::snapshot_tree(&scene);
    let run = command.run();
    let project_dir = project.root.to_str().unwrap();
    let mentions = |needles: &[&str]| {
        for needle in needles {
            let needle = needle.replace("{project}", project_dir);
            assert!(
                run.stderr.contains(&needle),
                "stderr does not name {needle:?}\n{run:?}"
            );
        }
    };
    match case.expect {
        Expect::Usage(needles) => {
            run.assert_code(2);
            // clap ends an error with a pointer to `--help`, or prints the usage itself.
            assert!(
                run.stderr.contains("For more information, try '--help'")
                    || run.stderr.contains("Usage: cargo pyo3"),
                "{run:?}"
            );
            mentions(needles);
            assert_eq!(common::snapshot_tree(&scene), before, "{run:?}");
        }
        Expect::Error(needles) => {
            run.assert_code(2);
            assert_error_then_hint(&run);
            mentions(needles);
            assert_eq!(common::snapshot_tree(&scene), before, "{run:?}");
        }
        Expect::Proven => {
            run.assert_code(0).assert_stderr_contains("Proven");
            assert_receipt_holds(&project);
            let venv = project.root.strip_prefix(&scene).unwrap().join(".venv");
            let after: Vec<_> = common::snapshot_tree(&scene)
                .into_iter()
                .filter(|(path, _)| !path.starts_with(&venv))
                .collect();
            assert_eq!(after, before, "only `.venv` may be written\n{run:?}");
        }
    }
}

#[test]
fn catalog_of_bad_input() {
    let cases = cases();
    assert!(cases.len() >= 40, "the catalog shrank to {}", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|case| case.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names must be unique");

    // Every case runs, so one failure does not hide the others; each failure's panic message
    // (with the whole run) is printed by the panic hook as it happens.
    let mut failed = Vec::new();
    for case in &cases {
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_case(case)));
        let verdict = if outcome.is_ok() { "ok" } else { "FAILED" };
        eprintln!(
            "{verdict:>6} {:>5.1}s  {}",
            started.elapsed().as_secs_f64(),
            case.name
        );
        if outcome.is_err() {
            failed.push(case.name);
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} catalog cases failed: {failed:#?}",
        failed.len(),
        cases.len()
    );
}
