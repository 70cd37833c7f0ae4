//! `cargo pyo3 new` and `init` against the real binary: the generated trees (snapshotted), that
//! cargo and toml_edit accept the manifests, every refusal (exit 2, the rule, a `hint:`, nothing
//! changed on disk), git initialization and Cargo workspaces around the project.

use crate::common;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::Run;

fn cargo_pyo3(directory: &Path, args: &[&str]) -> Run {
    common::cargo_pyo3(directory).args(args).run()
}

fn temporary_directory() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// The file list and every file's contents, `.git` left out.
fn tree_text(root: &Path) -> String {
    let mut text = String::new();
    for (relative, value) in common::snapshot_tree(root) {
        if relative == ".git" || relative.starts_with(".git/") || value == "dir" {
            continue;
        }
        let contents = std::fs::read_to_string(root.join(&relative)).unwrap();
        text.push_str(&format!("=== {relative}\n{contents}"));
        if contents.is_empty() {
            text.push_str("[empty file]\n");
        } else if !contents.ends_with('\n') {
            text.push_str("[no newline at the end]\n");
        }
    }
    text
}

fn is_inside_git_work_tree(directory: &Path) -> bool {
    Command::new("git")
        .args(["rev-parse", "--is-inside-work-tree"])
        .current_dir(directory)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .is_ok_and(|output| output.status.success())
}

fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// `cargo metadata --no-deps` for a manifest: cheap, offline, and fails on any manifest error.
fn cargo_metadata(manifest: &Path) -> serde_json::Value {
    let output = Command::new(cargo())
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .arg("--manifest-path")
        .arg(manifest)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo metadata failed for {}:\n{}",
        manifest.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn snapshot_of_new(layout: &str) -> String {
    let directory = temporary_directory();
    let run = cargo_pyo3(
        directory.path(),
        &["new", "my-pkg", "--layout", layout, "--vcs", "none"],
    );
    run.assert_code(0);
    assert!(run.stdout.is_empty(), "{run:?}");
    format!(
        "exit code: {}\n----- stderr -----\n{}----- files -----\n{}",
        run.code.map_or_else(
            || "none (killed by a signal)".to_owned(),
            |code| code.to_string()
        ),
        run.stderr,
        tree_text(&directory.path().join("my-pkg"))
    )
}

#[test]
fn new_pure_layout() {
    insta::assert_snapshot!("new_pure", snapshot_of_new("pure"));
}

#[test]
fn new_mixed_layout() {
    insta::assert_snapshot!("new_mixed", snapshot_of_new("mixed"));
}

#[test]
fn generated_manifests_parse_and_agree() {
    for layout in ["pure", "mixed"] {
        let directory = temporary_directory();
        let run = cargo_pyo3(
            directory.path(),
            &["new", "my-pkg", "--layout", layout, "--vcs", "none"],
        );
        run.assert_code(0);
        let project = directory.path().join("my-pkg");

        let metadata = cargo_metadata(&project.join("Cargo.toml"));
        let package = &metadata["packages"][0];
        assert_eq!(package["name"], "my-pkg");
        let target = &package["targets"][0];
        assert_eq!(target["name"], "my_pkg");
        assert_eq!(target["crate_types"], serde_json::json!(["cdylib"]));
        assert_eq!(package["dependencies"][0]["name"], "pyo3");

        let pyproject = std::fs::read_to_string(project.join("pyproject.toml")).unwrap();
        let pyproject: toml_edit::DocumentMut = pyproject.parse().unwrap();
        assert_eq!(pyproject["project"]["name"].as_str(), Some("my-pkg"));
        assert_eq!(
            pyproject["build-system"]["build-backend"].as_str(),
            Some("maturin")
        );
        let maturin = &pyproject["tool"]["maturin"];
        let lib_rs = std::fs::read_to_string(project.join("src/lib.rs")).unwrap();
        match layout {
            "pure" => {
                assert!(maturin.get("module-name").is_none());
                assert!(lib_rs.contains("#[pymodule]\nfn my_pkg("), "{lib_rs}");
            }
            _ => {
                assert_eq!(maturin["module-name"].as_str(), Some("my_pkg._core"));
                assert_eq!(maturin["python-source"].as_str(), Some("python"));
                assert!(lib_rs.contains("#[pymodule]\nfn _core("), "{lib_rs}");
                assert!(project.join("python/my_pkg/__init__.py").is_file());
            }
        }
        assert!(lib_rs.contains("module.add_class::<Counter>()?;"));
        assert!(lib_rs.contains("wrap_pyfunction!(double, module)"));
    }
}

#[test]
fn new_accepts_an_empty_directory() {
    let directory = temporary_directory();
    std::fs::create_dir(directory.path().join("empty")).unwrap();
    let run = cargo_pyo3(directory.path(), &["new", "empty", "--vcs", "none"]);
    run.assert_code(0);
    assert!(directory.path().join("empty/Cargo.toml").is_file());
}

#[test]
fn new_creates_missing_parents() {
    let directory = temporary_directory();
    let run = cargo_pyo3(directory.path(), &["new", "a/b/my-pkg", "--vcs", "none"]);
    run.assert_code(0);
    assert!(directory.path().join("a/b/my-pkg/Cargo.toml").is_file());
    assert!(
        run.stderr.contains("cd a/b/my-pkg && cargo pyo3 dev"),
        "{run:?}"
    );
}

#[test]
fn new_refuses_a_non_empty_directory() {
    let directory = temporary_directory();
    let project = directory.path().join("taken");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("notes.txt"), "mine").unwrap();
    let before = common::snapshot_tree(directory.path());
    let run = cargo_pyo3(directory.path(), &["new", "taken"]);
    run.assert_refused("already exists and is not empty", "cargo pyo3 init taken");
    assert_eq!(common::snapshot_tree(directory.path()), before);
}

