//! The clean before `dev`'s build and the content digest (issue 13), against real cargo, maturin,
//! python and uv: an edit whose mtime lies in the past is built, `--clean full` is `cargo clean -p`
//! for the build's profile, freshness is judged by content, and an edit during the build is
//! caught.
//!
//! Each test makes its own project with a name no other test uses: the fixture target dir is
//! shared, and `--no-clean` would otherwise be free to pick up another copy's `lib<name>.so`.

use crate::common;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::common::TestProject;
use crate::common::faults::fault_executable;

/// Replaces `from` with `to` in `relative`, then sets the file's mtime an hour back: what `cp -p`,
/// `tar x` or a restore leave, and what cargo's mtime check cannot see.
fn edit_with_old_mtime(project: &TestProject, relative: &str, from: &str, to: &str) {
    project.edit(relative, from, to);
    let file = std::fs::File::options()
        .write(true)
        .open(project.path(relative))
        .unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
}

/// What `sum_as_string(1, 2)` of the module `name` returns in the venv, isolated.
fn sum(project: &TestProject, name: &str) -> String {
    let run = project.python(&format!("import {name}; print({name}.sum_as_string(1, 2))"));
    run.assert_code(0);
    run.stdout.trim().to_owned()
}

/// `cargo pyo3 dev <args>` on the unmodified project: with no `uv.lock` the uv guard only warns
fn dev(project: &TestProject, args: &[&str]) -> common::Run {
    project.cargo_pyo3().arg("dev").args(args).run()
}

/// The `maturin new` template's addition, in its own words.
const SUM: &str = "(a + b).to_string()";

#[test]
fn an_edit_with_an_old_mtime_is_built_by_the_default_clean() {
    let project = TestProject::maturin_new("cleantrap", false);
    dev(&project, &[]).assert_code(0);
    assert_eq!(sum(&project, "cleantrap"), "3");

    edit_with_old_mtime(&project, "src/lib.rs", SUM, "(a + b + 10).to_string()");
    // cargo's mtime check alone (what `--no-clean` used to be) keeps the old build; the flag now
    // means the default, which sees the content changed.
    let run = dev(&project, &["--no-clean", "-v"]);
    run.assert_code(0).assert_stderr_contains("invalidated `");
    assert_eq!(sum(&project, "cleantrap"), "13", "{run:?}");
    let receipt = project.receipt();
    assert_eq!(receipt["inputs"]["clean"], "package", "{receipt:#}");
    let lib = std::fs::canonicalize(project.path("src/lib.rs")).unwrap();
    let recorded = receipt["inputs"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|file| file["path"] == lib.to_str().unwrap())
        .unwrap_or_else(|| panic!("no digest of {lib:?} in {receipt:#}"));
    assert_eq!(recorded["sha256"], common::sha256(&lib));

    // Nothing changed: the proven build is proven again, nothing invalidated or built.
    let run = dev(&project, &["-v"]);
    run.assert_code(0).assert_stderr_contains("Fresh");
    assert!(!run.stderr.contains("invalidated `"), "{run:?}");
    assert_eq!(sum(&project, "cleantrap"), "13");

    // Another build of other content in the same target dir, then the content restored with an
    // old mtime: the digest matches the receipt, but cargo's files do not, so it is invalidated.
    let original = project.read("src/lib.rs");
    project.edit("src/lib.rs", "(a + b + 10)", "(a + b + 20)");
    let out = tempfile::tempdir().unwrap();
    let interpreter = receipt["python"]["build_interpreter"].as_str().unwrap();
    common::TestCommand::new(common::tools().all.join("maturin"), &project.root)
        .args([
            "build",
            "--auditwheel",
            "skip",
            "--interpreter",
            interpreter,
        ])
        .arg("--target-dir")
        .arg(common::fixture_target_dir())
        .arg("--out")
        .arg(out.path())
        .run()
        .assert_code(0);
    project.write("src/lib.rs", &original);
    edit_with_old_mtime(&project, "src/lib.rs", "(a + b + 10)", "(a + b + 10)");
    // The install is a copy: the other build replaced cargo's library, not what loads, so with
    // the content as proven the proven build is proven again.
    let run = dev(&project, &["-v"]);
    run.assert_code(0).assert_stderr_contains("Fresh");
    assert_eq!(sum(&project, "cleantrap"), "13", "{run:?}");
    // `--force` builds it anyway, and invalidates the package to do so.
    let run = dev(&project, &["-v", "--force"]);
    run.assert_code(0).assert_stderr_contains("invalidated `");
    assert_eq!(sum(&project, "cleantrap"), "13", "{run:?}");
}

