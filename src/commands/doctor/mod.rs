//! `cargo pyo3 doctor`: every reason the Python you run might not be the Rust you built, each
//! with a verdict, its evidence and the fix. Changes nothing unless `--fix` is given.
//!
//! This file runs the checks into a [`Report`] (plain data, also the `--json` document);
//! `render.rs` writes it for people. Only `--fix` prints here, as it changes `pyproject.toml`.

mod render;
mod report;

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::json;

use self::report::{Check, Report, Verdict};
use crate::cli::DoctorArgs;
use crate::failure::ExitStatus;
use crate::output;
use crate::project::{self, Project, same_file};
use crate::proof::{self, Vantage};
use crate::receipt;
use crate::rust_source::{self, CrateScan};
use crate::settings::ProjectSettings;
use crate::toolchain::{self, Toolchain};
use crate::uv_guard::{self, GuardVerdict};
use crate::venv::Venv;

pub(crate) fn run(args: DoctorArgs) -> Result<ExitStatus> {
    let DoctorArgs { project, fix, json } = args;
    let project = ProjectSettings::resolve(project);
    let venv_flag = project.venv.clone();
    let project = project::discover(&project)?;
    let toolchain = Toolchain::find();
    let uv = toolchain.uv;
    let venv = Venv::find(venv_flag.as_deref(), &project.project_dir);
    let stored = receipt::read(&project.state_dir());
    let scan = rust_source::scan_crate(&project.lib_src, &project.project_dir).ok();

    let mut checks = vec![check_tools(
        venv.as_ref().ok().and_then(Option::as_ref),
        uv.as_deref(),
    )];
    checks.push(check_venv(&venv));
    let venv = venv.ok().flatten();
    let module = stored.installed_module(project.extension_module());
    // One probe per vantage point, shared by every check that needs to know what Python loads.
    let probes = venv
        .as_ref()
        .map(|venv| probe_copies(&project, venv, &module));
    let loaded: Option<PathBuf> = probes
        .as_ref()
        .and_then(|probes| probes.as_ref().ok()?.first()?.copies.winner.clone())
        .map(PathBuf::from);
    if let (Some(venv), Some(probes)) = (&venv, &probes) {
        checks.push(check_installed(&project, venv, stored.receipt()));
        checks.push(check_copies(&module, probes));
    }
    checks.push(check_module_name(
        &project,
        loaded.as_deref(),
        scan.as_ref(),
    ));
    checks.push(check_uv(&project, uv.as_deref(), fix)?);
    if let Some(scan) = &scan {
        checks.push(check_unregistered(&project, scan));
    }
    checks.push(check_freshness(
        &project,
        venv.as_ref(),
        &stored,
        loaded.as_deref(),
        scan.as_ref(),
    ));

    let report = Report::new(
        project.project_dir.clone(),
        project.package_name.clone(),
        project.module_name.clone(),
        checks,
    );
    // As for every line `output` writes: a closed stderr must not change the verdict.
    let _ = render::render(
        &report,
        output::settings().quiet,
        &mut std::io::stderr().lock(),
    );
    if json {
        output::json(&report)?;
    }
    Ok(report.exit_status())
}