#[test]
fn new_refuses_a_file_in_the_way() {
    let directory = temporary_directory();
    std::fs::write(directory.path().join("file"), "mine").unwrap();
    let before = common::snapshot_tree(directory.path());
    let run = cargo_pyo3(directory.path(), &["new", "file"]);
    run.assert_refused(
        "already exists and is not a directory",
        "choose another path",
    );
    assert_eq!(common::snapshot_tree(directory.path()), before);
}

#[test]
fn init_creates_a_project_and_keeps_what_is_there() {
    let directory = temporary_directory();
    let project = directory.path().join("existing");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("README.md"), "# my own readme\n").unwrap();
    std::fs::write(project.join(".gitignore"), "/target\n").unwrap();
    std::fs::write(project.join("notes.txt"), "mine").unwrap();
    let before = common::snapshot_tree(&project);

    let run = cargo_pyo3(directory.path(), &["init", "existing", "--vcs", "none"]);
    run.assert_code(0);

    let after = common::snapshot_tree(&project);
    for (relative, value) in &before {
        assert_eq!(after.get(relative), Some(value), "{relative} changed");
    }
    for created in [
        "Cargo.toml",
        "pyproject.toml",
        "src/lib.rs",
        "tests/test_existing.py",
    ] {
        assert!(project.join(created).is_file(), "{created} missing");
    }
    assert!(run.stderr.contains("Kept existing README.md"), "{run:?}");
    assert!(run.stderr.contains("Kept existing .gitignore"), "{run:?}");
    assert!(
        run.stderr
            .contains("warning: the existing .gitignore was kept and lacks these lines: .venv"),
        "{run:?}"
    );
}

#[test]
fn init_defaults_to_the_current_directory() {
    let directory = temporary_directory();
    let project = directory.path().join("here-pkg");
    std::fs::create_dir(&project).unwrap();
    let run = cargo_pyo3(&project, &["init", "--layout", "mixed", "--vcs", "none"]);
    run.assert_code(0);
    assert!(project.join("python/here_pkg/__init__.py").is_file());
    assert!(
        run.stderr
            .contains("project `here-pkg` (Python module `here_pkg`)"),
        "{run:?}"
    );
    assert!(run.stderr.contains("Next cargo pyo3 dev"), "{run:?}");
}

#[test]
fn init_refuses_an_existing_cargo_toml() {
    let directory = temporary_directory();
    std::fs::write(directory.path().join("Cargo.toml"), "[package]\n").unwrap();
    let before = common::snapshot_tree(directory.path());
    let run = cargo_pyo3(directory.path(), &["init", "--name", "my-pkg"]);
    run.assert_refused("already holds `Cargo.toml`", "cargo pyo3 dev");
    assert_eq!(common::snapshot_tree(directory.path()), before);
}

