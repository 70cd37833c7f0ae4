//! `uv sync --dry-run --frozen`: what uv would do to the project right now, read from its JSON
//! (schema marked preview) with the stderr lines as fallback.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::process::Cmd;
use crate::project::Project;

/// What `uv sync` would do to the project, per the dry run (the shapes uv 0.13.8 prints are in
/// docs/uv.md, "What the dry run says").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum SyncAction {
    /// It would reinstall a wheel it already has in its cache (`~`, or `+ name==version`).
    ReinstallFromCache,
    /// It would build the project from source first (`+ name @ file://…`).
    Rebuild,
    /// It would only uninstall it (`tool.uv.package = false`, exact sync).
    Remove,
    /// Nothing to do for the project.
    None,
}

/// Which output of uv the verdict was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum DryRunFormat {
    Json,
    Text,
}

/// The result of `uv sync --dry-run --frozen`, for the project only.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DryRun {
    pub(crate) action: SyncAction,
    /// The version uv would reinstall, when it names one.
    pub(crate) version: Option<String>,
    /// uv's own lines about the project (`~ hello==0.1.0 (from file://…)`), or the JSON entries.
    pub(crate) evidence: Vec<String>,
    pub(crate) format: DryRunFormat,
    pub(crate) command: String,
}

/// `uv sync --dry-run --frozen`: about 60 ms, changes nothing in the project, the venv or uv's
/// cache, never starts maturin or cargo (uv 0.13.8: 10 runs took 0.62–0.72 s, and `find -newer`
/// found no changed file in the project or uv's cache; docs/uv.md).
pub(super) fn dry_run(uv: &Path, project: &Project) -> Result<DryRun> {
    let base = Cmd::new(uv)
        .args(["sync", "--dry-run", "--frozen", "--color", "never"])
        .dir(&project.project_dir);
    // The JSON schema is marked preview; the stderr lines are the fallback.
    let json_command = base.clone().args(["--output-format", "json"]);
    let (command, captured) = match json_command.run_captured() {
        Ok(captured) => (json_command, captured),
        Err(_) => {
            let captured = base
                .run_captured()
                .with_context(|| format!("failed to ask uv what it would do: `{base}`"))?;
            (base, captured)
        }
    };
    let name = crate::site_packages::normalize_name(&project.dist_name);
    let evidence_lines = text_lines_about(&captured.stderr, &name);
    if let Some((action, version, entries)) = parse_json(&captured.stdout, &name) {
        return Ok(DryRun {
            action,
            version,
            evidence: if evidence_lines.is_empty() {
                entries
            } else {
                evidence_lines
            },
            format: DryRunFormat::Json,
            command: command.to_string(),
        });
    }
    let (action, version) = parse_text(&captured.stderr, &name);
    Ok(DryRun {
        action,
        version,
        evidence: evidence_lines,
        format: DryRunFormat::Text,
        command: command.to_string(),
    })
}

/// Reads `sync.changes[]` for the project (`name` already normalised). `None` when the JSON is
/// missing or not the shape we know.
pub(super) fn parse_json(
    stdout: &str,
    name: &str,
) -> Option<(SyncAction, Option<String>, Vec<String>)> {
    let document: serde_json::Value = serde_json::from_str(stdout).ok()?;
    let changes = document.get("sync")?.get("changes")?.as_array()?;
    let mut reinstalled = None;
    let mut rebuilt = false;
    let mut uninstalled = false;
    let mut evidence = Vec::new();
    for change in changes {
        let change_name = change.get("name")?.as_str()?;
        if crate::site_packages::normalize_name(change_name) != name {
            continue;
        }
        evidence.push(change.to_string());
        let version = change
            .get("version")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        match change.get("action")?.as_str()? {
            "reinstalled" => reinstalled = Some(version),
            // A version means uv already has that build; none means it must build it first.
            "installed" => match version {
                Some(version) => reinstalled = Some(Some(version)),
                None => rebuilt = true,
            },
            "uninstalled" => uninstalled = true,
            _ => {}
        }
    }
    let (action, version) = classify(reinstalled, rebuilt, uninstalled);
    Some((action, version, evidence))
}

/// The text fallback: `~ name==1.0 (from …)`, `- name==1.0 (from …)`, `+ name==1.0 (from …)`
/// (a cached build) and `+ name @ file://…` (a build from source), printed on stderr.
pub(super) fn parse_text(stderr: &str, name: &str) -> (SyncAction, Option<String>) {
    let mut reinstalled = None;
    let mut rebuilt = false;
    let mut uninstalled = false;
    for line in stderr.lines() {
        let Some((marker, change_name, version)) = parse_change_line(line) else {
            continue;
        };
        if crate::site_packages::normalize_name(change_name) != name {
            continue;
        }
        match (marker, version) {
            ('~', version) => reinstalled = Some(version.map(str::to_owned)),
            ('+', Some(version)) => reinstalled = Some(Some(version.to_owned())),
            ('+', None) => rebuilt = true,
            ('-', _) => uninstalled = true,
            _ => {}
        }
    }
    classify(reinstalled, rebuilt, uninstalled)
}

