//! Reliability and security of `cargo pyo3`, against real cargo, maturin, python, pip and uv:
//!
//! - a catalog of bad input: every case's whole run in one snapshot (`it__reliability__catalog`),
//!   and per case the exit code, `error:` then `hint:`, and the project and its venvs byte for
//!   byte unchanged;
//! - faults, injected by the executables of `tests/faults/` (named `fault-*`) standing in for a
//!   real tool (first on PATH, or passed as `--python`): a failing or lying maturin, an installer
//!   killed mid-install, an import that aborts the interpreter (the same failed check for `dev`
//!   and `verify`), Ctrl-C during the venv creation and the build;
//! - two `dev` runs at once in one project, and Ctrl-C while one waits for the other's lock;
//! - the security promises: no code passed with `-c` (no shell anywhere is clippy's to enforce,
//!   and `clippy.toml` is checked to still say so), names never turned into code, no environment
//!   in receipts, no temporary files left behind;
//! - the platform seam: `#[cfg]` and `std::os::` only in `src/platform.rs` and `src/platform/`.
//!
//! `docs/reliability.md` lists what this file proves; keep the two in step.

use crate::common;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::faults::fault_executable;
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

/// What kind of run a case is, besides its text (which the catalog's snapshot holds).
enum Expect {
    /// clap rejects the arguments: exit 2 and clap's usage, before any file is read.
    Usage,
    /// `cargo pyo3` refuses: exit 2, `error:` then a `hint:`.
    Error,
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
            Usage,
        ),
        case(
            "dev: stray positional argument",
            PROJECT,
            |project| dev(project, &["stray"]),
            Usage,
        ),
        case(
            "dev: --release with --profile",
            PROJECT,
            |project| dev(project, &["--release", "--profile", "fast"]),
            Usage,
        ),
        case(
            "dev: --fix-uv with --allow-uv-cache",
            PROJECT,
            |project| dev(project, &["--fix-uv", "--allow-uv-cache"]),
            Usage,
        ),
        case(
            "dev: --quiet with --verbose",
            PROJECT,
            |project| dev(project, &["--quiet", "--verbose"]),
            Usage,
        ),
        case(
            "dev: bad --color value",
            PROJECT,
            |project| dev(project, &["--color", "sometimes"]),
            Usage,
        ),
        case(
            "dev: --json twice",
            PROJECT,
            |project| dev(project, &["--json", "--json"]),
            Usage,
        ),
        case(
            "dev: --manifest-path without a value",
            PROJECT,
            |project| dev(project, &["--manifest-path"]),
            Usage,
        ),
        case(
            "dev: -p without a value",
            PROJECT,
            |project| dev(project, &["-p"]),
            Usage,
        ),
        case(
            "dev: empty --venv",
            PROJECT,
            |project| dev(project, &["--venv", ""]),
            Usage,
        ),
        case(
            "dev: empty --target-dir",
            PROJECT,
            |project| dev(project, &["--target-dir", ""]),
            Usage,
        ),
        case("no command", PROJECT, |project| project.cargo_pyo3(), Usage),
        case(
            "unknown command",
            PROJECT,
            |project| project.cargo_pyo3().arg("build"),
            Usage,
        ),
        case(
            "verify: unknown flag",
            PROJECT,
            |project| project.cargo_pyo3().args(["verify", "--bogus"]),
            Usage,
        ),
        case(
            "verify: --quiet with --verbose",
            PROJECT,
            |project| project.cargo_pyo3().args(["verify", "-q", "-v"]),
            Usage,
        ),
        case(
            "new: no PATH",
            PROJECT,
            |project| project.cargo_pyo3().arg("new"),
            Usage,
        ),
        case(
            "new: bad --layout",
            PROJECT,
            |project| {
                project
                    .cargo_pyo3()
                    .args(["new", "elsewhere", "--layout", "flat"])
            },
            Usage,
        ),
        case(
            "init: bad --vcs",
            PROJECT,
            |project| project.cargo_pyo3().args(["init", "--vcs", "svn"]),
            Usage,
        ),
        case(
            "doctor: unknown flag",
            PROJECT,
            |project| project.cargo_pyo3().args(["doctor", "--bogus"]),
            Usage,
        ),
        case(
            "doctor: a flag only dev has",
            PROJECT,
            |project| project.cargo_pyo3().args(["doctor", "--release"]),
            Usage,
        ),
        // The project: found and read before anything is built or installed.
        case(
            "no Cargo.toml",
            Start::Empty,
            |project| dev(project, &[]),
            Error,
        ),
        case(
            "malformed Cargo.toml",
            PROJECT,
            |project| {
                project.edit("Cargo.toml", "[lib]", "[lib");
                dev(project, &[])
            },
            Error,
        ),
        case(
            "Cargo.toml whose lib source is missing",
            PROJECT,
            |project| {
                std::fs::remove_file(project.path("src/lib.rs")).unwrap();
                dev(project, &[])
            },
            Error,
        ),
        case(
            "malformed pyproject.toml",
            PROJECT,
            |project| {
                project.edit("pyproject.toml", "[project]", "[project\n");
                dev(project, &[])
            },
            Error,
        ),
        case(
            "pyproject.toml with a value of the wrong type",
            PROJECT,
            |project| {
                project.edit("pyproject.toml", "name = \"purefix\"", "name = 42");
                dev(project, &[])
            },
            Error,
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
            Error,
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
            Error,
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
            Error,
        ),
        case(
            "cdylib without pyo3",
            PROJECT,
            |project| {
                project.edit("Cargo.toml", "pyo3 = \"0.29\"", "");
                dev(project, &[])
            },
            Error,
        ),
        case(
            "pyo3 only as a dev-dependency",
            PROJECT,
            |project| {
                pyo3_only_as(project, "[dev-dependencies]");
                dev(project, &[])
            },
            Error,
        ),
        case(
            "pyo3 only as a build-dependency",
            PROJECT,
            |project| {
                pyo3_only_as(project, "[build-dependencies]");
                dev(project, &[])
            },
            Error,
        ),
        case(
            "workspace with two PyO3 packages and no -p",
            Start::Empty,
            |project| {
                write_workspace(project, true);
                dev(project, &[])
            },
            Error,
        ),
        case(
            "-p naming a package that is not a member",
            PROJECT,
            |project| dev(project, &["-p", "nope"]),
            Error,
        ),
        case(
            "-p naming a member that is not PyO3",
            Start::Empty,
            |project| {
                write_workspace(project, false);
                dev(project, &["-p", "two"])
            },
            Error,
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
            Error,
        ),
        case(
            "--manifest-path to a directory",
            PROJECT,
            |project| dev(project, &["--manifest-path", "src"]),
            Error,
        ),
        case(
            "--manifest-path to a missing file",
            PROJECT,
            |project| dev(project, &["--manifest-path", "nope/Cargo.toml"]),
            Error,
        ),
        case(
            "--manifest-path to a file that is not Cargo.toml",
            PROJECT,
            |project| dev(project, &["--manifest-path", "pyproject.toml"]),
            Error,
        ),
        // The venv: found and checked before anything is built or installed.
        case(
            "--venv that does not exist",
            PROJECT,
            |project| dev(project, &["--venv", "missing-venv"]),
            Error,
        ),
        case(
            "--venv at a directory that is not a venv",
            PROJECT,
            |project| dev(project, &["--venv", "src"]),
            Error,
        ),
        case(
            "--venv at a file",
            PROJECT,
            |project| dev(project, &["--venv", "Cargo.toml"]),
            Error,
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
            Error,
        ),
        case(
            ".venv whose python is a dangling symlink",
            PROJECT,
            |project| {
                uv_venv(&project.path(".venv"));
                dangling_python(&project.path(".venv"));
                dev(project, &[])
            },
            Error,
        ),
        case(
            "VIRTUAL_ENV pointing nowhere",
            PROJECT,
            |project| dev(project, &[]).env("VIRTUAL_ENV", "/nonexistent/cargo-pyo3-test/venv"),
            Error,
        ),
        case(
            "VIRTUAL_ENV at a directory that is not a venv",
            PROJECT,
            |project| dev(project, &[]).env("VIRTUAL_ENV", project.path("src")),
            Error,
        ),
        case(
            ".venv that is not a venv, with uv",
            PROJECT,
            |project| {
                user_dot_venv(project);
                dev(project, &[])
            },
            Error,
        ),
        case(
            ".venv that is not a venv, without uv",
            PROJECT,
            |project| {
                user_dot_venv(project);
                dev(project, &[]).without_uv()
            },
            Error,
        ),
        case(
            "venv without pip, and no uv",
            PROJECT,
            |project| {
                python_venv(&project.path(".venv"), false);
                dev(project, &[]).without_uv()
            },
            Error,
        ),
        case(
            "--python that does not exist, with uv",
            PROJECT,
            |project| dev(project, &["--python", "python9.99"]),
            Error,
        ),
        case(
            "--python that does not exist, without uv",
            PROJECT,
            |project| dev(project, &["--python", "python9.99"]).without_uv(),
            Error,
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
            Error,
        ),
        case(
            "--profile naming a profile that does not exist",
            PROJECT,
            |project| {
                write_lockfile(project);
                uv_venv(&project.path(".venv"));
                dev(project, &["--profile", "no-such-profile"])
            },
            Error,
        ),
        case(
            "--target-dir at a file",
            PROJECT,
            |project| {
                uv_venv(&project.path(".venv"));
                dev(project, &["--target-dir", "Cargo.toml"])
            },
            Error,
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

/// Runs one case: its whole run, as users read it, goes to `transcript` (under the case's name),
/// then what the text cannot show is checked: the exit code, the shape of the error, and the
/// scene byte for byte.
fn check_case(case: &Case, transcript: &mut String) {
    let project = match case.start {
        Start::Pure(dir_name) => TestProject::from_fixture_at("pure", dir_name),
        Start::Empty => TestProject::empty("project"),
    };
    let command = (case.prepare)(&project);
    let scene = scene(&project).to_owned();
    let before = common::snapshot_tree(&scene);
    let run = command.run();
    // What a case puts beside the project (another venv, a link) is named from the scene.
    let rendered =
        common::snapshot::render(&run, &project.root).replace(scene.to_str().unwrap(), "[SCENE]");
    transcript.push_str(&format!("## {}\n\n{rendered}\n", case.name));
    match case.expect {
        Expect::Usage => {
            run.assert_code(2);
            // clap ends an error with a pointer to `--help`, or prints the usage itself.
            assert!(
                run.stderr.contains("For more information, try '--help'")
                    || run.stderr.contains("Usage: cargo pyo3"),
                "{run:?}"
            );
            assert_eq!(common::snapshot_tree(&scene), before, "{run:?}");
        }
        Expect::Error => {
            run.assert_code(2);
            assert_error_then_hint(&run);
            assert_eq!(common::snapshot_tree(&scene), before, "{run:?}");
        }
        Expect::Proven => {
            run.assert_code(0);
            assert_receipt_holds(&project);
            let venv = project.root.strip_prefix(&scene).unwrap().join(".venv");
            let mut after = common::snapshot_tree(&scene);
            after.retain(|path, _| !Path::new(path).starts_with(&venv));
            assert_eq!(after, before, "only `.venv` may be written\n{run:?}");
        }
    }
}

/// What the catalog's runs show that differs from one machine to the next, beyond the harness's
/// filters: where cargo is (rustup's or the system's), and the interpreter maturin builds for.
const CATALOG_FILTERS: &[(&str, &str)] = &[
    (r#"[^\s"`]+/cargo([\s"`])"#, "[CARGO]$1"),
    (
        r#"(--interpreter |PYO3_PYTHON="|PYTHON_SYS_EXECUTABLE=")[^\s"]+"#,
        "${1}[PYTHON]",
    ),
];

/// Every case of the catalog, in one snapshot of what users read (`it__reliability__catalog`):
/// each case's name as a heading, then its whole run.
#[test]
fn catalog_of_bad_input() {
    let cases = cases();
    let mut names: Vec<&str> = cases.iter().map(|case| case.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names must be unique");

    // Every case runs, so one failure does not hide the others; each failure's panic message
    // (with the whole run) is printed by the panic hook as it happens.
    let mut transcript = String::new();
    let mut failed = Vec::new();
    for case in &cases {
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check_case(case, &mut transcript)
        }));
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
    crate::assert_filtered_snapshot!("catalog", transcript, CATALOG_FILTERS);
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

/// Every fault in `tests/faults/` is executable and listed in its README, and the README lists
/// no fault that is not there.
#[test]
fn every_fault_is_an_executable_listed_in_the_readme() {
    use std::os::unix::fs::PermissionsExt;
    let dir = common::faults::faults_dir();
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let mut on_disk = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.starts_with("fault-") {
            let mode = entry.metadata().unwrap().permissions().mode();
            assert_eq!(mode & 0o111, 0o111, "{name} is not executable");
            assert!(
                readme.contains(&format!("| `{name}` |")),
                "{name} is not in tests/faults/README.md"
            );
            on_disk.push(name);
        }
    }
    for row in readme.lines().filter(|line| line.starts_with("| `fault-")) {
        let name = row.split('`').nth(1).unwrap();
        assert!(
            on_disk.iter().any(|found| found == name),
            "the README lists {name}, which tests/faults/ does not have"
        );
    }
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
    let absolute_entry = scene(&proven.project).join("escaped-absolute.so");
    let absolute_mention = format!("unsafe entry `{}`", absolute_entry.display());
    let cases: [(&str, &[&str]); 6] = [
        (
            "fault-maturin-exits-1",
            &["the build failed", "(exit status: 1)"],
        ),
        ("fault-maturin-writes-no-wheel", &["wrote no wheel"]),
        (
            "fault-maturin-writes-two-wheels",
            &["wrote 2 wheels", "expected exactly one"],
        ),
        (
            "fault-maturin-wheel-disagrees-with-record",
            &["does not match its RECORD"],
        ),
        (
            "fault-maturin-wheel-with-parent-entry",
            &["unsafe entry `../../../escaped-parent.so`"],
        ),
        (
            "fault-maturin-wheel-with-absolute-entry",
            &[&absolute_mention],
        ),
    ];
    for (name, mentions) in cases {
        let dir = fault_executable(faults, name, Some("maturin"));
        let command = proven
            .dev(&[])
            .path_first(&dir)
            .env(common::faults::REAL_MATURIN, &real_maturin)
            .env(common::faults::ABSOLUTE_ENTRY, &absolute_entry);
        proven.assert_refused_and_intact(command, mentions);
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
    let dir = fault_executable(faults, "fault-uv-killed-mid-install", Some("uv"));
    // `--force`: with nothing changed, `dev` would prove the installed build again and never
    // reach the installer.
    let run = proven
        .dev(&["--force"])
        .path_first(&dir)
        .env(common::faults::REAL_UV, common::tools().all.join("uv"))
        .env(common::faults::INSTALLED, installed)
        .run();
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
    let dir = fault_executable(faults.path(), "fault-python-venv-hangs", None);
    let python = dir.join("fault-python-venv-hangs");
    let before = common::snapshot_tree(scene(&project));
    // Its own target dir, so its project lock is not the one the `pure` fixture's builds hold in
    // the tests beside it: this test builds nothing.
    let running = dev(&project, &["--python"])
        .arg(&python)
        .without_uv()
        .env(common::faults::STARTED, &started)
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
    let dir = fault_executable(faults.path(), "fault-python-venv-dies-midway", None);
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
    // `dev`'s proof interpreter is started with `-S` before the build and runs `site` itself
    // (docs/dev.md, *Prove*); `verify` starts its interpreter when it runs.
    for (command, script, flags, run) in [
        ("dev", "proof.py", &["-I", "-S"][..], &dev_run),
        ("verify", "verify.py", &["-I"][..], &verify_run),
    ] {
        run.assert_code(1)
            .assert_stderr_contains("importing `abortfix` crashed the interpreter")
            .assert_stderr_contains("SIGABRT");
        assert_error_then_hint(run);
        // Everything from the first `error:` on: what `dev` printed before is maturin's build.
        let error = &run.stderr[run.stderr.find("error: ").unwrap()..];
        // The failed command is one line, `<python> <flags> <dir>/<script>`: no script text.
        let failed = error
            .split_once("process didn't exit successfully: `")
            .and_then(|(_, rest)| rest.split_once("` ("))
            .unwrap_or_else(|| panic!("no failed command in\n{run:?}"))
            .0;
        let words: Vec<&str> = failed.split(' ').collect();
        let script_path = Path::new(words[words.len() - 1]);
        assert!(
            words.len() == flags.len() + 2
                && words[1..=flags.len()] == *flags
                && script_path.ends_with(script),
            "`{command}` does not show a short command: {failed}"
        );
        errors.push(
            error
                .replace(failed, "[VENV-PYTHON] -I [SCRIPT]")
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
/// extension names would run code (`tests/faults/fault-maturin-hostile-module-names`) if pasted into a single- or double-quoted Python string is
/// refused before any Python runs: such a file name is not one an interpreter imports an
/// extension module as (`platform::extension_stem`), so the wheel holds no extension module.
#[test]
fn names_from_a_wheel_never_become_python_code() {
    let project = TestProject::from_fixture("pure");
    uv_venv(&project.path(".venv"));
    let marker = scene(&project).join("injected");
    let faults = tempfile::tempdir().unwrap();
    let dir = fault_executable(
        faults.path(),
        "fault-maturin-hostile-module-names",
        Some("maturin"),
    );
    let tmp = private_tmp();
    let run = dev(&project, &[])
        .path_first(&dir)
        .env(common::faults::INJECTED, &marker)
        .env("TMPDIR", tmp.path())
        .run();
    run.assert_code(2);
    run.assert_stderr_contains("contains no extension module");
    assert!(!marker.exists(), "a module name ran as code\n{run:?}");
    assert!(project.find_receipt().is_none(), "{run:?}");
    assert_empty(tmp.path(), "a refused wheel");
}

/// Every file of the tool's own code, whole.
pub(crate) fn tool_sources() -> Vec<(PathBuf, String)> {
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

/// Lines of `text` that are code, numbered from 1: comment lines (`//`, `///`, `//!`) say what
/// the code does and compile to nothing.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
}

/// The text between the `(` at the start of `rest` and its matching `)`, or all of `rest` when
/// it does not close on this line.
fn parenthesised(rest: &str) -> &str {
    let mut depth = 0usize;
    for (index, character) in rest.char_indices() {
        match character {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &rest[1..index];
                }
            }
            _ => {}
        }
    }
    &rest[1.min(rest.len())..]
}

/// The cfg predicates a line states: of `cfg(…)` and `cfg!(…)` the whole argument, of
/// `cfg_attr(…, …)` the first one.
fn cfg_predicates(line: &str) -> Vec<String> {
    let mut predicates = Vec::new();
    for (start, _) in line.match_indices("cfg") {
        let before = line[..start].chars().next_back();
        if before.is_some_and(|character| character.is_alphanumeric() || character == '_') {
            continue;
        }
        let rest = &line[start + "cfg".len()..];
        let (attr, rest) = match rest.strip_prefix("_attr") {
            Some(rest) => (true, rest),
            None => (false, rest.strip_prefix('!').unwrap_or(rest)),
        };
        if !rest.starts_with('(') {
            continue;
        }
        let inside = parenthesised(rest);
        let predicate = if attr {
            let mut depth = 0usize;
            let end = inside
                .char_indices()
                .find(|&(_, character)| {
                    match character {
                        '(' => depth += 1,
                        ')' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    character == ',' && depth == 0
                })
                .map_or(inside.len(), |(index, _)| index);
            &inside[..end]
        } else {
            inside
        };
        predicates.push(predicate.split_whitespace().collect());
    }
    predicates
}

/// Where a file outside the platform seam breaks its rule, as `file:line: text`.
fn platform_seam_breaches(relative: &Path, text: &str) -> Vec<String> {
    let mut breaches = Vec::new();
    for (number, line) in code_lines(text) {
        let platform_cfg = cfg_predicates(line)
            .iter()
            .any(|predicate| predicate != "test" && predicate != "not(test)");
        if platform_cfg || line.contains("std::os::") {
            breaches.push(format!("{}:{number}: {}", relative.display(), line.trim()));
        }
    }
    breaches
}

/// Issue 18: what differs between Linux, macOS and Windows lives in `src/platform.rs` and
/// `src/platform/`. Everywhere else in `src/`, no line of code names `std::os::`, and the only
/// cfg predicates (`#[cfg(…)]`, `#[cfg_attr(…, …)]`, `cfg!(…)`) are `test` and `not(test)`,
/// which are not platform cfgs. Comment lines are not code. `docs/platforms.md` states the same
/// rule.
#[test]
fn cfg_only_in_the_platform_seam() {
    // The scanner itself, on what it must catch and what it must let through.
    let sample = "#[cfg(unix)]\n#[cfg(not(windows))]\nlet native = cfg!(windows);\n\
                  #[cfg_attr(target_os = \"macos\", expect(dead_code))]\n\
                  #[cfg(any(target_family = \"unix\", test))]\nuse std::os::unix::fs::symlink;\n\
                  #[cfg(test)]\n#[cfg_attr(not(test), expect(dead_code))]\n\
                  /// Whether an item carries `#[cfg(…)]`.\n\
                  .any(|attribute| attribute.path().is_ident(\"cfg\"))\n";
    let caught: Vec<usize> = platform_seam_breaches(Path::new("sample.rs"), sample)
        .iter()
        .map(|breach| breach.split(':').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        caught,
        [1, 2, 3, 4, 5, 6],
        "the scanner misreads its sample"
    );

    let seam = Path::new("src/platform");
    let mut breaches = Vec::new();
    let mut test_cfgs = 0;
    for (path, text) in tool_sources() {
        let relative = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
        if relative == Path::new("src/platform.rs") || relative.starts_with(seam) {
            continue;
        }
        test_cfgs += code_lines(&text)
            .map(|(_, line)| cfg_predicates(line).len())
            .sum::<usize>();
        breaches.extend(platform_seam_breaches(relative, &text));
    }
    assert!(
        breaches.is_empty(),
        "platform code outside `src/platform.rs` and `src/platform/` (only `test` and \
         `not(test)` may be cfg'd elsewhere; `std::os::` nowhere):\n{}",
        breaches.join("\n")
    );
    // Every module's `#[cfg(test)]` and `src/receipt/steps.rs`'s `cfg_attr(not(test), …)`: a
    // scan that found none read nothing.
    assert!(
        test_cfgs > 10,
        "only {test_cfgs} cfg predicates found in src/"
    );
}

/// Issue 17 (B5): no shell and fs-err everywhere are clippy's to enforce (`clippy.toml`), so the
/// rules hold only while `clippy.toml` names them and no code in `src/` turns the lint off. The
/// one exception is the runner itself, `Cmd::command` in `src/process.rs`.
#[test]
fn clippy_keeps_the_no_shell_and_fs_err_rules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config: toml_edit::DocumentMut = std::fs::read_to_string(root.join("clippy.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let named: Vec<String> = config["disallowed-methods"]
        .as_array()
        .expect("clippy.toml: `disallowed-methods` is not an array")
        .iter()
        .map(|entry| match entry {
            toml_edit::Value::String(path) => path.value().clone(),
            toml_edit::Value::InlineTable(table) => {
                table["path"].as_str().unwrap_or_default().to_owned()
            }
            other => panic!("clippy.toml: unexpected `disallowed-methods` entry {other}"),
        })
        .collect();
    let mut required = vec![
        "std::process::Command::new".to_owned(),
        "duct::cmd".to_owned(),
        "libc::system".to_owned(),
        "libc::popen".to_owned(),
        "std::fs::File::open".to_owned(),
        "std::fs::File::create".to_owned(),
        "std::fs::File::create_new".to_owned(),
        "std::fs::OpenOptions::open".to_owned(),
    ];
    required.extend(
        [
            "canonicalize",
            "copy",
            "create_dir",
            "create_dir_all",
            "hard_link",
            "metadata",
            "read",
            "read_dir",
            "read_link",
            "read_to_string",
            "remove_dir",
            "remove_dir_all",
            "remove_file",
            "rename",
            "set_permissions",
            "symlink_metadata",
            "write",
        ]
        .map(|function| format!("std::fs::{function}")),
    );
    let missing: Vec<&String> = required
        .iter()
        .filter(|path| !named.contains(path))
        .collect();
    assert!(
        missing.is_empty(),
        "clippy.toml no longer disallows {missing:?}"
    );
    // clippy reads `.clippy.toml` before `clippy.toml`; the lint is on unless Cargo.toml says
    // otherwise.
    assert!(!root.join(".clippy.toml").exists());
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(
        !manifest.contains("disallowed_methods") && !manifest.contains("disallowed-methods"),
        "Cargo.toml sets the `disallowed_methods` lint"
    );

    // `clippy::style` and `clippy::all` hold `disallowed_methods`: allowing either turns it off.
    let lints = ["clippy::disallowed_methods", "clippy::style", "clippy::all"];
    let mut exceptions = Vec::new();
    for (path, text) in tool_sources() {
        let relative = path.strip_prefix(root).unwrap().to_owned();
        let lines: Vec<&str> = text.lines().collect();
        for (number, line) in code_lines(&text) {
            if lints.iter().any(|lint| line.contains(lint)) {
                // The item the attribute is on: the first line after it that neither starts nor
                // continues an attribute.
                let item = lines[number..]
                    .iter()
                    .map(|line| line.trim())
                    .find(|line| {
                        !(line.is_empty()
                            || line.starts_with('#')
                            || line.starts_with(')')
                            || line.starts_with("reason")
                            || line.starts_with("clippy::"))
                    })
                    .unwrap_or_default()
                    .to_owned();
                exceptions.push((relative.clone(), number, line.trim().to_owned(), item));
            }
        }
    }
    let expected = exceptions.iter().all(|(path, _, line, item)| {
        path == Path::new("src/process.rs")
            && line == "clippy::disallowed_methods,"
            && item.starts_with("fn command(&self)")
    });
    assert!(
        exceptions.len() == 1 && expected,
        "`clippy::disallowed_methods` may be allowed only on `Cmd::command` in src/process.rs; \
         found:\n{}",
        exceptions
            .iter()
            .map(|(path, number, line, item)| format!(
                "{}:{number}: {line} (on `{item}`)",
                path.display()
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
