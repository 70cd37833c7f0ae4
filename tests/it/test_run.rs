//! `cargo pyo3 test` and `cargo pyo3 run` against real cargo, maturin, uv, pip and pytest: the
//! suite's result and the in-process proof, a `conftest.py` that loads an older build, pytest's
//! exit codes mapped onto ours, and a command's terminal, stdin, exit code and Ctrl-C.
//!
//! The `pure` fixture has targeted uv cache-keys and no `uv.lock`, so the uv guard lets it build
//! with uv on PATH.

use crate::assert_filtered_snapshot;
use crate::common;
use std::time::Duration;

use crate::common::TestProject;

const PASSING_TESTS: &str = "\
import purefix


def test_answer():
    assert purefix.answer() == 42


def test_counter():
    assert purefix.Counter().increment() == 1
";

/// What a run that includes pytest's own output adds to the harness's filters: its header names
/// versions, and it pads its banners to the terminal width around a time of varying length.
const PYTEST_FILTERS: &[(&str, &str)] = &[
    (
        r"platform \S+ -- Python \S+, pytest-\S+, pluggy-\S+",
        "platform [PLATFORM] -- Python [VERSION], pytest-[VERSION], pluggy-[VERSION]",
    ),
    (r"(?m)^plugins: .*$", "plugins: [PLUGINS]"),
    (r"(?m)^=+ (.+?) =+$", "=== $1 ==="),
    // The short summary explains an assert with `+ where` lines only when pytest's assertion
    // rewriting saw the module on this run, not when it loaded a cached `.pyc`.
    (r"(?m)^ \+ +where .*\n", ""),
    (r"cpython-\d+-[a-z0-9_]+-linux-gnu", "cpython-[ABI]"),
];

/// The `purefix` package directory `dev` installed into the venv's site-packages.
fn installed_package(project: &TestProject) -> std::path::PathBuf {
    let lib = project.path(".venv/lib");
    let python = std::fs::read_dir(lib).unwrap().next().unwrap().unwrap();
    let package = python.path().join("site-packages/purefix");
    assert!(package.is_dir(), "no `{}`", package.display());
    package
}

fn snapshot(name: &str, run: &common::Run, project: &TestProject) {
    assert_filtered_snapshot!(
        name,
        common::snapshot::render(run, &project.root),
        PYTEST_FILTERS
    );
}

#[test]
fn a_passing_suite_is_proven_and_pytest_gets_the_arguments_after_the_double_dash() {
    let project = TestProject::from_fixture("pure");
    project.write("tests/test_module.py", PASSING_TESTS);
    // A declared test group is what gets installed when the venv has no pytest.
    project.append(
        "pyproject.toml",
        "[dependency-groups]\ntest = [\"pytest\", \"purefix\"]\n",
    );

    let before = common::snapshot_tree(&project.root);

    let first = project.cargo_pyo3().arg("test").run();
    snapshot("test_passes", &first, &project);
    first.assert_code(0);
    // `test` writes nothing into the project: the plugin and its report live in a temporary
    // directory. What changed is `dev`'s (the venv, and the `Cargo.lock` cargo writes when the
    // crate has none) and pytest's own caches.
    let after = common::snapshot_tree(&project.root);
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|path| before.get(*path) != after.get(*path))
        .filter(|path| {
            !path.starts_with(".venv")
                && !path.starts_with(".pytest_cache")
                && !path.split('/').any(|part| part == "__pycache__")
        })
        .collect();
    assert_eq!(changed, ["Cargo.lock"], "{first:?}");
    let hash = project.receipt()["extensions"][0]["wheel_sha256"]
        .as_str()
        .unwrap()[..12]
        .to_owned();
    assert!(
        first.stderr.contains(&format!(
            "Tested `purefix` (sha256 {hash}): 2 passed, proven in the test process"
        )),
        "{first:?}"
    );
    assert!(first.stdout.contains("2 passed"), "{first:?}");

    // Installed once, then not again; `-k` and a path reach pytest.
    let filtered = project
        .cargo_pyo3()
        .args([
            "test",
            "--no-clean",
            "--",
            "-k",
            "answer",
            "tests/test_module.py",
        ])
        .run();
    filtered.assert_code(0);
    assert!(!filtered.stderr.contains("Installing"), "{filtered:?}");
    assert!(
        filtered.stderr.contains("1 passed, 1 deselected, proven"),
        "{filtered:?}"
    );

    // `--json`: the receipt, pytest's counts and the proof; pytest's output moves to stderr.
    let json = project
        .cargo_pyo3()
        .args(["test", "--no-clean", "--json"])
        .run();
    json.assert_code(0);
    let report = json.json();
    assert_eq!(report["pytest"]["exit_code"], 0, "{json:?}");
    assert_eq!(report["pytest"]["counts"]["passed"], 2, "{json:?}");
    assert_eq!(report["proof"]["holds"], true, "{json:?}");
    let module = &report["proof"]["modules"][0];
    assert_eq!(module["module"], "purefix.purefix", "{json:?}");
    assert_eq!(module["imported_by"], "tests", "{json:?}");
    assert_eq!(module["sha256"], module["proven_sha256"], "{json:?}");
    assert_eq!(
        report["receipt"]["extensions"][0]["wheel_sha256"], module["sha256"],
        "{json:?}"
    );
    assert!(json.stderr.contains("2 passed in"), "{json:?}");
}

