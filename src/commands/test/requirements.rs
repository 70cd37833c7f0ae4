//! pytest for `cargo pyo3 test`: when the venv has none, what the project declares for its tests
//! (a `test` or `dev` dependency group, a `tests` or `test` extra) is installed, else `pytest`.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Deserialize;

use crate::install::{self, Installer};
use crate::output::{self, user_error};
use crate::project::Project;
use crate::venv::{Venv, normalize_name};

/// Dependency groups tried in this order, then extras (PEP 735 names are normalised).
const GROUPS: &[&str] = &["test", "tests", "dev"];
const EXTRAS: &[&str] = &["tests", "test"];
/// `include-group` chains deeper than this are a cycle or a mistake.
const MAX_INCLUDE_DEPTH: usize = 8;

#[derive(Debug, Default, Deserialize)]
struct TestDeclarations {
    #[serde(default, rename = "dependency-groups")]
    dependency_groups: BTreeMap<String, Vec<GroupEntry>>,
    #[serde(default)]
    project: Option<ProjectExtras>,
}

#[derive(Debug, Default, Deserialize)]
struct ProjectExtras {
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum GroupEntry {
    Requirement(String),
    Include {
        #[serde(rename = "include-group")]
        include_group: String,
    },
}

/// Installs pytest into the venv when it is missing, saying so in one line.
pub(crate) fn ensure_pytest(project: &Project, venv: &Venv, installer: Installer) -> Result<()> {
    if !venv.installed_distributions("pytest").is_empty() {
        return Ok(());
    }
    let declared = match &project.pyproject_path {
        Some(path) => declared(&fs_err::read_to_string(path)?).map_err(|error| {
            user_error(
                format!("failed to read `{}`: {error}", path.display()),
                format!("fix `{}` at the line shown", path.display()),
            )
        })?,
        None => None,
    };
    let (what, mut requirements) = declared.unwrap_or_else(|| ("`pytest`".into(), Vec::new()));
    // Installing the project itself from an index or its sources would replace the build just
    // proven: it is already installed.
    let own = normalize_name(&project.dist_name);
    requirements.retain(|requirement| requirement_name(requirement) != own);
    if !requirements
        .iter()
        .any(|requirement| requirement_name(requirement) == "pytest")
    {
        requirements.push("pytest".into());
    }
    output::status(
        "Installing",
        format!(
            "{what} into `{}` (pytest was not in the venv)",
            venv.root.display()
        ),
    );
    install::install_requirements(
        &requirements,
        venv,
        installer,
        crate::tools::find_uv().as_deref(),
    )?;
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

/// The first test declaration the pyproject has, described, with its requirements.
fn declared(text: &str) -> Result<Option<(String, Vec<String>)>> {
    let declarations: TestDeclarations = toml_edit::de::from_str(text)?;
    let groups: BTreeMap<String, &Vec<GroupEntry>> = declarations
        .dependency_groups
        .iter()
        .map(|(name, entries)| (normalize_name(name), entries))
        .collect();
    for name in GROUPS {
        if groups.contains_key(*name) {
            let mut requirements = Vec::new();
            expand(&groups, name, 0, &mut requirements)?;
            return Ok(Some((
                format!("the `{name}` dependency group"),
                requirements,
            )));
        }
    }
    let extras = declarations
        .project
        .map(|project| project.optional_dependencies)
        .unwrap_or_default();
    for name in EXTRAS {
        if let Some((found, requirements)) = extras
            .iter()
            .find(|(extra, _)| normalize_name(extra) == *name)
        {
            return Ok(Some((format!("the `{found}` extra"), requirements.clone())));
        }
    }
    Ok(None)
}

fn expand(
    groups: &BTreeMap<String, &Vec<GroupEntry>>,
    name: &str,
    depth: usize,
    requirements: &mut Vec<String>,
) -> Result<()> {
    if depth > MAX_INCLUDE_DEPTH {
        anyhow::bail!(
            "`include-group` nests deeper than {MAX_INCLUDE_DEPTH} at `{name}`: a cycle?"
        );
    }
    let Some(entries) = groups.get(&normalize_name(name)) else {
        anyhow::bail!("`include-group = \"{name}\"` names no dependency group");
    };
    for entry in entries.iter() {
        match entry {
            GroupEntry::Requirement(requirement) => requirements.push(requirement.clone()),
            GroupEntry::Include { include_group } => {
                expand(groups, include_group, depth + 1, requirements)?
            }
        }
    }
    Ok(())
}

/// The normalised distribution name a PEP 508 requirement starts with (`pytest>=8` → `pytest`).
fn requirement_name(requirement: &str) -> String {
    let name: String = requirement
        .trim_start()
        .chars()
        .take_while(|character| character.is_ascii_alphanumeric() || "-_.".contains(*character))
        .collect();
    normalize_name(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_wins_over_an_extra_and_includes_are_followed() {
        let text = r#"
[project]
name = "demo"
optional-dependencies = { tests = ["hypothesis"] }

[dependency-groups]
lint = ["ruff"]
Test = ["pytest>=8", { include-group = "lint" }]
"#;
        let (what, requirements) = declared(text).unwrap().unwrap();
        assert_eq!(what, "the `test` dependency group");
        assert_eq!(requirements, ["pytest>=8", "ruff"]);
    }

    #[test]
    fn the_tests_extra_is_used_without_a_group() {
        let text = "[project]\nname = \"demo\"\n[project.optional-dependencies]\ntests = [\"pytest-xdist\"]\n";
        let (what, requirements) = declared(text).unwrap().unwrap();
        assert_eq!(what, "the `tests` extra");
        assert_eq!(requirements, ["pytest-xdist"]);
        assert!(declared("[project]\nname = \"demo\"\n").unwrap().is_none());
    }

    #[test]
    fn an_include_cycle_is_an_error() {
        let text = "[dependency-groups]\ndev = [{ include-group = \"dev\" }]\n";
        assert!(declared(text).is_err());
    }

    #[test]
    fn requirement_names_are_normalised() {
        assert_eq!(requirement_name("PyTest >= 8"), "pytest");
        assert_eq!(
            requirement_name("my_pkg[tests]; python_version > '3'"),
            "my-pkg"
        );
    }
}
