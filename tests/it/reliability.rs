//! Reliability and security of `cargo pyo3`, against real cargo, maturin, python, pip and uv:
//!
//! - a catalog of bad input: each case asserts the exit code, that the error names the file or
//!   argument, that a `hint:` follows it, and that the project and its venvs are byte-for-byte
//!   unchanged;
//! - faults, injected by executables named `fault-*` that stand in for a real tool (first on
//!   PATH, or passed as `--python`): a failing or lying maturin, an installer killed mid-install,
//!   an import that aborts the interpreter (the same failed check for `dev` and `verify`), Ctrl-C
//!   during the venv creation and the build;
//! - two `dev` runs at once in one project, and Ctrl-C while one waits for the other's lock;
//! - the security promises: no code passed with `-c` (no shell anywhere is clippy's to enforce,
//!   `clippy.toml`), names never turned into code, no environment in receipts, no temporary
//!   files left behind.
//!
//! `docs/reliability.md` lists what this file proves; keep the two in step.

use crate::common;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::{Gate, Run, TestCommand, TestProject, descendants, still_running, wait_until};

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
            |project| dev(project, &["--bogus"]),
            Usage(&["unexpected argument '--bogus'"]),
        ),
        case(
            "dev: stray positional argument",
            PROJECT,
            |project| dev(project, &["stray"]),
            Usage(&["unexpected argument 'stray'"]),
        ),
        case(
            "dev: --release with --profile",
            PROJECT,
            |project| dev(project, &["--release", "--profile", "fast"]),
            Usage(&["'--release' cannot be used with '--profile <PROFILE-NAME>'"]),
        ),
        case(
            "dev: --fix-uv with --allow-uv-cache",
            PROJECT,
            |project| dev(project, &["--fix-uv", "--allow-uv-cache"]),
            Usage(&["'--fix-uv' cannot be used with '--allow-uv-cache'"]),
        ),
        case(
            "dev: --quiet with --verbose",
            PROJECT,
            |project| dev(project, &["--quiet", "--verbose"]),
            Usage(&["'--quiet' cannot be used with '--verbose"]),
        ),
        case(
            "dev: bad --color value",
            PROJECT,
            |project| dev(project, &["--color", "sometimes"]),
            Usage(&[
                "invalid value 'sometimes' for '--color <WHEN>'",
                "auto, always, never",
            ]),
        ),
        case(
            "dev: --json twice",
            PROJECT,
            |project| dev(project, &["--json", "--json"]),
            Usage(&["'--json' cannot be used multiple times"]),
        ),
        case(
            "dev: --manifest-path without a value",
            PROJECT,
            |project| dev(project, &["--manifest-path"]),
            Usage(&["a value is required for '--manifest-path <PATH>'"]),
        ),
        case(
            "dev: -p without a value",
            PROJECT,
            |project| dev(project, &["-p"]),
            Usage(&["a value is required for '--package <SPEC>'"]),
        ),
        case(
            "dev: empty --venv",
            PROJECT,
            |project| dev(project, &["--venv", ""]),
            Usage(&["a value is required for '--venv <PATH>'"]),
        ),
        case(
            "dev: empty --target-dir",
            PROJECT,
            |project| dev(project, &["--target-dir", ""]),
            Usage(&["a value is required for '--target-dir <DIRECTORY>'"]),
        ),
        case(
            "no command",
            PROJECT,
            |project| project.cargo_pyo3(),
            Usage(&["<COMMAND>"]),
        ),
        case(
            "unknown command",
            PROJECT,
            |project| project.cargo_pyo3().arg("build"),
            Usage(&["unrecognized subcommand 'build'"]),
        ),
        case(
            "verify: unknown flag",
            PROJECT,
            |project| project.cargo_pyo3().args(["verify", "--bogus"]),
            Usage(&["unexpected argument '--bogus'"]),
        ),
        case(
            "verify: --quiet with --verbose",
            PROJECT,
            |project| project.cargo_pyo3().args(["verify", "-q", "-v"]),
            Usage(&["'--quiet' cannot be used with '--verbose"]),
        ),
        case(
            "new: no PATH",
            PROJECT,
            |project| project.cargo_pyo3().arg("new"),
            Usage(&["required arguments were not provided", "<PATH>"]),
        ),
        case(
            "new: bad --layout",
            PROJECT,
            |project| {
                project
                    .cargo_pyo3()
                    .args(["new", "elsewhere", "--layout", "flat"])
            },
            Usage(&["invalid value 'flat' for '--layout <LAYOUT>'"]),
        ),
        case(
            "init: bad --vcs",
            PROJECT,
            |project| project.cargo_pyo3().args(["init", "--vcs", "svn"]),
            Usage(&["invalid value 'svn' for '--vcs <VCS>'"]),
        ),
        case(
            "doctor: unknown flag",
            PROJECT,
            |project| project.cargo_pyo3().args(["doctor", "--bogus"]),
            Usage(&["unexpected argument '--bogus'"]),
        ),
        case(
            "doctor: a flag only dev has",
            PROJECT,
            |project| project.cargo_pyo3().args(["doctor", "--release"]),
            Usage(&["unexpected argument '--release'"]),
        ),
        // The project: found and read before anything is built or installed.
        case(
            "no Cargo.toml",
            Start::Empty,
            |project| dev(project, &[]),
            Error(&["could not find `Cargo.toml` in `{project}`"]),
        ),
        case(
            "malformed Cargo.toml",
            PROJECT,
            |project| {
                project.edit("Cargo.toml", "[lib]", "[lib");
                dev(project, &[])
            },
            Error(&["`{project}/Cargo.toml`", "Cargo.toml:7"]),
        ),
        case(
            "Cargo.toml whose lib source is missing",
            PROJECT,
            |project| {
                std::fs::remove_file(project.path("src/lib.rs")).unwrap();
                dev(project, &[])
            },
            Error(&["`{project}/Cargo.toml`", "src/lib.rs"]),
        ),
        case(
            "malformed pyproject.toml",
            PROJECT,
            |project| {
                project.edit("pyproject.toml", "[project]", "[project\n");
                dev(project, &[])
            },
            Error(&["`{project}/pyproject.toml`", "line 5"]),
        ),
        case(
            "pyproject.toml with a value of the wrong type",
            PROJECT,
            |project| {
                project.edit("pyproject.toml", "name = \"purefix\"", "name = 42");
                dev(project, &[])
            },
            Error(&["`{project}/pyproject.toml`", "line 6", "expected a string"]),
        ),
        case(
            "pyproject.toml that is not UTF-8",
            PROJECT,
            |project| {
                std::fs::write(
                    project.path("pyproject.toml"),
                    b"[project]\nname = \"caf\xe9\"\n",
                )
                .unwrap();
                dev(project, &[])
            },
            Error(&["`{project}/pyproject.toml`", "UTF-8"]),
        ),
        case(
            "tool.maturin.manifest-path pointing nowhere",
            PROJECT,
            |project| {
                project.edit(
                    "pyproject.toml",
                    "[tool.maturin]",
                    "[tool.maturin]\nmanifest-path = \"rust/Cargo.toml\"",
                );
                dev(project, &[])
            },
            Error(&[
                "`tool.maturin.manifest-path` in `{project}/pyproject.toml`",
                "`rust/Cargo.toml`",
            ]),
        ),
        case(
            "package that is not a cdylib",
            PROJECT,
            |project| {
                project.edit(
                    "Cargo.toml",
                    "crate-type = [\"cdylib\"]",
                    "crate-type = [\"rlib\"]",
                );
                dev(project, &[])
            },
            Error(&["`{project}/Cargo.toml` is not a PyO3 project"]),
        ),
        case(
            "cdylib without pyo3",
            PROJECT,
            |project| {
                project.edit("Cargo.toml", "pyo3 = \"0.29\"", "");
                dev(project, &[])
            },
            Error(&["`{project}/Cargo.toml` has a `cdylib` target but no `pyo3` or `pyo3-ffi`"]),
        ),
        case(
            "pyo3 only as a dev-dependency",
            PROJECT,
            |project| {
                pyo3_only_as(project, "[dev-dependencies]");
                dev(project, &[])
            },
            Error(&["`{project}/Cargo.toml` has a `cdylib` target but no `pyo3` or `pyo3-ffi`"]),
        ),
        case(
            "pyo3 only as a build-dependency",
            PROJECT,
            |project| {
                pyo3_only_as(project, "[build-dependencies]");
                dev(project, &[])
            },
            Error(&["`{project}/Cargo.toml` has a `cdylib` target but no `pyo3` or `pyo3-ffi`"]),
        ),
        case(
            "workspace with two PyO3 packages and no -p",
            Start::Empty,
            |project| {
                write_workspace(project, true);
                dev(project, &[])
            },
            Error(&["has 2 PyO3 packages: `one`, `two`", "`-p one`"]),
        ),
        case(
            "-p naming a package that is not a member",
            PROJECT,
            |project| dev(project, &["-p", "nope"]),
            Error(&["package `nope` is not a member", "`purefix`"]),
        ),
        case(
            "-p naming a member that is not PyO3",
            Start::Empty,
            |project| {
                write_workspace(project, false);
                dev(project, &["-p", "two"])
            },
            Error(&["`{project}/two/Cargo.toml` is not a PyO3 project"]),
        ),
        case(
            "project path that is not UTF-8",
            Start::Empty,
            |project| {
                use std::os::unix::ffi::OsStrExt;
                let dir = project.root.join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
                let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pure");
                common::copy_dir(&fixture, &dir);
                common::cargo_pyo3(&dir).arg("dev")
            },
            Error(&["`{project}/caf\u{FFFD}/Cargo.toml`", "not valid UTF-8"]),
        ),
        case(
            "--manifest-path to a directory",
            PROJECT,
            |project| dev(project, &["--manifest-path", "src"]),
            Error(&["`--manifest-path`", "`src`", "`src/Cargo.toml`"]),
        ),
        case(
            "--manifest-path to a missing file",
            PROJECT,
            |project| dev(project, &["--manifest-path", "nope/Cargo.toml"]),
            Error(&["`nope/Cargo.toml`", "`--manifest-path`"]),
        ),
        case(
            "--manifest-path to a file that is not Cargo.toml",
            PROJECT,
            |project| dev(project, &["--manifest-path", "pyproject.toml"]),
            Error(&["`--manifest-path`", "`pyproject.toml`", "`Cargo.toml`"]),
        ),
        // The venv: found and checked before anything is built or installed.
        case(
            "--venv that does not exist",
            PROJECT,
            |project| dev(project, &["--venv", "missing-venv"]),
            Error(&["`--venv`", "`missing-venv`"]),
        ),
        case(
            "--venv at a directory that is not a venv",
            PROJECT,
            |project| dev(project, &["--venv", "src"]),
            Error(&["`--venv`", "`{project}/src`", "pyvenv.cfg"]),
        ),
        case(
            "--venv at a file",
            PROJECT,
            |project| dev(project, &["--venv", "Cargo.toml"]),
            Error(&["`--venv`", "`{project}/Cargo.toml`", "pyvenv.cfg"]),
        ),
        case(
            "--venv whose python is a dangling symlink",
            PROJECT,
            |project| {
                let venv = scene(project).join("other-venv");
                uv_venv(&venv);
                dangling_python(&venv);
                dev(project, &["--venv"]).arg(&venv)
            },
            Error(&["`--venv`", "other-venv/bin/python` is a dangling symlink"]),
        ),
        case(
            ".venv whose python is a dangling symlink",
            PROJECT,
            |project| {
                uv_venv(&project.path(".venv"));
                dangling_python(&project.path(".venv"));
                dev(project, &[])
            },
            Error(&["`{project}/.venv/bin/python` is a dangling symlink"]),
        ),
        case(
            "VIRTUAL_ENV pointing nowhere",
            PROJECT,
            |project| dev(project, &[]).env("VIRTUAL_ENV", "/nonexistent/cargo-pyo3-test/venv"),
            Error(&["`VIRTUAL_ENV`", "`/nonexistent/cargo-pyo3-test/venv`"]),
        ),
        case(
            "VIRTUAL_ENV at a directory that is not a venv",
            PROJECT,
            |project| dev(project, &[]).env("VIRTUAL_ENV", project.path("src")),
            Error(&["`VIRTUAL_ENV`", "`{project}/src`", "pyvenv.cfg"]),
        ),
        case(
            ".venv that is not a venv, with uv",
            PROJECT,
            |project| {
                user_dot_venv(project);
                dev(project, &[])
            },
            Error(&["`{project}/.venv`", "not a virtual environment"]),
        ),
        case(
            ".venv that is not a venv, without uv",
            PROJECT,
            |project| {
                user_dot_venv(project);
                dev(project, &[]).without_uv()
            },
            Error(&["`{project}/.venv`", "not a virtual environment"]),
        ),
        case(
            "venv without pip, and no uv",
            PROJECT,
            |project| {
                python_venv(&project.path(".venv"), false);
                dev(project, &[]).without_uv()
            },
            Error(&["`{project}/.venv`", "has no pip and uv is not on PATH"]),
        ),
        case(
            "--python that does not exist, with uv",
            PROJECT,
            |project| dev(project, &["--python", "python9.99"]),
            Error(&["`{project}/.venv`", "python9.99"]),
        ),
        case(
            "--python that does not exist, without uv",
            PROJECT,
            |project| dev(project, &["--python", "python9.99"]).without_uv(),
            Error(&["`{project}/.venv`", "python9.99"]),
        ),
        // Values only cargo can judge: they stop the build, and nothing is installed.
        case(
            "--features naming a feature that does not exist",
            PROJECT,
            |project| {
                write_lockfile(project);
                uv_venv(&project.path(".venv"));
                dev(project, &["--features", "no-such-feature"])
            },
            Error(&["no-such-feature"]),
        ),
        case(
            "--profile naming a profile that does not exist",
            PROJECT,
            |project| {
                write_lockfile(project);
                uv_venv(&project.path(".venv"));
                dev(project, &["--profile", "no-such-profile"])
            },
            Error(&["`no-such-profile`"]),
        ),
        case(
            "--target-dir at a file",
            PROJECT,
            |project| {
                uv_venv(&project.path(".venv"));
                dev(project, &["--target-dir", "Cargo.toml"])
            },
            Error(&["`{project}/Cargo.toml`", "`--target-dir`"]),
        ),
        // Unusual but valid: these must work, and write nothing but the new `.venv`.
        case(
            "project path with spaces and quotes",
            Start::Pure("my project 'with' \"quotes\" & spaces"),
            |project| {
                write_lockfile(project);
                dev(project, &[])
            },
            Proven,
        ),
        case(
            "project path with non-ASCII characters",
            Start::Pure("projé-ñ-日本語"),
            |project| {
                write_lockfile(project);
                dev(project, &[])
            },
            Proven,
        ),
        case(
            "symlinked project directory",
            PROJECT,
            |project| {
                write_lockfile(project);
                std::os::unix::fs::symlink(&project.root, scene(project).join("link")).unwrap();
                common::cargo_pyo3(scene(project)).args([
                    "dev",
                    "--manifest-path",
                    "link/Cargo.toml",
                ])
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
            let mut after = common::snapshot_tree(&scene);
            after.retain(|path, _| !Path::new(path).starts_with(&venv));
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

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

/// The interpreter behind `python3`, for fault executables written in Python.
fn system_python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let neutral = tempfile::tempdir().unwrap();
        let run = TestCommand::new("python3", neutral.path())
            .args(["-c", "import sys; print(sys.executable)"])
            .run();
        run.assert_code(0);
        run.stdout.trim().to_owned()
    })
}

