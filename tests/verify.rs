//! `cargo pyo3 verify` end to end: real cargo, maturin and python on copies of the
//! `verify_demo` fixture (every registration form the scanner follows) and of `mixed`.
//!
//! Tests that only read an install share one `dev` of the fixture; tests that edit sources get
//! their own copy.

#![expect(
    clippy::disallowed_methods,
    reason = "tests drive the real tools with std::process::Command and build scenes with std::fs; \
              clippy.toml's boundaries are for the tool's own code"
)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{Run, TestProject};
use serde_json::Value;

const FIXTURE: &str = "verify_demo";

/// The shared, proven install. It lives under `target/tmp/verify-shared/<pid>` rather than in a
/// temporary directory because a static is never dropped: copies left by earlier runs are removed
/// here instead.
fn shared() -> &'static Path {
    static SHARED: OnceLock<PathBuf> = OnceLock::new();
    SHARED.get_or_init(|| {
        let parent = common::scratch().join("verify-shared");
        remove_leftovers(&parent);
        let root = parent.join(std::process::id().to_string()).join(FIXTURE);
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(FIXTURE);
        common::copy_dir(&source, &root);
        common::cargo_pyo3(&root).arg("dev").run().assert_code(0);
        root
    })
}

/// Removes the copies of test processes that are gone.
fn remove_leftovers(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let alive = Path::new("/proc").join(&name).exists();
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn verify(root: &Path, names: &[&str]) -> Run {
    common::cargo_pyo3(root).arg("verify").args(names).run()
}

/// The 1-based line of the first line of `file` containing `needle`, so that expected messages
/// follow the fixture when it changes.
fn line_of(root: &Path, file: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(root.join(file)).unwrap();
    text.lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in {file}"))
        + 1
}

fn name_entry<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["names"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` in {report:#}"))
}

#[test]
fn no_names_checks_every_exported_name_and_the_internal_iterator_is_not_a_failure() {
    let root = shared();
    let run = common::cargo_pyo3(root).args(["verify", "--json"]).run();
    run.assert_code(0)
        .assert_stderr_contains("Verified 22 names in `verify_demo`: all found");
    let report = run.json();
    assert_eq!(report["missing"], 0, "{run:?}");
    assert_eq!(report["freshness"]["status"], "fresh", "{run:?}");
    let mut names: Vec<&str> = report["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            assert_eq!(entry["status"], "found", "{entry:#}");
            entry["name"].as_str().unwrap()
        })
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "Counter",
            "Counter.incr",
            "Counter.is_zero",
            "Counter.step",
            "Counter.value",
            "Point",
            "Point.norm",
            "Point.origin",
            "Point.x",
            "Point.y",
            "distance",
            "text",
            "text.Words",
            "text.Words.count",
            "text.shout",
            "units",
            "units.FEET_PER_METER",
            "units.Length",
            "units.Length.feet",
            "units.Length.meters",
            "units.meters_to_feet",
            "version",
        ]
    );
    assert_eq!(name_entry(&report, "Counter.incr")["kind"], "method");
    assert_eq!(name_entry(&report, "Counter.value")["kind"], "attribute");
    assert_eq!(name_entry(&report, "text")["kind"], "module");
    assert_eq!(name_entry(&report, "units.Length")["kind"], "class");
    assert_eq!(name_entry(&report, "version")["kind"], "function");

    // The iterator is information, not a failure; the unregistered class is a warning.
    let internal = report["internal"].as_array().unwrap();
    assert_eq!(internal.len(), 1, "{report:#}");
    assert_eq!(internal[0]["name"], "CounterIter");
    assert_eq!(internal[0]["returned_from"], "Counter.__iter__");
    let unregistered = report["unregistered"].as_array().unwrap();
    assert_eq!(unregistered.len(), 1, "{report:#}");
    assert_eq!(unregistered[0]["name"], "Stopwatch");
    run.assert_stderr_contains("warning: `Stopwatch` is defined in src/counter.rs:");
    assert!(
        !run.stderr.contains("CounterIter"),
        "internal classes are listed only with --all\n{run:?}"
    );

    verify(root, &["--all"])
        .assert_code(0)
        .assert_stderr_contains(
            "info  class      CounterIter is internal: not registered, returned from `Counter.__iter__`",
        );
}

#[test]
fn named_exports_are_found_with_their_kinds() {
    let run = verify(
        shared(),
        &[
            "Counter",
            "Counter.incr",
            "Counter.value",
            "Counter.is_zero",
            "Point.origin",
            "distance",
            "text",
            "text.Words.count",
            "units.Length.feet",
            "units.FEET_PER_METER",
            "version",
        ],
    );
    run.assert_code(0)
        .assert_stderr_contains("   found  class      Counter\n")
        .assert_stderr_contains("   found  method     Counter.incr\n")
        .assert_stderr_contains("   found  attribute  Counter.value\n")
        .assert_stderr_contains("   found  method     Point.origin\n")
        .assert_stderr_contains("   found  module     text\n")
        .assert_stderr_contains("   found  function   version\n")
        .assert_stderr_contains("Verified 11 names in `verify_demo`: all found");
    assert!(run.stdout.is_empty(), "stdout is for --json only\n{run:?}");
}

#[test]
fn an_unregistered_class_gets_the_exact_add_class_line() {
    let root = shared();
    let run = verify(root, &["Stopwatch"]);
    let class_line = line_of(root, "src/counter.rs", "pub struct Stopwatch");
    let module_line = line_of(root, "src/lib.rs", "fn verify_demo(");
    run.assert_code(1)
        .assert_stderr_contains(" missing  class      Stopwatch\n")
        .assert_stderr_contains(&format!(
            "`Stopwatch` is defined in src/counter.rs:{class_line} as struct `Stopwatch` (`#[pyclass]`) but never \
             registered: add `m.add_class::<counter::Stopwatch>()?;` to `fn verify_demo` in src/lib.rs:{module_line}"
        ))
        .assert_stderr_contains("error: 1 of 1 name missing from `verify_demo`");

    let report = common::cargo_pyo3(root)
        .args(["verify", "--json", "Stopwatch"])
        .run()
        .json();
    let entry = name_entry(&report, "Stopwatch");
    assert_eq!(entry["status"], "missing");
    assert_eq!(entry["kind"], "class");
    assert_eq!(entry["reason"], "not-registered");
    assert_eq!(entry["location"], format!("src/counter.rs:{class_line}"));
    assert_eq!(entry["fix"], "m.add_class::<counter::Stopwatch>()?;");
}

