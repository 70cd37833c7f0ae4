//! `cargo pyo3 doctor` against real installs: healthy, shadowed, mismatched, duplicated, stale,
//! and a damaged receipt (which `verify` must report in the same words).

use crate::assert_filtered_snapshot;
use crate::common;
use std::path::Path;

use crate::common::{Run, TestProject, snapshot};

/// The tools' own paths differ from machine to machine (PATH or the harness's pinned copies).
/// Paths already redacted (`[PROJECT]/…`) stay; `elapsed_ms` is how long uv took.
const TOOL_PATHS: &[(&str, &str)] = &[
    (r#""path": "[^"\[][^"]*""#, r#""path": "[TOOL PATH]""#),
    (r#""elapsed_ms": \d+"#, r#""elapsed_ms": "[NUMBER]""#),
];

#[track_caller]
fn assert_run(name: &str, run: &Run, root: &Path) {
    assert_filtered_snapshot!(name, snapshot::render(run, root));
}

fn doctor(project: &TestProject, args: &[&str]) -> Run {
    project.cargo_pyo3().arg("doctor").args(args).run()
}

/// One proven install, then one fault at a time, each found and then undone.
#[test]
fn healthy_then_stale_then_duplicated_then_renamed() {
    let project = TestProject::from_fixture("pure");
    let root = &project.root;
    project.cargo_pyo3().arg("dev").run().assert_code(0);

    // Healthy: every check ok, and the JSON says why, field by field.
    assert_run("healthy", &doctor(&project, &[]), root);
    let run = doctor(&project, &["--json"]);
    run.assert_code(0).json();
    assert_filtered_snapshot!(
        "healthy_json",
        snapshot::redact(&run.stdout, root),
        TOOL_PATHS
    );

    // A Rust source touched after `dev`: the install is stale.
    std::thread::sleep(std::time::Duration::from_millis(20));
    project.edit("src/lib.rs", "42", "43");
    assert_run("stale", &doctor(&project, &[]), root);
    project.edit("src/lib.rs", "43", "42");

    // A second dist-info for the same distribution: which one does pip believe?
    let site = project.path(".venv/lib/python3.11/site-packages");
    let planted = site.join("purefix-0.0.9.dist-info");
    std::fs::create_dir(&planted).unwrap();
    std::fs::write(planted.join("METADATA"), "Name: purefix\nVersion: 0.0.9\n").unwrap();
    assert_run("duplicated", &doctor(&project, &[]), root);
    std::fs::remove_dir_all(&planted).unwrap();

    // `[lib] name` renamed: Python would look for `PyInit_renamed` in a build that has `PyInit_purefix`.
    project.edit(
        "Cargo.toml",
        "name = \"purefix\"\ncrate-type",
        "name = \"renamed\"\ncrate-type",
    );
    assert_run("renamed", &doctor(&project, &[]), root);
}

#[test]
fn an_in_tree_copy_left_by_maturin_develop_is_named() {
    let project = TestProject::from_fixture("mixed");
    project
        .cargo_pyo3()
        .args(["dev", "--no-editable"])
        .run()
        .assert_code(0);
    let receipt = project.receipt();
    let installed = receipt["extensions"][0]["loaded_path"].as_str().unwrap();
    // What `maturin develop` leaves in a mixed project (docs/doctor.md, `copies`): the extension
    // copied into the Python source tree. Here it is an older build of the same module.
    let planted = project.path("python/mixedfix/_core.cpython-311-x86_64-linux-gnu.so");
    std::fs::copy(installed, &planted).unwrap();
    std::fs::write(
        &planted,
        [std::fs::read(&planted).unwrap(), b"stale".to_vec()].concat(),
    )
    .unwrap();
    assert_run("in_tree_copy", &doctor(&project, &[]), &project.root);
}

#[test]
fn doctor_changes_nothing() {
    let project = TestProject::from_fixture("pure");
    let before = common::snapshot_tree(&project.root);
    // No venv and no install yet: warnings, not problems, and nothing created.
    assert_run("no_venv", &doctor(&project, &[]), &project.root);
    assert_eq!(common::snapshot_tree(&project.root), before);
}

#[test]
fn unregistered_classes_are_information_not_problems() {
    let project = TestProject::from_fixture("verify_demo");
    assert_run("unregistered", &doctor(&project, &[]), &project.root);
}

/// B6: a damaged `receipt.json` is one verdict, worded the same by `verify` and `doctor`: the
/// file, why it cannot be read, and that `dev` writes a new one. Neither fails because of it:
/// the install may be fine, only its age is unknown (it used to make `verify` exit 2 and
/// `doctor` say there was no receipt).
#[test]
fn a_damaged_receipt_is_named_by_verify_and_doctor_alike() {
    let project = TestProject::from_fixture("pure");
    let root = &project.root;
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    let receipt = project.receipt_path("purefix");
    // Cut short after its third line, as a full disk or a killed copy leaves it.
    let text = std::fs::read_to_string(&receipt).unwrap();
    let cut: Vec<&str> = text.lines().take(3).collect();
    assert_eq!(cut[2], r#"  "tool": "cargo-pyo3","#, "{text}");
    std::fs::write(&receipt, cut.join("\n")).unwrap();

    assert_run(
        "damaged_receipt_verify",
        &project.cargo_pyo3().arg("verify").run(),
        root,
    );
    assert_run("damaged_receipt_doctor", &doctor(&project, &[]), root);
    let run = project.cargo_pyo3().args(["verify", "--json"]).run();
    let verify_json = run.json();
    let run = doctor(&project, &["--json"]);
    let doctor_json = run.json();
    let freshness = common::doctor_check(&doctor_json, "freshness");
    // The same words in both.
    let verify_message = verify_json["freshness"]["message"].as_str().unwrap();
    let doctor_summary = freshness["summary"].as_str().unwrap();
    assert!(
        verify_message.starts_with(doctor_summary),
        "{verify_message}\n{doctor_summary}"
    );
    assert_eq!(verify_json["freshness"]["hint"], freshness["fix"]);

    // `dev` writes a new one, and both are satisfied again.
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    let run = project.cargo_pyo3().args(["verify", "--json"]).run();
    run.assert_code(0);
    assert_eq!(run.json()["freshness"]["status"], "fresh", "{run:?}");
}
