//! Several Pythons, one proof each (issue 24; docs/dev.md, "Several interpreters"): projects made
//! by the pinned `maturin new`, built, installed and proven with three of the machine's local
//! CPythons (3.9, 3.12 and 3.13, each in its own `.venv-3.X`), a test failing on one of them
//! named in the table with exit 1, an interpreter excluded by `requires-python` or the abi3 floor
//! refused before anything is built, and `--watch` re-proving every interpreter on one save.
//! The machine has CPython 3.8 to 3.13 side by side (pyenv); one that is missing fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::assert_filtered_snapshot;
use crate::common::{self, Spawned, TestProject, cycles, wait_until};

/// The three interpreters every scene uses: their per-interpreter target dirs are shared, so
/// pyo3 compiles once for each in the whole suite.
const PYTHONS: &str = "3.9,3.12,3.13";
const MINORS: [&str; 3] = ["3.9", "3.12", "3.13"];

/// The extension file installed into `.venv-<minor>`, found by its name.
fn installed_extension(project: &TestProject, minor: &str, package: &str) -> PathBuf {
    let dir = project.path(&format!(
        ".venv-{minor}/lib/python{minor}/site-packages/{package}"
    ));
    std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|extension| extension == "so"))
        .unwrap_or_else(|| panic!("no extension in {}", dir.display()))
}

/// The table and what follows it, as users read it at the end of a run.
fn table(stderr: &str) -> String {
    let start = stderr
        .find("  python  ")
        .unwrap_or_else(|| panic!("no table in\n{stderr}"));
    stderr[start..].to_owned()
}

fn rows(report: &serde_json::Value) -> &Vec<serde_json::Value> {
    report["pythons"].as_array().expect("a `pythons` array")
}