/// Writes the fault executable `name` into a directory of the same name, linked there as
/// `replaces` (the tool it stands in for) when given. Returns the directory, which a test puts
/// first on PATH; the executable itself is `<directory>/<name>`.
fn fault_executable(parent: &Path, name: &str, replaces: Option<&str>, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    assert!(
        name.starts_with("fault-"),
        "fault executables are named as such"
    );
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let executable = dir.join(name);
    std::fs::write(&executable, script).unwrap();
    std::fs::set_permissions(&executable, std::fs::Permissions::from_mode(0o755)).unwrap();
    if let Some(tool) = replaces {
        std::os::unix::fs::symlink(name, dir.join(tool)).unwrap();
    }
    dir
}

/// A maturin stand-in written in Python, with `out` (the `--out` directory) and `write_wheel`,
/// which writes a wheel whose RECORD is true to its entries.
fn python_maturin(name: &str, purpose: &str, body: &str) -> String {
    let python = system_python();
    format!(
        r#"#!{python}
# {name}: {purpose}
# A fault executable from tests/reliability.rs, first on PATH in place of maturin.
import base64, csv, hashlib, io, os, subprocess, sys, zipfile

out = sys.argv[sys.argv.index("--out") + 1]


def write_wheel(path, files):
    dist_info = "purefix-0.1.0.dist-info/"
    files = dict(files)
    files[dist_info + "METADATA"] = b"Metadata-Version: 2.1\nName: purefix\nVersion: 0.1.0\n"
    files[dist_info + "WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: {name}\nRoot-Is-Purelib: false\nTag: py3-none-any\n"
    )
    record = io.StringIO()
    rows = csv.writer(record, lineterminator="\n")
    for entry, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
        rows.writerow([entry, "sha256=" + digest.decode(), len(data)])
    rows.writerow([dist_info + "RECORD", "", ""])
    files[dist_info + "RECORD"] = record.getvalue().encode()
    with zipfile.ZipFile(path, "w") as wheel:
        for entry, data in files.items():
            wheel.writestr(entry, data)


{body}
"#
    )
}

