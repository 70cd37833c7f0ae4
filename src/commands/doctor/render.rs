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