/// Check 1: cargo, rustc, python, maturin, uv, pip: where, which version.
fn check_tools(venv: Option<&Venv>, uv: Option<&Path>) -> Check {
    let cargo = which::which(project::cargo_program()).ok();
    let rustc = which::which("rustc").ok();
    let maturin = toolchain::find_maturin(venv);
    // Without a venv, the interpreter `dev` would create one from.
    let python = venv
        .map(|venv| venv.python.clone())
        .or_else(|| which::which(crate::platform::DEFAULT_PYTHON).ok());
    let found: Vec<(&str, Option<PathBuf>)> = vec![
        ("cargo", cargo),
        ("rustc", rustc),
        ("python", python),
        ("maturin", maturin),
        ("uv", uv.map(Path::to_path_buf)),
    ];
    let versions: Vec<Option<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = found
            .iter()
            .map(|(_, path)| scope.spawn(move || path.as_deref().and_then(toolchain::version)))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().ok().flatten())
            .collect()
    });
    let mut evidence = serde_json::Map::new();
    let mut parts = Vec::new();
    for ((name, path), version) in found.iter().zip(&versions) {
        evidence.insert((*name).into(), json!({ "path": path, "version": version }));
        parts.push(match (path, version) {
            (Some(_), Some(version)) => format!("{name} {version}"),
            (Some(_), None) => format!("{name} (version unknown)"),
            (None, _) => format!("{name} missing"),
        });
    }
    let pip = venv.map(Venv::has_pip);
    evidence.insert("pip_in_venv".into(), json!(pip));
    parts.push(match pip {
        Some(true) => "pip in venv".into(),
        Some(false) => "no pip in venv".into(),
        None => "pip: no venv".into(),
    });
    let summary = parts.join(", ");
    let check =
        |verdict| Check::new("tools", verdict, summary.clone()).evidence(evidence.clone().into());
    if found[0].1.is_none() || found[1].1.is_none() {
        check(Verdict::Problem).fix("install Rust with rustup: https://rustup.rs")
    } else if pip == Some(false) && uv.is_none() {
        check(Verdict::Problem)
            .fix("install uv (`pip install uv`), or pip into the venv (`python -m ensurepip`)")
    } else if found[3].1.is_none() {
        check(Verdict::Warning)
            .fix("`cargo pyo3 dev` will install maturin into the venv; or `pip install maturin`")
    } else {
        check(Verdict::Ok)
    }
}

/// Check 2: Which venv, why, its python, who made it.
fn check_venv(venv: &Result<Option<Venv>>) -> Check {
    match venv {
        Ok(Some(venv)) => {
            let made_by = if venv.created_by_uv() { "uv" } else { "venv" };
            Check::new(
                "venv",
                Verdict::Ok,
                format!(
                    "`{}` ({}), python {}, created by {made_by}",
                    venv.root.display(),
                    venv.origin.describe(),
                    venv.python_version().unwrap_or("unknown")
                ),
            )
            .evidence(json!({
                "root": venv.root,
                "origin": venv.origin,
                "python": venv.python,
                "base_interpreter": venv.base_interpreter(),
                "created_by": made_by,
                "has_pip": venv.has_pip(),
            }))
        }
        Ok(None) => Check::new(
            "venv",
            Verdict::Warning,
            "no venv: none given, `VIRTUAL_ENV` unset, no `.venv` found",
        )
        .fix("run `cargo pyo3 dev`, which creates `.venv` in the project directory"),
        Err(error) => {
            let mut check = Check::new("venv", Verdict::Problem, error.to_string());
            if let Some(hint) = crate::failure::hint_of(error) {
                check = check.fix(hint);
            }
            check
        }
    }
}

/// Check 3: Installed distributions of the package: how many, by whom, from where.
fn check_installed(project: &Project, venv: &Venv, receipt: Option<&receipt::Receipt>) -> Check {
    let installed = venv.installed_distributions(&project.dist_name);
    let leftovers = venv.pip_leftovers();
    let evidence = json!({ "distributions": installed, "pip_leftovers": leftovers });
    if !leftovers.is_empty() {
        let names: Vec<String> = leftovers
            .iter()
            .map(|path| format!("`{}`", path.display()))
            .collect();
        return Check::new(
            "installed",
            Verdict::Problem,
            format!(
                "pip left an interrupted uninstall behind: {}",
                names.join(", ")
            ),
        )
        .evidence(evidence)
        .fix("remove those `~` entries from site-packages, then run `cargo pyo3 dev`");
    }
    match installed.as_slice() {
        [] => Check::new(
            "installed",
            Verdict::Warning,
            format!("`{}` is not installed in the venv", project.dist_name),
        )
        .evidence(evidence)
        .fix("run `cargo pyo3 dev`"),
        [one] => {
            let source = match (&one.url, one.editable) {
                (Some(url), true) => format!("editable from {url}"),
                (Some(url), false) => format!("from {url}"),
                (None, _) => "from an unknown source".into(),
            };
            let installer = one.installer.as_deref().unwrap_or("an unknown installer");
            let mut check = Check::new(
                "installed",
                Verdict::Ok,
                format!(
                    "`{}` {} installed by {installer}, {source}",
                    project.dist_name, one.version
                ),
            );
            // The editable install `dev` makes: its `.pth` names the Python root the receipt
            // recorded, where `dev` placed the proven extension.
            let made_by_dev = receipt
                .and_then(|receipt| receipt.editable.as_ref())
                .is_some_and(|editable| {
                    one.pth_paths
                        .iter()
                        .any(|path| same_file(Path::new(path), &editable.python_root))
                });
            if made_by_dev {
                check = Check::new(
                    "installed",
                    Verdict::Ok,
                    format!(
                        "`{}` {} installed editable by `cargo pyo3 dev` ({installer}): a `.pth` file \
                         makes Python load from {}, where the proven extension was placed",
                        project.dist_name,
                        one.version,
                        one.pth_paths.join(", ")
                    ),
                );
            } else if !one.pth_paths.is_empty() {
                check = Check::new(
                    "installed",
                    Verdict::Warning,
                    format!(
                        "`{}` {} is an editable install: a `.pth` file makes Python load from {}",
                        project.dist_name,
                        one.version,
                        one.pth_paths.join(", ")
                    ),
                )
                .fix("run `cargo pyo3 dev` to replace it with a proven wheel install");
            }
            check.evidence(evidence)
        }
        several => {
            let names: Vec<String> = several
                .iter()
                .map(|dist| format!("`{}`", dist.dist_info.display()))
                .collect();
            Check::new(
                "installed",
                Verdict::Problem,
                format!("{} dist-info directories for `{}`: {}", several.len(), project.dist_name, names.join(", ")),
            )
            .evidence(evidence)
            .fix("remove the stale dist-info directories (keep the newest), then run `cargo pyo3 dev`")
        }
    }
}

