//! The report of a run over several interpreters: one row per interpreter (what it loaded, the
//! proof, the tests), rendered as a table for people and serialised as `--json` (docs/dev.md).

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::failure::ExitStatus;
use crate::output::short_hash;

/// How one interpreter's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Verdict {
    /// Built (or found unchanged), installed and proven from both vantage points.
    Proven,
    /// Proven by `dev`, but the test process loaded another file.
    NotLoadedInTests,
    /// The import-and-hash proof failed (exit 1).
    Failed,
    /// Something before the proof failed: the build, the install, the venv (exit 2).
    Error,
}

impl Verdict {
    fn word(self) -> &'static str {
        match self {
            Verdict::Proven => "proven",
            Verdict::NotLoadedInTests => "not loaded in tests",
            Verdict::Failed => "failed",
            Verdict::Error => "error",
        }
    }
}

/// pytest's counts for one interpreter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Tests {
    pub(crate) passed: u64,
    pub(crate) failed: u64,
    pub(crate) errors: u64,
    pub(crate) skipped: u64,
}

impl Tests {
    /// `2 passed, 1 failed`.
    pub(crate) fn describe(&self) -> String {
        let mut parts = vec![format!("{} passed", self.passed)];
        for (count, word) in [
            (self.failed, "failed"),
            (self.errors, "errors"),
            (self.skipped, "skipped"),
        ] {
            if count > 0 {
                parts.push(format!("{count} {word}"));
            }
        }
        parts.join(", ")
    }
}

/// One interpreter's row.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    /// `3.12.1`.
    pub(crate) python: String,
    /// The interpreter the venv was made from.
    pub(crate) interpreter: PathBuf,
    pub(crate) venv: PathBuf,
    /// The venv's path as the table shows it (relative to the project).
    #[serde(skip)]
    pub(crate) venv_shown: String,
    /// `cp312-cp312-linux_x86_64`, from the wheel's file name.
    pub(crate) wheel_tag: Option<String>,
    /// sha256 of the extension the venv's python loaded (the first, for a project with several).
    pub(crate) sha256: Option<String>,
    pub(crate) proof: Verdict,
    /// Whether the proven build was the one already installed (nothing changed since).
    pub(crate) reused: bool,
    /// `test` only.
    pub(crate) tests: Option<Tests>,
    /// `run` only: the command's exit code.
    pub(crate) command_exit_code: Option<u8>,
    /// This interpreter's exit code, as the command alone would have ended.
    pub(crate) exit_code: u8,
    /// Where this interpreter's receipt is.
    pub(crate) receipt: Option<PathBuf>,
    /// `dev`: the receipt; `test`: its whole `--json` report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) report: Option<serde_json::Value>,
}

impl Row {
    /// This row's outcome as an exit status.
    pub(crate) fn status(&self) -> ExitStatus {
        match (self.command_exit_code, self.exit_code) {
            (Some(code), _) => ExitStatus::External(code),
            (None, 0) => ExitStatus::Success,
            (None, 1) => ExitStatus::CheckFailed,
            (None, 3) => ExitStatus::Refused,
            (None, _) => ExitStatus::Error,
        }
    }

    /// Whether this interpreter did all it was asked.
    pub(crate) fn succeeded(&self) -> bool {
        self.exit_code == 0
    }
}

/// Which column the command adds after the proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Extra {
    None,
    Tests,
    Command,
}