/// A project with a proven install, and what every fault run must leave exactly as it was.
struct Proven {
    project: TestProject,
    tmp: tempfile::TempDir,
}

/// The sentinel that must never reach a receipt.
const SECRET: (&str, &str) = ("CARGO_PYO3_TEST_SECRET", "s3cr3t-7f1d");

impl Proven {
    /// Copies the `pure` fixture and proves a first install into a uv venv.
    fn new() -> Proven {
        let project = TestProject::from_fixture("pure");
        write_lockfile(&project);
        uv_venv(&project.path(".venv"));
        let proven = Proven {
            project,
            tmp: private_tmp(),
        };
        proven.dev(&[]).run().assert_code(0);
        assert_receipt_holds(&proven.project);
        proven.assert_tmp_empty("a proven `dev`");
        proven
    }

    /// `cargo pyo3 dev` with a private TMPDIR and the secret in its environment.
    fn dev(&self, args: &[&str]) -> TestCommand {
        dev(&self.project, args)
            .env("TMPDIR", self.tmp.path())
            .env(SECRET.0, SECRET.1)
    }

    #[track_caller]
    fn assert_tmp_empty(&self, after: &str) {
        assert_empty(self.tmp.path(), after);
    }

    /// Runs `command`, which must fail with exit 2 and these texts, and checks that the project,
    /// its venv, the receipt and the installed extension are exactly as before.
    #[track_caller]
    fn assert_refused_and_intact(&self, command: TestCommand, mentions: &[&str]) -> Run {
        let scene_before = common::snapshot_tree(scene(&self.project));
        let receipt_before = self.project.receipt();
        let run = command.run();
        run.assert_code(2);
        assert_error_then_hint(&run);
        for mention in mentions {
            run.assert_stderr_contains(mention);
        }
        assert_eq!(
            common::snapshot_tree(scene(&self.project)),
            scene_before,
            "the project or its venv changed\n{run:?}"
        );
        assert_eq!(self.project.receipt(), receipt_before, "{run:?}");
        assert_receipt_holds(&self.project);
        self.assert_tmp_empty(&run.command);
        run
    }
}

