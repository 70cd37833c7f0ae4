//! The `verify` report for people: one line per name, the misses explained, then the verdict
//! and the freshness, written to any `impl Write` (stderr in a run, a buffer in the tests).

use std::io::{self, Write};

use super::report::{FreshnessStatus, NameStatus, Report};
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
            NameStatus::Found => writeln!(out, "{:>8}  {kind:<9}  {}", "found", name.name)?,
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

    let freshness = &report.freshness;
    let hint = freshness.hint.as_deref().unwrap_or_default();
    match freshness.status {
        FreshnessStatus::Fresh if verbose && !quiet => {
            writeln!(out, "{}", output::verbose_line(&freshness.message))?
        }
        FreshnessStatus::Fresh => {}
        FreshnessStatus::Stale if allow_stale => writeln!(
            out,
            "{}",
            output::warning_line(format_args!(
                "{} (allowed by `--allow-stale`)",
                freshness.message
            ))
        )?,
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

/// "1 name", "3 names".
pub(super) fn count(number: usize, noun: &str) -> String {
    if number == 1 {
        format!("{number} {noun}")
    } else {
        format!("{number} {noun}s")
    }
}