#[test]
fn failing_and_empty_suites_and_pytest_usage_errors_have_their_exit_codes() {
    let project = TestProject::from_fixture("pure");
    project.write(
        "tests/test_fail.py",
        "import purefix\n\n\ndef test_wrong():\n    assert purefix.answer() == 41\n\n\n\
         def test_also_wrong():\n    assert purefix.answer() == 40\n",
    );
    // `-x` reaches pytest: it stops after the first failure.
    let failed = project.cargo_pyo3().args(["test", "--", "-x"]).run();
    snapshot("test_fails", &failed, &project);
    failed.assert_code(1);
    assert!(
        failed.stderr.contains("tests failed: 1 failed"),
        "{failed:?}"
    );

    let empty = project
        .cargo_pyo3()
        .args(["test", "--no-clean", "-q", "--", "-k", "no_such_test"])
        .run();
    snapshot("test_no_tests", &empty, &project);
    empty.assert_code(2);

    let usage = project
        .cargo_pyo3()
        .args(["test", "--no-clean", "-q", "--", "--no-such-pytest-flag"])
        .run();
    usage.assert_code(2);
    usage.assert_stderr_contains("hint: check the arguments after `--`");
}

#[test]
fn a_conftest_that_puts_an_older_build_first_fails_the_run_though_the_tests_pass() {
    let project = TestProject::from_fixture("pure");
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    common::copy_dir(
        &installed_package(&project),
        &project.path("old_build/purefix"),
    );
    project.add_fresh_function();
    project.write(
        "conftest.py",
        "import pathlib\nimport sys\n\nsys.path.insert(0, str(pathlib.Path(__file__).parent / \"old_build\"))\n",
    );
    project.write("tests/test_module.py", PASSING_TESTS);
    project.append(
        "pyproject.toml",
        "[dependency-groups]\ntest = [\"pytest\", \"pytest-xdist\"]\n",
    );

    let run = project.cargo_pyo3().arg("test").run();
    snapshot("test_loaded_another_build", &run, &project);
    run.assert_code(1);
    assert!(run.stdout.contains("2 passed"), "{run:?}");
    run.assert_stderr_contains(
        "the tests loaded another build of `purefix.purefix`: `old_build/purefix/",
    )
    .assert_stderr_contains("put there by `conftest.py`");

    // With pytest-xdist the tests run in workers: the proof is made in each of them.
    let workers = project
        .cargo_pyo3()
        .args(["test", "--no-clean", "--json", "--", "-n", "2"])
        .run();
    workers
        .assert_code(1)
        .assert_stderr_contains("(in xdist worker `gw");
    let report = workers.json();
    let modules = report["proof"]["modules"].as_array().unwrap();
    assert_eq!(modules.len(), 2, "{workers:?}");
    // (A worker that ran no test is proven by the plugin's own import, in that worker.)
    assert!(
        modules.iter().all(|module| module["holds"] == false),
        "{workers:?}"
    );
    assert_eq!(report["pytest"]["counts"]["passed"], 2, "{workers:?}");
    assert_eq!(report["pytest"]["counts"]["collected"], 2, "{workers:?}");

    // The same older build through `PYTHONPATH`, with no conftest.py: `dev`'s own proof from the
    // project root already sees it, before pytest starts, and names it as such.
    std::fs::remove_file(project.path("conftest.py")).unwrap();
    let pythonpath = project
        .cargo_pyo3()
        .args(["test", "--no-clean", "-q"])
        .env("PYTHONPATH", project.path("old_build"))
        .run();
    pythonpath
        .assert_code(1)
        .assert_stderr_contains("from the project root")
        .assert_stderr_contains("old_build/purefix/purefix.cpython-311-x86_64-linux-gnu.so")
        .assert_stderr_contains("from `PYTHONPATH`");
    assert!(!pythonpath.stdout.contains("passed"), "{pythonpath:?}");
}