/// Faults that need a proven install to protect share one project, so the group costs a few
/// real builds in all: maturin failing or lying, the installer killed mid-install, Ctrl-C
/// during the build.
#[test]
fn faults_keep_the_proven_install_and_the_next_dev_recovers() {
    let proven = Proven::new();
    // The receipt is data about the build: not one variable of the environment it ran in.
    let receipt = proven.project.receipt().to_string();
    assert!(
        !receipt.contains(SECRET.0) && !receipt.contains(SECRET.1),
        "the receipt holds the environment:\n{receipt}"
    );

    let faults = tempfile::tempdir().unwrap();
    maturin_faults(&proven, faults.path());
    killed_installer(&proven, faults.path());
    interrupted_build(&proven);
}

/// Every way maturin can let `dev` down before anything is installed: the proven install and
/// its receipt survive each one, and no temporary file is left.
fn maturin_faults(proven: &Proven, faults: &Path) {
    let real_maturin = common::tools().all.join("maturin");
    let scene_dir = scene(&proven.project).to_owned();
    let absolute_entry = scene_dir.join("escaped-absolute.so");
    let cases: Vec<(&str, String, Vec<String>)> = vec![
        (
            "fault-maturin-exits-1",
            "#!/bin/sh\n# fault-maturin-exits-1: maturin fails before it writes anything.\n\
             echo 'fault-maturin-exits-1: failing on purpose' >&2\nexit 1\n"
                .to_owned(),
            vec!["the build failed".into(), "(exit status: 1)".into()],
        ),
        (
            "fault-maturin-writes-no-wheel",
            "#!/bin/sh\n# fault-maturin-writes-no-wheel: maturin says it succeeded and writes \
             nothing.\nexit 0\n"
                .to_owned(),
            vec!["wrote no wheel".into()],
        ),
        (
            "fault-maturin-writes-two-wheels",
            "#!/bin/sh\n# fault-maturin-writes-two-wheels: maturin says it succeeded and leaves \
             two wheels.\nwhile [ \"$#\" -gt 0 ]; do\n  if [ \"$1\" = --out ]; then out=$2; fi\n  \
             shift\ndone\n: > \"$out/purefix-0.1.0-cp311-cp311-linux_x86_64.whl\"\n\
             : > \"$out/purefix-0.1.0-py3-none-any.whl\"\n"
                .to_owned(),
            vec!["wrote 2 wheels".into(), "expected exactly one".into()],
        ),
        (
            "fault-maturin-wheel-disagrees-with-record",
            python_maturin(
                "fault-maturin-wheel-disagrees-with-record",
                "the real maturin builds, then the extension in the wheel is changed without \
                 updating RECORD, as in a corrupted or tampered wheel.",
                &format!(
                    r#"status = subprocess.call([{real_maturin:?}] + sys.argv[1:])
if status:
    sys.exit(status)
[name] = [name for name in os.listdir(out) if name.endswith(".whl")]
path = os.path.join(out, name)
with zipfile.ZipFile(path) as built:
    entries = [(info, built.read(info)) for info in built.infolist()]
with zipfile.ZipFile(path, "w") as wheel:
    for info, data in entries:
        if info.filename.endswith(".so"):
            # One bit of the last byte: same size, another hash.
            data = data[:-1] + bytes([data[-1] ^ 1])
        wheel.writestr(info, data)"#,
                    real_maturin = real_maturin.to_str().unwrap()
                ),
            ),
            vec!["does not match its RECORD".into()],
        ),
        (
            "fault-maturin-wheel-with-parent-entry",
            python_maturin(
                "fault-maturin-wheel-with-parent-entry",
                "a wheel with an entry that climbs out of site-packages.",
                r#"write_wheel(
    os.path.join(out, "purefix-0.1.0-py3-none-any.whl"),
    {"purefix/__init__.py": b"", "../../../escaped-parent.so": b"\x7fELF"},
)"#,
            ),
            vec!["unsafe entry `../../../escaped-parent.so`".into()],
        ),
        (
            "fault-maturin-wheel-with-absolute-entry",
            python_maturin(
                "fault-maturin-wheel-with-absolute-entry",
                "a wheel with an entry that is an absolute path.",
                &format!(
                    r#"write_wheel(
    os.path.join(out, "purefix-0.1.0-py3-none-any.whl"),
    {{"purefix/__init__.py": b"", {absolute:?}: b"\x7fELF"}},
)"#,
                    absolute = absolute_entry.to_str().unwrap()
                ),
            ),
            vec![format!("unsafe entry `{}`", absolute_entry.display())],
        ),
    ];
    for (name, script, mentions) in &cases {
        let dir = fault_executable(faults, name, Some("maturin"), script);
        let mentions: Vec<&str> = mentions.iter().map(String::as_str).collect();
        proven.assert_refused_and_intact(proven.dev(&[]).path_first(&dir), &mentions);
    }
    assert!(!absolute_entry.exists());

    // A build cargo refuses is the same kind of failure, from the real tools.
    proven.assert_refused_and_intact(
        proven.dev(&["--features", "no-such-feature"]),
        &["no-such-feature", "the build failed"],
    );
}