#[test]
fn an_edit_with_an_old_mtime_in_a_path_dependency_is_built() {
    let project = TestProject::maturin_new("cleandep", false);
    project.write(
        "helper/Cargo.toml",
        "[package]\nname = \"clean-helper\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    project.write(
        "helper/src/lib.rs",
        "pub fn offset() -> usize {\n    0\n}\n",
    );
    project.edit(
        "Cargo.toml",
        "[dependencies]\n",
        "[dependencies]\nclean-helper = { path = \"helper\" }\n",
    );
    project.edit(
        "src/lib.rs",
        SUM,
        "(a + b + clean_helper::offset()).to_string()",
    );
    dev(&project, &[]).assert_code(0);
    assert_eq!(sum(&project, "cleandep"), "3");

    edit_with_old_mtime(&project, "helper/src/lib.rs", "    0\n", "    10\n");
    // `--no-clean` now means the default: the helper's changed content is seen.
    let run = dev(&project, &["--no-clean", "-v"]);
    run.assert_code(0)
        .assert_stderr_contains("/.fingerprint/clean-helper-");
    assert_eq!(sum(&project, "cleandep"), "13", "{run:?}");

    // A second old-mtime edit, this time after a content-faithful receipt.
    edit_with_old_mtime(&project, "helper/src/lib.rs", "    10\n", "    20\n");
    let run = dev(&project, &["-v"]);
    run.assert_code(0)
        .assert_stderr_contains("/.fingerprint/clean-helper-");
    assert_eq!(sum(&project, "cleandep"), "23", "{run:?}");

    // Nothing changed in the helper: only the package itself is invalidated.
    project.edit(
        "src/lib.rs",
        "clean_helper::offset()",
        "clean_helper::offset() + 1",
    );
    let run = dev(&project, &["-v"]);
    run.assert_code(0);
    assert_eq!(sum(&project, "cleandep"), "24", "{run:?}");
    assert!(
        !run.stderr.contains("/.fingerprint/clean-helper-"),
        "an unchanged path dependency keeps its fingerprint: {run:?}"
    );
}

/// Leaves a file of the test's own in each of cargo's directories named after `package` in
/// `dir` (incremental or fingerprint dirs of one profile); returns them. A marker that survives
/// a run shows that run left its directory in place.
fn mark(dir: &Path, package: &str) -> Vec<PathBuf> {
    let markers: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{dir:?}: {error}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&format!("{package}-"))
        })
        .map(|path| path.join("cargo-pyo3-test-marker"))
        .collect();
    assert!(!markers.is_empty(), "nothing of `{package}` in {dir:?}");
    for marker in &markers {
        std::fs::write(marker, "").unwrap();
    }
    markers
}

#[track_caller]
fn assert_kept(markers: &[PathBuf], kept: bool) {
    for marker in markers {
        assert_eq!(marker.exists(), kept, "{marker:?}");
    }
}

