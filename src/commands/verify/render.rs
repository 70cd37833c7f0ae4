//! The `verify` report for people: one line per name, the misses explained, then the verdict,
//! the stub mismatches (`--stubs`) and the freshness, written to any `impl Write` (stderr in a run, a buffer in the tests).

use std::io::{self, Write};

use super::report::{FreshnessStatus, NameStatus, Report, StubProblem, StubsReport};
use crate::output;

/// How much to show, from the flags and the global `-q`/`-v`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RenderOptions {
    /// Names were given on the command line.
    pub(crate) explicit: bool,
    /// `--all` or `-v`: list internal classes.
    pub(crate) show_internal: bool,
    pub(crate) allow_stale: bool,
    pub(crate) quiet: bool,
    pub(crate) verbose: bool,
}

pub(crate) fn render(
    report: &Report,
    options: RenderOptions,
    out: &mut impl Write,
) -> io::Result<()> {
    let RenderOptions {
        explicit,
        show_internal,
        allow_stale,
        quiet,
        verbose,
    } = options;
    for name in &report.names {
        let kind = name.kind.as_deref().unwrap_or("name");
        match name.status {
            NameStatus::Found if quiet => {}
            NameStatus::Found => match name.found_in.as_deref() {
                Some(extension) if extension != report.module => writeln!(
                    out,
                    "{:>8}  {kind:<9}  {}  (in `{extension}`; `{}` does not re-export it)",
                    "found", name.name, report.module
                )?,
                _ => writeln!(out, "{:>8}  {kind:<9}  {}", "found", name.name)?,
            },
            NameStatus::Missing if quiet => writeln!(
                out,
                "{}",
                output::error_line(format_args!(
                    "`{}` is missing: {}",
                    name.name,
                    name.message.as_deref().unwrap_or_default()
                ))
            )?,
            NameStatus::Missing => {
                writeln!(out, "{:>8}  {kind:<9}  {}", "missing", name.name)?;
                if let Some(message) = &name.message {
                    writeln!(out, "{:>8}  {message}", "")?;
                }
            }
        }
    }
    if show_internal && !quiet {
        for class in &report.internal {
            writeln!(
                out,
                "{:>8}  {:<9}  {} is internal: not registered, returned from `{}` ({})",
                "info", "class", class.name, class.returned_from, class.returned_at
            )?;
        }
    }
    for item in &report.unregistered {
        writeln!(out, "{}", output::warning_line(&item.message))?;
    }

    if report.runtime_only && !quiet {
        writeln!(
            out,
            "{:>8}  the Rust sources define no PyO3 items: names were checked in the installed module only",
            "info"
        )?;
    }
    let total = report.names.len();
    let module = &report.module;
    if let Some(error) = &report.import_error {
        writeln!(
            out,
            "{}",
            output::error_line(format_args!("`import {module}` failed: {error}"))
        )?;
        writeln!(
            out,
            "{}",
            output::hint_line("run `cargo pyo3 dev` to build and install it into this venv")
        )?;
    } else if let Some(problem) = report.source_problem.as_ref().filter(|_| total == 0) {
        writeln!(
            out,
            "{}",
            output::error_line(format_args!("nothing to verify: {problem}"))
        )?;
    } else if report.missing > 0 {
        writeln!(
            out,
            "{}",
            output::error_line(format_args!(
                "{} of {} missing from `{module}`",
                report.missing,
                count(total, "name")
            ))
        )?;
    } else if !quiet {
        // Only a run without names could have checked them.
        let internal = match (report.internal.len(), show_internal || explicit) {
            (0, _) | (_, true) => String::new(),
            (internal, false) => format!(
                "; {} not checked (`--all` lists them)",
                count(internal, "internal class")
            ),
        };
        writeln!(
            out,
            "{}",
            output::status_line(
                "Verified",
                format_args!(
                    "{} in `{module}`: all found ({:.2}s){internal}",
                    count(total, "name"),
                    report.duration_ms as f64 / 1000.0
                )
            )
        )?;
    }

    if let Some(stubs) = &report.stubs {
        render_stubs(stubs, &report.module, quiet, out)?;
    }

    let freshness = &report.freshness;
    let hint = freshness.hint.as_deref().unwrap_or_default();
    match freshness.status {
        FreshnessStatus::Fresh if verbose && !quiet => {
            writeln!(out, "{}", output::verbose_line(&freshness.message))?
        }
        FreshnessStatus::Fresh => {}
        FreshnessStatus::Stale if allow_stale => {
            writeln!(
                out,
                "{}",
                output::warning_line(format_args!(
                    "{} (allowed by `--allow-stale`)",
                    freshness.message
                ))
            )?;
            // The stubs' error above has no hint of its own: the stale build's is the error's
            // otherwise, and here it is only a warning.
            let stubs_not_checked = report
                .stubs
                .as_ref()
                .is_some_and(|stubs| matches!(stubs.problem, Some(StubProblem::NotProven { .. })));
            if stubs_not_checked {
                writeln!(
                    out,
                    "{}",
                    output::hint_line(
                        "run `cargo pyo3 dev` to rebuild and reinstall: `--allow-stale` accepts an old build for the names, never for the stubs"
                    )
                )?;
            }
        }
        FreshnessStatus::Stale => {
            writeln!(out, "{}", output::error_line(&freshness.message))?;
            writeln!(out, "{}", output::hint_line(hint))?;
        }
        FreshnessStatus::Unknown => {
            writeln!(out, "{}", output::warning_line(&freshness.message))?;
            writeln!(out, "{}", output::hint_line(hint))?;
        }
    }
    Ok(())
}

