//! A generated project works untouched: `dev` proves it, `verify` finds its exports, its own
//! pytest passes, the uv guard is satisfied with `uv.lock` present, and `doctor` finds nothing
//! wrong.

use crate::common;
use crate::common::{TestCommand, TestProject};

fn generated_project_works(layout: &str) {
    let parent = TestProject::empty("parent");
    let root = parent.path("my-pkg");
    parent
        .cargo_pyo3()
        .args(["new", "my-pkg", "--layout", layout, "--vcs", "none"])
        .run()
        .assert_code(0);
    let project = TestProject::from_existing(root);
    let uv = common::tools().all.join("uv");
    TestCommand::new(&uv, &project.root)
        .arg("lock")
        .run()
        .assert_code(0);

    let dev = project.cargo_pyo3().arg("dev").run();
    dev.assert_code(0).assert_stderr_contains("Proven");
    assert!(
        !dev.stderr.contains("warning"),
        "the uv guard passes silently\n{dev:?}"
    );
    let receipt = project.receipt();
    let expected_module = if layout == "mixed" {
        "my_pkg._core"
    } else {
        "my_pkg"
    };
    assert_eq!(receipt["module"], expected_module);

    let verify = project.cargo_pyo3().arg("verify").run();
    verify.assert_code(0);
    project
        .cargo_pyo3()
        .args(["verify", "Counter", "Counter.increment", "double"])
        .run()
        .assert_code(0);

    TestCommand::new(&uv, &project.root)
        .args(["pip", "install", "--python", ".venv/bin/python", "pytest"])
        .run()
        .assert_code(0);
    let pytest = TestCommand::new(project.venv_python(), &project.root)
        .args(["-m", "pytest", "-q", "tests"])
        .run();
    pytest.assert_code(0);
    assert!(pytest.stdout.contains("passed"), "{pytest:?}");

    let doctor = project.cargo_pyo3().arg("doctor").run();
    doctor.assert_code(0);
}

#[test]
fn generated_pure_project_works() {
    generated_project_works("pure");
}

#[test]
fn generated_mixed_project_works() {
    generated_project_works("mixed");
}