#[test]
fn clean_full_is_cargo_clean_for_the_build_profile_and_the_default_keeps_the_cache() {
    let project = TestProject::maturin_new("cleanfull", false);
    let target = common::fixture_target_dir();
    // The dev profile builds incrementally (release does not, by cargo's default).
    let debug_cache = target.join("debug/incremental");
    let release_fingerprints = target.join("release/.fingerprint");
    dev(&project, &[]).assert_code(0);
    dev(&project, &["--release"]).assert_code(0);

    // The default, after an edit: the package is rebuilt and the incremental cache stays.
    let cache = mark(&debug_cache, "cleanfull");
    project.edit("src/lib.rs", SUM, "(a + b + 1).to_string()");
    dev(&project, &["-v"])
        .assert_code(0)
        .assert_stderr_contains("/debug/.fingerprint/cleanfull-");
    assert_eq!(sum(&project, "cleanfull"), "4");
    assert_kept(&cache, true);
    assert_eq!(project.receipt()["inputs"]["clean"], "package");

    // `--clean full`: `cargo clean -p` of the dev profile in this target dir, so the cache goes
    // (and the build makes it again); the release profile is left alone.
    let release = mark(&release_fingerprints, "cleanfull");
    dev(&project, &["--clean", "full"]).assert_code(0);
    assert_kept(&cache, false);
    assert_kept(&release, true);
    assert_eq!(project.receipt()["inputs"]["clean"], "full");

    // `--clean full --release`: the release profile's, and the dev cache stays.
    let cache = mark(&debug_cache, "cleanfull");
    dev(&project, &["--release", "--clean", "full"]).assert_code(0);
    assert_kept(&release, false);
    assert_kept(&cache, true);
    let receipt = project.receipt();
    assert_eq!(
        (&receipt["inputs"]["clean"], &receipt["profile"]),
        (&serde_json::json!("full"), &serde_json::json!("release"))
    );

    // A layout this code does not know: the library was built, its fingerprint is not where
    // cargo 1.95 keeps it. The default falls back to `cargo clean -p` and says so under `-v`.
    let fingerprints = target.join("debug/.fingerprint");
    let moved: Vec<PathBuf> = std::fs::read_dir(&fingerprints)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("cleanfull-"))
        .map(|name| {
            let moved = fingerprints.join(format!("moved-{name}"));
            std::fs::rename(fingerprints.join(&name), &moved).unwrap();
            moved
        })
        .collect();
    assert!(!moved.is_empty());
    project.edit("src/lib.rs", "(a + b + 1)", "(a + b + 2)");
    dev(&project, &["-v"])
        .assert_code(0)
        .assert_stderr_contains(
            "cargo's layout is not the one expected, so running `cargo clean -p` instead",
        );
    assert_eq!(project.receipt()["inputs"]["clean"], "full");
    assert_eq!(sum(&project, "cleanfull"), "5");
    for dir in moved {
        std::fs::remove_dir_all(dir).unwrap();
    }

    dev(&project, &["--clean", "full", "--no-clean"])
        .assert_code(2)
        .assert_stderr_contains("cannot be used with");
}