/// `--stubs`: each mismatch with what the stub says, what the runtime has, and where both are.
fn render_stubs(
    stubs: &StubsReport,
    module: &str,
    quiet: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    for warning in &stubs.warnings {
        writeln!(out, "{}", output::warning_line(warning))?;
    }
    for mismatch in &stubs.mismatches {
        let stub_at = match (&mismatch.stub_file, mismatch.stub_line) {
            (Some(file), Some(line)) => format!("{}:{line}", file.display()),
            (Some(file), None) => file.display().to_string(),
            (None, _) => "no stub file".to_owned(),
        };
        let rust = mismatch
            .rust
            .as_deref()
            .unwrap_or("not found in the Rust sources");
        if quiet {
            writeln!(
                out,
                "{}",
                output::error_line(format_args!(
                    "stub `{}` {} ({stub_at}; Rust: {rust})",
                    mismatch.name, mismatch.message
                ))
            )?;
            continue;
        }
        writeln!(
            out,
            "{:>8}  {}  {}",
            "stub", mismatch.name, mismatch.message
        )?;
        let stub = mismatch.stub.as_deref().unwrap_or("(not in the stub)");
        let runtime = mismatch.runtime.as_deref().unwrap_or("(not at runtime)");
        writeln!(out, "{:>8}  stub     {stub}  [{stub_at}]", "")?;
        writeln!(out, "{:>8}  runtime  {runtime}", "")?;
        writeln!(out, "{:>8}  Rust     {rust}", "")?;
        if let Some(kind) = &mismatch.artefact {
            writeln!(
                out,
                "{:>8}  PyO3     {kind}: {}",
                "",
                super::report::artefact_meaning(kind)
            )?;
        }
    }
    if !quiet {
        for allowlist in &stubs.allowlists {
            writeln!(
                out,
                "{}",
                output::status_line(
                    "Allowlist",
                    format_args!(
                        "`{}`, the project's own, passed to stubtest",
                        allowlist.display()
                    )
                )
            )?;
        }
        if !stubs.artefacts.is_empty() {
            writeln!(
                out,
                "{}",
                output::status_line(
                    "Counted",
                    format_args!(
                        "{} as PyO3's, not drift (`--strict` shows them as mismatches):",
                        match stubs.artefacts.len() {
                            1 => "1 difference".to_owned(),
                            count => format!("{count} differences"),
                        }
                    )
                )
            )?;
        }
        for artefact in &stubs.artefacts {
            let kind = artefact.artefact.as_deref().unwrap_or_default();
            let rust = artefact
                .rust
                .as_deref()
                .map(|rust| format!(" (Rust: {rust})"))
                .unwrap_or_default();
            writeln!(
                out,
                "{:>12} `{}` {kind}: {}{rust}",
                "",
                artefact.name,
                super::report::artefact_meaning(kind)
            )?;
        }
    }
    let files: Vec<String> = stubs
        .files
        .iter()
        .map(|file| format!("`{}`", file.path.display()))
        .collect();
    match &stubs.problem {
        Some(StubProblem::NoStubs) => {
            let searched: Vec<String> = stubs
                .searched
                .iter()
                .map(|path| format!("`{}`", path.display()))
                .collect();
            writeln!(
                out,
                "{}",
                output::error_line(format_args!(
                    "no stubs to check for `{module}`: looked for `.pyi` files in {}",
                    searched.join(", ")
                ))
            )?;
            writeln!(
                out,
                "{}",
                output::hint_line(
                    "write a `.pyi` beside the module (`<module>.pyi` at the project root of a pure Rust project), or generate one with pyo3-stub-gen; drop `--stubs` to verify names only"
                )
            )?;
        }
        // Why (a stale or unproven build, a module that does not import) follows, with its
        // hint, in the lines `verify` always prints.
        Some(StubProblem::NotProven { .. }) => writeln!(
            out,
            "{}",
            output::error_line(
                "the stubs were not checked: they are checked only against the fresh build `cargo pyo3 dev` proved"
            )
        )?,
        Some(StubProblem::Failed { message }) => {
            writeln!(
                out,
                "{}",
                output::error_line(format_args!(
                    "stubtest could not check {}:\n{message}",
                    files.join(", ")
                ))
            )?;
            writeln!(
                out,
                "{}",
                output::hint_line("fix what mypy reports in the stub, then run again")
            )?;
        }
        None if !stubs.mismatches.is_empty() => {
            writeln!(
                out,
                "{}",
                output::error_line(format_args!(
                    "{} between {} and the build",
                    match stubs.mismatches.len() {
                        1 => "1 stub mismatch".to_owned(),
                        mismatches => format!("{mismatches} stub mismatches"),
                    },
                    files.join(", ")
                ))
            )?;
            writeln!(
                out,
                "{}",
                output::hint_line(
                    "make the stub say what the Rust now exports (or regenerate it), then run again"
                )
            )?;
        }
        None if !quiet => {
            let checker = stubs
                .checker
                .as_ref()
                .map(|checker| format!(" (stubtest, mypy {})", checker.mypy_version))
                .unwrap_or_default();
            writeln!(
                out,
                "{}",
                output::status_line(
                    "Checked",
                    format_args!(
                        "{} against the build: no mismatches{checker}",
                        files.join(", ")
                    )
                )
            )?;
        }
        None => {}
    }
    Ok(())
}

