//! The runtime requirements `dev` installs before the project, as `maturin develop` does:
//! `[project] dependencies`, the extras asked for with `-E`, and the dependency groups asked for
//! with `--group` (PEP 735; the `dev` group by default when the project has one). Requirement
//! strings are parsed with `pep508_rs`; their markers are left to the installer, which evaluates
//! them for the venv's interpreter.

use std::collections::BTreeSet;
use std::str::FromStr;

use anyhow::Result;
use pep508_rs::{Requirement, VerbatimUrl};

use crate::failure::user_error;
use crate::project::{GroupEntry, Project};
use crate::settings::Selection;

/// The requirement strings to install, sorted and without duplicates; the project's own
/// distribution never among them (a self-reference like `pkg[test]` is replaced by the
/// requirements of those extras).
pub(crate) fn resolve(project: &Project, selection: &Selection) -> Result<Vec<String>> {
    collect(project, selection, true)
}

/// The requirements of the selected extras and groups only: no `[project] dependencies`, and no
/// `dev` group unless it is named.
pub(crate) fn resolve_selected(project: &Project, selection: &Selection) -> Result<Vec<String>> {
    collect(project, selection, false)
}

/// The normalised distribution name of a PEP 508 requirement (`pytest>=8` → `pytest`).
pub(crate) fn distribution_name(requirement: &str) -> Option<String> {
    parse(requirement).map(|requirement| normalize(requirement.name.as_ref()))
}

/// The distribution a requirement installs wherever it is installed (no environment marker):
/// the ones whose presence in a venv says the requirement is met.
pub(crate) fn unconditional_distribution(requirement: &str) -> Option<String> {
    parse(requirement)
        .filter(|requirement| requirement.marker.is_true())
        .map(|requirement| normalize(requirement.name.as_ref()))
}

fn parse(requirement: &str) -> Option<Requirement<VerbatimUrl>> {
    Requirement::<VerbatimUrl>::from_str(requirement).ok()
}

fn collect(project: &Project, selection: &Selection, with_base: bool) -> Result<Vec<String>> {
    let declared = &project.requirements;
    let pyproject = project
        .pyproject_path
        .as_deref()
        .map(|path| project.relative(path).display().to_string())
        .unwrap_or_else(|| "pyproject.toml".into());
    let mut resolved = BTreeSet::new();
    let mut seen_extras = BTreeSet::new();
    let mut pending: Vec<String> = if with_base {
        declared.dependencies.clone()
    } else {
        Vec::new()
    };
    for extra in &selection.extras {
        let requirements = find_extra(project, extra).ok_or_else(|| {
            user_error(
                format!("`{pyproject}` declares no extra `{extra}` under `[project.optional-dependencies]`"),
                known("extras", declared.extras.keys()),
            )
        })?;
        seen_extras.insert(normalize(extra));
        pending.extend(requirements.iter().cloned());
    }
    let groups: Vec<String> = if selection.groups.is_empty() && with_base {
        declared
            .groups
            .keys()
            .filter(|name| normalize(name) == "dev")
            .cloned()
            .collect()
    } else {
        selection.groups.clone()
    };
    for group in &groups {
        let mut visiting = Vec::new();
        group_requirements(project, group, &pyproject, &mut visiting, &mut pending)?;
    }

    let own_name = normalize(&project.dist_name);
    while let Some(text) = pending.pop() {
        let requirement = Requirement::<VerbatimUrl>::from_str(&text).map_err(|error| {
            user_error(
                format!(
                    "`{pyproject}` has a requirement that is not valid PEP 508: `{text}`: {error}"
                ),
                format!("fix the requirement in `{pyproject}`"),
            )
        })?;
        if normalize(requirement.name.as_ref()) != own_name {
            resolved.insert(text.trim().to_owned());
            continue;
        }
        for extra in &requirement.extras {
            if seen_extras.insert(normalize(extra.as_ref()))
                && let Some(requirements) = find_extra(project, extra.as_ref())
            {
                pending.extend(requirements.iter().cloned());
            }
        }
    }
    Ok(resolved.into_iter().collect())
}

fn find_extra<'a>(project: &'a Project, extra: &str) -> Option<&'a Vec<String>> {
    project
        .requirements
        .extras
        .iter()
        .find(|(name, _)| normalize(name) == normalize(extra))
        .map(|(_, requirements)| requirements)
}

