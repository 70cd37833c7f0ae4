//! `cargo pyo3 verify --stubs` end to end: real cargo, maturin, python and mypy's stubtest on
//! projects made by the pinned `maturin new --mixed`, with a hand-written stub beside the
//! extension module (`python/<pkg>/<pkg>.pyi`, where maturin packages it).

use crate::assert_filtered_snapshot;
use crate::common::{self, Run, TestProject, snapshot};

/// What `maturin new --mixed` exports, as a stub.
const MATCHING_STUB: &str = "def sum_as_string(a: int, b: int) -> str: ...\n";

/// Whether this run or an earlier test installed mypy into the shared target dir's tools venv
/// depends on the order the tests run in; the tools venv is named by the Python version.
const FILTERS: &[(&str, &str)] = &[
    (r"(?m)^ +Installing `mypy==.*\n", ""),
    (r"mypy-venv-\d+\.\d+\.\d+", "mypy-venv-[PYTHON]"),
];

/// A `maturin new --mixed` project with the matching stub and `py.typed`, built and proven.
fn stubbed_project(name: &str) -> TestProject {
    let project = TestProject::maturin_new(name, true);
    project.write(&stub_path(name), MATCHING_STUB);
    project.write(&format!("python/{name}/py.typed"), "");
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    project
}

fn stub_path(name: &str) -> String {
    format!("python/{name}/{name}.pyi")
}

fn verify_stubs(project: &TestProject) -> Run {
    project.cargo_pyo3().args(["verify", "--stubs"]).run()
}

#[track_caller]
fn assert_run(name: &str, run: &Run, project: &TestProject) {
    assert_filtered_snapshot!(name, snapshot::render(run, &project.root), FILTERS);
}

