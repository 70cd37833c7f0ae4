//! A generated project works untouched: `dev` proves it, `verify` finds its exports, its own
//! tests pass under `cargo pyo3 test` as its README says, the uv guard is satisfied with `uv.lock`
//! present, and `doctor` finds nothing wrong.

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

    // What the generated README tells users to run: pytest came with the `dev` group that `dev`
    // installs, and the suite is proven to have loaded the build.
    let test = project.cargo_pyo3().arg("test").run();
    test.assert_code(0)
        .assert_stderr_contains(&format!("Tested `{expected_module}` (sha256 "))
        .assert_stderr_contains("passed, proven in the test process");
    assert!(test.stdout.contains("passed"), "{test:?}");

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