/// The requirements of `group`, following `include-group` entries; a cycle is an error, as
/// PEP 735 says.
fn group_requirements(
    project: &Project,
    group: &str,
    pyproject: &str,
    visiting: &mut Vec<String>,
    out: &mut Vec<String>,
) -> Result<()> {
    let declared = &project.requirements;
    let Some((name, entries)) = declared
        .groups
        .iter()
        .find(|(name, _)| normalize(name) == normalize(group))
    else {
        return Err(user_error(
            format!(
                "`{pyproject}` declares no dependency group `{group}` under `[dependency-groups]`"
            ),
            known("groups", declared.groups.keys()),
        ));
    };
    if visiting
        .iter()
        .any(|seen| normalize(seen) == normalize(name))
    {
        visiting.push(name.clone());
        return Err(user_error(
            format!(
                "the dependency groups in `{pyproject}` include each other: {}",
                visiting.join(" → ")
            ),
            "remove one of the `include-group` entries",
        ));
    }
    visiting.push(name.clone());
    for entry in entries {
        match entry {
            GroupEntry::Requirement(requirement) => out.push(requirement.clone()),
            GroupEntry::Include { include_group } => {
                group_requirements(project, include_group, pyproject, visiting, out)?
            }
        }
    }
    visiting.pop();
    Ok(())
}

fn known<'a>(what: &str, names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<String> = names.map(|name| format!("`{name}`")).collect();
    if names.is_empty() {
        format!("the project declares no {what}")
    } else {
        format!("the project's {what}: {}", names.join(", "))
    }
}

/// PEP 503 / PEP 685 normalisation, for comparing distribution, extra and group names.
fn normalize(name: &str) -> String {
    crate::site_packages::normalize_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::DeclaredRequirements;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    fn project(requirements: DeclaredRequirements) -> Project {
        let mut project = Project::for_tests(PathBuf::from("/p"));
        project.dist_name = "My-Pkg".into();
        project.requirements = requirements;
        project
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    #[test]
    fn dependencies_extras_and_the_dev_group_by_default() {
        let project = project(DeclaredRequirements {
            dependencies: strings(&["boltons>=21", "numpy; python_version >= '3.9'"]),
            extras: BTreeMap::from([
                ("test".into(), strings(&["pytest", "my_pkg[fast]"])),
                ("fast".into(), strings(&["orjson"])),
            ]),
            groups: BTreeMap::from([
                (
                    "dev".into(),
                    vec![
                        GroupEntry::Requirement("ruff".into()),
                        GroupEntry::Include {
                            include_group: "lint".into(),
                        },
                    ],
                ),
                ("lint".into(), vec![GroupEntry::Requirement("mypy".into())]),
            ]),
        });
        assert_eq!(
            resolve(&project, &Selection::default()).unwrap(),
            [
                "boltons>=21",
                "mypy",
                "numpy; python_version >= '3.9'",
                "ruff"
            ]
        );
        let with_test = Selection {
            extras: vec!["TEST".into()],
            groups: vec!["lint".into()],
        };
        assert_eq!(
            resolve(&project, &with_test).unwrap(),
            [
                "boltons>=21",
                "mypy",
                "numpy; python_version >= '3.9'",
                "orjson",
                "pytest"
            ]
        );
    }

    #[test]
    fn unknown_extras_groups_cycles_and_bad_requirements_are_errors() {
        let project = project(DeclaredRequirements {
            dependencies: strings(&["not a requirement ]["]),
            extras: BTreeMap::new(),
            groups: BTreeMap::from([
                (
                    "a".into(),
                    vec![GroupEntry::Include {
                        include_group: "b".into(),
                    }],
                ),
                (
                    "b".into(),
                    vec![GroupEntry::Include {
                        include_group: "a".into(),
                    }],
                ),
            ]),
        });
        let message =
            |selection: Selection| format!("{:#}", resolve(&project, &selection).unwrap_err());
        assert!(
            message(Selection {
                extras: vec!["x".into()],
                groups: vec![]
            })
            .contains("no extra `x`")
        );
        assert!(
            message(Selection {
                extras: vec![],
                groups: vec!["a".into()]
            })
            .contains("a → b → a")
        );
        assert!(message(Selection::default()).contains("not valid PEP 508"));
    }
}