#[test]
fn typos_and_rust_names_get_suggestions() {
    let root = shared();
    let run = verify(
        root,
        &[
            "Countr",
            "text.Wrods",
            "Counter.increment",
            "CounterPy",
            "Counter.incr",
        ],
    );
    run.assert_code(1)
        .assert_stderr_contains("no `#[pyclass]`/`#[pyfunction]` named `Countr` — did you mean `Counter`?")
        .assert_stderr_contains("no `#[pyclass]`/`#[pyfunction]` named `Wrods` in `text` — did you mean `Words`?")
        .assert_stderr_contains(&format!(
            "`Counter.increment` is exposed as `Counter.incr` (`#[pyo3(name = \"incr\")]` at src/counter.rs:{})",
            line_of(root, "src/counter.rs", "fn increment(")
        ))
        .assert_stderr_contains("`CounterPy` is the Rust name; Python sees it as `Counter`")
        .assert_stderr_contains("   found  method     Counter.incr\n")
        .assert_stderr_contains("error: 4 of 5 names missing from `verify_demo`");
}

#[test]
fn hostile_names_are_refused_before_python_runs() {
    let root = shared();
    let sentinel = root.join("injected");
    let touch = format!("os.system('touch {}')", sentinel.display());
    let hostile = [
        touch.clone(),
        "a;b".to_owned(),
        format!("__import__('os').system('touch {}')", sentinel.display()),
        String::new(),
        "Counter; import os".to_owned(),
        "Counter\nimport os".to_owned(),
        "Counter()".to_owned(),
        "text..Words".to_owned(),
    ];
    for name in &hostile {
        for args in [
            vec!["verify", name.as_str()],
            vec!["verify", "--json", "Counter", name.as_str()],
        ] {
            let run = common::cargo_pyo3(root).args(&args).run();
            run.assert_code(2)
                .assert_stderr_contains("error: not a dotted Python name: ")
                .assert_stderr_contains("hint: names look like `Class`, `Class.method`");
            assert!(
                !run.stderr.contains("Verifying"),
                "nothing may run before the names are validated\n{run:?}"
            );
            assert!(run.stdout.is_empty(), "{run:?}");
        }
    }
    assert!(
        !sentinel.exists(),
        "an injected name created {}",
        sentinel.display()
    );
}

