//! The refusal as the user reads it: what uv would do, why its build is stale, and the fix.

use super::cache_keys::CacheKeysState;
use super::check::GuardReport;
use super::dry_run::{DryRun, SyncAction};
use crate::failure::user_error;

impl GuardReport {
    /// The refusal as an error whose message says what uv would do and why it is stale, with the
    /// fix as hint. `dev` reports it and exits with `ExitStatus::Refused` (3).
    pub(crate) fn refusal(&self) -> anyhow::Error {
        let package = &self.package;
        let named = format!("`{package} {}`", self.version);
        let what_uv_does = match &self.dry_run {
            Some(dry_run) if dry_run.action == SyncAction::ReinstallFromCache => {
                let version = dry_run.version.as_deref().unwrap_or(&self.version);
                format!(
                    "`uv run` or `uv sync` would reinstall `{package} {version}` from uv's cache \
                     (`uv sync --dry-run` plans it now: {})",
                    evidence_summary(dry_run)
                )
            }
            Some(dry_run) if dry_run.action == SyncAction::Rebuild => format!(
                "`uv run` would rebuild {named} this time ({}), but after your next Rust edit it \
                 would reinstall a stale build from uv's cache",
                evidence_summary(dry_run)
            ),
            // Right after any install that is not `uv sync`'s own, uv sees the environment as
            // outdated and reinstalls (uv 0.13.8 plans `- name==… (from file://….whl)` then
            // `+ name==…` right after a wheel install; docs/uv.md, "What the dry run says").
            _ => format!(
                "after this install, `uv run` or `uv sync` would reinstall {named} from uv's cache"
            ),
        };
        let why = match &self.cache_keys {
            CacheKeysState::Defaults => format!(
                "its default cache keys (`pyproject.toml`, `setup.py`, `setup.cfg` and the \
                 creation time of `src/`) do not cover {}, so it never rebuilds after a Rust edit \
                 (PyO3/maturin#2314)",
                list_paths(&self.uncovered)
            ),
            CacheKeysState::Unreadable(detail) => format!(
                "it cannot read `tool.uv.cache-keys` ({detail}), so it uses its defaults, which \
                 do not cover {}, and never rebuilds after a Rust edit (PyO3/maturin#2314)",
                list_paths(&self.uncovered)
            ),
            _ => format!(
                "`tool.uv.cache-keys` does not cover {}, so it does not rebuild after an edit \
                 there (PyO3/maturin#2314)",
                list_paths(&self.uncovered)
            ),
        };
        let message = format!(
            "refusing to build {named}: uv would swap it for a stale build from its cache\n  \
             {what_uv_does}\n  uv cannot tell that build is stale: {why}"
        );
        let hint = match &self.cache_keys {
            CacheKeysState::Unreadable(_) => format!(
                "fix or remove the entry uv cannot read in `[tool.uv] cache-keys`, then run \
                 `cargo pyo3 dev --fix-uv`\n  or pass `--allow-uv-cache` to build anyway and run \
                 `uv run --no-sync` (or set `{}=1`) afterwards",
                crate::env::UV_NO_SYNC
            ),
            _ => format!(
                "run `cargo pyo3 dev --fix-uv` to add these to `[tool.uv] cache-keys` in \
                 `pyproject.toml`, so uv rebuilds after Rust edits:\n{}\n  \
                 or pass `--allow-uv-cache` to build anyway and run `uv run --no-sync` (or set \
                 `{}=1`) afterwards",
                self.missing_keys
                    .iter()
                    .map(|key| format!("      {key},"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                crate::env::UV_NO_SYNC
            ),
        };
        user_error(message, hint)
    }

    /// The one `warning:` line for a project uv does not manage yet (no `uv.lock`) whose keys
    /// miss build inputs: what goes wrong once uv does, and the flag that prevents it.
    pub(crate) fn risk_warning(&self) -> String {
        let missed = list_paths(&self.uncovered);
        let (keys, remedy) = match &self.cache_keys {
            CacheKeysState::Unreadable(detail) => (
                format!(
                    "uv cannot read `tool.uv.cache-keys` ({detail}), and its defaults do not \
                     cover {missed}"
                ),
                "fix or remove that entry, then run `cargo pyo3 dev --fix-uv`",
            ),
            CacheKeysState::Set => (
                format!("`tool.uv.cache-keys` does not cover {missed}"),
                "`cargo pyo3 dev --fix-uv` adds the keys it needs",
            ),
            _ => (
                format!("uv's default cache keys do not cover {missed}"),
                "`cargo pyo3 dev --fix-uv` adds the keys it needs",
            ),
        };
        format!(
            "{keys}: once uv manages this project (the first `uv run`, `uv sync` or `uv lock` \
             writes `uv.lock`), `uv run` puts a stale build back after each Rust edit \
             (PyO3/maturin#2314); {remedy}"
        )
    }
}

pub(super) fn evidence_summary(dry_run: &DryRun) -> String {
    // The `+`/`~` line says what uv would install; the `-` line only what it would remove.
    let deciding: Vec<&String> = dry_run
        .evidence
        .iter()
        .filter(|line| !line.trim_start().starts_with('-'))
        .collect();
    let shown = if deciding.is_empty() {
        dry_run.evidence.iter().collect()
    } else {
        deciding
    };
    let lines: Vec<String> = shown
        .iter()
        .map(|line| format!("`{}`", line.trim()))
        .collect();
    if lines.is_empty() {
        "no details".to_owned()
    } else {
        lines.join(", ")
    }
}

/// `a`, `b`, `c` and 4 more.
pub(super) fn list_paths(paths: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut shown: Vec<String> = paths
        .iter()
        .take(SHOWN)
        .map(|path| format!("`{path}`"))
        .collect();
    if paths.len() > SHOWN {
        shown.push(format!("{} more", paths.len() - SHOWN));
    }
    match shown.len() {
        0 => String::new(),
        1 => shown.remove(0),
        _ => {
            let last = shown.pop().unwrap_or_default();
            format!("{} and {last}", shown.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::uv_guard::test_support::*;

    #[test]
    fn refusal_says_what_why_and_how() {
        let dir = tempfile::tempdir().unwrap();
        let project = scaffold(dir.path(), PLAIN_PYPROJECT);
        let mut report = static_report(&project);
        let (action, version, _) = parse_json(SHAPES[1].1, "hello").unwrap();
        report.dry_run = Some(DryRun {
            action,
            version,
            evidence: text_lines_about(SHAPES[1].2, "hello"),
            format: DryRunFormat::Json,
            command: "uv sync --dry-run".to_owned(),
        });
        let error = report.refusal();
        let message = error.to_string();
        let hint = crate::failure::hint_of(&error).unwrap();
        assert!(
            message.contains("would reinstall `demo 0.1.0` from uv's cache"),
            "{message}"
        );
        assert!(
            message.contains("`~ hello==0.1.0 (from file:///tmp/uvexp/hello)`"),
            "{message}"
        );
        assert!(message.contains("`src/lib.rs`"), "{message}");
        assert!(message.contains("PyO3/maturin#2314"), "{message}");
        assert!(hint.contains("cargo pyo3 dev --fix-uv"), "{hint}");
        assert!(hint.contains(r#"{ file = "src/**/*.rs" },"#), "{hint}");
        assert!(hint.contains("--allow-uv-cache"), "{hint}");
        assert!(hint.contains("uv run --no-sync"), "{hint}");

        report.dry_run = None;
        let message = report.refusal().to_string();
        assert!(message.contains("after this install"), "{message}");
    }
}
