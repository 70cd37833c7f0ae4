//! `cargo pyo3 verify` end to end: real cargo, maturin and python on copies of the
//! `verify_demo` fixture (every registration form the scanner follows) and of `mixed`.
//!
//! Tests that only read an install share one `dev` of the fixture; tests that edit sources get
//! their own copy.

use crate::assert_filtered_snapshot;
use crate::common;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::{Run, TestProject, snapshot};

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

/// The whole run (exit code, stdout, stderr), filtered, as the snapshot `name`.
#[track_caller]
fn assert_run(name: &str, run: &Run, root: &Path) {
    assert_filtered_snapshot!(name, snapshot::render(run, root));
}

/// `verify --json`'s stdout alone, filtered, as the snapshot `name` (stderr is in another).
#[track_caller]
fn assert_json(name: &str, run: &Run, root: &Path) {
    run.json(); // one JSON document, or a failure that shows the run
    assert_filtered_snapshot!(name, snapshot::redact(&run.stdout, root));
}

#[test]
fn no_names_checks_every_exported_name_and_the_internal_iterator_is_not_a_failure() {
    let root = shared();
    // The internal iterator is listed only with `--all`; the unregistered class is a warning.
    assert_run("no_names", &verify(root, &[]), root);
    assert_run("no_names_all", &verify(root, &["--all"]), root);
    assert_json("no_names_json", &verify(root, &["--json"]), root);
}

#[test]
fn named_exports_are_found_with_their_kinds() {
    let root = shared();
    let run = verify(
        root,
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
    assert_run("named_exports", &run, root);
}

#[test]
fn an_unregistered_class_gets_the_exact_add_class_line() {
    let root = shared();
    assert_run("unregistered_class", &verify(root, &["Stopwatch"]), root);
    assert_json(
        "unregistered_class_json",
        &verify(root, &["--json", "Stopwatch"]),
        root,
    );
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
    assert_run("typos", &run, root);
}

#[test]
fn hostile_names_are_refused_before_python_runs() {
    let root = shared();
    let sentinel = root.join("injected");
    let touch = format!("os.system('touch {}')", sentinel.display());
    assert_run(
        "hostile_names",
        &verify(root, &[touch.as_str(), "a;b", ""]),
        root,
    );
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
                .assert_stderr_contains("error: not a dotted Python name: ");
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
    let run = project.cargo_pyo3().args(["verify", "Counter"]).run();
    assert_run("no_venv", &run, &project.root);
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
    let root = &project.root;
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    project.cargo_pyo3().arg("verify").run().assert_code(0);

    project.edit(
        "src/counter.rs",
        "    #[getter]\n    fn get_value",
        DECREMENT,
    );
    assert_run("stale_miss", &verify(root, &["Counter.decrement"]), root);
    // Every name found, and still a failure: the install is not what the sources say.
    assert_run("stale_found", &verify(root, &["Counter"]), root);
    assert_run(
        "stale_allowed",
        &verify(root, &["--allow-stale", "Counter"]),
        root,
    );
    let run = verify(root, &["--json", "--allow-stale", "Stopwatch"]);
    assert_json("stale_json", &run, root);

    // The fix `verify` printed is real code: paste it, rebuild, and both names are there.
    let report = run.json();
    let fix = report["names"][0]["fix"].as_str().unwrap().to_owned();
    let anchor = "    m.add_class::<counter::CounterPy>()?;\n";
    project.edit("src/lib.rs", anchor, &format!("{anchor}    {fix}\n"));
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    let fresh = verify(root, &["Counter.decrement", "Stopwatch", "Stopwatch.lap"]);
    assert_run("fixed", &fresh, root);
}

#[test]
fn mixed_layout_verifies_the_extension_module() {
    let project = TestProject::from_fixture("mixed");
    let root = &project.root;
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    assert_run("mixed", &verify(root, &[]), root);
    assert_json("mixed_json", &verify(root, &["--json"]), root);
    assert_run("mixed_typo", &verify(root, &["doubel"]), root);
}

/// The receipt is a public, versioned schema (`docs/receipt.md`): a real one from the shared
/// `dev`, so that any change to its fields shows in review.
#[test]
fn the_receipt_schema() {
    let root = shared();
    let project = TestProject::from_existing(root.to_path_buf());
    // The file as `dev` wrote it (a parsed `Value` would sort its keys).
    let text = std::fs::read_to_string(project.receipt_path(FIXTURE)).unwrap();
    // The build key's toolchain and environment are the machine's and the test harness's (cargo
    // gives the tests `CARGO_PKG_*`): their shape is in the snapshot, not their content.
    let mut key: serde_json::Value =
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["build_key"].clone();
    assert!(
        key["rustc"].as_str().unwrap().contains("\nrelease: "),
        "{key:#}"
    );
    assert!(key["env"]["CARGO_TARGET_DIR"].is_string(), "{key:#}");
    key["rustc"] = "[RUSTC -vV]".into();
    // Under `cargo test` rustup has chosen the toolchain, whose own binaries answered.
    for (binary, name) in key["answered_by"]
        .as_array_mut()
        .expect("the toolchain's binaries are recorded")
        .iter_mut()
        .zip(["rustc", "cargo"])
    {
        let path = std::path::PathBuf::from(binary["path"].as_str().unwrap());
        assert!(path.ends_with(format!("bin/{name}")), "{binary:#}");
        binary["path"] = format!("[TOOLCHAIN]/bin/{name}").into();
    }
    key["env"] = serde_json::json!({ "CARGO_TARGET_DIR": "[SHA256]", "…": "[SHA256]" });
    let text = with_build_key(&text, &key);
    assert_filtered_snapshot!("receipt", snapshot::redact(&text, root));
}

/// `text` (the receipt as written) with its `build_key` object replaced by `key`, formatted as
/// serde_json's pretty printer writes it at that depth, the rest byte for byte.
fn with_build_key(text: &str, key: &serde_json::Value) -> String {
    let start = text
        .find("  \"build_key\": {")
        .expect("the receipt has a build key");
    let end = start + text[start..].find("\n  },\n").expect("the build key ends") + "\n  }".len();
    let pretty = serde_json::to_string_pretty(key)
        .unwrap()
        .replace('\n', "\n  ");
    format!(
        "{}  \"build_key\": {pretty}{}",
        &text[..start],
        &text[end..]
    )
}
