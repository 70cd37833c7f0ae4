//! `cargo pyo3 doctor` against real installs: healthy, shadowed, mismatched, duplicated, stale.

#![expect(
    clippy::disallowed_methods,
    reason = "tests drive the real tools with std::process::Command and build scenes with std::fs; \
              clippy.toml's boundaries are for the tool's own code"
)]

mod common;

use common::TestProject;
use serde_json::Value;

fn doctor_json(project: &TestProject) -> (common::Run, Value) {
    let run = project.cargo_pyo3().args(["doctor", "--json"]).run();
    let report = run.json();
    (run, report)
}

/// One proven install, then one fault at a time, each found and then undone.
#[test]
fn healthy_then_stale_then_duplicated_then_renamed() {
    let project = TestProject::from_fixture("pure");
    project.cargo_pyo3().arg("dev").run().assert_code(0);

    // Healthy: every check ok, and the JSON says why, field by field.
    let (run, report) = doctor_json(&project);
    run.assert_code(0);
    assert_eq!(report["problems"], 0, "{run:?}");
    assert_eq!(report["warnings"], 0, "{run:?}");
    assert_eq!(report["module"], "purefix");
    for check in report["checks"].as_array().unwrap() {
        assert_eq!(check["verdict"], "ok", "{check:#}");
    }
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|check| check["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "tools",
            "venv",
            "installed",
            "copies",
            "module-name",
            "uv",
            "unregistered",
            "freshness"
        ]
    );
    let tools = &common::doctor_check(&report, "tools")["evidence"];
    assert!(
        tools["maturin"]["version"]
            .as_str()
            .unwrap()
            .starts_with("1."),
        "{tools:#}"
    );
    assert!(tools["cargo"]["path"].is_string(), "{tools:#}");
    let installed = &common::doctor_check(&report, "installed")["evidence"]["distributions"];
    assert_eq!(installed.as_array().unwrap().len(), 1);
    assert_eq!(installed[0]["version"], "0.1.0");
    assert_eq!(installed[0]["installer"], "uv");
    let module_name = &common::doctor_check(&report, "module-name")["evidence"];
    assert_eq!(module_name["expected_init"], "PyInit_purefix");
    assert_eq!(module_name["exported_init"], serde_json::json!(["purefix"]));
    let copies = &common::doctor_check(&report, "copies")["evidence"];
    let neutral_winner = copies[0]["winner"].as_str().unwrap();
    assert!(neutral_winner.contains("/.venv/lib/"), "{copies:#}");

    // A Rust source touched after `dev`: the install is stale.
    std::thread::sleep(std::time::Duration::from_millis(20));
    project.edit("src/lib.rs", "42", "43");
    let (run, report) = doctor_json(&project);
    run.assert_code(0);
    let freshness = common::doctor_check(&report, "freshness");
    assert_eq!(freshness["verdict"], "warning", "{run:?}");
    assert!(
        freshness["summary"]
            .as_str()
            .unwrap()
            .contains("src/lib.rs"),
        "{freshness:#}"
    );
    run.assert_stderr_contains("hint: run `cargo pyo3 dev`");
    project.edit("src/lib.rs", "43", "42");

    // A second dist-info for the same distribution: which one does pip believe?
    let site = project.path(".venv/lib/python3.11/site-packages");
    let planted = site.join("purefix-0.0.9.dist-info");
    std::fs::create_dir(&planted).unwrap();
    std::fs::write(planted.join("METADATA"), "Name: purefix\nVersion: 0.0.9\n").unwrap();
    let (run, report) = doctor_json(&project);
    run.assert_code(1);
    let installed = common::doctor_check(&report, "installed");
    assert_eq!(installed["verdict"], "problem", "{run:?}");
    assert!(
        installed["summary"]
            .as_str()
            .unwrap()
            .contains("purefix-0.0.9.dist-info"),
        "{installed:#}"
    );
    std::fs::remove_dir_all(&planted).unwrap();

    // `[lib] name` renamed: Python would look for `PyInit_renamed` in a build that has `PyInit_purefix`.
    project.edit(
        "Cargo.toml",
        "name = \"purefix\"\ncrate-type",
        "name = \"renamed\"\ncrate-type",
    );
    let (run, report) = doctor_json(&project);
    run.assert_code(1);
    let module_name = common::doctor_check(&report, "module-name");
    assert_eq!(module_name["verdict"], "problem", "{run:?}");
    let summary = module_name["summary"].as_str().unwrap();
    assert!(
        summary.contains("PyInit_renamed") && summary.contains("PyInit_purefix"),
        "{summary}"
    );
    assert!(
        summary.contains("`#[pymodule]` is `purefix` (src/lib.rs:"),
        "names the source: {summary}"
    );
}

#[test]
fn an_in_tree_copy_left_by_maturin_develop_is_named() {
    let project = TestProject::from_fixture("mixed");
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    let receipt = project.receipt();
    let installed = receipt["extensions"][0]["loaded_path"].as_str().unwrap();
    // What `maturin develop` leaves in a mixed project (ground-truth.md §7): the extension
    // copied into the Python source tree. Here it is an older build of the same module.
    let planted = project.path("python/mixedfix/_core.cpython-311-x86_64-linux-gnu.so");
    std::fs::copy(installed, &planted).unwrap();
    std::fs::write(
        &planted,
        [std::fs::read(&planted).unwrap(), b"stale".to_vec()].concat(),
    )
    .unwrap();

    let (run, report) = doctor_json(&project);
    run.assert_code(1);
    let copies = common::doctor_check(&report, "copies");
    assert_eq!(copies["verdict"], "problem", "{run:?}");
    let summary = copies["summary"].as_str().unwrap();
    assert!(
        summary.contains(planted.to_str().unwrap()),
        "names the file: {summary}"
    );
    assert!(summary.contains("python"), "{summary}");
    assert!(
        copies["fix"].as_str().unwrap().starts_with("remove `"),
        "{copies:#}"
    );
}

#[test]
fn doctor_changes_nothing() {
    let project = TestProject::from_fixture("pure");
    let before = common::snapshot_tree(&project.root);
    let run = project.cargo_pyo3().arg("doctor").run();
    // No venv and no install yet: warnings, not problems, and nothing created.
    run.assert_code(0).assert_stderr_contains("no venv");
    assert_eq!(common::snapshot_tree(&project.root), before);
}

#[test]
fn unregistered_classes_are_information_not_problems() {
    let project = TestProject::from_fixture("verify_demo");
    let (run, report) = doctor_json(&project);
    run.assert_code(0);
    let unregistered = common::doctor_check(&report, "unregistered");
    assert_eq!(unregistered["verdict"], "info", "{run:?}");
    assert!(
        unregistered["summary"]
            .as_str()
            .unwrap()
            .contains("`Stopwatch`"),
        "{unregistered:#}"
    );
    run.assert_stderr_contains("add `m.add_class::<counter::Stopwatch>()?;`");
}