#[test]
fn no_venv_is_an_error_with_a_hint() {
    let project = TestProject::from_fixture(FIXTURE);
    project
        .cargo_pyo3()
        .args(["verify", "Counter"])
        .run()
        .assert_code(2)
        .assert_stderr_contains("no virtual environment for")
        .assert_stderr_contains("hint: run `cargo pyo3 dev` first");
}

const DECREMENT: &str = "    /// Added after the last build.
    fn decrement(&mut self) -> i64 {
        self.value -= self.step;
        self.value
    }

    #[getter]
    fn get_value";

#[test]
fn an_edit_without_rebuild_is_stale_until_dev_and_the_printed_fix_work() {
    let project = TestProject::from_fixture(FIXTURE);
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    project.cargo_pyo3().arg("verify").run().assert_code(0);

    project.edit(
        "src/counter.rs",
        "    #[getter]\n    fn get_value",
        DECREMENT,
    );
    let method_line = line_of(&project.root, "src/counter.rs", "fn decrement(");
    project
        .cargo_pyo3()
        .args(["verify", "Counter.decrement"])
        .run()
        .assert_code(1)
        .assert_stderr_contains(" missing  method     Counter.decrement\n")
        .assert_stderr_contains(&format!(
            "found in source (src/counter.rs:{method_line}) but the installed build is older than src/counter.rs: \
             run `cargo pyo3 dev`"
        ))
        .assert_stderr_contains("error: the installed build is older than `src/counter.rs`");

    // Every name found, and still a failure: the install is not what the sources say.
    let found_but_stale = project.cargo_pyo3().args(["verify", "Counter"]).run();
    found_but_stale
        .assert_code(1)
        .assert_stderr_contains("Verified 1 name in `verify_demo`: all found")
        .assert_stderr_contains("hint: run `cargo pyo3 dev` to rebuild and reinstall");
    let allowed = project
        .cargo_pyo3()
        .args(["verify", "--allow-stale", "Counter"])
        .run();
    allowed
        .assert_code(0)
        .assert_stderr_contains("(allowed by `--allow-stale`)");
    let report = project
        .cargo_pyo3()
        .args(["verify", "--json", "--allow-stale", "Stopwatch"])
        .run()
        .json();
    assert_eq!(report["freshness"]["status"], "stale");
    assert_eq!(report["freshness"]["newer_sources"][0], "src/counter.rs");

    // The fix `verify` printed is real code: paste it, rebuild, and both names are there.
    let fix = name_entry(&report, "Stopwatch")["fix"]
        .as_str()
        .unwrap()
        .to_owned();
    let anchor = "    m.add_class::<counter::CounterPy>()?;\n";
    project.edit("src/lib.rs", anchor, &format!("{anchor}    {fix}\n"));
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    let fresh = project
        .cargo_pyo3()
        .args(["verify", "Counter.decrement", "Stopwatch", "Stopwatch.lap"])
        .run();
    fresh
        .assert_code(0)
        .assert_stderr_contains("Verified 3 names in `verify_demo`: all found");
    assert!(!fresh.stderr.contains("older than"), "{fresh:?}");
}

#[test]
fn mixed_layout_verifies_the_extension_module() {
    let project = TestProject::from_fixture("mixed");
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    let run = project.cargo_pyo3().args(["verify", "--json"]).run();
    run.assert_code(0)
        .assert_stderr_contains("Verified 1 name in `mixedfix._core`: all found");
    let report = run.json();
    assert_eq!(report["extension"], "mixedfix._core");
    assert_eq!(name_entry(&report, "double")["kind"], "function");
    project
        .cargo_pyo3()
        .args(["verify", "doubel"])
        .run()
        .assert_code(1)
        .assert_stderr_contains("did you mean `double`?");
}
