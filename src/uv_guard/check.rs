//! The verdict: whether uv manages the project (a `uv.lock` for it and uv on PATH), whether
//! its effective cache keys cover every build input, and so whether to proceed, warn or refuse.
//! The dry run is only asked for when it adds evidence to a refusal.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use toml_edit::{DocumentMut, Item};

use super::cache_keys::{CacheKeysState, parse_pyproject, read_cache_keys, render_key, uv_table};
use super::coverage::Coverage;
use super::dry_run::{DryRun, dry_run};
use super::paths::relative_display;
use super::plan::{build_inputs, plan_missing_keys};
use crate::project::Project;

/// What the guard found: the verdict and its evidence, for `dev`, `doctor` and `--json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct GuardReport {
    pub(crate) verdict: GuardVerdict,
    /// uv manages the project: a `uv.lock` for it, and uv on PATH.
    pub(crate) in_play: bool,
    pub(crate) not_in_play_reason: Option<String>,
    /// The lockfile that makes uv manage the project.
    pub(crate) uv_lock: Option<PathBuf>,
    /// Build inputs that the effective cache-keys miss (paths relative to `project_dir`).
    pub(crate) uncovered: Vec<String>,
    /// cache-keys entries the fix would add, rendered as TOML inline tables.
    pub(crate) missing_keys: Vec<String>,
    /// What `uv sync --dry-run` said, when it ran.
    pub(crate) dry_run: Option<DryRun>,
    pub(crate) elapsed_ms: u64,
    /// The distribution uv would reinstall, and its version.
    pub(crate) package: String,
    pub(crate) version: String,
    /// Where the effective keys come from.
    pub(crate) cache_keys: CacheKeysState,
    /// Why the dry run gave no evidence, when it was run and failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dry_run_error: Option<String>,
}

/// What `dev` does about uv (docs/uv.md, "What `cargo pyo3 dev` checks", has the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum GuardVerdict {
    /// uv never builds this project (no uv on PATH, no `pyproject.toml`, no `[project]` table,
    /// `tool.uv.package = false`): nothing to check.
    NotInPlay,
    /// uv's effective keys cover every build input, with or without a `uv.lock`.
    Covered,
    /// No `uv.lock` yet, and the keys miss build inputs: the build goes on with a warning,
    /// because the first `uv run`, `uv sync` or `uv lock` makes uv manage the project.
    AtRisk,
    /// uv manages the project and its keys miss build inputs: refused (exit 3).
    Refused,
}

impl GuardReport {
    fn not_in_play(project: &Project, reason: impl Into<String>) -> GuardReport {
        GuardReport {
            verdict: GuardVerdict::NotInPlay,
            in_play: false,
            not_in_play_reason: Some(reason.into()),
            uv_lock: None,
            uncovered: Vec::new(),
            missing_keys: Vec::new(),
            dry_run: None,
            elapsed_ms: 0,
            package: project.dist_name.clone(),
            version: project.display_version().to_owned(),
            cache_keys: CacheKeysState::NotChecked,
            dry_run_error: None,
        }
    }

    pub(crate) fn refuses(&self) -> bool {
        self.verdict == GuardVerdict::Refused
    }

    /// No `uv.lock` yet, but the keys would let uv reinstall a stale build once there is one.
    pub(crate) fn warns(&self) -> bool {
        self.verdict == GuardVerdict::AtRisk
    }
}

