//! The `doctor` checklist for people: one verdict line per check, its details and, for a
//! warning or a problem, the fix; then the counts. Written to any `impl Write`.

use std::io::{self, Write};

use super::report::{Report, Verdict};

/// `quiet` (`-q`) prints nothing: the exit code and `--json` carry the verdict.
pub(crate) fn render(report: &Report, quiet: bool, out: &mut impl Write) -> io::Result<()> {
    if quiet {
        return Ok(());
    }
    for check in &report.checks {
        let label = match check.verdict {
            Verdict::Ok => "ok",
            Verdict::Info => "info",
            Verdict::Warning => "warning",
            Verdict::Problem => "problem",
        };
        writeln!(out, "{label:>8}  {}: {}", check.name, check.summary)?;
        for detail in &check.details {
            writeln!(out, "          {detail}")?;
        }
        if let Some(fix) = &check.fix
            && check.verdict >= Verdict::Warning
        {
            writeln!(out, "          hint: {fix}")?;
        }
    }
    writeln!(
        out,
        "\n{} problem(s), {} warning(s)",
        report.problems, report.warnings
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::doctor::report::Check;
    use crate::failure::ExitStatus;

    fn rendered(report: &Report, quiet: bool) -> String {
        let mut out = Vec::new();
        render(report, quiet, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn report(checks: Vec<Check>) -> Report {
        Report::new("/p".into(), "demo".into(), "demo".into(), checks)
    }

    #[test]
    fn every_verdict_and_the_fix_only_for_warnings_and_problems() {
        let report = report(vec![
            Check::new("tools", Verdict::Ok, "cargo 1.95.0, rustc 1.95.0")
                .fix("never shown for ok"),
            Check::new(
                "unregistered",
                Verdict::Info,
                "defined but not registered: `Stopwatch`",
            )
            .detail("`Stopwatch` is defined in src/lib.rs:9 but never registered")
            .fix("never shown for info"),
            Check::new(
                "freshness",
                Verdict::Warning,
                "changed since the installed build: `src/lib.rs`",
            )
            .fix("run `cargo pyo3 dev`"),
            Check::new(
                "copies",
                Verdict::Problem,
                "`/p/python/demo/_core.so` shadows the installed `/p/.venv/…/_core.so`",
            )
            .detail("also shadowed from the project directory by `/p/python/demo/_core.so`")
            .fix("remove `/p/python/demo/_core.so` (a copy left by `maturin develop`)"),
        ]);
        insta::assert_snapshot!("every_verdict", rendered(&report, false));
        assert_eq!((report.problems, report.warnings), (1, 1));
        assert_eq!(report.exit_status(), ExitStatus::CheckFailed);
        assert_eq!(
            rendered(&report, true),
            "",
            "`-q` leaves the verdict to the exit code"
        );
    }

    #[test]
    fn warnings_alone_pass() {
        let report = report(vec![
            Check::new(
                "venv",
                Verdict::Warning,
                "no venv: none given, `VIRTUAL_ENV` unset, no `.venv` found",
            )
            .fix("run `cargo pyo3 dev`, which creates `.venv` in the project directory"),
            Check::new("uv", Verdict::Ok, "uv does not manage this project"),
        ]);
        insta::assert_snapshot!("warnings_alone", rendered(&report, false));
        assert_eq!(report.exit_status(), ExitStatus::Success);
    }
}