/// "1 name", "3 names".
pub(super) fn count(number: usize, noun: &str) -> String {
    if number == 1 {
        format!("{number} {noun}")
    } else {
        format!("{number} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::commands::verify::report::{
        Freshness, InternalReport, NameReport, StubFile, StubMismatch, StubsChecker,
    };
    use crate::failure::ExitStatus;
    use crate::rust_source::{MissReason, UnregisteredReport};

    fn found(name: &str, kind: &str) -> NameReport {
        NameReport {
            name: name.into(),
            status: NameStatus::Found,
            kind: Some(kind.into()),
            location: Some("src/counter.rs:12".into()),
            found_in: Some("demo".into()),
            reason: None,
            message: None,
            fix: None,
        }
    }

    fn missing(
        name: &str,
        kind: Option<&str>,
        reason: MissReason,
        message: &str,
        fix: Option<&str>,
    ) -> NameReport {
        NameReport {
            name: name.into(),
            status: NameStatus::Missing,
            kind: kind.map(Into::into),
            location: None,
            found_in: None,
            reason: Some(reason),
            message: Some(message.into()),
            fix: fix.map(Into::into),
        }
    }

    fn fresh() -> Freshness {
        Freshness {
            status: FreshnessStatus::Fresh,
            message: "the installed build is the one `cargo pyo3 dev` proved 5 s ago, and no source changed since".into(),
            hint: None,
            newer_sources: Vec::new(),
            built_at_unix_ms: Some(1),
            loaded: None,
            loaded_sha256: None,
            receipt_sha256: None,
        }
    }

    fn stale() -> Freshness {
        Freshness {
            status: FreshnessStatus::Stale,
            message: "the installed build is older than `src/counter.rs`: changed after the build `cargo pyo3 dev` installed 4 s ago".into(),
            hint: Some("run `cargo pyo3 dev` to rebuild and reinstall, or pass `--allow-stale` to accept the old build".into()),
            newer_sources: vec![PathBuf::from("src/counter.rs")],
            ..fresh()
        }
    }

    fn report(names: Vec<NameReport>, freshness: Freshness) -> Report {
        let missing = names
            .iter()
            .filter(|name| name.status == NameStatus::Missing)
            .count();
        Report {
            project: "/p".into(),
            module: "demo".into(),
            extension: "demo.demo".into(),
            venv: "/p/.venv".into(),
            module_file: None,
            loaded: None,
            import_error: None,
            source_problem: None,
            runtime_only: false,
            freshness,
            found: names.len() - missing,
            missing,
            names,
            internal: vec![InternalReport {
                name: "CounterIter".into(),
                rust_name: "CounterIter".into(),
                location: "src/counter.rs:55".into(),
                returned_from: "Counter.__iter__".into(),
                returned_at: "src/counter.rs:45".into(),
            }],
            unregistered: Vec::new(),
            scan_problems: Vec::new(),
            stubs: None,
            duration_ms: 42,
        }
    }

    const NAMES: RenderOptions = RenderOptions {
        explicit: true,
        show_internal: false,
        allow_stale: false,
        quiet: false,
        verbose: false,
    };

    fn rendered(report: &Report, options: RenderOptions) -> String {
        let mut out = Vec::new();
        render(report, options, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn misses() -> Vec<NameReport> {
        vec![
            found("Counter", "class"),
            missing(
                "Stopwatch",
                Some("class"),
                MissReason::NotRegistered,
                "`Stopwatch` is defined in src/counter.rs:78 as struct `Stopwatch` (`#[pyclass]`) but never registered: add `m.add_class::<counter::Stopwatch>()?;` to `fn demo` in src/lib.rs:51",
                Some("m.add_class::<counter::Stopwatch>()?;"),
            ),
            missing(
                "Countr",
                None,
                MissReason::Unknown,
                "no `#[pyclass]`/`#[pyfunction]` named `Countr` — did you mean `Counter`?",
                None,
            ),
            missing(
                "CounterIter",
                Some("class"),
                MissReason::Internal,
                "`CounterIter` is internal: struct `CounterIter` (src/counter.rs:55) is never registered, only returned from `Counter.__iter__` (src/counter.rs:45), so Python code gets its instances but not the class",
                None,
            ),
        ]
    }

    fn stubs(mismatches: Vec<StubMismatch>, problem: Option<StubProblem>) -> StubsReport {
        StubsReport {
            searched: vec!["python/demo".into()],
            files: vec![StubFile {
                module: "demo.demo".into(),
                path: "python/demo/demo.pyi".into(),
            }],
            checker: Some(StubsChecker {
                python: "/p/target/cargo-pyo3/tools/mypy-venv-3.11.7/bin/python".into(),
                mypy_version: "2.4.1".into(),
                in_project: false,
            }),
            mismatches,
            artefacts: Vec::new(),
            allowlists: Vec::new(),
            problem,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn stub_mismatches_with_both_sides_and_both_places() {
        let mut report = report(vec![found("sum_as_string", "function")], fresh());
        report.stubs = Some(stubs(
            vec![
                StubMismatch {
                    name: "demo.demo.double".into(),
                    kind: "not-in-stub".into(),
                    message: "is not present in stub".into(),
                    stub: None,
                    runtime: Some("def (x)".into()),
                    stub_file: Some("python/demo/demo.pyi".into()),
                    stub_line: None,
                    rust: Some("src/lib.rs:9".into()),
                    artefact: None,
                },
                StubMismatch {
                    name: "demo.demo.removed".into(),
                    kind: "not-at-runtime".into(),
                    message: "is not present at runtime".into(),
                    stub: Some("def (x: int) -> int".into()),
                    runtime: None,
                    stub_file: Some("python/demo/demo.pyi".into()),
                    stub_line: Some(2),
                    rust: None,
                    artefact: None,
                },
            ],
            None,
        ));
        insta::assert_snapshot!("stub_mismatches", rendered(&report, NAMES));
        let quiet = RenderOptions {
            quiet: true,
            ..NAMES
        };
        insta::assert_snapshot!("stub_mismatches_quiet", rendered(&report, quiet));
        assert_eq!(report.exit_status(false), ExitStatus::CheckFailed);

        report.stubs = Some(stubs(Vec::new(), None));
        assert_eq!(report.exit_status(false), ExitStatus::Success);
        report.stubs = Some(stubs(Vec::new(), Some(StubProblem::NoStubs)));
        assert_eq!(report.exit_status(false), ExitStatus::CheckFailed);
    }

    #[test]
    fn all_found_without_names_counts_the_internal_classes() {
        let mut report = report(
            vec![found("Counter", "class"), found("Counter.incr", "method")],
            fresh(),
        );
        report.unregistered.push(UnregisteredReport {
            name: "Stopwatch".into(),
            kind: "class".into(),
            location: "src/counter.rs:78".into(),
            message: "`Stopwatch` is defined in src/counter.rs:78 as struct `Stopwatch` (`#[pyclass]`) but never registered".into(),
            fix: None,
        });
        let options = RenderOptions {
            explicit: false,
            ..NAMES
        };
        insta::assert_snapshot!("found_without_names", rendered(&report, options));
        let all = RenderOptions {
            show_internal: true,
            verbose: true,
            ..options
        };
        insta::assert_snapshot!("found_with_all", rendered(&report, all));
    }

    #[test]
    fn misses_with_the_add_class_line_a_suggestion_and_an_internal_class() {
        insta::assert_snapshot!("misses", rendered(&report(misses(), fresh()), NAMES));
        let quiet = RenderOptions {
            quiet: true,
            ..NAMES
        };
        insta::assert_snapshot!("misses_quiet", rendered(&report(misses(), fresh()), quiet));
    }

    #[test]
    fn where_a_name_was_found_and_runtime_only_sources() {
        let mut only_in_extension = found("sum_as_string", "function");
        only_in_extension.found_in = Some("demo.demo".into());
        let mut report = report(
            vec![found("helper", "function"), only_in_extension],
            fresh(),
        );
        report.internal.clear();
        insta::assert_snapshot!("found_in_the_extension", rendered(&report, NAMES));
        report.runtime_only = true;
        insta::assert_snapshot!("runtime_only", rendered(&report, NAMES));
    }

    #[test]
    fn stale_fails_unless_allowed() {
        let report = report(vec![found("Counter", "class")], stale());
        insta::assert_snapshot!("stale", rendered(&report, NAMES));
        let allowed = RenderOptions {
            allow_stale: true,
            ..NAMES
        };
        insta::assert_snapshot!("stale_allowed", rendered(&report, allowed));
        assert_eq!(
            report.exit_status(false),
            crate::failure::ExitStatus::CheckFailed
        );
        assert_eq!(
            report.exit_status(true),
            crate::failure::ExitStatus::Success
        );

        // With `--stubs`, `--allow-stale` does not let the stubs through: they were not checked,
        // which fails, and says what to do.
        let mut with_stubs = report;
        let mut not_checked = stubs(
            Vec::new(),
            Some(StubProblem::NotProven {
                message: with_stubs.freshness.message.clone(),
            }),
        );
        not_checked.checker = None;
        with_stubs.stubs = Some(not_checked);
        insta::assert_snapshot!(
            "stale_allowed_stubs_not_checked",
            rendered(&with_stubs, allowed)
        );
        assert_eq!(
            with_stubs.exit_status(true),
            crate::failure::ExitStatus::CheckFailed
        );
    }

    #[test]
    fn unknown_freshness_and_an_import_error() {
        let unreadable = Freshness {
            status: FreshnessStatus::Unknown,
            message: "the receipt `/t/cargo-pyo3/demo-1a2b3c4d/receipt.json` is unreadable: not a receipt: EOF while parsing an object at line 1 column 20, so this install's age is unknown".into(),
            hint: Some("run `cargo pyo3 dev` to write a new one".into()),
            built_at_unix_ms: None,
            ..fresh()
        };
        let report_unknown = report(vec![found("Counter", "class")], unreadable);
        insta::assert_snapshot!(
            "unknown_unreadable_receipt",
            rendered(&report_unknown, NAMES)
        );
        assert_eq!(
            report_unknown.exit_status(false),
            crate::failure::ExitStatus::Success
        );

        let mut broken = report(
            vec![missing(
                "Counter",
                Some("class"),
                MissReason::InSource,
                "`import demo` failed: ImportError: boom",
                None,
            )],
            fresh(),
        );
        broken.import_error = Some("ImportError: boom".into());
        insta::assert_snapshot!("import_error", rendered(&broken, NAMES));
        assert_eq!(
            broken.exit_status(false),
            crate::failure::ExitStatus::CheckFailed
        );
    }
}