pub(super) fn classify(
    reinstalled: Option<Option<String>>,
    rebuilt: bool,
    uninstalled: bool,
) -> (SyncAction, Option<String>) {
    match reinstalled {
        Some(version) => (SyncAction::ReinstallFromCache, version),
        None if rebuilt => (SyncAction::Rebuild, None),
        None if uninstalled => (SyncAction::Remove, None),
        None => (SyncAction::None, None),
    }
}

/// Splits ` ~ hello==0.1.0 (from file:///p)` into marker, name and version.
pub(super) fn parse_change_line(line: &str) -> Option<(char, &str, Option<&str>)> {
    let line = line.trim();
    let mut characters = line.chars();
    let marker = characters
        .next()
        .filter(|marker| matches!(marker, '~' | '+' | '-'))?;
    let rest = characters.as_str().strip_prefix(' ')?.trim_start();
    let requirement = rest.split_whitespace().next()?;
    if let Some((change_name, version)) = requirement.split_once("==") {
        return Some((marker, change_name, Some(version)));
    }
    // `+ hello @ file:///p`: a direct reference, nothing cached to name a version from.
    Some((marker, requirement, None))
}

pub(super) fn text_lines_about(stderr: &str, name: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|line| {
            parse_change_line(line).is_some_and(|(_, change_name, _)| {
                crate::site_packages::normalize_name(change_name) == name
            })
        })
        .map(|line| line.trim().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uv_guard::test_support::*;

    fn expected_version(action: SyncAction) -> Option<String> {
        (action == SyncAction::ReinstallFromCache).then(|| "0.1.0".to_owned())
    }

    #[test]
    fn json_parser_reads_every_captured_shape() {
        for (shape, json, _, _, expected) in SHAPES {
            let (action, version, evidence) =
                parse_json(json, "hello").unwrap_or_else(|| panic!("{shape}: JSON not read"));
            assert_eq!(action, *expected, "{shape}");
            assert_eq!(version, expected_version(*expected), "{shape}");
            assert!(
                evidence.iter().all(|line| line.contains("\"hello\"")),
                "{shape}: {evidence:?}"
            );
            assert_eq!(
                evidence.is_empty(),
                *expected == SyncAction::None,
                "{shape}"
            );
        }
    }

    #[test]
    fn text_parser_reads_every_captured_shape() {
        for (shape, _, text, json_stderr, expected) in SHAPES {
            for stderr in [text, json_stderr] {
                let (action, version) = parse_text(stderr, "hello");
                assert_eq!(action, *expected, "{shape}: {stderr}");
                assert_eq!(version, expected_version(*expected), "{shape}");
            }
        }
    }

    #[test]
    fn other_packages_are_ignored() {
        let (_, _, _, pip_stderr, _) = SHAPES[5];
        assert_eq!(parse_text(pip_stderr, "pip").0, SyncAction::Remove);
        let lines = text_lines_about(pip_stderr, "hello");
        assert_eq!(
            lines,
            [
                "- hello==0.1.0 (from file:///tmp/uvexp/out/hello-0.1.0-cp311-cp311-manylinux_2_34_x86_64.whl)",
                "+ hello==0.1.0 (from file:///tmp/uvexp/hello)",
            ]
        );
        assert_eq!(parse_text(pip_stderr, "other").0, SyncAction::None);
        assert_eq!(
            parse_json(SHAPES[5].1, "other").map(|r| r.0),
            Some(SyncAction::None)
        );
    }

    #[test]
    fn names_are_compared_per_pep_503() {
        assert_eq!(
            crate::site_packages::normalize_name("My_Package.Name--x"),
            "my-package-name-x"
        );
        let stderr = " ~ my-package==1.2 (from file:///p)\n";
        assert_eq!(
            parse_text(stderr, &crate::site_packages::normalize_name("My_Package")),
            (SyncAction::ReinstallFromCache, Some("1.2".to_owned()))
        );
    }

    #[test]
    fn unreadable_json_falls_back_to_none() {
        assert!(parse_json("", "hello").is_none());
        assert!(parse_json("{\"schema\": {}}", "hello").is_none());
        assert!(parse_json("not json", "hello").is_none());
    }
}