/// The installer dies half-way: it has removed the proven install and written part of the new
/// extension when it is killed. `dev` fails with the signal named; the next `dev` recovers to a
/// proven install.
fn killed_installer(proven: &Proven, faults: &Path) {
    let receipt = assert_receipt_holds(&proven.project);
    let installed = receipt["extensions"][0]["loaded_path"].as_str().unwrap();
    let real_uv = common::tools().all.join("uv");
    let script = format!(
        r#"#!/bin/sh
# fault-uv-killed-mid-install: every uv command runs for real except the install of the built
# wheel, which uninstalls the proven build, writes the first 4 KiB of an extension where the new
# one goes, and is then killed, as an installer is when the machine runs out of memory.
# A fault executable from tests/reliability.rs, first on PATH in place of uv.
case " $* " in
  *" pip install "*" --no-deps "*)
    while [ "$#" -gt 0 ]; do
      if [ "$1" = --python ]; then python=$2; fi
      shift
    done
    head -c 4096 '{installed}' > '{installed}.partial'
    '{uv}' pip uninstall --quiet --python "$python" purefix
    mkdir -p "$(dirname '{installed}')"
    mv '{installed}.partial' '{installed}'
    kill -KILL $$
    ;;
esac
exec '{uv}' "$@"
"#,
        uv = real_uv.display()
    );
    let dir = fault_executable(faults, "fault-uv-killed-mid-install", Some("uv"), &script);
    let run = proven.dev(&[]).path_first(&dir).run();
    run.assert_code(2)
        .assert_stderr_contains("failed to install the wheel")
        .assert_stderr_contains("SIGKILL");
    assert_error_then_hint(&run);
    assert_eq!(
        proven.project.receipt(),
        receipt,
        "the receipt still describes the last proven build\n{run:?}"
    );
    assert_ne!(
        common::sha256(Path::new(installed)),
        receipt["extensions"][0]["wheel_sha256"].as_str().unwrap(),
        "the fault did not break the install: the recovery below would prove nothing"
    );
    proven.assert_tmp_empty("a killed installer");

    let recovery = proven.dev(&[]).run();
    recovery.assert_code(0).assert_stderr_contains("Proven");
    assert_receipt_holds(&proven.project);
    proven
        .project
        .python("import purefix; assert purefix.answer() == 42")
        .assert_code(0);
    proven.assert_tmp_empty("the recovering `dev`");
}