/// With nothing changed, pytest is started while `dev` proves the last build again and waits at
/// the plugin's import; after an edit, the one started is killed before the build and pytest
/// runs after the install. Either way the project's code (a `conftest.py` that notes each
/// import) runs once per `test`, after the proof, and no pytest is left behind.
#[test]
fn pytest_started_during_the_proof_runs_once_and_only_for_a_reused_build() {
    let project = TestProject::from_fixture("pure");
    project.write("tests/test_module.py", PASSING_TESTS);
    project.write(
        "conftest.py",
        "import pathlib\n\nwith open(pathlib.Path(__file__).parent / \"conftest-imports.log\", \"a\") as log:\n    log.write(\"imported\\n\")\n",
    );
    let imports = || {
        std::fs::read_to_string(project.path("conftest-imports.log"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    // Named on pytest's command line: what tells this test's pytest processes from others'.
    let rootdir = format!("--rootdir={}", project.root.display());
    let left_behind = || -> Vec<String> {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| std::fs::read(entry.ok()?.path().join("cmdline")).ok())
            .map(|cmdline| String::from_utf8_lossy(&cmdline).replace('\0', " "))
            .filter(|cmdline| cmdline.contains(&rootdir) && cmdline.contains("pytest"))
            .collect()
    };
    let test = || {
        project
            .cargo_pyo3()
            .args(["test", "-v", "--", "-q", &rootdir])
            .run()
    };

    // No pytest in the venv yet: it is installed after the build, then run.
    let first = test();
    first.assert_code(0);
    assert!(!first.stderr.contains("waiting for the proof"), "{first:?}");
    assert_eq!(imports(), 1, "{first:?}");

    let again = test();
    again
        .assert_code(0)
        .assert_stderr_contains("Fresh `purefix`")
        .assert_stderr_contains("started, waiting for the proof of the last build")
        .assert_stderr_contains("2 passed, proven in the test process");
    assert_eq!(imports(), 2, "{again:?}");
    assert!(left_behind().is_empty(), "{:?}", left_behind());

    project.add_fresh_function();
    let edited = test();
    edited
        .assert_code(0)
        .assert_stderr_contains("started, waiting for the proof of the last build")
        .assert_stderr_contains("Compiling purefix")
        .assert_stderr_contains("2 passed, proven in the test process");
    assert!(!edited.stderr.contains("Fresh"), "{edited:?}");
    assert_eq!(
        imports(),
        3,
        "the pytest started before the build ran nothing: {edited:?}"
    );
    assert!(left_behind().is_empty(), "{:?}", left_behind());

    // `--force` never reuses the last build: nothing is started for it.
    let forced = project
        .cargo_pyo3()
        .args(["test", "-v", "--force", "--", "-q", &rootdir])
        .run();
    forced.assert_code(0);
    assert!(
        !forced.stderr.contains("waiting for the proof"),
        "{forced:?}"
    );
    assert_eq!(imports(), 4, "{forced:?}");
}

/// A pytest started ahead whose `cargo pyo3` ends without letting it go (killed, say) sees its
/// FIFO close, and leaves at once, running nothing.
#[test]
fn a_pytest_waiting_for_the_proof_leaves_when_no_one_holds_its_fifo() {
    let project = TestProject::from_fixture("pure");
    project.write("tests/test_module.py", PASSING_TESTS);
    project.cargo_pyo3().arg("test").run().assert_code(0);
    let plugin_dir = project.path("plugin");
    std::fs::create_dir_all(&plugin_dir).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/src/python/pytest_proof.py"),
        plugin_dir.join("cargo_pyo3_pytest_proof.py"),
    )
    .unwrap();
    let fifo = project.path("wait");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let mut pytest = std::process::Command::new(project.venv_python())
        .args(["-m", "pytest", "-p", "cargo_pyo3_pytest_proof"])
        .current_dir(&project.root)
        .env("PYTHONPATH", &plugin_dir)
        .env("CARGO_PYO3_PYTEST_PROOF", project.path("no-request.json"))
        .env("CARGO_PYO3_PYTEST_PROOF_WAIT", &fifo)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The writer's end, opened once pytest opens the reader's, then closed unwritten.
    drop(std::fs::OpenOptions::new().write(true).open(&fifo).unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = pytest.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "pytest still waits");
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = pytest.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(0), "{output:?}");
    assert!(output.stdout.is_empty(), "it ran nothing: {output:?}");
    assert!(!project.path("no-request.json").exists());
}