/// The table, one line per interpreter, columns aligned.
pub(crate) fn render(rows: &[Row], extra: Extra, out: &mut impl Write) -> std::io::Result<()> {
    let mut lines: Vec<Vec<String>> = vec![
        ["python", "venv", "wheel tag", "sha256 loaded", "proof"]
            .map(str::to_owned)
            .to_vec(),
    ];
    match extra {
        Extra::None => {}
        Extra::Tests => lines[0].push("tests".to_owned()),
        Extra::Command => lines[0].push("command".to_owned()),
    }
    for row in rows {
        let mut proof = row.proof.word().to_owned();
        if row.reused && row.proof == Verdict::Proven {
            proof.push_str(" (unchanged)");
        }
        let mut line = vec![
            row.python.clone(),
            row.venv_shown.clone(),
            row.wheel_tag.clone().unwrap_or_else(|| "-".into()),
            row.sha256
                .as_deref()
                .map(|sha| short_hash(sha).to_owned())
                .unwrap_or_else(|| "-".into()),
            proof,
        ];
        match extra {
            Extra::None => {}
            Extra::Tests => line.push(match &row.tests {
                Some(tests) => tests.describe(),
                None if row.succeeded() => "-".to_owned(),
                None => format!("not run (exit {})", row.exit_code),
            }),
            Extra::Command => line.push(match row.command_exit_code {
                Some(code) => format!("exit {code}"),
                None => "not run".to_owned(),
            }),
        }
        lines.push(line);
    }
    let columns = lines[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            lines
                .iter()
                .map(|line| line[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in &lines {
        let mut text = String::from("  ");
        for (column, cell) in line.iter().enumerate() {
            if column + 1 == columns {
                text.push_str(cell);
            } else {
                let pad = widths[column] - cell.chars().count();
                text.push_str(cell);
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        writeln!(out, "{}", text.trim_end())?;
    }
    Ok(())
}

/// The exit status of the whole run: an error (exit 2) on any interpreter wins; then the first
/// failed check or command, in the table's order; else success.
pub(crate) fn overall(rows: &[Row]) -> ExitStatus {
    if rows.iter().any(|row| row.status() == ExitStatus::Error) {
        return ExitStatus::Error;
    }
    rows.iter()
        .map(Row::status)
        .find(|status| !matches!(status, ExitStatus::Success | ExitStatus::External(0)))
        .unwrap_or(ExitStatus::Success)
}

/// The wheel tag of a wheel's file name: `pkg-0.1.0-cp312-cp312-linux_x86_64.whl` →
/// `cp312-cp312-linux_x86_64`.
pub(crate) fn wheel_tag(file_name: &str) -> Option<String> {
    let stem = file_name.strip_suffix(".whl")?;
    let parts: Vec<&str> = stem.split('-').collect();
    (parts.len() >= 5).then(|| parts[parts.len() - 3..].join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(python: &str, proof: Verdict, tests: Option<Tests>, exit_code: u8) -> Row {
        let minor: String = python.splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
        Row {
            python: python.to_owned(),
            interpreter: PathBuf::from(format!("/py/{python}/bin/python{minor}")),
            venv: PathBuf::from(format!("/p/.venv-{minor}")),
            venv_shown: format!(".venv-{minor}"),
            wheel_tag: (proof != Verdict::Error).then(|| {
                let tag = minor.replace('.', "");
                format!("cp{tag}-cp{tag}-linux_x86_64")
            }),
            sha256: (proof != Verdict::Error).then(|| format!("{:a<64}", python.replace('.', ""))),
            proof,
            reused: false,
            tests,
            command_exit_code: None,
            exit_code,
            receipt: None,
            report: None,
        }
    }

    #[test]
    fn the_table_names_each_interpreter_and_its_outcome() {
        let passed = Tests {
            passed: 3,
            ..Tests::default()
        };
        let failed = Tests {
            passed: 2,
            failed: 1,
            ..Tests::default()
        };
        let mut reused = row("3.13.0", Verdict::Proven, Some(passed.clone()), 0);
        reused.reused = true;
        let rows = vec![
            row("3.9.18", Verdict::Proven, Some(passed), 0),
            row("3.12.1", Verdict::Proven, Some(failed), 1),
            reused,
            row("3.10.13", Verdict::Error, None, 2),
        ];
        let mut out = Vec::new();
        render(&rows, Extra::Tests, &mut out).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap(), @r"
        python   venv        wheel tag                 sha256 loaded  proof               tests
        3.9.18   .venv-3.9   cp39-cp39-linux_x86_64    3918aaaaaaaa   proven              3 passed
        3.12.1   .venv-3.12  cp312-cp312-linux_x86_64  3121aaaaaaaa   proven              2 passed, 1 failed
        3.13.0   .venv-3.13  cp313-cp313-linux_x86_64  3130aaaaaaaa   proven (unchanged)  3 passed
        3.10.13  .venv-3.10  -                         -              error               not run (exit 2)
        ");
        assert_eq!(overall(&rows), ExitStatus::Error);
        assert_eq!(overall(&rows[..3]), ExitStatus::CheckFailed);
        assert_eq!(overall(&rows[..1]), ExitStatus::Success);
    }

    #[test]
    fn run_shows_each_command_s_exit_code_and_ends_with_the_first_failing_one() {
        let mut ok = row("3.9.18", Verdict::Proven, None, 0);
        ok.command_exit_code = Some(0);
        let mut failing = row("3.12.1", Verdict::Proven, None, 3);
        failing.command_exit_code = Some(3);
        let rows = vec![ok, failing];
        let mut out = Vec::new();
        render(&rows, Extra::Command, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.lines().next().unwrap().ends_with("proof   command"),
            "{text}"
        );
        assert!(text.contains("proven  exit 3"), "{text}");
        // A command's own 3 is passed through, not read as the uv guard's refusal.
        assert_eq!(overall(&rows), ExitStatus::External(3));
    }

    #[test]
    fn wheel_tags_come_from_the_file_name() {
        assert_eq!(
            wheel_tag("my_pkg-0.1.0-cp39-abi3-linux_x86_64.whl").as_deref(),
            Some("cp39-abi3-linux_x86_64")
        );
        assert_eq!(wheel_tag("odd.whl"), None);
    }
}