/// Decides whether uv would undo the build.
///
/// Static check first (no subprocess): the effective cache keys must cover every build input.
/// The dry run only runs when it adds evidence to a refusal, so the happy path starts nothing.
/// The venv is no evidence either way: `dev` makes its own venvs with `uv venv`.
pub(crate) fn check(project: &Project, uv: Option<&Path>) -> Result<GuardReport> {
    let started = Instant::now();
    let mut report = check_in_play(project, uv)?;
    // `--frozen` needs a lockfile, which a refusal always has.
    if report.refuses()
        && let Some(uv) = uv
    {
        match dry_run(uv, project) {
            Ok(dry_run) => report.dry_run = Some(dry_run),
            // The refusal stands on the static check alone; the dry run is only evidence.
            Err(error) => report.dry_run_error = Some(format!("{error:#}")),
        }
    }
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

/// Everything but the dry run.
pub(super) fn check_in_play(project: &Project, uv: Option<&Path>) -> Result<GuardReport> {
    if uv.is_none() {
        return Ok(GuardReport::not_in_play(project, "uv is not on PATH"));
    }
    let Some(pyproject_path) = &project.pyproject_path else {
        return Ok(GuardReport::not_in_play(
            project,
            "the project has no `pyproject.toml`, so uv does not build it",
        ));
    };
    let text = fs_err::read_to_string(pyproject_path)?;
    let document = parse_pyproject(&text, pyproject_path)?;
    // Without `[project]` uv takes the directory for a workspace root that is no project: it
    // locks nothing for it and never builds it (uv 0.13.8: `uv run` leaves the install alone and
    // warns "No `requires-python` value found in the workspace", exact `uv sync` uninstalls it;
    // docs/uv.md). maturin still builds it, from `Cargo.toml`'s metadata.
    if !document
        .get("project")
        .is_some_and(|project| project.is_table_like())
    {
        return Ok(GuardReport::not_in_play(
            project,
            "`pyproject.toml` has no `[project]` table, so uv never builds or installs the \
             project: `uv run` leaves the install alone, and an exact `uv sync` uninstalls it",
        ));
    }
    // With `package = false` uv never builds or installs the project, so it has no cached build
    // to put back (uv 0.13.8: `uv run` leaves the install alone, exact `uv sync` uninstalls it;
    // docs/uv.md).
    if uv_table(&document)
        .and_then(|table| table.get("package"))
        .and_then(Item::as_bool)
        == Some(false)
    {
        return Ok(GuardReport::not_in_play(
            project,
            "`tool.uv.package = false`: uv neither builds nor installs the project (`uv run` \
             leaves the install alone, and an exact `uv sync` uninstalls it)",
        ));
    }

    let uv_lock = find_uv_lock(project);
    let keys = read_cache_keys(&document);
    let inputs = build_inputs(project)?;
    let coverage = Coverage::new(&project.project_dir, &keys.effective())?;
    let uncovered: Vec<String> = inputs
        .iter()
        .filter(|input| !coverage.covers(&input.path))
        .map(|input| relative_display(&input.path, &project.project_dir))
        .collect();
    let missing_keys = if uncovered.is_empty() {
        Vec::new()
    } else {
        plan_missing_keys(&project.project_dir, &inputs, &keys)?
            .iter()
            .map(|key| render_key(key))
            .collect()
    };
    let verdict = match (uncovered.is_empty(), uv_lock.is_some()) {
        (true, _) => GuardVerdict::Covered,
        (false, false) => GuardVerdict::AtRisk,
        (false, true) => GuardVerdict::Refused,
    };
    Ok(GuardReport {
        verdict,
        in_play: uv_lock.is_some(),
        not_in_play_reason: uv_lock.is_none().then(|| {
            "the project has no `uv.lock`, so uv does not manage it (yet: the first `uv run`, \
             `uv sync` or `uv lock` writes one)"
                .to_owned()
        }),
        uv_lock,
        uncovered,
        missing_keys,
        dry_run: None,
        elapsed_ms: 0,
        package: project.dist_name.clone(),
        version: project.display_version().to_owned(),
        cache_keys: keys.state(),
        dry_run_error: None,
    })
}

/// `uv.lock` next to `pyproject.toml`, or at the root of the uv workspace the project belongs to
/// (an ancestor whose `pyproject.toml` has `[tool.uv.workspace]`), where uv keeps it for members.
pub(crate) fn find_uv_lock(project: &Project) -> Option<PathBuf> {
    if project.uses_uv_lock() {
        return Some(project.project_dir.join("uv.lock"));
    }
    project
        .project_dir
        .ancestors()
        .skip(1)
        .find(|dir| {
            dir.join("uv.lock").is_file()
                && fs_err::read_to_string(dir.join("pyproject.toml"))
                    .ok()
                    .and_then(|text| text.parse::<DocumentMut>().ok())
                    .is_some_and(|document| {
                        uv_table(&document).is_some_and(|uv| uv.contains_key("workspace"))
                    })
        })
        .map(|dir| dir.join("uv.lock"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::PathDependency;
    use crate::uv_guard::test_support::*;

    #[test]
    fn unset_keys_leave_rust_uncovered() {
        let dir = tempfile::tempdir().unwrap();
        let project = scaffold(dir.path(), PLAIN_PYPROJECT);
        let report = static_report(&project);
        assert!(report.in_play);
        assert!(report.refuses());
        assert_eq!(report.cache_keys, CacheKeysState::Defaults);
        assert_eq!(
            report.uncovered,
            ["Cargo.toml", "Cargo.lock", "src/lib.rs", "src/sub/m.rs"]
        );
        // Setting the keys drops uv's defaults, so the fix lists `pyproject.toml` too.
        assert_eq!(
            report.missing_keys,
            [
                r#"{ file = "pyproject.toml" }"#,
                r#"{ file = "Cargo.toml" }"#,
                r#"{ file = "Cargo.lock" }"#,
                r#"{ file = "src/**/*.rs" }"#,
            ]
        );
    }

    #[test]
    fn targeted_keys_cover_everything() {
        let dir = tempfile::tempdir().unwrap();
        let keys = r#"[{ file = "pyproject.toml" }, "Cargo.toml", { file = "Cargo.lock" }, { file = "src/**/*.rs" }]"#;
        let project = scaffold(dir.path(), &with_keys(keys));
        let report = static_report(&project);
        assert!(report.in_play);
        assert!(!report.refuses(), "{report:?}");
        assert!(report.missing_keys.is_empty());
        assert_eq!(report.cache_keys, CacheKeysState::Set);
    }

    #[test]
    fn dir_git_and_env_keys_cover_no_edit() {
        let dir = tempfile::tempdir().unwrap();
        let keys = r#"["pyproject.toml", "Cargo.toml", "Cargo.lock", { dir = "src" }, { git = { commit = true } }, { env = "X" }]"#;
        let project = scaffold(dir.path(), &with_keys(keys));
        let report = static_report(&project);
        assert_eq!(report.uncovered, ["src/lib.rs", "src/sub/m.rs"]);
        assert_eq!(report.missing_keys, [r#"{ file = "src/**/*.rs" }"#]);
    }

    #[test]
    fn a_missing_path_dependency_is_uncovered() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("py");
        let keys = r#"["pyproject.toml", "Cargo.toml", "Cargo.lock", "src/**/*.rs"]"#;
        let mut project = scaffold(&root, &with_keys(keys));
        let dependency = dir.path().join("core");
        write(
            &dependency.join("Cargo.toml"),
            "[package]\nname = \"core\"\n",
        );
        write(&dependency.join("src/lib.rs"), "\n");
        write(&dependency.join("src/deep/x.rs"), "\n");
        write(&dependency.join("tests/t.rs"), "\n");
        project.path_dependencies.push(PathDependency {
            manifest_path: dependency.join("Cargo.toml"),
            build_script: None,
            source_dir: dependency.join("src"),
            crate_name: None,
            dir: dependency,
        });
        let report = static_report(&project);
        assert_eq!(
            report.uncovered,
            [
                "../core/Cargo.toml",
                "../core/src/deep/x.rs",
                "../core/src/lib.rs"
            ]
        );
        assert_eq!(
            report.missing_keys,
            [
                r#"{ file = "../core/Cargo.toml" }"#,
                r#"{ file = "../core/src/**/*.rs" }"#
            ]
        );
    }

    /// A workspace member: the root manifest and the lock cargo will write there are inputs,
    /// before the lock exists too (the first build writes it, and keys planned without it would
    /// be incomplete right after).
    #[test]
    fn build_script_workspace_manifest_and_a_lock_not_yet_written_are_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("crates/py");
        let keys = r#"["pyproject.toml", "Cargo.toml", "src/**/*.rs"]"#;
        let mut project = scaffold(&root, &with_keys(keys));
        fs_err::remove_file(root.join("Cargo.lock")).unwrap();
        write(&root.join("build.rs"), "fn main() {}\n");
        project.build_script = Some(root.join("build.rs"));
        write(
            &dir.path().join("Cargo.toml"),
            "[workspace]\nmembers = [\"crates/py\"]\n",
        );
        project.workspace_manifest = dir.path().join("Cargo.toml");
        project.cargo_lock = dir.path().join("Cargo.lock");
        assert!(!project.cargo_lock.exists());
        let report = static_report(&project);
        assert_eq!(
            report.uncovered,
            ["../../Cargo.toml", "../../Cargo.lock", "build.rs"]
        );
        assert_eq!(
            report.missing_keys,
            [
                r#"{ file = "../../Cargo.toml" }"#,
                r#"{ file = "../../Cargo.lock" }"#,
                r#"{ file = "build.rs" }"#
            ]
        );
        fix(&project).unwrap().expect("a change");
        assert_eq!(static_report(&project).verdict, GuardVerdict::Covered);
        // cargo writes the lock: the keys still cover everything.
        write(&dir.path().join("Cargo.lock"), "version = 4\n");
        assert_eq!(static_report(&project).verdict, GuardVerdict::Covered);
    }

    /// Path dependencies of path dependencies, each with its build script and sources wherever
    /// `[lib] path` puts them; a dependency whose sources sit at its root gets no glob there.
    #[test]
    fn transitive_path_dependencies_are_covered_file_by_file_where_needed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("py");
        let keys = r#"["pyproject.toml", "Cargo.toml", "Cargo.lock", "src/**/*.rs"]"#;
        let mut project = scaffold(&root, &with_keys(keys));
        let middle = dir.path().join("middle");
        write(&middle.join("Cargo.toml"), "[package]\nname = \"middle\"\n");
        write(&middle.join("build/main.rs"), "fn main() {}\n");
        write(&middle.join("src/lib.rs"), "\n");
        let leaf = dir.path().join("leaf");
        write(&leaf.join("Cargo.toml"), "[package]\nname = \"leaf\"\n");
        write(&leaf.join("lib.rs"), "\n");
        write(&leaf.join("target/debug/build/x/out/generated.rs"), "\n");
        project.path_dependencies = vec![
            PathDependency {
                manifest_path: middle.join("Cargo.toml"),
                build_script: Some(middle.join("build/main.rs")),
                source_dir: middle.join("src"),
                crate_name: None,
                dir: middle,
            },
            PathDependency {
                manifest_path: leaf.join("Cargo.toml"),
                build_script: None,
                source_dir: leaf.clone(),
                crate_name: None,
                dir: leaf,
            },
        ];
        let report = static_report(&project);
        assert_eq!(
            report.missing_keys,
            [
                r#"{ file = "../middle/Cargo.toml" }"#,
                r#"{ file = "../middle/build/main.rs" }"#,
                r#"{ file = "../leaf/Cargo.toml" }"#,
                r#"{ file = "../middle/src/**/*.rs" }"#,
                r#"{ file = "../leaf/lib.rs" }"#,
            ]
        );
        fix(&project).unwrap().expect("a change");
        assert_eq!(static_report(&project).verdict, GuardVerdict::Covered);
    }

    #[test]
    fn sources_at_the_project_root_are_listed_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut project = scaffold(dir.path(), PLAIN_PYPROJECT);
        write(&dir.path().join("lib.rs"), "\n");
        write(
            &dir.path().join("target/debug/build/x/out/generated.rs"),
            "\n",
        );
        project.lib_src = dir.path().join("lib.rs");
        fs_err::remove_dir_all(dir.path().join("src")).unwrap();
        let report = static_report(&project);
        assert!(
            report
                .missing_keys
                .contains(&r#"{ file = "lib.rs" }"#.to_owned())
        );
        assert!(report.missing_keys.iter().all(|key| !key.contains("**")));
        assert!(
            report
                .uncovered
                .iter()
                .all(|path| !path.starts_with("target")),
            "{report:?}"
        );
    }

    #[test]
    fn unreadable_keys_fall_back_to_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let text = with_keys(r#"[{ package = "dep" }, { file = "src/**/*.rs" }]"#);
        let project = scaffold(dir.path(), &text);
        let report = static_report(&project);
        assert!(
            matches!(report.cache_keys, CacheKeysState::Unreadable(ref detail) if detail.contains("entry 1"))
        );
        assert!(report.uncovered.contains(&"src/lib.rs".to_owned()));
        let error = fix(&project).unwrap_err();
        assert!(crate::failure::hint_of(&error).is_some(), "{error:#}");
        assert_eq!(
            fs_err::read_to_string(dir.path().join("pyproject.toml")).unwrap(),
            text
        );
    }

    #[test]
    fn not_in_play_runs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let project = scaffold(dir.path(), PLAIN_PYPROJECT);
        // No uv on PATH: not in play, and `check` cannot have started anything.
        let report = check(&project, None).unwrap();
        assert!(!report.in_play);
        assert_eq!(
            report.not_in_play_reason.as_deref(),
            Some("uv is not on PATH")
        );
        assert!(report.dry_run.is_none() && !report.refuses());

        let text = format!("{PLAIN_PYPROJECT}\n[tool.uv]\npackage = false\n");
        let project = scaffold(dir.path(), &text);
        let report = check_in_play(&project, Some(Path::new("/nonexistent/uv"))).unwrap();
        assert!(!report.in_play, "{report:?}");
        assert_eq!(report.verdict, GuardVerdict::NotInPlay);
    }

    /// No `uv.lock`: uv does not manage the project, whoever made the venv. Keys that miss
    /// sources earn a warning, never a refusal, and no uv command runs.
    #[test]
    fn without_a_lock_missed_keys_warn_and_run_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let project = scaffold(dir.path(), PLAIN_PYPROJECT);
        fs_err::remove_file(dir.path().join("uv.lock")).unwrap();
        let report = check(&project, Some(Path::new("/nonexistent/uv"))).unwrap();
        assert_eq!(report.verdict, GuardVerdict::AtRisk);
        assert!(!report.in_play && report.warns() && !report.refuses());
        assert!(report.dry_run.is_none() && report.dry_run_error.is_none());
        assert_eq!(report.uv_lock, None);
        assert!(
            report
                .missing_keys
                .contains(&r#"{ file = "src/**/*.rs" }"#.to_owned())
        );
        let warning = report.risk_warning();
        assert!(!warning.contains('\n'), "one line: {warning}");
        assert!(warning.contains("`src/lib.rs`"), "{warning}");
        assert!(warning.contains("--fix-uv"), "{warning}");

        fix(&project).unwrap().expect("a change");
        let report = static_report(&project);
        assert_eq!(report.verdict, GuardVerdict::Covered);
        assert!(!report.warns());
    }

    /// Without `[project]` uv takes the directory for a workspace root with no project in it,
    /// whatever the keys and the lock say.
    #[test]
    fn without_a_project_table_uv_never_builds_it() {
        let dir = tempfile::tempdir().unwrap();
        let text =
            "[build-system]\nrequires = [\"maturin>=1.9,<2\"]\nbuild-backend = \"maturin\"\n";
        let project = scaffold(dir.path(), text);
        let report = check(&project, Some(Path::new("/nonexistent/uv"))).unwrap();
        assert_eq!(report.verdict, GuardVerdict::NotInPlay);
        assert!(
            report
                .not_in_play_reason
                .as_deref()
                .is_some_and(|reason| reason.contains("no `[project]` table")
                    && reason.contains("uninstalls")),
            "{report:?}"
        );
        assert!(report.dry_run.is_none() && report.dry_run_error.is_none());
    }

    #[test]
    fn a_uv_workspace_lock_counts() {
        let dir = tempfile::tempdir().unwrap();
        let member = dir.path().join("packages/ext");
        let project = scaffold(&member, PLAIN_PYPROJECT);
        fs_err::remove_file(member.join("uv.lock")).unwrap();
        assert_eq!(find_uv_lock(&project), None);
        write(&dir.path().join("uv.lock"), "version = 1\n");
        assert!(
            find_uv_lock(&project).is_none(),
            "a lock of an unrelated project above"
        );
        write(
            &dir.path().join("pyproject.toml"),
            "[tool.uv.workspace]\nmembers = [\"packages/*\"]\n",
        );
        assert_eq!(find_uv_lock(&project), Some(dir.path().join("uv.lock")));
    }

    #[test]
    fn a_failed_dry_run_keeps_the_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let project = scaffold(dir.path(), PLAIN_PYPROJECT);
        let report = check(&project, Some(Path::new("/nonexistent/uv"))).unwrap();
        assert!(report.refuses());
        assert!(report.dry_run.is_none());
        assert!(
            report
                .dry_run_error
                .as_deref()
                .is_some_and(|error| error.contains("/nonexistent/uv"))
        );
    }
}