/// A `pytest_configure` that raises is pytest's internal error; a run with the proof plugin
/// disabled has no report, so nothing proves what the tests loaded: both are errors (2), even
/// though the tests themselves passed in the second.
#[test]
fn an_internal_error_of_pytest_or_a_missing_report_is_an_error() {
    let project = TestProject::from_fixture("pure");
    project.write("tests/test_module.py", PASSING_TESTS);
    project.write(
        "conftest.py",
        "def pytest_configure(config):\n    raise RuntimeError(\"broken conftest\")\n",
    );
    let internal = project.cargo_pyo3().args(["test", "-q"]).run();
    // pytest prints the traceback to stderr (its terminal is not set up yet), through its own
    // files and lines: the conftest's frame is checked, the tool's lines are snapshotted.
    internal
        .assert_code(2)
        .assert_stderr_contains("/conftest.py\", line 2, in pytest_configure")
        .assert_stderr_contains("INTERNALERROR> RuntimeError: broken conftest");
    assert!(!internal.stdout.contains("passed"), "{internal:?}");
    let tool_lines: String = internal
        .stderr
        .lines()
        .filter(|line| !line.starts_with("INTERNALERROR>"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_filtered_snapshot!(
        "test_internal_error",
        common::snapshot::redact(&tool_lines, &project.root),
        PYTEST_FILTERS
    );

    std::fs::remove_file(project.path("conftest.py")).unwrap();
    let unproven = project
        .cargo_pyo3()
        .args([
            "test",
            "--no-clean",
            "-q",
            "--",
            "-p",
            "no:cargo_pyo3_pytest_proof",
        ])
        .run();
    unproven.assert_code(2);
    assert!(unproven.stdout.contains("2 passed"), "{unproven:?}");
    assert_filtered_snapshot!(
        "test_no_report",
        common::snapshot::redact(&unproven.stderr, &project.root),
        PYTEST_FILTERS
    );
}

/// A stale copy of the package under `tests/`, as a copied-in old build leaves it: pytest's
/// default `prepend` import mode puts `tests/` first on `sys.path` while it collects
/// `tests/test_module.py`, so `import purefix` finds the copy. The tests pass against it; the run
/// fails and says so, and the way out its hint gives works. Then the same copy on pytest's
/// `pythonpath` setting.
#[test]
fn a_stale_copy_put_first_by_pytests_prepend_import_mode_or_pythonpath_setting_fails_the_run() {
    let project = TestProject::from_fixture("pure");
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    common::copy_dir(&installed_package(&project), &project.path("tests/purefix"));
    project.add_fresh_function();
    project.write("tests/test_module.py", PASSING_TESTS);

    let run = project.cargo_pyo3().args(["test", "-q"]).run();
    snapshot("test_loaded_a_copy_under_tests", &run, &project);
    run.assert_code(1)
        .assert_stderr_contains(
            "the tests loaded another build of `purefix.purefix`: `tests/purefix/purefix.cpython-",
        )
        .assert_stderr_contains(
            "it won because sys.path[0] is `tests`, put there while pytest collected the tests",
        )
        .assert_stderr_contains("--import-mode=importlib");
    assert!(run.stdout.contains("2 passed"), "{run:?}");

    let importlib = project
        .cargo_pyo3()
        .args(["test", "--no-clean", "-q", "--", "--import-mode=importlib"])
        .run();
    importlib
        .assert_code(0)
        .assert_stderr_contains("2 passed, proven in the test process");

    // The same copy through pytest's own `pythonpath` setting: pytest puts it on `sys.path`
    // before any `conftest.py`, and the run names the setting and the file that holds it.
    std::fs::create_dir(project.path("old_build_parent")).unwrap();
    std::fs::rename(
        project.path("tests/purefix"),
        project.path("old_build_parent/purefix"),
    )
    .unwrap();
    project.append(
        "pyproject.toml",
        "\n[tool.pytest.ini_options]\npythonpath = [\"old_build_parent\"]\n",
    );
    project.write("conftest.py", "# a conftest.py that changes nothing\n");
    let ini = project
        .cargo_pyo3()
        .args(["test", "--no-clean", "-q"])
        .run();
    snapshot("test_loaded_a_copy_on_pytests_pythonpath", &ini, &project);
    ini.assert_code(1)
        .assert_stderr_contains("`old_build_parent/purefix/purefix.cpython-")
        .assert_stderr_contains("listed in pytest's `pythonpath` setting in `pyproject.toml`")
        .assert_stderr_contains("take `old_build_parent` out of the `pythonpath` setting");
    assert!(ini.stdout.contains("2 passed"), "{ini:?}");
}

/// A refusal of the uv guard ends `test` and `run` before anything is built, run or installed.
#[test]
fn the_uv_guard_refusing_ends_test_and_run_with_3_before_pytest_or_the_command() {
    let project = TestProject::from_fixture("pure");
    common::TestCommand::new(common::tools().all.join("uv"), &project.root)
        .arg("lock")
        .run()
        .assert_code(0);
    // Keys that miss the Rust sources: a later `uv run` would reinstall a stale build.
    project.edit(
        "pyproject.toml",
        "cache-keys = [{ file = \"pyproject.toml\" }, { file = \"Cargo.toml\" }, { file = \"Cargo.lock\" }, { file = \"src/**/*.rs\" }]",
        "cache-keys = [{ file = \"pyproject.toml\" }]",
    );
    let test = project.cargo_pyo3().arg("test").run();
    test.assert_code(3).assert_stderr_contains("cache-keys");
    assert!(test.stdout.is_empty(), "{test:?}");
    assert!(!test.stderr.contains("Running"), "{test:?}");
    let run = project
        .cargo_pyo3()
        .args(["run", "--", "python", "-c", "print('ran')"])
        .run();
    run.assert_code(3);
    assert!(!run.stdout.contains("ran"), "{run:?}");
    assert!(
        !project.path(".venv/bin/pytest").exists(),
        "nothing is installed after a refusal\n{test:?}"
    );
}

#[test]
fn run_passes_the_fresh_build_stdin_exit_code_and_ctrl_c_through() {
    let project = TestProject::from_fixture("pure");
    project.add_fresh_function();
    let fresh = project
        .cargo_pyo3()
        .args(["run", "--", "python", "-c"])
        .arg("import os, purefix; print(purefix.fresh(), os.environ['VIRTUAL_ENV'])")
        .run();
    snapshot("run_prints_a_fresh_value", &fresh, &project);
    fresh.assert_code(0);
    assert_eq!(
        fresh.stdout.trim(),
        format!("7 {}", project.path(".venv").display()),
        "{fresh:?}"
    );

    let exit = project
        .cargo_pyo3()
        .args([
            "run",
            "--no-clean",
            "-q",
            "--",
            "python",
            "-c",
            "raise SystemExit(7)",
        ])
        .run();
    exit.assert_code(7);

    let input = project.path("input.txt");
    std::fs::write(&input, "from stdin\n").unwrap();
    let stdin = project
        .cargo_pyo3()
        .args(["run", "--no-clean", "-q", "--", "python", "-c"])
        .arg("import sys; print(sys.stdin.read().upper(), end='')")
        .stdin_file(&input)
        .run();
    stdin.assert_code(0);
    assert_eq!(stdin.stdout, "FROM STDIN\n", "{stdin:?}");

    // Ctrl-C as a terminal sends it, to the whole foreground process group: the child must see
    // it once (not once more forwarded by the tool), and the tool ends with the child's status.
    let script = "\
import signal, sys, time
seen = []
signal.signal(signal.SIGINT, lambda *_: seen.append(1))
print('ready', file=sys.stderr, flush=True)
deadline = time.monotonic() + 60
while not seen and time.monotonic() < deadline:
    time.sleep(0.05)
time.sleep(1)
sys.exit(40 + len(seen))
";
    let _lock = common::build_lock();
    let mut running = project
        .cargo_pyo3()
        .args(["run", "--no-clean", "-q", "--", "python", "-c", script])
        .own_process_group()
        .spawn();
    running.wait_for_stderr("ready", Duration::from_secs(120));
    let signal = std::process::Command::new("kill")
        .args(["-INT", "--", &format!("-{}", running.pid())])
        .status()
        .unwrap();
    assert!(signal.success());
    let interrupted = running.wait(Duration::from_secs(30));
    interrupted.assert_code(41);

    // The same Ctrl-C during `test`: pytest gets it once, stops, and the run is an error.
    project.write(
        "tests/test_slow.py",
        "import sys, time\n\n\ndef test_slow():\n    print('ready', file=sys.stderr, flush=True)\n    time.sleep(60)\n",
    );
    let mut running = project
        .cargo_pyo3()
        .args(["test", "--no-clean", "-q", "--", "-s", "tests/test_slow.py"])
        .own_process_group()
        .spawn();
    running.wait_for_stderr("ready", Duration::from_secs(120));
    let signal = std::process::Command::new("kill")
        .args(["-INT", "--", &format!("-{}", running.pid())])
        .status()
        .unwrap();
    assert!(signal.success());
    let interrupted = running.wait(Duration::from_secs(30));
    interrupted
        .assert_code(2)
        .assert_stderr_contains("error: pytest was interrupted");
    assert!(
        interrupted.stdout.contains("KeyboardInterrupt"),
        "{interrupted:?}"
    );
}

/// A project nobody here wrote: `maturin new --mixed` ships `python/tests/test_all.py` and a
/// `tests` extra with pytest. Without uv the venv's pip installs it.
#[test]
fn an_unmodified_maturin_project_is_tested_with_its_tests_extra_installed_by_pip() {
    let project = TestProject::maturin_new("mixdemo", true);
    let run = project.cargo_pyo3().arg("test").without_uv().run();
    snapshot("test_maturin_new_mixed", &run, &project);
    run.assert_code(0)
        .assert_stderr_contains("Installing the `tests` extra into")
        .assert_stderr_contains("1 passed, proven in the test process");
    assert!(run.stdout.contains("python/tests/test_all.py ."), "{run:?}");
}

/// `run -- python script.py` from a subdirectory: the project is found above, the command runs
/// where the user is (a relative script path means what it says), and imports the fresh build. A
/// program that does not exist, and `--json`, are the tool's own errors: 2, with a hint.
#[test]
fn run_a_script_from_a_subdirectory_and_the_errors_before_the_command_starts() {
    let project = TestProject::from_fixture("pure");
    project.add_fresh_function();
    project.write(
        "scripts/show.py",
        "import os\nimport purefix\n\nprint(purefix.fresh(), os.getcwd())\n",
    );
    let script = common::cargo_pyo3(&project.path("scripts"))
        .args(["run", "-q", "--", "python", "show.py"])
        .run();
    script.assert_code(0);
    assert_eq!(
        script.stdout.trim(),
        format!("7 {}", project.path("scripts").display()),
        "{script:?}"
    );

    let missing = project
        .cargo_pyo3()
        .args([
            "run",
            "--no-clean",
            "-q",
            "--",
            "no-such-program-xyz",
            "--flag",
        ])
        .run();
    snapshot("run_no_such_program", &missing, &project);
    missing
        .assert_code(2)
        .assert_stderr_contains("no-such-program-xyz")
        .assert_stderr_contains("hint: ");

    // `--json` is refused before anything is built or run: stdout is the command's.
    let json = project
        .cargo_pyo3()
        .args([
            "run",
            "--no-clean",
            "--json",
            "--",
            "python",
            "-c",
            "print('ran')",
        ])
        .run();
    snapshot("run_json_refused", &json, &project);
    json.assert_code(2);
    assert!(json.stdout.is_empty(), "{json:?}");
    assert!(!json.stderr.contains("Proven"), "{json:?}");
}

#[test]
fn test_help_is_stable() {
    let dir = std::env::temp_dir();
    let help = common::cargo_pyo3(&dir).args(["test", "--help"]).run();
    help.assert_code(0);
    insta::assert_snapshot!("test_help", help.stdout);
}

/// A project that keeps its test tools in a `dev` extra and turns a plugin's option on in
/// `addopts`, as pytest-benchmark users do: the extra is installed, so the option is known; a
/// test file importing a package nobody declared is named with where to declare it, and a usage
/// error from the configuration does not blame arguments that were never given.
#[test]
fn the_dev_extra_is_installed_and_a_missing_test_dependency_is_named() {
    let project = TestProject::maturin_new("benchdemo", false);
    project.append(
        "pyproject.toml",
        "\n[project.optional-dependencies]\ndev = [\"pytest\", \"pytest-benchmark\"]\n\n\
         [tool.pytest.ini_options]\naddopts = \"--benchmark-disable\"\n",
    );
    project.write(
        "tests/test_sum.py",
        "import benchdemo\n\n\ndef test_sum(benchmark):\n    \
         assert benchmark(benchdemo.sum_as_string, 1, 2) == \"3\"\n",
    );
    let run = project.cargo_pyo3().arg("test").run();
    run.assert_code(0)
        .assert_stderr_contains("Installing the `dev` extra into")
        .assert_stderr_contains("1 passed, proven in the test process");
    assert!(
        project
            .python("import pytest_benchmark")
            .code
            .is_some_and(|code| code == 0),
        "pytest-benchmark was installed"
    );

    project.write(
        "tests/test_config.py",
        "import tomli_w\n\n\ndef test_writes():\n    assert tomli_w.dumps({}) == \"\"\n",
    );
    let missing = project.cargo_pyo3().args(["test", "-q"]).run();
    missing.assert_code(1).assert_stderr_contains(
        "`tests/test_config.py` could not import `tomli_w` while pytest collected it",
    );
    missing.assert_stderr_contains("hint: declare the package that provides `tomli_w`");
    std::fs::remove_file(project.path("tests/test_config.py")).unwrap();

    // The plugin's option with the plugin gone: the configuration, not `--`, is to blame.
    project
        .cargo_pyo3()
        .args([
            "run",
            "-q",
            "--",
            "uv",
            "pip",
            "uninstall",
            "pytest-benchmark",
        ])
        .run()
        .assert_code(0);
    let usage = project.cargo_pyo3().args(["test", "-q"]).run();
    usage.assert_code(2).assert_stderr_contains(
        "hint: no arguments were given after `--`, so the options pytest rejected come from the \
         project's pytest configuration (`addopts`)",
    );
}
