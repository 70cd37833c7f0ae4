//! pytest for `cargo pyo3 test`: when the venv has none, what the project declares for its tests
//! (the first of the `test`, `tests` or `dev` dependency group, the `tests`, `test` or `dev` extra) is
//! installed, else `pytest`; at the versions the project's `uv.lock` pins when it has a fresh
//! one whose export of that declaration includes pytest.

use anyhow::Result;

use crate::failure::user_error;
use crate::install;
use crate::locked::{self, Lock};
use crate::output;
use crate::project::Project;
use crate::requirements;
use crate::settings::Selection;
use crate::site_packages::normalize_name;
use crate::toolchain::Installer;
use crate::venv::Venv;

/// Dependency groups tried in this order, then extras (PEP 735 names are normalised).
const GROUPS: &[&str] = &["test", "tests", "dev"];
const EXTRAS: &[&str] = &["tests", "test", "dev"];

/// Installs pytest into the venv when it is missing, saying so in one line: at the versions the
/// project's lock pins when it has a fresh one that includes pytest, else resolved.
pub(crate) fn ensure_pytest(
    project: &Project,
    venv: &Venv,
    installer: &Installer,
    lock: Option<&Lock>,
) -> Result<()> {
    if !venv.installed_distributions("pytest").is_empty() {
        return Ok(());
    }
    let declared = declared(project);
    let pinned = match (&declared, lock) {
        (Some((_, selection)), Some(lock)) => {
            { locked::pinned(project, selection, Some(lock), installer.kind(), None)? }.filter(
                |pinned| {
                    pinned.requirements.iter().any(|requirement| {
                        requirements::distribution_name(requirement).as_deref() == Some("pytest")
                    })
                },
            )
        }
        _ => None,
    };
    let (what, mut requirements) = match declared {
        Some((what, selection)) => (what, requirements::resolve_selected(project, &selection)?),
        None => ("`pytest`".into(), Vec::new()),
    };
    // Installing the project itself from an index or its sources would replace the build just
    // proven: it is already installed.
    let own = normalize_name(&project.dist_name);
    requirements
        .retain(|requirement| requirements::distribution_name(requirement).as_ref() != Some(&own));
    if !requirements.iter().any(|requirement| {
        requirements::distribution_name(requirement).as_deref() == Some("pytest")
    }) {
        requirements.push("pytest".into());
    }
    let locked_in = pinned
        .as_ref()
        .map(|pinned| {
            format!(
                " at the versions locked in `{}`",
                project.relative(&pinned.lockfile).display()
            )
        })
        .unwrap_or_default();
    output::status(
        "Installing",
        format!(
            "{what}{locked_in} into `{}` (pytest was not in the venv)",
            venv.root.display()
        ),
    );
    let hint = "install them into the venv yourself with the command above, then run again";
    match &pinned {
        Some(pinned) => pinned.install(venv, installer, &what, hint)?,
        None => install::install_requirements(&requirements, venv, installer, &what, hint)?,
    }
    if venv.installed_distributions("pytest").is_empty() {
        return Err(user_error(
            format!(
                "installing {what} did not put pytest into `{}`",
                venv.root.display()
            ),
            format!(
                "install it yourself: `{} -m pip install pytest`",
                venv.python.display()
            ),
        ));
    }
    Ok(())
}

/// The first test declaration the project has, described, as a selection of its requirements.
fn declared(project: &Project) -> Option<(String, Selection)> {
    let declared = &project.requirements;
    for name in GROUPS {
        if let Some(group) = declared
            .groups
            .keys()
            .find(|group| normalize_name(group) == *name)
        {
            return Some((
                format!("the `{group}` dependency group"),
                Selection {
                    extras: Vec::new(),
                    groups: vec![group.clone()],
                },
            ));
        }
    }
    for name in EXTRAS {
        if let Some(extra) = declared
            .extras
            .keys()
            .find(|extra| normalize_name(extra) == *name)
        {
            return Some((
                format!("the `{extra}` extra"),
                Selection {
                    extras: vec![extra.clone()],
                    groups: Vec::new(),
                },
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::project::{DeclaredRequirements, GroupEntry};

    fn project(requirements: DeclaredRequirements) -> Project {
        let mut project = Project::for_tests(PathBuf::from("/p"));
        project.requirements = requirements;
        project
    }

    #[test]
    fn a_group_wins_over_an_extra_and_includes_are_followed() {
        let project = project(DeclaredRequirements {
            dependencies: vec!["numpy".into()],
            extras: BTreeMap::from([("tests".into(), vec!["hypothesis".into()])]),
            groups: BTreeMap::from([
                ("lint".into(), vec![GroupEntry::Requirement("ruff".into())]),
                (
                    "Test".into(),
                    vec![
                        GroupEntry::Requirement("pytest>=8".into()),
                        GroupEntry::Include {
                            include_group: "lint".into(),
                        },
                    ],
                ),
            ]),
        });
        let (what, selection) = declared(&project).unwrap();
        assert_eq!(what, "the `Test` dependency group");
        assert_eq!(
            requirements::resolve_selected(&project, &selection).unwrap(),
            ["pytest>=8", "ruff"]
        );
    }

    /// `cargo pyo3 test --help` and docs/test.md name what `declared` tries, in its order.
    #[test]
    fn the_help_and_the_docs_list_what_is_tried_in_order() {
        use clap::CommandFactory;

        fn listed(names: &[&str]) -> String {
            let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
            let (last, rest) = quoted.split_last().unwrap();
            format!("{} or {last}", rest.join(", "))
        }
        let groups = format!("the {} dependency group", listed(GROUPS));
        let extras = format!("the {} extra", listed(EXTRAS));
        let one_line = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");

        let cargo = crate::cli::Cargo::command();
        let test = cargo
            .find_subcommand("pyo3")
            .and_then(|pyo3| pyo3.find_subcommand("test"))
            .unwrap();
        let help = one_line(&test.get_long_about().unwrap().to_string());
        assert!(help.contains(&format!("{groups}, or {extras}")), "{help}");
        let docs = one_line(include_str!("../../../docs/test.md"));
        assert!(docs.contains(&groups), "{groups}");
        assert!(docs.contains(&extras), "{extras}");
    }

    #[test]
    fn the_tests_extra_is_used_without_a_group() {
        let project = project(DeclaredRequirements {
            extras: BTreeMap::from([("tests".into(), vec!["pytest-xdist".into()])]),
            ..DeclaredRequirements::default()
        });
        let (what, selection) = declared(&project).unwrap();
        assert_eq!(what, "the `tests` extra");
        assert_eq!(
            requirements::resolve_selected(&project, &selection).unwrap(),
            ["pytest-xdist"]
        );
        assert!(declared(&Project::for_tests(PathBuf::from("/p"))).is_none());
    }
}