#[test]
fn init_refuses_an_existing_pyproject_toml() {
    let directory = temporary_directory();
    std::fs::write(directory.path().join("pyproject.toml"), "[project]\n").unwrap();
    let before = common::snapshot_tree(directory.path());
    let run = cargo_pyo3(directory.path(), &["init", ".", "--name", "my-pkg"]);
    run.assert_refused("already holds `pyproject.toml`", "cargo pyo3 new");
    assert_eq!(common::snapshot_tree(directory.path()), before);
}

#[test]
fn init_refuses_files_the_project_needs() {
    let directory = temporary_directory();
    std::fs::create_dir(directory.path().join("src")).unwrap();
    std::fs::write(directory.path().join("src/lib.rs"), "// mine\n").unwrap();
    std::fs::write(directory.path().join("tests"), "a file, not a directory").unwrap();
    let before = common::snapshot_tree(directory.path());
    let run = cargo_pyo3(directory.path(), &["init", "--name", "my-pkg"]);
    run.assert_refused(
        "it already has files the project needs: `src/lib.rs`; these must be directories but \
         are not: `tests`",
        "move them out of the way",
    );
    assert_eq!(common::snapshot_tree(directory.path()), before);
}

#[test]
fn init_refuses_a_missing_directory() {
    let directory = temporary_directory();
    let run = cargo_pyo3(directory.path(), &["init", "missing"]);
    run.assert_refused(
        "directory `missing` does not exist",
        "cargo pyo3 new missing",
    );
    assert!(common::snapshot_tree(directory.path()).is_empty());
}

#[test]
fn invalid_names_are_refused() {
    // (name, the rule the error names, the suggestion in the hint)
    let cases = [
        ("1abc", "must start with a letter", "--name abc_rs"),
        (
            "a b",
            "may contain only lowercase ASCII letters",
            "--name a_b",
        ),
        ("", "the name is empty", "--name my_project"),
        ("import", "is a Python keyword", "--name import_rs"),
        ("class", "is a Python keyword", "--name class_rs"),
        ("json", "Python's standard library", "--name json_rs"),
        ("os", "Python's standard library", "--name os_rs"),
        ("self", "is a Rust keyword", "--name self_rs"),
        ("test", "Rust's built-in test library", "--name test_rs"),
        ("a/b", "contains '/'", "--name a_b"),
        ("MyPkg", "uppercase", "--name mypkg"),
        ("pkg-", "must end with a letter or a digit", "--name pkg"),
    ];
    for (name, rule, hint) in cases {
        let directory = temporary_directory();
        let before = common::snapshot_tree(directory.path());
        let run = cargo_pyo3(directory.path(), &["new", "project", "--name", name]);
        run.assert_refused(rule, hint);
        assert!(
            run.stderr
                .contains(&format!("`cargo pyo3 new project {hint}`")),
            "{run:?}"
        );
        assert_eq!(
            common::snapshot_tree(directory.path()),
            before,
            "{name:?} changed the disk"
        );
    }
}

#[test]
fn invalid_directory_names_are_refused() {
    let directory = temporary_directory();
    let before = common::snapshot_tree(directory.path());
    let run = cargo_pyo3(directory.path(), &["new", "1abc"]);
    run.assert_refused(
        "taken from the directory name",
        "cargo pyo3 new 1abc --name abc_rs",
    );
    assert_eq!(common::snapshot_tree(directory.path()), before);

    std::fs::create_dir(directory.path().join("json")).unwrap();
    let before = common::snapshot_tree(directory.path());
    let run = cargo_pyo3(&directory.path().join("json"), &["init"]);
    run.assert_refused(
        "`json` is a module of Python's standard library",
        "cargo pyo3 init --name json_rs",
    );
    assert_eq!(common::snapshot_tree(directory.path()), before);
}

#[test]
fn vcs_none_makes_no_repository() {
    let directory = temporary_directory();
    let run = cargo_pyo3(directory.path(), &["new", "my-pkg", "--vcs", "none"]);
    run.assert_code(0);
    assert!(!directory.path().join("my-pkg/.git").exists());
}