/// The 1-based line of `needle` in the project's `file`.
fn line_of(project: &TestProject, file: &str, needle: &str) -> usize {
    project
        .read(file)
        .lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` is not in {file}"))
        + 1
}

#[test]
fn a_matching_stub_passes() {
    let project = stubbed_project("stubs_match");
    let run = verify_stubs(&project);
    run.assert_code(0);
    assert_run("matching", &run, &project);

    let json = project
        .cargo_pyo3()
        .args(["verify", "--stubs", "--json"])
        .run();
    json.assert_code(0);
    let report = json.json();
    assert_eq!(report["stubs"]["mismatches"], serde_json::json!([]));
    assert_eq!(
        report["stubs"]["files"][0]["path"],
        "python/stubs_match/stubs_match.pyi"
    );
    assert_eq!(
        report["stubs"]["files"][0]["module"],
        "stubs_match.stubs_match"
    );
    assert_eq!(report["stubs"]["problem"], serde_json::Value::Null);
    assert_filtered_snapshot!(
        "matching_json",
        snapshot::redact(&json.stdout, &project.root),
        FILTERS
    );
}

#[test]
fn a_function_added_in_rust_and_not_in_the_stub_fails_with_its_rust_line() {
    let project = stubbed_project("stubs_added");
    project.edit(
        "src/lib.rs",
        "    /// Formats the sum",
        "    #[pyfunction]\n    fn double(x: usize) -> usize {\n        x * 2\n    }\n\n    /// Formats the sum",
    );
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    let run = verify_stubs(&project);
    run.assert_code(1);
    let line = line_of(&project, "src/lib.rs", "fn double");
    run.assert_stderr_contains("stubs_added.stubs_added.double  is not present in stub")
        .assert_stderr_contains(&format!("Rust     src/lib.rs:{line}"));
    assert_run("added_in_rust", &run, &project);

    let report = project
        .cargo_pyo3()
        .args(["verify", "--stubs", "--json"])
        .run()
        .json();
    let mismatch = &report["stubs"]["mismatches"][0];
    assert_eq!(mismatch["kind"], "not-in-stub");
    assert_eq!(mismatch["stub"], serde_json::Value::Null);
    assert_eq!(mismatch["runtime"], "def (x)");
    assert_eq!(mismatch["rust"], format!("src/lib.rs:{line}"));
}

#[test]
fn a_stub_function_the_module_lacks_fails_with_the_stub_line() {
    let project = stubbed_project("stubs_extra");
    let stub = stub_path("stubs_extra");
    project.write(
        &stub,
        &format!("{MATCHING_STUB}def removed(x: int) -> int: ...\n"),
    );
    // A stub is not a build input: the build stays fresh and proven.
    let run = verify_stubs(&project);
    run.assert_code(1);
    run.assert_stderr_contains("stubs_extra.stubs_extra.removed  is not present at runtime")
        .assert_stderr_contains(&format!("[{stub}:2]"));
    assert_run("missing_at_runtime", &run, &project);

    // `--json` carries the stub's file and line, and nothing for the side that lacks the name.
    let json = project
        .cargo_pyo3()
        .args(["verify", "--stubs", "--json"])
        .run();
    json.assert_code(1);
    let report = json.json();
    let mismatches = report["stubs"]["mismatches"].as_array().unwrap();
    assert_eq!(mismatches.len(), 1, "{report:#}");
    let mismatch = &mismatches[0];
    assert_eq!(mismatch["name"], "stubs_extra.stubs_extra.removed");
    assert_eq!(mismatch["kind"], "not-at-runtime");
    assert_eq!(mismatch["stub"], "def (x: int) -> int");
    assert_eq!(mismatch["runtime"], serde_json::Value::Null);
    assert_eq!(mismatch["stub_file"], stub.as_str());
    assert_eq!(mismatch["stub_line"], 2);
    assert_eq!(mismatch["rust"], serde_json::Value::Null);
    assert_eq!(report["stubs"]["problem"], serde_json::Value::Null);
}

/// A stub mypy cannot read is not checked at all: exit 1 with mypy's own words (the file, the
/// line, what is wrong), never a pass; in `--json` the problem is `failed`, with those words.
#[test]
fn a_stub_mypy_cannot_read_fails_with_mypys_words() {
    let project = stubbed_project("stubs_broken");
    let stub = stub_path("stubs_broken");
    project.write(
        &stub,
        "def sum_as_string(a: int, b: int) -> str: ...\ndef (:\n",
    );
    let run = verify_stubs(&project);
    run.assert_code(1);
    run.assert_stderr_contains(
        "error: stubtest could not check `python/stubs_broken/stubs_broken.pyi`",
    )
    .assert_stderr_contains(&format!("{stub}:2: error: "))
    .assert_stderr_contains("hint: fix what mypy reports in the stub");
    assert_run("unreadable_stub", &run, &project);

    let json = project
        .cargo_pyo3()
        .args(["verify", "--stubs", "--json"])
        .run();
    json.assert_code(1);
    let report = json.json();
    let problem = &report["stubs"]["problem"];
    assert_eq!(problem["reason"], "failed", "{report:#}");
    let message = problem["message"].as_str().unwrap();
    assert!(message.contains(&format!("{stub}:2: error: ")), "{message}");
    assert_eq!(report["stubs"]["mismatches"], serde_json::json!([]));
    assert_ne!(report["stubs"]["checker"], serde_json::Value::Null);
}

#[test]
fn an_argument_added_in_rust_shows_both_signatures_and_a_stale_build_is_not_checked() {
    let project = stubbed_project("stubs_args");
    project.edit(
        "src/lib.rs",
        "fn sum_as_string(a: usize, b: usize)",
        "fn sum_as_string(a: usize, b: usize, c: usize)",
    );
    project.edit("src/lib.rs", "(a + b)", "(a + b + c)");

    // Before `dev`: the installed build is older than the sources, the same error as `verify`.
    let stale = verify_stubs(&project);
    stale.assert_code(1);
    stale
        .assert_stderr_contains("the stubs were not checked")
        .assert_stderr_contains("the installed build is older than `src/lib.rs`");
    assert!(!stale.stderr.contains("Checking"), "{stale:?}");
    assert_run("stale", &stale, &project);

    // `--allow-stale` accepts the old build for the names, never for the stubs: they are still
    // not checked, and that still fails.
    let allowed = project
        .cargo_pyo3()
        .args(["verify", "--stubs", "--allow-stale"])
        .run();
    allowed.assert_code(1);
    allowed
        .assert_stderr_contains("the stubs were not checked")
        .assert_stderr_contains("(allowed by `--allow-stale`)")
        .assert_stderr_contains("never for the stubs");
    assert!(!allowed.stderr.contains("Checking"), "{allowed:?}");
    assert_run("stale_allowed", &allowed, &project);
    let json = project
        .cargo_pyo3()
        .args(["verify", "--stubs", "--allow-stale", "--json"])
        .run();
    json.assert_code(1);
    let report = json.json();
    assert_eq!(report["freshness"]["status"], "stale");
    assert_eq!(report["stubs"]["problem"]["reason"], "not-proven");
    assert!(
        report["stubs"]["problem"]["message"]
            .as_str()
            .unwrap()
            .contains("the installed build is older than `src/lib.rs`"),
        "{report:#}"
    );
    assert_eq!(report["stubs"]["checker"], serde_json::Value::Null);
    // Without `--stubs`, the same flag makes the stale build a pass.
    project
        .cargo_pyo3()
        .args(["verify", "--allow-stale"])
        .run()
        .assert_code(0);

    project.cargo_pyo3().arg("dev").run().assert_code(0);
    let run = verify_stubs(&project);
    run.assert_code(1);
    run.assert_stderr_contains(
        "stub     def (a: int, b: int) -> str  [python/stubs_args/stubs_args.pyi:1]",
    )
    .assert_stderr_contains("runtime  def (a, b, c)");
    assert_run("argument_added", &run, &project);
}

#[test]
fn no_stubs_says_where_it_looked() {
    let project = TestProject::maturin_new("stubs_none", true);
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    let run = verify_stubs(&project);
    run.assert_code(1);
    run.assert_stderr_contains("looked for `.pyi` files in `python/stubs_none`")
        .assert_stderr_contains("hint: ");
    assert_run("no_stubs", &run, &project);
    let json = project
        .cargo_pyo3()
        .args(["verify", "--stubs", "--json"])
        .run();
    json.assert_code(1);
    let report = json.json();
    assert_eq!(
        report["stubs"]["problem"],
        serde_json::json!({ "reason": "no-stubs" })
    );
    assert_eq!(report["stubs"]["files"], serde_json::json!([]));
    assert_eq!(
        report["stubs"]["searched"],
        serde_json::json!(["python/stubs_none"])
    );
    assert_eq!(report["stubs"]["checker"], serde_json::Value::Null);
    // Without `--stubs`, stubs are not looked for and their absence is no failure.
    project.cargo_pyo3().arg("verify").run().assert_code(0);
}

#[test]
fn mypy_is_provisioned_once_outside_the_venv_which_stays_byte_identical() {
    let project = stubbed_project("stubs_tools");
    // A target dir of its own, so that this test sees the first install whatever ran before.
    let target = project.root.join("own-target");
    let own = |args: &[&str]| {
        project
            .cargo_pyo3()
            .args(args)
            .arg("--target-dir")
            .arg(&target)
            .run()
    };
    own(&["dev"]).assert_code(0);
    let venv = project.root.join(".venv");
    let before = common::snapshot_tree(&venv);
    assert!(
        !before.keys().any(|path| path.contains("mypy")),
        "the project's venv has mypy already"
    );

    let first = own(&["verify", "--stubs"]);
    first.assert_code(0);
    first.assert_stderr_contains("Installing `mypy==");
    let tools = std::fs::read_dir(target.join("cargo-pyo3/tools"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(tools.len(), 1, "{tools:?}");
    assert!(tools[0].starts_with("mypy-venv-"), "{tools:?}");

    let second = own(&["verify", "--stubs"]);
    second.assert_code(0);
    assert!(!second.stderr.contains("Installing"), "{second:?}");
    assert_eq!(common::snapshot_tree(&venv), before);
}

#[test]
fn mypy_in_the_venv_is_used_and_nothing_is_installed() {
    let project = stubbed_project("stubs_venv_mypy");
    common::TestCommand::new(common::tools().all.join("uv"), &project.root)
        .args(["pip", "install", "--python"])
        .arg(project.venv_python())
        .arg("mypy==2.4.1")
        .run()
        .assert_code(0);
    let run = project
        .cargo_pyo3()
        .args(["verify", "--stubs", "--json"])
        .run();
    run.assert_code(0);
    assert!(!run.stderr.contains("Installing"), "{run:?}");
    let checker = &run.json()["stubs"]["checker"];
    assert_eq!(checker["in_project"], true, "{run:?}");
    let python = checker["python"].as_str().unwrap();
    assert!(
        python.starts_with(&project.root.join(".venv").display().to_string()),
        "{run:?}"
    );
}

/// pyo3-stub-gen's layout: one `__init__.pyi` for the package that re-exports the extension, with
/// type aliases that only type checkers see. Neither the extension's own missing stub nor the
/// alias is a mismatch; a name the stub lacks still is.
#[test]
fn a_package_stub_with_a_type_alias_passes_and_still_catches_a_missing_name() {
    let project = TestProject::maturin_new("stubs_package", true);
    let stub = "python/stubs_package/__init__.pyi";
    project.write(
        stub,
        "import typing\n\n__all__ = [\"sum_as_string\"]\n\nCount: typing.TypeAlias = int\n\n\
         def sum_as_string(a: Count, b: Count) -> str: ...\n",
    );
    project.write("python/stubs_package/py.typed", "");
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    let run = verify_stubs(&project);
    run.assert_code(0);
    assert_run("package_stub", &run, &project);

    project.write(stub, "__all__: list[str]\n");
    let run = verify_stubs(&project);
    run.assert_code(1);
    run.assert_stderr_contains("stubs_package.sum_as_string  is not present in stub")
        .assert_stderr_contains("Rust     src/lib.rs:10");
}

/// A pure Rust project keeps its stub at the root as `<module>.pyi`, which maturin installs as the
/// package's `__init__.pyi`.
#[test]
fn a_pure_rust_project_has_its_stub_at_the_root() {
    let project = TestProject::maturin_new("stubs_pure", false);
    project.write("stubs_pure.pyi", MATCHING_STUB);
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    let run = verify_stubs(&project);
    run.assert_code(0);
    assert_run("pure_rust", &run, &project);

    project.write("stubs_pure.pyi", "def sum_as_string(a: int) -> str: ...\n");
    let run = verify_stubs(&project);
    run.assert_code(1);
    run.assert_stderr_contains("stub     def (a: int) -> str  [stubs_pure.pyi:1]")
        .assert_stderr_contains("runtime  def (a, b)");
}

/// PyO3's slot dunders take CPython's parameters (`($self, value, /)`) and bring their slot
/// siblings (`__radd__`): not mismatches. A `/` the Rust asks for and the stub lacks is one.
#[test]
fn slot_dunders_are_not_mismatches_but_a_positional_only_argument_is() {
    let project = TestProject::maturin_new("stubs_dunders", true);
    project.edit(
        "src/lib.rs",
        "    /// Formats the sum",
        "    #[pyclass]\n    struct Money {\n        cents: i64,\n    }\n\n    \
         #[pymethods]\n    impl Money {\n        #[new]\n        fn new(cents: i64) -> Self {\n            \
         Money { cents }\n        }\n        fn __add__(&self, other: i64) -> Money {\n            \
         Money { cents: self.cents + other }\n        }\n        fn __eq__(&self, other: &Self) -> bool {\n            \
         self.cents == other.cents\n        }\n        fn __getitem__(&self, index: usize) -> i64 {\n            \
         self.cents + index as i64\n        }\n    }\n\n    #[pyfunction]\n    #[pyo3(signature = (x, /))]\n    \
         fn positional(x: i64) -> i64 {\n        x\n    }\n\n    /// Formats the sum",
    );
    let stub = "python/stubs_dunders/stubs_dunders.pyi";
    project.write(
        stub,
        &format!(
            "from typing import final\n\n{MATCHING_STUB}\n@final\nclass Money:\n    \
             def __new__(cls, cents: int) -> Money: ...\n    def __add__(self, other: int) -> Money: ...\n    \
             def __eq__(self, other: object) -> bool: ...\n    def __getitem__(self, index: int) -> int: ...\n\n\
             def positional(x: int) -> int: ...\n"
        ),
    );
    project.write("python/stubs_dunders/py.typed", "");
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    let run = verify_stubs(&project);
    run.assert_code(1);
    assert_run("dunders", &run, &project);
    assert_eq!(
        run.stderr
            .lines()
            .filter(|line| line.starts_with("    stub  "))
            .count(),
        1,
        "only `positional` differs: {run:?}"
    );
    run.assert_stderr_contains("stubs_dunders.stubs_dunders.positional  is inconsistent");

    project.edit(stub, "def positional(x: int)", "def positional(x: int, /)");
    verify_stubs(&project).assert_code(0);
}

#[test]
fn verify_help_explains_stubs() {
    let run = common::cargo_pyo3(&std::env::temp_dir())
        .args(["verify", "--help"])
        .run();
    run.assert_code(0);
    insta::assert_snapshot!("verify_help", run.stdout);
}

/// A pure Rust project whose stub is written the way PyO3's guide and maintainers write one:
/// `__init__` for a `#[new]`, the real defaults, named `__exit__` arguments, no `@final`.
const HAND_WRITTEN_RUST: &str = r#"use pyo3::prelude::*;

#[pymodule]
mod handstub {
    use pyo3::prelude::*;
    use pyo3::types::PyTuple;

    /// A point on the plane.
    #[pyclass]
    struct Point {
        #[pyo3(get)]
        x: f64,
        #[pyo3(get)]
        y: f64,
    }

    #[pymethods]
    impl Point {
        #[new]
        #[pyo3(signature = (x, y = 0.0))]
        fn new(x: f64, y: f64) -> Self {
            Point { x, y }
        }

        fn scaled(&self, factor: f64) -> Point {
            Point { x: self.x * factor, y: self.y * factor }
        }
    }

    /// Open while inside a `with` block.
    #[pyclass]
    struct Session {
        #[pyo3(get)]
        open: bool,
    }

    #[pymethods]
    impl Session {
        #[new]
        fn new() -> Self {
            Session { open: false }
        }

        fn __enter__(mut slf: PyRefMut<'_, Self>) -> PyRefMut<'_, Self> {
            slf.open = true;
            slf
        }

        #[pyo3(signature = (*_args))]
        fn __exit__(&mut self, _args: &Bound<'_, PyTuple>) -> bool {
            self.open = false;
            false
        }
    }

    /// Splits `text` at every `sep`.
    #[pyfunction]
    #[pyo3(signature = (text, sep = String::from(",")))]
    fn split(text: &str, sep: String) -> Vec<String> {
        text.split(sep.as_str()).map(str::to_owned).collect()
    }
}
"#;

const HAND_WRITTEN_STUB: &str = r#"from types import TracebackType

class Point:
    """A point on the plane."""

    def __init__(self, x: float, y: float = 0.0) -> None: ...
    @property
    def x(self) -> float: ...
    @property
    def y(self) -> float: ...
    def scaled(self, factor: float) -> Point: ...

class Session:
    """Open while inside a `with` block."""

    def __init__(self) -> None: ...
    @property
    def open(self) -> bool: ...
    def __enter__(self) -> Session: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool: ...

def split(text: str, sep: str = ",") -> list[str]: ...
"#;

#[test]
fn a_correct_hand_written_stub_has_no_drift_and_a_rust_edit_is_the_only_mismatch() {
    let project = TestProject::maturin_new("handstub", false);
    project.write("src/lib.rs", HAND_WRITTEN_RUST);
    project.write("handstub.pyi", HAND_WRITTEN_STUB);
    project.cargo_pyo3().arg("dev").run().assert_code(0);

    let json = project
        .cargo_pyo3()
        .args(["verify", "--stubs", "--json"])
        .run();
    json.assert_code(0);
    let stubs = &json.json()["stubs"];
    assert_eq!(stubs["mismatches"], serde_json::json!([]), "{stubs:#}");
    let kinds: std::collections::BTreeSet<&str> = stubs["artefacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|artefact| artefact["artefact"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        // `__exit__` taking `*args` against named parameters: stubtest (mypy 2.4.1) finds
        // nothing to report there (measured), so no `varargs-dunder` here.
        ["ellipsis-default", "final", "new-as-init"].into(),
        "{stubs:#}"
    );
    let run = verify_stubs(&project);
    run.assert_code(0);
    assert_run("hand_written_artefacts", &run, &project);

    project
        .cargo_pyo3()
        .args(["verify", "--stubs", "--strict"])
        .run()
        .assert_code(1);

    // Real drift: a function added in Rust and not to the stub.
    project.edit(
        "src/lib.rs",
        "    /// Splits `text` at every `sep`.",
        "    #[pyfunction]\n    fn join(parts: Vec<String>) -> String {\n        parts.concat()\n    }\n\n    /// Splits `text` at every `sep`.",
    );
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    let json = project
        .cargo_pyo3()
        .args(["verify", "--stubs", "--json"])
        .run();
    json.assert_code(1);
    let mismatches = json.json()["stubs"]["mismatches"].clone();
    assert_eq!(mismatches.as_array().unwrap().len(), 1, "{mismatches:#}");
    assert_eq!(mismatches[0]["name"], "handstub.join");
    assert_eq!(mismatches[0]["kind"], "not-in-stub");
    let line = line_of(&project, "src/lib.rs", "fn join(");
    assert_eq!(mismatches[0]["rust"], format!("src/lib.rs:{line}"));

    // The project's own allowlist, as stubtest reads it, is honoured and named.
    project.write(".stubtest-allowlist", "# not stubbed yet\nhandstub.join\n");
    let run = verify_stubs(&project);
    run.assert_code(0)
        .assert_stderr_contains("Allowlist `.stubtest-allowlist`, the project's own");
}