/// Ctrl-C while cargo builds: `dev` stops every process it started, removes its temporary
/// directory, exits 2, and leaves the proven install and its receipt as they were.
fn interrupted_build(proven: &Proven) {
    let gate = Gate::install(&proven.project);
    let scene_before = common::snapshot_tree(scene(&proven.project));
    let receipt = proven.project.receipt();

    let _build = common::build_lock();
    let mut running = proven.dev(&[]).spawn();
    wait_until("the build script runs", Duration::from_secs(180), || {
        gate.has_started()
    });
    let children = descendants(running.pid());
    let names: Vec<&str> = children.iter().map(|child| child.name.as_str()).collect();
    assert!(
        names.iter().any(|name| name.starts_with("maturin")) && names.contains(&"cargo"),
        "maturin and cargo should be building: {names:?}"
    );
    let signal = std::process::Command::new("kill")
        .args(["-INT", &running.pid().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    running.wait_for_stderr("interrupted", Duration::from_secs(60));
    let run = running.wait(Duration::from_secs(60));
    run.assert_code(2)
        .assert_stderr_contains("interrupted while running `")
        .assert_stderr_contains("nothing was installed");
    assert_error_then_hint(&run);
    assert!(
        !run.stderr.contains("fix the errors above"),
        "an interrupt is not a build error to fix\n{run:?}"
    );
    wait_until(
        "every process `dev` started has ended",
        Duration::from_secs(30),
        || !children.iter().any(still_running),
    );

    proven.assert_tmp_empty("an interrupted build");
    assert_eq!(
        common::snapshot_tree(scene(&proven.project)),
        scene_before,
        "the project or its venv changed\n{run:?}"
    );
    assert_eq!(proven.project.receipt(), receipt, "{run:?}");
    assert_receipt_holds(&proven.project);
}

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

/// Two `dev` started together in a fresh project (no venv yet) serialize on the project lock:
/// one builds, the other says it is waiting, and a third with `--no-wait` fails at once. Both
/// end proven, and the receipt on disk is the one the last of them printed.
#[test]
fn two_devs_at_once_serialize_on_the_project_lock() {
    let project = TestProject::from_fixture("pure");
    let gate = Gate::install(&project);
    let _build = common::build_lock();
    let mut first = dev(&project, &["--json"]).spawn();
    let mut second = dev(&project, &["--json"]).spawn();

    let deadline = Instant::now() + Duration::from_secs(180);
    while !(gate.has_started()
        && (first.stderr_so_far().contains("Waiting")
            || second.stderr_so_far().contains("Waiting")))
    {
        assert!(
            Instant::now() < deadline && !first.has_ended() && !second.has_ended(),
            "expected one `dev` to build and the other to wait; their stderr:\n{}\n---\n{}",
            first.stderr_so_far(),
            second.stderr_so_far()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (holder, waiter) = if second.stderr_so_far().contains("Waiting") {
        (&mut first, &mut second)
    } else {
        (&mut second, &mut first)
    };
    assert!(
        !holder.stderr_so_far().contains("Waiting"),
        "both waited:\n{}\n{}",
        holder.stderr_so_far(),
        waiter.stderr_so_far()
    );
    waiter.wait_for_stderr("another `cargo pyo3 dev` to finish", Duration::from_secs(1));

    let started = Instant::now();
    let impatient = dev(&project, &["--no-wait"])
        .spawn()
        .wait(Duration::from_secs(60));
    impatient
        .assert_code(2)
        .assert_stderr_contains("another `cargo pyo3 dev` is running");
    assert_error_then_hint(&impatient);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "`--no-wait` waited {:?}",
        started.elapsed()
    );

    gate.open();
    let first = first.wait(Duration::from_secs(300));
    let second = second.wait(Duration::from_secs(300));
    first.assert_code(0);
    second.assert_code(0);
    let (held, waited) = if second.stderr.contains("Waiting") {
        (first, second)
    } else {
        (second, first)
    };
    // The one that waited finished last: its receipt is the one on disk, and it holds.
    assert_eq!(project.receipt(), waited.json(), "{waited:?}");
    assert_ne!(held.json(), serde_json::Value::Null);
    assert_receipt_holds(&project);
}

/// The whole run as a user reads it (exit code, stdout, stderr), with the parts that change from
/// one run to the next replaced by `[NAME]` placeholders, for an insta snapshot.
fn scrubbed(run: &Run, replacements: &[(&Path, &str)]) -> String {
    let mut text = format!(
        "exit_code: {:?}\n----- stdout -----\n{}----- stderr -----\n{}",
        run.code, run.stdout, run.stderr
    );
    for (path, name) in replacements {
        text = text.replace(path.to_str().unwrap(), name);
    }
    text
}

/// Ctrl-C while `dev` waits for another run's project lock ends the wait at once (the lock is
/// polled, not a blocking `flock` that `SA_RESTART` restarts), says it was interrupted with the
/// interrupt's own hint, exits 2, and leaves the run that holds the lock to prove its build.
#[test]
fn ctrl_c_while_waiting_for_the_lock_stops_the_wait() {
    let project = TestProject::from_fixture("pure");
    let gate = Gate::install(&project);
    let _build = common::build_lock();
    let holder = dev(&project, &[]).spawn();
    wait_until("the build script runs", Duration::from_secs(180), || {
        gate.has_started()
    });
    let mut waiter = dev(&project, &[]).spawn();
    waiter.wait_for_stderr(
        "another `cargo pyo3 dev` to finish",
        Duration::from_secs(60),
    );
    let signalled = Instant::now();
    let signal = std::process::Command::new("kill")
        .args(["-INT", &waiter.pid().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    let run = waiter.wait(Duration::from_secs(10));
    let took = signalled.elapsed();
    eprintln!("the waiting `dev` ended {took:?} after SIGINT");
    assert!(took < Duration::from_secs(2), "took {took:?}\n{run:?}");
    insta::assert_snapshot!(
        "interrupted_lock_wait",
        scrubbed(&run, &[(&common::fixture_target_dir(), "[TARGET]")])
    );

    gate.open();
    let held = holder.wait(Duration::from_secs(300));
    held.assert_code(0);
    assert_receipt_holds(&project);
}

/// Ctrl-C while the venv is being created: worded as an interrupt, never as a failed creation
/// with that step's hint (`--python`), and the half-made venv is gone.
#[test]
fn ctrl_c_while_creating_the_venv_is_an_interrupt() {
    let project = TestProject::from_fixture("pure");
    let faults = tempfile::tempdir().unwrap();
    let started = faults.path().join("started");
    let dir = fault_executable(
        faults.path(),
        "fault-python-venv-hangs",
        None,
        &format!(
            "#!/bin/sh\n# fault-python-venv-hangs: given as `--python`, run as \
             `<python> -m venv <dir>`;\n# writes part of a venv, then waits until it is \
             interrupted.\nmkdir -p \"$3/bin\"\n: > {started:?}\nexec sleep 120\n"
        ),
    );
    let python = dir.join("fault-python-venv-hangs");
    let before = common::snapshot_tree(scene(&project));
    // Its own target dir, so its project lock is not the one the `pure` fixture's builds hold in
    // the tests beside it: this test builds nothing.
    let running = dev(&project, &["--python"])
        .arg(&python)
        .without_uv()
        .env("CARGO_TARGET_DIR", faults.path().join("target"))
        .spawn();
    wait_until("the venv creation runs", Duration::from_secs(60), || {
        started.exists()
    });
    let signal = std::process::Command::new("kill")
        .args(["-INT", &running.pid().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    let run = running.wait(Duration::from_secs(30));
    insta::assert_snapshot!(
        "interrupted_venv_creation",
        scrubbed(
            &run,
            &[(&project.root, "[PROJECT]"), (&python, "[FAULT-PYTHON]")]
        )
    );
    assert_eq!(common::snapshot_tree(scene(&project)), before, "{run:?}");
}

// ---------------------------------------------------------------------------------------------
// Faults before a build: tools that are missing or die
// ---------------------------------------------------------------------------------------------

/// `python -m venv` killed half-way leaves a directory that looks like a venv: `dev` removes
/// what it started, so the next run creates the venv again instead of tripping over half of one.
#[test]
fn a_venv_creation_killed_half_way_leaves_nothing() {
    let project = TestProject::from_fixture("pure");
    let faults = tempfile::tempdir().unwrap();
    let dir = fault_executable(
        faults.path(),
        "fault-python-venv-dies-midway",
        None,
        "#!/bin/sh\n# fault-python-venv-dies-midway: given as `--python`, run as \
         `<python> -m venv <dir>`;\n# writes part of a venv, then is killed.\n\
         mkdir -p \"$3/bin\" \"$3/lib/python3.11/site-packages\"\n\
         printf 'home = /usr/bin\\n' > \"$3/pyvenv.cfg\"\nkill -KILL $$\n",
    );
    let python = dir.join("fault-python-venv-dies-midway");
    let before = common::snapshot_tree(scene(&project));
    let run = dev(&project, &["--python"]).arg(&python).without_uv().run();
    run.assert_code(2)
        .assert_stderr_contains(&format!(
            "failed to create the virtual environment `{}`",
            project.path(".venv").display()
        ))
        .assert_stderr_contains("SIGKILL");
    assert_error_then_hint(&run);
    assert_eq!(common::snapshot_tree(scene(&project)), before, "{run:?}");
}

/// A closed local port: what an index looks like without a network.
fn closed_index() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/simple")
}

/// No maturin anywhere, and the index unreachable: `dev` tries to install maturin into the venv
/// (with uv, then with pip), fails with exit 2 and a hint, and changes nothing.
#[test]
fn maturin_missing_and_impossible_to_install() {
    let index = closed_index();
    let with_uv = TestProject::from_fixture("pure");
    uv_venv(&with_uv.path(".venv"));
    let with_pip = TestProject::from_fixture("pure");
    python_venv(&with_pip.path(".venv"), true);

    let attempts = [
        (
            &with_uv,
            dev(&with_uv, &[])
                .without_maturin()
                .env("UV_INDEX_URL", &index)
                .env("UV_DEFAULT_INDEX", &index)
                .env("UV_NO_CONFIG", "1")
                // uv retries a refused connection three times, with back-off: 8 s for nothing.
                .env("UV_HTTP_RETRIES", "0"),
        ),
        (
            &with_pip,
            dev(&with_pip, &[])
                .without_maturin()
                .without_uv()
                .env("PIP_INDEX_URL", &index)
                .env("PIP_CONFIG_FILE", "/dev/null")
                .env_remove("PIP_FIND_LINKS")
                .env_remove("PIP_EXTRA_INDEX_URL")
                .env("PIP_RETRIES", "0"),
        ),
    ];
    // Any `uv pip` command on a venv creates uv's empty lock file `.venv/.lock` first; it is
    // uv's, it holds nothing, and it is the one difference allowed.
    let without_uv_lock = |project: &TestProject| {
        let uv_lock = project
            .root
            .strip_prefix(scene(project))
            .unwrap()
            .join(".venv/.lock");
        let mut snapshot = common::snapshot_tree(scene(project));
        snapshot.remove(uv_lock.to_str().unwrap());
        snapshot
    };
    for (project, command) in attempts {
        let tmp = private_tmp();
        let before = without_uv_lock(project);
        let run = command.env("TMPDIR", tmp.path()).run();
        run.assert_code(2)
            .assert_stderr_contains("maturin was not found")
            .assert_stderr_contains("failed to install maturin")
            .assert_stderr_contains(&index);
        assert_error_then_hint(&run);
        assert_eq!(without_uv_lock(project), before, "{run:?}");
        assert_empty(tmp.path(), &run.command);
    }
}

/// A module whose init aborts the interpreter: `dev` and `verify` both call it a failed check
/// (exit 1, docs/exit-codes.md) in the same words, with the signal named and a short command
/// (the script runs as a file, so no script text is pasted into the error); `dev` writes no
/// receipt, which is only ever written for a proven install.
#[test]
fn an_import_that_aborts_is_a_failed_check_and_writes_no_receipt() {
    let project = TestProject::from_fixture("abort");
    let tmp = private_tmp();
    let dev_run = dev(&project, &[]).env("TMPDIR", tmp.path()).run();
    assert!(project.find_receipt().is_none(), "{dev_run:?}");
    assert_empty(tmp.path(), "an aborted import");
    let verify_run = project
        .cargo_pyo3()
        .arg("verify")
        .env("TMPDIR", tmp.path())
        .run();
    assert_empty(tmp.path(), "an aborted import in `verify`");

    let python = project.path(".venv/bin/python");
    let mut errors = Vec::new();
    for (command, script, run) in [
        ("dev", "proof.py", &dev_run),
        ("verify", "verify.py", &verify_run),
    ] {
        run.assert_code(1)
            .assert_stderr_contains("importing `abortfix` crashed the interpreter")
            .assert_stderr_contains("SIGABRT");
        assert_error_then_hint(run);
        // Everything from the first `error:` on: what `dev` printed before is maturin's build.
        let error = &run.stderr[run.stderr.find("error: ").unwrap()..];
        // The failed command is one line, `<python> -I <dir>/<script>`: no script text.
        let failed = error
            .split_once("process didn't exit successfully: `")
            .and_then(|(_, rest)| rest.split_once("` ("))
            .unwrap_or_else(|| panic!("no failed command in\n{run:?}"))
            .0;
        let words: Vec<&str> = failed.split(' ').collect();
        let script_path = Path::new(words[words.len() - 1]);
        assert!(
            words.len() == 3 && words[1] == "-I" && script_path.ends_with(script),
            "`{command}` does not show a short command: {failed}"
        );
        errors.push(
            error
                .replace(python.to_str().unwrap(), "[VENV-PYTHON]")
                .replace(script_path.to_str().unwrap(), "[SCRIPT]"),
        );
    }
    assert_eq!(
        errors[0], errors[1],
        "`dev` and `verify` word the crash differently"
    );
    insta::assert_snapshot!("aborted_import", errors[0]);
}

// ---------------------------------------------------------------------------------------------
// Security
// ---------------------------------------------------------------------------------------------

/// Module names reach the proof's Python as data (JSON on stdin), never as code. A wheel whose
/// extension names would run code if pasted into a single- or double-quoted Python string is
/// refused before any Python runs: such a file name is not one an interpreter imports an
/// extension module as (`platform::extension_stem`), so the wheel holds no extension module.
#[test]
fn names_from_a_wheel_never_become_python_code() {
    let project = TestProject::from_fixture("pure");
    uv_venv(&project.path(".venv"));
    let marker = scene(&project).join("injected");
    // Opens the file named by $CARGO_PYO3_TEST_INJECTED: short, with no `.` or `/`, so that it
    // survives as one module name.
    let code = "import os;open(os.environ['CARGO_PYO3_TEST_INJECTED'],'w')";
    let code_bytes: Vec<String> = code.bytes().map(|byte| byte.to_string()).collect();
    let payload = format!("exec(bytes(({},)))", code_bytes.join(","));
    // `import_module('purefix.<name>')` would run the payload while evaluating its argument,
    // before the import fails.
    let hostile = [
        format!("a'+str({payload})+'"),
        format!("b\"+str({payload})+\""),
    ];
    let entries: Vec<String> = hostile
        .iter()
        .map(|name| format!("{:?}: b\"\\x7fELF\"", format!("purefix/{name}.so")))
        .collect();
    let faults = tempfile::tempdir().unwrap();
    let dir = fault_executable(
        faults.path(),
        "fault-maturin-hostile-module-names",
        Some("maturin"),
        &python_maturin(
            "fault-maturin-hostile-module-names",
            "a wheel whose extension module names are Python code.",
            &format!(
                "write_wheel(\n    os.path.join(out, \"purefix-0.1.0-py3-none-any.whl\"),\n    \
                 {{\"purefix/__init__.py\": b\"\", {}}},\n)",
                entries.join(", ")
            ),
        ),
    );
    let tmp = private_tmp();
    let run = dev(&project, &[])
        .path_first(&dir)
        .env("CARGO_PYO3_TEST_INJECTED", &marker)
        .env("TMPDIR", tmp.path())
        .run();
    run.assert_code(2);
    run.assert_stderr_contains("contains no extension module");
    assert!(!marker.exists(), "a module name ran as code\n{run:?}");
    assert!(project.find_receipt().is_none(), "{run:?}");
    assert_empty(tmp.path(), "a refused wheel");
}

/// Every file of the tool's own code, whole.
fn tool_sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, found: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                found.push((path, text));
            }
        }
    }
    let mut found = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    assert!(found.len() > 10, "src/ was not found: {found:?}");
    found
}

/// The only Python code ever run is a constant script from `src/python/`, run as a file by
/// `src/python.rs` with its data as JSON on stdin: no line passes code with `-c`. That every
/// subprocess goes through `process::Cmd` (an argv vector, never a shell) is enforced by clippy
/// on every line of every target (`clippy.toml`, `disallowed-methods`).
#[test]
fn no_code_passed_with_dash_c() {
    // Its unit tests run `sh -c` to test the runner itself.
    let runner = Path::new("src/process.rs");
    for (path, text) in tool_sources() {
        let relative = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
        if relative != runner {
            assert!(
                !text.contains("\"-c\""),
                "{relative:?} passes code with `-c`: run Python through `python::run`, with a \
                 constant script from src/python/ and the data as JSON on stdin"
            );
        }
    }
}
