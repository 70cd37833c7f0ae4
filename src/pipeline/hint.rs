//! The hint of a failed proof, worded from its cause.

use std::path::Path;

use crate::project::Project;
use crate::venv::Venv;
use crate::{module_name, proof, rust_source};

/// What to do about a failed proof, from its cause: a missing init function gets the module-name
/// judgement `doctor` makes, with the line to change; a missing dependency its install; only a
/// foreign or replaced copy is sent to `doctor`, which lists every copy and which one wins.
pub(super) fn failed_proof(
    project: &Project,
    venv: &Venv,
    failures: &[&proof::LoadedExtension],
) -> String {
    for failure in failures {
        match &failure.import_failure {
            Some(proof::ImportFailure::NoInitFunction) => {
                let installed = venv.site_packages().map(|site| site.join(&failure.entry));
                let scan = rust_source::scan_crate(&project.lib_src, &project.project_dir).ok();
                let judgement = module_name::judge(project, installed.as_deref(), scan.as_ref());
                if let Some(fix) = judgement.fix {
                    return format!("{}: {fix}", judgement.summary);
                }
            }
            Some(proof::ImportFailure::NameNotFound {
                name,
                module,
                imported_at,
            }) => {
                let found =
                    name_not_found_hint(project, &failure.module, name, module, imported_at);
                if let Some(hint) = found {
                    return hint;
                }
            }
            Some(proof::ImportFailure::MissingModule { module, .. }) => {
                return format!(
                    "declare the distribution that provides `{module}` in `[project] dependencies` \
                     (`cargo pyo3 dev` installs them into the venv), or install it yourself: \
                     `uv pip install --python {0} …` or `{0} -m pip install …`",
                    venv.python.display()
                );
            }
            _ => {}
        }
    }
    "run `cargo pyo3 doctor` to list every copy of the extension and which one wins".into()
}

/// The package imports `name` from the extension `extension` (or one of its submodules), which
/// the build does not define: the sources say why, as `verify` would (never registered,
/// renamed, …), with the line that fixes it. `None` when `module` is not the extension.
fn name_not_found_hint(
    project: &Project,
    extension: &str,
    name: &str,
    module: &str,
    imported_at: &Option<String>,
) -> Option<String> {
    let inside = if module == extension {
        String::new()
    } else {
        format!("{}.", module.strip_prefix(&format!("{extension}."))?)
    };
    let scan = rust_source::scan_crate(&project.lib_src, &project.project_dir).ok()?;
    let explanation = scan
        .exports(project.extension_name())
        .explain(&scan, &format!("{inside}{name}"));
    let at = imported_at
        .as_deref()
        .map(|at| {
            let path = Path::new(at);
            format!("`{}` imports", project.relative(path).display())
        })
        .unwrap_or_else(|| "the package imports".to_owned());
    Some(format!(
        "{at} `{name}` from `{module}`, which this build does not define: {}",
        explanation.message
    ))
}
