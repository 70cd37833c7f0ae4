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

    let first = project.cargo_pyo3().arg("test").run();
    snapshot("test_passes", &first, &project);
    first.assert_code(0);
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
    let installed = project.path(".venv/lib/python3.11/site-packages/purefix");
    let installed = if installed.is_dir() {
        installed
    } else {
        let lib = project.path(".venv/lib");
        let python = std::fs::read_dir(lib).unwrap().next().unwrap().unwrap();
        python.path().join("site-packages/purefix")
    };
    common::copy_dir(&installed, &project.path("old_build/purefix"));
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
