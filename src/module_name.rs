//! Whether the names that decide an extension's init function agree: `tool.maturin.module-name`
//! (else `[lib] name`) makes Python call `PyInit_<last part>`, the `#[pymodule]` in the source
//! decides what the build defines, and the built file's symbols say what it really exports. One
//! judgement, used by `doctor`'s module-name check and by `dev` when an import fails with
//! "dynamic module does not define module export function".

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::project::Project;
use crate::rust_source::CrateScan;
use crate::wheel;

/// What was compared, and whether it agrees.
#[derive(Debug)]
pub(crate) struct Judgement {
    pub(crate) verdict: Verdict,
    /// One sentence: what agrees, or which names disagree.
    pub(crate) summary: String,
    /// The change that makes them agree, naming the file and line where the source has one.
    pub(crate) fix: Option<String>,
    pub(crate) evidence: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Agrees,
    Disagrees,
    /// The built file could not be read for its symbols.
    Unreadable,
}

/// Judges the names of `project` against the built extension `built` (when there is one yet) and
/// the source scan (when the sources could be read).
pub(crate) fn judge(
    project: &Project,
    built: Option<&Path>,
    scan: Option<&CrateScan>,
) -> Judgement {
    let expected = project.extension_name().to_owned();
    let source_modules: Vec<_> = scan
        .map(|scan| {
            scan.modules
                .iter()
                .filter(|module| !module.submodule_only)
                .collect()
        })
        .unwrap_or_default();
    let built: Option<PathBuf> = built.map(Path::to_path_buf);
    let symbols = built.as_deref().map(wheel::pyinit_symbols);
    let evidence = json!({
        "lib_name": project.lib_name,
        "module_name": project.module_name,
        "expected_init": format!("PyInit_{expected}"),
        "built_extension": built,
        "exported_init": symbols.as_ref().and_then(|symbols| symbols.as_ref().ok()),
        "source_pymodules": source_modules
            .iter()
            .map(|module| json!({ "name": module.python_name, "location": module.location.to_string() }))
            .collect::<Vec<_>>(),
    });
    let from_module_name =
        project.module_name.contains('.') || project.module_name != project.lib_name;
    let (setting, origin) = if from_module_name {
        (
            "the last part of `tool.maturin.module-name`",
            format!("`tool.maturin.module-name = \"{}\"`", project.module_name),
        )
    } else {
        (
            "`[lib] name`",
            format!("`[lib] name = \"{}\"`", project.lib_name),
        )
    };
    let exported = match &symbols {
        Some(Ok(symbols)) => Some(symbols),
        Some(Err(error)) => {
            return Judgement {
                verdict: Verdict::Unreadable,
                summary: format!("could not read the built extension: {error:#}"),
                fix: None,
                evidence,
            };
        }
        None => None,
    };
    let source_agrees = source_modules.is_empty()
        || source_modules
            .iter()
            .any(|module| module.python_name == expected);
    let build_agrees = exported.is_none_or(|symbols| symbols.contains(&expected));
    if source_agrees && build_agrees {
        let checked = if exported.is_some() {
            format!("and the build exports `PyInit_{expected}`")
        } else {
            format!("no built extension yet to check `PyInit_{expected}` against")
        };
        return Judgement {
            verdict: Verdict::Agrees,
            summary: format!("{origin}, {checked}"),
            fix: None,
            evidence,
        };
    }

    let mut disagreements = Vec::new();
    if !source_agrees {
        let found: Vec<String> = source_modules
            .iter()
            .map(|module| format!("`{}` ({})", module.python_name, module.location))
            .collect();
        disagreements.push(format!(
            "the source's `#[pymodule]` is {}",
            found.join(", ")
        ));
    }
    if let Some(symbols) = exported.filter(|_| !build_agrees) {
        let names: Vec<String> = symbols
            .iter()
            .map(|name| format!("`PyInit_{name}`"))
            .collect();
        disagreements.push(format!(
            "`{}` exports {}",
            built
                .as_deref()
                .map(Path::display)
                .map(|path| path.to_string())
                .unwrap_or_default(),
            if names.is_empty() {
                "no `PyInit_` function".to_owned()
            } else {
                names.join(", ")
            }
        ));
    }
    // The smallest change: the one `#[pymodule]` renamed where it is written; else the name the
    // build does export, adopted by the configuration.
    let fix = match (source_modules.as_slice(), exported.map(Vec::as_slice)) {
        ([one], _) if !source_agrees => format!(
            "add `#[pyo3(name = \"{expected}\")]` to the `#[pymodule]` `{}` at {} (or rename it), \
             or make {setting} `{}`; then run `cargo pyo3 dev`",
            one.rust_name, one.location, one.python_name
        ),
        (_, Some([exported])) => format!(
            "the build defines `PyInit_{exported}`: make {setting} `{exported}`, \
             or rename the init function to `PyInit_{expected}`; then run `cargo pyo3 dev`"
        ),
        _ => format!(
            "make the `#[pymodule]` name, `[lib] name` and `tool.maturin.module-name` agree on one \
             name, then run `cargo pyo3 dev`; `#[pyo3(name = \"{expected}\")]` on the `#[pymodule]` \
             is the smallest change"
        ),
    };
    Judgement {
        verdict: Verdict::Disagrees,
        summary: format!(
            "{origin} makes Python call `PyInit_{expected}`, but {}",
            disagreements.join(" and ")
        ),
        fix: Some(fix),
        evidence,
    }
}