/// `verify --json`'s freshness status, and `doctor --json`'s freshness verdict.
fn freshness(project: &TestProject) -> (String, String) {
    let verify = project
        .cargo_pyo3()
        .args(["verify", "--json", "--allow-stale"])
        .run();
    verify.assert_code(0);
    let doctor = project.cargo_pyo3().args(["doctor", "--json"]).run();
    let report = doctor.json();
    let check = common::doctor_check(&report, "freshness");
    (
        verify.json()["freshness"]["status"]
            .as_str()
            .unwrap()
            .to_owned(),
        check["verdict"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn verify_and_doctor_judge_freshness_by_content() {
    let project = TestProject::maturin_new("cleanfresh", false);
    dev(&project, &[]).assert_code(0);
    assert_eq!(freshness(&project), ("fresh".into(), "ok".into()));

    // `touch`: a newer mtime, the same content.
    std::thread::sleep(Duration::from_millis(20));
    let file = std::fs::File::options()
        .write(true)
        .open(project.path("src/lib.rs"))
        .unwrap();
    file.set_modified(SystemTime::now()).unwrap();
    assert_eq!(freshness(&project), ("fresh".into(), "ok".into()));

    // A content change with its mtime an hour back.
    edit_with_old_mtime(&project, "src/lib.rs", SUM, "(a + b + 10).to_string()");
    assert_eq!(freshness(&project), ("stale".into(), "warning".into()));
    let verify = project
        .cargo_pyo3()
        .args(["verify", "--json", "--allow-stale"])
        .run();
    assert_eq!(verify.json()["freshness"]["newer_sources"][0], "src/lib.rs");
}

#[test]
fn a_source_edited_during_the_build_is_warned_about_and_marked() {
    let project = TestProject::maturin_new("cleanrace", false);
    dev(&project, &[]).assert_code(0);

    // A fault executable first on PATH in place of maturin: it edits a source, as an editor
    // saving mid-build would, then runs the real maturin.
    let faults = tempfile::tempdir().unwrap();
    let dir = fault_executable(
        faults.path(),
        "fault-maturin-edits-a-source",
        Some("maturin"),
    );

    let run = project
        .cargo_pyo3()
        .args(["dev", "--fix-uv"])
        .path_first(&dir)
        .env(
            common::faults::REAL_MATURIN,
            common::tools().all.join("maturin"),
        )
        .run();
    run.assert_code(0).assert_stderr_contains(
        "warning: `src/lib.rs` changed while the build ran, so the installed build may hold \
         either version",
    );
    assert!(
        project
            .read("src/lib.rs")
            .ends_with("// saved during the build\n"),
        "the fault ran"
    );
    let receipt = project.receipt();
    let lib = std::fs::canonicalize(project.path("src/lib.rs")).unwrap();
    assert_eq!(
        receipt["inputs"]["changed_during_build"],
        serde_json::json!([lib]),
        "{receipt:#}"
    );
    assert_eq!(freshness(&project).0, "stale");
}

#[test]
fn a_mixed_projects_python_sources_are_in_the_digest() {
    let project = TestProject::maturin_new("cleanmixed", true);
    dev(&project, &[]).assert_code(0);
    // Installed editable (the default), the venv loads the sources where they are: a Python
    // edit is live, never stale.
    project.edit(
        "python/cleanmixed/__init__.py",
        "from .cleanmixed import *",
        "from .cleanmixed import *\nLIVE = True",
    );
    let live = project.cargo_pyo3().args(["verify", "--json"]).run();
    live.assert_code(0);
    assert_eq!(live.json()["freshness"]["status"], "fresh", "{live:?}");

    dev(&project, &["--no-editable"]).assert_code(0);
    let init = std::fs::canonicalize(project.path("python/cleanmixed/__init__.py")).unwrap();
    let receipt = project.receipt();
    assert!(
        receipt["inputs"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|file| file["path"] == init.to_str().unwrap()),
        "{receipt:#}"
    );
    // A plain wheel holds a copy of the Python sources: an edit to them, old mtime or not, is
    // stale.
    let text = project.read("python/cleanmixed/__init__.py");
    edit_with_old_mtime(
        &project,
        "python/cleanmixed/__init__.py",
        &text,
        &format!("{text}\nEDITED = True\n"),
    );
    let verify = project
        .cargo_pyo3()
        .args(["verify", "--json", "--allow-stale"])
        .run();
    verify.assert_code(0);
    let report = verify.json();
    assert_eq!(report["freshness"]["status"], "stale", "{report:#}");
    assert_eq!(
        report["freshness"]["newer_sources"],
        serde_json::json!(["python/cleanmixed/__init__.py"])
    );
}

/// A file rustc reads that no walker finds (`include_str!` of a file beside the crate, as
/// projects include their README or data): cargo's dep-info names it after the first build, the
/// receipt records its digest, and from then on an edit with an old mtime is built by `dev` and
/// called stale by `verify` and `doctor`, as an edit to `src/lib.rs` is.
#[test]
fn a_file_read_by_include_str_is_in_the_digest_once_cargo_named_it() {
    let project = TestProject::maturin_new("cleaninclude", false);
    project.write("data/offset.txt", "10");
    project.edit(
        "src/lib.rs",
        SUM,
        "(a + b + include_str!(\"../data/offset.txt\").trim().parse::<usize>().unwrap()).to_string()",
    );
    dev(&project, &[]).assert_code(0);
    assert_eq!(sum(&project, "cleaninclude"), "13");
    let data = std::fs::canonicalize(project.path("data/offset.txt")).unwrap();
    let receipt = project.receipt();
    let recorded = receipt["inputs"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|file| file["path"] == data.to_str().unwrap())
        .unwrap_or_else(|| panic!("no digest of {data:?} in {receipt:#}"));
    assert_eq!(recorded["sha256"], common::sha256(&data));

    // Nothing changed, now that the digest holds one more file: proven again, not rebuilt.
    dev(&project, &["-v"])
        .assert_code(0)
        .assert_stderr_contains("Fresh");

    edit_with_old_mtime(&project, "data/offset.txt", "10", "20");
    assert_eq!(freshness(&project), ("stale".into(), "warning".into()));
    // cargo alone keeps the old build; `--no-clean`, now the default, sees the content changed.
    let run = dev(&project, &["--no-clean", "-v"]);
    run.assert_code(0).assert_stderr_contains("invalidated `");
    assert_eq!(sum(&project, "cleaninclude"), "23", "{run:?}");
    assert_eq!(freshness(&project), ("fresh".into(), "ok".into()));
}