/// What Python finds for `module` from one place it may be started.
struct Probe {
    label: String,
    copies: proof::Copies,
}

/// Every importable copy of `module`, from a neutral directory first, then from the project
/// directory and the `python-source` directory: one python start each.
fn probe_copies(project: &Project, venv: &Venv, module: &str) -> Result<Vec<Probe>> {
    let mut vantages: Vec<(String, Vantage)> = vec![
        ("a neutral directory (`python -I`)".into(), Vantage::Neutral),
        (
            "the project directory".into(),
            Vantage::From(&project.project_dir),
        ),
    ];
    if let Some(source) = &project.python_source
        && source != &project.project_dir
        && source.is_dir()
    {
        vantages.push((
            format!("`{}`", project.relative(source).display()),
            Vantage::From(source),
        ));
    }
    vantages
        .into_iter()
        .map(|(label, vantage)| {
            let copies = proof::find_copies(venv, module, vantage)?;
            Ok(Probe { label, copies })
        })
        .collect()
}

/// Check 4: Every importable copy of the extension, and which one wins from where Python may run.
fn check_copies(module: &str, probes: &Result<Vec<Probe>>) -> Check {
    let probes = match probes {
        Ok(probes) => probes,
        Err(error) => {
            return Check::new(
                "copies",
                Verdict::Problem,
                format!("could not look for copies of `{module}`: {error}"),
            );
        }
    };
    let results: Vec<(String, &proof::Copies)> = probes
        .iter()
        .map(|probe| (probe.label.clone(), &probe.copies))
        .collect();
    let evidence = json!(results
        .iter()
        .map(|(label, copies)| json!({ "from": label, "copies": copies.copies, "winner": copies.winner, "error": copies.error }))
        .collect::<Vec<_>>());
    let neutral_winner = results[0].1.winner.clone();
    let Some(installed) = neutral_winner else {
        return Check::new(
            "copies",
            Verdict::Warning,
            format!("`{module}` is not importable from a neutral directory"),
        )
        .evidence(evidence)
        .fix("run `cargo pyo3 dev`");
    };
    let mut all_copies: Vec<String> = results
        .iter()
        .flat_map(|(_, copies)| copies.copies.iter().map(|copy| copy.path.clone()))
        .collect();
    all_copies.sort();
    all_copies.dedup();
    let shadows: Vec<(String, String)> = results
        .iter()
        .skip(1)
        .filter_map(|(label, copies)| {
            let winner = copies.winner.clone()?;
            (!same_file(Path::new(&winner), Path::new(&installed))).then(|| (label.clone(), winner))
        })
        .collect();
    // A vantage where the module is not importable at all is the worst shadow: a package of the
    // same name there (the project's own sources, without the extension) wins the import.
    if let Some((label, copies)) = results
        .iter()
        .skip(1)
        .find(|(_, copies)| copies.winner.is_none())
    {
        return Check::new(
            "copies",
            Verdict::Problem,
            format!(
                "`{module}` is not importable when Python runs from {label}{}, though it loads \
                 `{installed}` from a neutral directory",
                copies
                    .error
                    .as_deref()
                    .map(|error| format!(" ({error})"))
                    .unwrap_or_default()
            ),
        )
        .evidence(evidence)
        .fix(
            "a package of the same name there shadows the installed one: run `cargo pyo3 dev` \
             without `--no-editable`, which places the extension beside the sources, or start \
             Python from another directory",
        );
    }
    if let Some((label, winner)) = shadows.first() {
        let mut check = Check::new(
            "copies",
            Verdict::Problem,
            format!("`{winner}` shadows the installed `{installed}` when Python runs from {label}"),
        )
        .evidence(evidence)
        .fix(format!(
            "remove `{winner}` (a build beside the sources that is not the installed one, as \
             `maturin develop` leaves), or run `cargo pyo3 dev` without `--no-editable`, which \
             puts the proven build there"
        ));
        for (label, winner) in shadows.iter().skip(1) {
            check = check.detail(format!("also shadowed from {label} by `{winner}`"));
        }
        return check;
    }
    let extra: Vec<&String> = all_copies
        .iter()
        .filter(|path| !same_file(Path::new(path.as_str()), Path::new(&installed)))
        .collect();
    let mut check = Check::new(
        "copies",
        Verdict::Ok,
        format!("`{module}` loads `{installed}` from every vantage point checked"),
    )
    .evidence(evidence);
    if !extra.is_empty() {
        check.verdict = Verdict::Warning;
        check = check.fix(format!(
            "other copies exist that do not win today: {}; remove them",
            extra
                .iter()
                .map(|path| format!("`{path}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    check
}

/// Check 5: `[lib] name`, `tool.maturin.module-name`, the `#[pymodule]` in the source, and the
/// `PyInit_` symbol the build exports (the judgement `dev` shares when an import fails).
fn check_module_name(project: &Project, loaded: Option<&Path>, scan: Option<&CrateScan>) -> Check {
    use crate::module_name;
    let judgement = module_name::judge(project, loaded, scan);
    let verdict = match judgement.verdict {
        module_name::Verdict::Agrees => Verdict::Ok,
        module_name::Verdict::Unreadable => Verdict::Warning,
        module_name::Verdict::Disagrees => Verdict::Problem,
    };
    let check = Check::new("module-name", verdict, judgement.summary).evidence(judgement.evidence);
    match judgement.fix {
        Some(fix) => check.fix(format!(
            "{fix} (Python reports this as \"dynamic module does not define module export function\")"
        )),
        None => check,
    }
}

/// Check 6: The uv guard's verdict, as `dev` acts on it; `--fix` applies the same fix as
/// `dev --fix-uv`.
fn check_uv(project: &Project, uv: Option<&Path>, fix: bool) -> Result<Check> {
    let guard = uv_guard::check(project, uv)?;
    let evidence = serde_json::to_value(&guard)?;
    let ok =
        |summary: String| Ok(Check::new("uv", Verdict::Ok, summary).evidence(evidence.clone()));
    match guard.verdict {
        GuardVerdict::NotInPlay => {
            return ok(guard
                .not_in_play_reason
                .clone()
                .unwrap_or_else(|| "uv does not manage this project".into()));
        }
        GuardVerdict::Covered => return ok("uv's cache-keys cover every Rust build input".into()),
        GuardVerdict::AtRisk | GuardVerdict::Refused => {}
    }
    if fix && let Some(diff) = uv_guard::fix(project)? {
        output::status("Fixed", "`[tool.uv] cache-keys` in pyproject.toml");
        output::line(diff.trim_end());
        return ok("fixed: uv's cache-keys now cover the Rust build inputs".into());
    }
    // No `uv.lock`: uv does not manage the project yet, so this is the warning `dev` gives, not a
    // problem (a fresh `maturin new` project is not broken).
    if guard.warns() {
        let mut check = Check::new("uv", Verdict::Warning, guard.risk_warning()).evidence(evidence);
        check.fix = Some(
            "run `cargo pyo3 doctor --fix` (the same fix as `cargo pyo3 dev --fix-uv`)".into(),
        );
        return Ok(check);
    }
    let refusal = guard.refusal();
    let mut check = Check::new("uv", Verdict::Problem, refusal.to_string()).evidence(evidence);
    check.fix = Some(
        crate::failure::hint_of(&refusal)
            .map(str::to_owned)
            .unwrap_or_else(|| "run `cargo pyo3 doctor --fix`".into()),
    );
    Ok(check)
}

/// Check 7: Classes and functions defined but never registered: information, never a failure, since
/// classes only returned from methods (iterators, views) are normal.
fn check_unregistered(project: &Project, scan: &CrateScan) -> Check {
    let exports = scan.exports(project.extension_name());
    let reports = scan.unregistered_reports(&exports);
    let evidence = json!(reports);
    if reports.is_empty() {
        return Check::new(
            "unregistered",
            Verdict::Ok,
            "every `#[pyclass]` and `#[pyfunction]` is registered or internal",
        )
        .evidence(evidence);
    }
    let names: Vec<String> = reports
        .iter()
        .map(|report| format!("`{}`", report.name))
        .collect();
    let mut check = Check::new(
        "unregistered",
        Verdict::Info,
        format!("defined but not registered: {}", names.join(", ")),
    )
    .evidence(evidence);
    for report in &reports {
        check = check.detail(&report.message);
    }
    check
}

/// Check 8: The extension Python loads against the last receipt, and build inputs changed since
/// that build: the judgement `verify` makes too ([`receipt::assess`]).
fn check_freshness(
    project: &Project,
    venv: Option<&Venv>,
    stored: &receipt::Stored,
    loaded: Option<&Path>,
    scan: Option<&CrateScan>,
) -> Check {
    let evidence = json!({
        "receipt": receipt::path(&project.state_dir()),
        "built_at_unix_ms": stored.receipt().map(|receipt| receipt.built_at_unix_ms),
        "loaded": loaded,
    });
    let Some(venv) = venv else {
        return Check::new(
            "freshness",
            Verdict::Info,
            "no venv, so no install to compare",
        )
        .evidence(evidence);
    };
    let inputs = receipt::build_inputs(project, scan);
    let extension_module = project.extension_module();
    let assessment = receipt::assess(receipt::FreshnessInputs {
        receipt: stored,
        venv_root: &venv.root,
        extension_module: &extension_module,
        loaded,
        inputs: &inputs,
    });
    let check = |verdict, summary: String| {
        Check::new("freshness", verdict, summary).evidence(evidence.clone())
    };
    let shared = assessment.freshness.shared_words();
    match assessment.freshness {
        receipt::Freshness::NoReceipt => check(
            Verdict::Warning,
            "no receipt: this install was not proven by `cargo pyo3 dev`".into(),
        )
        .fix("run `cargo pyo3 dev`"),
        receipt::Freshness::Unreadable { .. } => {
            let (summary, hint) = shared.unwrap_or_default();
            check(Verdict::Warning, summary).fix(hint)
        }
        receipt::Freshness::OtherVenv(other) => check(
            Verdict::Warning,
            format!("the last `dev` installed into `{}`, not this venv", other.display()),
        )
        .fix("run `cargo pyo3 dev` for this venv"),
        receipt::Freshness::Unhashable { path, reason } => check(
            Verdict::Warning,
            format!(
                "could not hash `{}` ({reason}) to compare it with the build `dev` proved",
                path.display()
            ),
        )
        .fix("run `cargo pyo3 dev`"),
        receipt::Freshness::Replaced {
            loaded_sha256,
            proven_sha256,
        } => check(
            Verdict::Problem,
            format!(
                "`{}` (sha256 {}) is no longer the build `dev` proved (sha256 {}): it was replaced since \
                 (by `uv sync`/`uv run`, pip or `maturin develop`)",
                loaded.map(Path::display).map(|path| path.to_string()).unwrap_or_default(),
                output::short_hash(&loaded_sha256),
                output::short_hash(&proven_sha256)
            ),
        )
        .fix("run `cargo pyo3 dev`; in a uv project use `uv run --no-sync` afterwards"),
        receipt::Freshness::SourcesChanged(newer) => {
            let names: Vec<String> = newer
                .iter()
                .map(|path| format!("`{}`", project.relative(path).display()))
                .collect();
            check(
                Verdict::Warning,
                format!("changed since the installed build: {}", names.join(", ")),
            )
            .fix("run `cargo pyo3 dev`")
        }
        receipt::Freshness::Fresh => check(
            Verdict::Ok,
            "the install is the build `dev` proved, and no source changed since".into(),
        ),
    }
}