/// A generated project, three interpreters: each venv proven with its own wheel, one test that
/// fails on 3.12 only is named in the table with exit 1, and the next `run` finds every build
/// unchanged; before that, an interpreter `requires-python` excludes and one that is not on this
/// machine are refused with nothing built; after it, one `--python 3.9` makes `.venv` from it.
#[test]
fn several_pythons_each_proven_and_the_one_failing_named() {
    let project = TestProject::maturin_new("manypy", false);
    project.edit(
        "pyproject.toml",
        "requires-python = \">=3.8\"",
        "requires-python = \">=3.9\"",
    );

    let excluded = project
        .cargo_pyo3()
        .args(["dev", "--python", "3.8,3.12"])
        .run();
    excluded.assert_code(2);
    let missing = project
        .cargo_pyo3()
        .args(["dev", "--python", "3.12,3.99"])
        .run();
    missing.assert_code(2);
    assert_filtered_snapshot!(
        "pythons_refused_before_building",
        format!(
            "{}\n{}",
            common::snapshot::render(&excluded, &project.root),
            common::snapshot::render(&missing, &project.root)
        )
    );
    for venv in [".venv", ".venv-3.8", ".venv-3.12"] {
        assert!(!project.path(venv).exists(), "{venv} was made");
    }

    project.write(
        "tests/test_manypy.py",
        "import sys\n\nimport manypy\n\n\n\
         def test_sum():\n    assert manypy.sum_as_string(1, 2) == \"3\"\n\n\n\
         def test_not_on_3_12():\n    assert sys.version_info[:2] != (3, 12)\n",
    );
    let test = project
        .cargo_pyo3()
        .args(["test", "--python", PYTHONS, "--json"])
        .run();
    test.assert_code(1);
    let report = test.json();
    assert_eq!(report["exit_code"], 1, "{report:#}");
    let rows = rows(&report);
    assert_eq!(rows.len(), 3, "{report:#}");
    let mut receipts = Vec::new();
    for (row, minor) in rows.iter().zip(MINORS) {
        assert!(
            row["python"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{minor}.")),
            "{row:#}"
        );
        assert_eq!(row["proof"], "proven", "{row:#}");
        let tag = minor.replace('.', "");
        assert_eq!(
            row["wheel_tag"],
            format!("cp{tag}-cp{tag}-linux_x86_64"),
            "{row:#}"
        );
        // What the table says loaded is the file in that interpreter's own venv.
        let loaded = installed_extension(&project, minor, "manypy");
        assert_eq!(row["sha256"], common::sha256(&loaded), "{row:#}");
        assert_eq!(
            Path::new(row["venv"].as_str().unwrap()),
            project
                .path(&format!(".venv-{minor}"))
                .canonicalize()
                .unwrap(),
        );
        // Its own receipt, which names its own venv, and the test process loaded that build.
        let receipt: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(row["receipt"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(receipt["python"]["venv"], row["venv"], "{receipt:#}");
        receipts.push(row["receipt"].as_str().unwrap().to_owned());
        assert_eq!(row["report"]["proof"]["holds"], true, "{row:#}");
        let failed = if minor == "3.12" { 1 } else { 0 };
        assert_eq!(row["tests"]["failed"], failed, "{row:#}");
        assert_eq!(row["tests"]["passed"], 2 - failed, "{row:#}");
        assert_eq!(row["exit_code"], failed, "{row:#}");
    }
    receipts.dedup();
    assert_eq!(receipts.len(), 3, "one receipt per venv: {receipts:?}");
    assert!(
        !project.path(".venv").exists(),
        "the single `.venv` is left alone"
    );
    assert_filtered_snapshot!(
        "pythons_test_table",
        common::snapshot::redact(&table(&test.stderr), &project.root),
        &[(r"\b[0-9a-f]{12}\b", "[SHORT-HASH]")]
    );

    // The same interpreters once more, with a command: nothing changed, so each build is proven
    // again without a rebuild, and the command runs in each venv.
    let run = project
        .cargo_pyo3()
        .args(["run", "--python", PYTHONS, "--", "python", "-c"])
        .arg("import sys, manypy; print(sys.version_info[:2], manypy.sum_as_string(2, 3))")
        .run();
    run.assert_code(0);
    for minor in MINORS {
        let (major, minor) = minor.split_once('.').unwrap();
        assert!(
            run.stdout.contains(&format!("({major}, {minor}) 5")),
            "{run:?}"
        );
    }
    assert_eq!(
        table(&run.stderr).matches("proven (unchanged)").count(),
        3,
        "{run:?}"
    );

    // One `--python 3.9` is the single case: `.venv`, made from pyenv's 3.9 even though the
    // `python3.9` shim on PATH does not answer while pyenv has another version selected. Built
    // in the 3.9 target dir, so the suite's shared build for `python3` stays as it is.
    let single = project
        .cargo_pyo3()
        .args(["dev", "--python", "3.9", "--json"])
        .env(
            "CARGO_TARGET_DIR",
            common::fixture_target_dir().join("python-3.9"),
        )
        .run();
    single.assert_code(0);
    let receipt = single.json();
    assert_eq!(
        Path::new(receipt["python"]["venv"].as_str().unwrap()),
        project.path(".venv").canonicalize().unwrap()
    );
    assert!(
        receipt["python"]["version"]
            .as_str()
            .unwrap()
            .starts_with("3.9."),
        "{receipt:#}"
    );
    let reason = receipt["python"]["venv_created_with"]["reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.starts_with("`--python 3.9` (Python 3.9."),
        "{receipt:#}"
    );
}

/// An abi3 project: the interpreter below its floor is refused before building; the three others
/// each install and prove a `cp39-abi3` wheel, byte for byte the same extension (measured: abi3
/// builds against 3.9, 3.12 and 3.13 give one file); one save under `--watch` rebuilds and proves
/// all three again.
#[test]
fn an_abi3_build_proven_on_each_interpreter_and_rewatched_on_save() {
    let project = TestProject::maturin_new("abipy", false);
    let manifest = project.read("Cargo.toml");
    let pyo3 = manifest
        .lines()
        .find(|line| line.starts_with("pyo3 = \""))
        .unwrap_or_else(|| panic!("no pyo3 dependency in\n{manifest}"));
    let version = pyo3.trim_start_matches("pyo3 = ");
    project.edit(
        "Cargo.toml",
        pyo3,
        &format!("pyo3 = {{ version = {version}, features = [\"abi3-py39\"] }}"),
    );

    let below = project
        .cargo_pyo3()
        .args(["dev", "--python", "3.8,3.9"])
        .run();
    below.assert_code(2).assert_stderr_contains(
        "the build is abi3 for Python ≥ 3.9 (`pyo3/abi3-py39`), which Python 3.8 cannot load",
    );
    assert!(!project.path(".venv-3.9").exists(), "{below:?}");

    let dev = project
        .cargo_pyo3()
        .args(["dev", "--python", PYTHONS, "--json"])
        .run();
    dev.assert_code(0);
    let report = dev.json();
    let rows = rows(&report);
    assert_eq!(rows.len(), 3, "{report:#}");
    for (row, minor) in rows.iter().zip(MINORS) {
        assert_eq!(row["proof"], "proven", "{row:#}");
        assert_eq!(row["wheel_tag"], "cp39-abi3-linux_x86_64", "{row:#}");
        let loaded = installed_extension(&project, minor, "abipy");
        assert!(loaded.ends_with("abipy.abi3.so"), "{}", loaded.display());
        assert_eq!(row["sha256"], common::sha256(&loaded), "{row:#}");
        assert_eq!(
            row["sha256"], rows[0]["sha256"],
            "one abi3 extension: {report:#}"
        );
    }

    let _build = common::build_lock();
    let mut watch = project
        .cargo_pyo3()
        .args(["dev", "--watch", "--python", PYTHONS])
        .spawn();
    let cycle = |watch: &mut Spawned, count: usize| -> String {
        wait_until(
            &format!("watch cycle {count}"),
            Duration::from_secs(300),
            || cycles(watch).len() >= count || watch.has_ended(),
        );
        cycles(watch)
            .get(count - 1)
            .cloned()
            .unwrap_or_else(|| panic!("no cycle {count}\n{}", watch.stderr_so_far()))
    };
    let first = cycle(&mut watch, 1);
    assert!(first.contains("proven on Python 3.9."), "{first}");
    watch.wait_for_stderr("Watching", Duration::from_secs(30));
    project.edit(
        "src/lib.rs",
        "(a + b).to_string()",
        "(a + b + 1).to_string()",
    );
    let second = cycle(&mut watch, 2);
    assert!(
        second.contains("`src/lib.rs`: proven on Python 3.9.") && second.contains(", 3.13."),
        "{second}\n{}",
        watch.stderr_so_far()
    );
    // Every venv loads the new build.
    for minor in MINORS {
        let python = project.path(&format!(".venv-{minor}/bin/python"));
        let output = Command::new(python)
            .args(["-I", "-c", "import abipy; print(abipy.sum_as_string(1, 1))"])
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "3",
            "{minor}"
        );
    }
    let signal = Command::new("kill")
        .args(["-INT", &watch.pid().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    watch.wait(Duration::from_secs(10)).assert_code(130);
}