#[test]
fn default_vcs_initializes_git_outside_a_repository() {
    let directory = temporary_directory();
    assert!(
        !is_inside_git_work_tree(directory.path()),
        "this test needs a temporary directory outside any git work tree"
    );
    let run = cargo_pyo3(directory.path(), &["new", "my-pkg"]);
    run.assert_code(0);
    assert!(directory.path().join("my-pkg/.git").is_dir(), "{run:?}");
    assert!(run.stderr.contains("Initialized git repository"), "{run:?}");
}

#[test]
fn default_vcs_skips_git_inside_a_repository() {
    let directory = temporary_directory();
    let status = Command::new("git")
        .arg("init")
        .arg("--quiet")
        .current_dir(directory.path())
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .status()
        .unwrap();
    assert!(status.success());
    let run = cargo_pyo3(directory.path(), &["new", "nested/my-pkg", "-v"]);
    run.assert_code(0);
    assert!(!directory.path().join("nested/my-pkg/.git").exists());
    assert!(run.stderr.contains("already inside one"), "{run:?}");
}

#[test]
fn missing_git_is_skipped() {
    let directory = temporary_directory();
    let empty_path = temporary_directory();
    let run = common::cargo_pyo3(directory.path())
        .args(["new", "my-pkg", "-v"])
        .path_exactly(empty_path.path())
        .run();
    run.assert_code(0);
    assert!(!directory.path().join("my-pkg/.git").exists());
    assert!(run.stderr.contains("git is not on PATH"), "{run:?}");
}

#[test]
fn project_outside_the_members_of_an_enclosing_workspace_gets_its_own() {
    let directory = temporary_directory();
    std::fs::write(
        directory.path().join("Cargo.toml"),
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
    )
    .unwrap();
    let run = cargo_pyo3(directory.path(), &["new", "tools/my-pkg", "--vcs", "none"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("does not list it in `members`"),
        "{run:?}"
    );
    let project = directory.path().join("tools/my-pkg");
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    assert!(manifest.ends_with("\n[workspace]\n"), "{manifest}");
    let metadata = cargo_metadata(&project.join("Cargo.toml"));
    let workspace_root = PathBuf::from(metadata["workspace_root"].as_str().unwrap());
    assert_eq!(workspace_root, std::fs::canonicalize(&project).unwrap());
}

#[test]
fn project_listed_by_workspace_members_joins_the_workspace() {
    let directory = temporary_directory();
    std::fs::write(
        directory.path().join("Cargo.toml"),
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
    )
    .unwrap();
    let run = cargo_pyo3(directory.path(), &["new", "crates/my-pkg", "--vcs", "none"]);
    run.assert_code(0);
    assert!(run.stderr.contains("joins the Cargo workspace"), "{run:?}");
    let project = directory.path().join("crates/my-pkg");
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    assert!(!manifest.contains("[workspace]"), "{manifest}");
    let metadata = cargo_metadata(&project.join("Cargo.toml"));
    let workspace_root = PathBuf::from(metadata["workspace_root"].as_str().unwrap());
    assert_eq!(
        workspace_root,
        std::fs::canonicalize(directory.path()).unwrap()
    );
}

#[test]
fn failed_git_init_is_an_error_that_keeps_the_files() {
    use std::os::unix::fs::PermissionsExt;
    let directory = temporary_directory();
    let fake_bin = temporary_directory();
    let fake_git = fake_bin.path().join("git");
    std::fs::write(
        &fake_git,
        "#!/bin/sh\necho 'fake git refuses' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake_git, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = common::cargo_pyo3(directory.path())
        .args(["new", "my-pkg"])
        .path_exactly(fake_bin.path())
        .run();
    run.assert_refused("created the project, but `git init` failed", "--vcs none");
    assert!(run.stderr.contains("fake git refuses"), "{run:?}");
    assert!(directory.path().join("my-pkg/Cargo.toml").is_file());
}

#[test]
fn new_refuses_dot_dot_below_a_missing_directory() {
    let directory = temporary_directory();
    let run = cargo_pyo3(directory.path(), &["new", "missing/../my-pkg"]);
    run.assert_refused("goes through `..`", "without `..`");
    assert!(common::snapshot_tree(directory.path()).is_empty());
}
