//! Which interpreters the project can be built for, judged before anything is built: its
//! `requires-python` (a PEP 440 specifier, read with `pep440_rs`) and, for an abi3 build, the
//! floor its `abi3-py3X` feature sets (a `cp39-abi3` wheel does not load on 3.8).

use std::collections::BTreeSet;
use std::str::FromStr;

use anyhow::Result;
use pep508_rs::pep440_rs::{Version, VersionSpecifiers};

use super::request::Minor;
use crate::failure::user_error;
use crate::project::Project;
use crate::settings::BuildSettings;

/// The abi3 build the features select: `pyo3/abi3-py39` → a floor of 3.9; plain `abi3` → the
/// floor of pyo3 itself, which is not judged here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Abi3 {
    /// The feature, as `pyo3/abi3-py39`.
    pub(crate) feature: String,
    pub(crate) floor: Option<Minor>,
}

/// What the project admits.
#[derive(Debug, Clone)]
pub(crate) struct Admission {
    requires_python: Option<(String, VersionSpecifiers)>,
    pub(crate) abi3: Option<Abi3>,
    /// Where the rules are written, for messages.
    pyproject: String,
}

impl Admission {
    pub(crate) fn of(project: &Project, build: &BuildSettings) -> Result<Admission> {
        let pyproject = project
            .pyproject_path
            .as_deref()
            .map(|path| project.relative(path).display().to_string())
            .unwrap_or_else(|| "pyproject.toml".to_owned());
        let requires_python = match &project.requires_python {
            Some(text) => Some((
                text.clone(),
                VersionSpecifiers::from_str(text).map_err(|error| {
                    user_error(
                        format!(
                            "`requires-python = \"{text}\"` in `{pyproject}` is not a PEP 440 \
                             version specifier: {error}"
                        ),
                        "write it as installers read it, for example `requires-python = \">=3.9\"`",
                    )
                })?,
            )),
            None => None,
        };
        Ok(Admission {
            requires_python,
            abi3: abi3(project, build),
            pyproject,
        })
    }

    /// Why `version` (`3.12.1`) cannot be built for, or `None` when it can.
    pub(crate) fn refusal(&self, version: &str, minor: Minor) -> Option<String> {
        if let Some((text, specifiers)) = &self.requires_python {
            let parsed = Version::from_str(version).ok()?;
            if !specifiers.contains(&parsed) {
                return Some(format!(
                    "`requires-python = \"{text}\"` in `{}` excludes it",
                    self.pyproject
                ));
            }
        }
        if let Some(Abi3 {
            feature,
            floor: Some(floor),
        }) = &self.abi3
            && minor < *floor
        {
            return Some(format!(
                "the build is abi3 for Python ≥ {floor} (`{feature}`), which Python {minor} \
                 cannot load"
            ));
        }
        None
    }
}

/// The abi3 feature the build turns on, if any: declared on the `pyo3`/`pyo3-ffi` dependency, in
/// `[tool.maturin] features`, or through the package's own features that this build activates
/// (`default` unless `--no-default-features`, the ones `-F` names, or all of them). The highest
/// floor wins, as in pyo3, where each `abi3-py3X` feature turns on the ones above it.
fn abi3(project: &Project, build: &BuildSettings) -> Option<Abi3> {
    let inputs = &project.abi3_inputs;
    let mut enabled: Vec<String> = inputs.dependency_features.clone();
    let mut active: BTreeSet<String> = BTreeSet::new();
    let mut queue: Vec<String> = Vec::new();
    if build.all_features {
        queue.extend(inputs.features.keys().cloned());
    }
    if !build.no_default_features {
        queue.push("default".to_owned());
    }
    queue.extend(build.features.iter().cloned());
    queue.extend(inputs.maturin_features.iter().cloned());
    while let Some(feature) = queue.pop() {
        if feature.contains('/') {
            enabled.push(feature);
            continue;
        }
        if active.insert(feature.clone())
            && let Some(enables) = inputs.features.get(&feature)
        {
            queue.extend(enables.iter().cloned());
        }
    }
    enabled
        .into_iter()
        .filter_map(|feature| {
            let (dependency, name) = feature.split_once('/')?;
            let dependency = dependency.trim_end_matches('?');
            if !matches!(dependency, "pyo3" | "pyo3-ffi") {
                return None;
            }
            let floor = match name.strip_prefix("abi3") {
                Some("") => None,
                Some(rest) => {
                    let digits = rest.strip_prefix("-py3")?;
                    Some(Minor {
                        major: 3,
                        minor: digits.parse().ok()?,
                    })
                }
                None => return None,
            };
            Some(Abi3 {
                feature: format!("{dependency}/{name}"),
                floor,
            })
        })
        .max_by_key(|abi3| abi3.floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(requires_python: Option<&str>, dependency_features: &[&str]) -> Project {
        let mut project = Project::for_tests(std::path::PathBuf::from("/p"));
        project.requires_python = requires_python.map(str::to_owned);
        project.abi3_inputs.dependency_features =
            dependency_features.iter().map(|f| f.to_string()).collect();
        project
    }

    fn minor(text: &str) -> Minor {
        Minor::parse(text).unwrap()
    }

    #[test]
    fn requires_python_excludes_with_its_reason() {
        let admission = Admission::of(
            &project(Some(">=3.9, <3.13"), &[]),
            &BuildSettings::default(),
        )
        .unwrap();
        assert_eq!(
            admission.refusal("3.8.18", minor("3.8")).unwrap(),
            "`requires-python = \">=3.9, <3.13\"` in `pyproject.toml` excludes it"
        );
        assert!(admission.refusal("3.12.1", minor("3.12")).is_none());
        assert!(admission.refusal("3.13.0", minor("3.13")).is_some());
        let bad = Admission::of(&project(Some(">=three"), &[]), &BuildSettings::default());
        assert!(bad.unwrap_err().to_string().contains("not a PEP 440"));
    }

    #[test]
    fn the_abi3_floor_comes_from_the_features_the_build_turns_on() {
        let build = BuildSettings::default();
        let declared = Admission::of(&project(None, &["pyo3/abi3-py39"]), &build).unwrap();
        assert_eq!(
            declared.abi3,
            Some(Abi3 {
                feature: "pyo3/abi3-py39".into(),
                floor: Some(minor("3.9"))
            })
        );
        assert!(
            declared
                .refusal("3.8.18", minor("3.8"))
                .unwrap()
                .contains("abi3 for Python ≥ 3.9 (`pyo3/abi3-py39`)")
        );
        assert!(declared.refusal("3.9.18", minor("3.9")).is_none());

        // Through the package's own feature, only when the build turns it on.
        let mut through = project(None, &[]);
        through
            .abi3_inputs
            .features
            .insert("stable".into(), vec!["pyo3/abi3-py310".into()]);
        assert_eq!(Admission::of(&through, &build).unwrap().abi3, None);
        let with_feature = BuildSettings {
            features: vec!["stable".into()],
            ..BuildSettings::default()
        };
        let floor = Admission::of(&through, &with_feature).unwrap().abi3;
        assert_eq!(floor.unwrap().floor, Some(minor("3.10")));
        // Plain `abi3`: pyo3's own floor, not judged here.
        let plain = Admission::of(&project(None, &["pyo3/abi3"]), &build).unwrap();
        assert_eq!(plain.abi3.unwrap().floor, None);
    }
}
