//! The one Python runner: a constant script from `src/python/` run by the venv's python, with its
//! input as JSON on stdin and its output as JSON on stdout. Data, never code, crosses the
//! boundary: names reach Python only inside the JSON.
//!
//! Each script is written to a private temporary directory and run as a file, so the command an
//! error shows is one short line (`…/bin/python -I /tmp/cargo-pyo3-python-…/proof.py`) instead
//! of the whole script pasted as a `-c` argument. An interpreter that dies from a signal is
//! classified here, once (a signal on Unix, an NTSTATUS such as `0xC0000005` on
//! Windows: `platform::crash`), as a crash of the import (`outcome::crashed`), whoever ran the script.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::outcome;
use crate::platform;
use crate::process::{Cmd, ProcessError};
use crate::venv::Venv;

/// A script of ours, embedded at build time.
#[derive(Clone, Copy)]
pub(crate) struct Script {
    /// The file name it is run as, which an error shows.
    file_name: &'static str,
    text: &'static str,
}

/// Imports modules and reports their files, `sys.path` and the mapped extensions (`dev`).
pub(crate) const PROOF: Script = Script {
    file_name: "proof.py",
    text: include_str!("python/proof.py"),
};

/// Lists every importable copy of a module along `sys.path`, importing nothing (`doctor`).
pub(crate) const COPIES: Script = Script {
    file_name: "copies.py",
    text: include_str!("python/copies.py"),
};

/// Imports the module and looks names up on it (`verify`).
pub(crate) const VERIFY: Script = Script {
    file_name: "verify.py",
    text: include_str!("python/verify.py"),
};

/// Runs mypy's stubtest and reports each error it finds as data (`verify --stubs`).
pub(crate) const STUBTEST: Script = Script {
    file_name: "stubtest.py",
    text: include_str!("python/stubtest.py"),
};

/// Reports an interpreter's version, its own file and its implementation (`--python`, several).
pub(crate) const INTERPRETER: Script = Script {
    file_name: "interpreter.py",
    text: include_str!("python/interpreter.py"),
};

/// Run as a file, a script has its own directory as `sys.path[0]`, where `python -c` (and a
/// user's `python` or `pytest` started in a directory) has `""`, the working directory. Put that
/// back first, unless isolation (`-I`) or `PYTHONSAFEPATH` (3.11+) means neither is there.
const AS_IF_STARTED_HERE: &str = "import sys as _sys\n\
     if not _sys.flags.isolated and not getattr(_sys.flags, 'safe_path', False):\n    \
     _sys.path[0] = ''\n\
     del _sys\n";

/// Where Python is started from: the place decides what can shadow the install.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Vantage<'a> {
    /// `-I` (no cwd on `sys.path`, no `PYTHON*` variables, no user site) from an empty directory.
    Neutral,
    /// A plain `python` started in this directory, as a user or a test runner would.
    From(&'a Path),
}

/// Runs `script` with the venv's python from `vantage`, with `input` as JSON on stdin, and
/// parses its stdout as JSON. The script imports `module` (or its parent packages): a signal
/// that kills the interpreter is reported as that import crashing it.
pub(crate) fn run<T: for<'de> Deserialize<'de>>(
    venv: &Venv,
    script: Script,
    module: &str,
    input: &serde_json::Value,
    vantage: Vantage<'_>,
) -> Result<T> {
    run_with(&venv.python, script, module, input, vantage)
}

/// [`run`] with any interpreter, in a venv or not (`--python`'s probe of a candidate).
pub(crate) fn run_with<T: for<'de> Deserialize<'de>>(
    python: &Path,
    script: Script,
    module: &str,
    input: &serde_json::Value,
    vantage: Vantage<'_>,
) -> Result<T> {
    let (scratch, command) = prepare(python, script, vantage, false)?;
    let command = command.stdin_bytes(serde_json::to_vec(input)?);
    let captured = command
        .run_captured()
        .map_err(|error| classify(error, module, python));
    drop(scratch);
    parse(&command, &captured?.stdout)
}

/// The script written to a private (0700) temporary directory, removed on the way out
/// interrupted or not, and the command that runs it from `vantage`; with `-S` when `ahead`.
fn prepare(
    python: &Path,
    script: Script,
    vantage: Vantage<'_>,
    ahead: bool,
) -> Result<(tempfile::TempDir, Cmd)> {
    let scratch = tempfile::Builder::new()
        .prefix("cargo-pyo3-python-")
        .tempdir()
        .context("failed to create a temporary directory")?;
    let path = scratch.path().join(script.file_name);
    let mut command = Cmd::new(python);
    command = match vantage {
        Vantage::Neutral => {
            fs_err::write(&path, script.text)?;
            let empty = scratch.path().join("cwd");
            fs_err::create_dir(&empty)?;
            command.arg("-I").dir(empty)
        }
        Vantage::From(dir) => {
            fs_err::write(&path, format!("{AS_IF_STARTED_HERE}{}", script.text))?;
            command.dir(dir)
        }
    };
    if ahead {
        command = command.arg("-S");
    }
    Ok((scratch, command.arg(&path)))
}

/// A signal that killed the interpreter is the import crashing it.
fn classify(error: ProcessError, module: &str, python: &Path) -> anyhow::Error {
    match error {
        ProcessError::Failed { status, .. } if platform::crash(status).is_some() => {
            outcome::crashed(module, status, python, error.into())
        }
        error => error.into(),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(command: &Cmd, stdout: &str) -> Result<T> {
    serde_json::from_str(stdout)
        .with_context(|| format!("unexpected output from `{command}`:\n{stdout}"))
}

/// The proof script, started with the venv's python before what it will prove exists (a build
/// and its install): `-S`, so that no `site-packages` is read at the start; it waits on its
/// stdin, and runs `site` itself once its input arrives (`"site": true`), after the install.
/// Its interpreter's start then runs beside the build instead of after the install (see
/// docs/dev.md, *Prove*). Dropped unused, it is killed before it has read anything.
pub(crate) struct StartedProof {
    python: std::path::PathBuf,
    module: String,
    running: crate::process::Awaiting,
    _scratch: tempfile::TempDir,
}

/// Starts [`PROOF`] from `vantage` ahead of its input.
pub(crate) fn start_proof(venv: &Venv, module: &str, vantage: Vantage<'_>) -> Result<StartedProof> {
    let (scratch, command) = prepare(&venv.python, PROOF, vantage, true)?;
    let running = command.start_awaiting_input()?;
    Ok(StartedProof {
        python: venv.python.clone(),
        module: module.to_owned(),
        running,
        _scratch: scratch,
    })
}

impl StartedProof {
    /// Gives it `input` (with `"site": true` added) and parses what it reports.
    pub(crate) fn finish<T: for<'de> Deserialize<'de>>(
        self,
        input: &serde_json::Value,
    ) -> Result<T> {
        let mut input = input.clone();
        input["site"] = serde_json::Value::Bool(true);
        let command = self.running.command().clone();
        let captured = self
            .running
            .finish(&serde_json::to_vec(&input)?)
            .map_err(|error| classify(error, &self.module, &self.python))?;
        parse(&command, &captured.stdout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the proof script with `python3 -I` from `dir`, `prelude` first and `postlude` last in
    /// the same process, with `stdin` as its input.
    fn run_proof_script(
        dir: &Path,
        prelude: &str,
        postlude: &str,
        stdin: Vec<u8>,
    ) -> Result<crate::process::Captured, ProcessError> {
        let script = dir.join(PROOF.file_name);
        fs_err::write(&script, format!("{prelude}\n{}\n{postlude}\n", PROOF.text)).unwrap();
        Cmd::new("python3")
            .arg("-I")
            .arg(&script)
            .dir(dir)
            .stdin_bytes(stdin)
            .run_captured()
    }

    /// The proof script's report on `input`, with `prelude` run first; with whether `json` was
    /// imported by the end.
    fn proof_output(
        dir: &Path,
        prelude: &str,
        input: &serde_json::Value,
    ) -> (serde_json::Value, bool) {
        let postlude = "import sys\nsys.stderr.write(str('json' in sys.modules))";
        let input = serde_json::to_vec(input).unwrap();
        let captured = run_proof_script(dir, prelude, postlude, input).unwrap();
        let mut output: serde_json::Value = serde_json::from_str(&captured.stdout).unwrap();
        // `_json` is a shared object of its own in some builds: mapped in one run, not the other.
        output.as_object_mut().unwrap().remove("mapped");
        (output, captured.stderr.trim() == "True")
    }

    #[test]
    fn the_proof_script_says_the_same_with_cpythons_c_codec_and_with_json() {
        // A module that imports, one that does not (its error report needs `traceback` and
        // `re`, imported only then), and a name with characters JSON has to escape.
        let input = serde_json::json!({
            "modules": ["colorsys", "no_such_module_é\n\"", "os"],
            "maps": platform::MAPPED_FILES.ok(),
        });
        let dir = tempfile::tempdir().unwrap();
        let (fast, imported_json) = proof_output(dir.path(), "", &input);
        assert!(!imported_json, "the C codec is there: `json` is not needed");
        let without_c_codec = "import sys\nsys.modules['_json'] = None";
        let (fallback, imported_json) = proof_output(dir.path(), without_c_codec, &input);
        assert!(
            imported_json,
            "without `_json` the script falls back to `json`"
        );
        assert_eq!(fast, fallback);
        let modules = fast["modules"].as_array().unwrap();
        assert_eq!(modules.len(), 3);
        assert!(
            modules[0]["file"]
                .as_str()
                .unwrap()
                .ends_with("colorsys.py")
        );
        assert_eq!(modules[1]["error_type"], "ModuleNotFoundError");
        assert_eq!(modules[1]["missing"], "no_such_module_é\n\"");
        assert!(modules[2]["error"].is_null());
    }

    #[test]
    fn a_proof_started_ahead_sees_an_install_made_after_its_start_as_one_started_then_does() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("venv");
        Cmd::new("python3")
            .args(["-m", "venv", "--without-pip"])
            .arg(&root)
            .run_captured()
            .unwrap();
        let venv = Venv::open(&root, crate::venv::VenvOrigin::Flag).unwrap();
        let project = dir.path().join("project");
        fs_err::create_dir(&project).unwrap();
        let vantages = [Vantage::Neutral, Vantage::From(&project)];
        let ahead: Vec<StartedProof> = vantages
            .iter()
            .map(|vantage| start_proof(&venv, "late_module", *vantage).unwrap())
            .collect();
        // What an install writes after they started: a `.pth` putting a directory on
        // `sys.path`, and a module in it.
        let extra = dir.path().join("extra");
        fs_err::create_dir(&extra).unwrap();
        fs_err::write(extra.join("late_module.py"), "VALUE = 1\n").unwrap();
        let site_packages = venv.site_packages().unwrap();
        fs_err::write(
            site_packages.join("late.pth"),
            format!("{}\n", extra.display()),
        )
        .unwrap();
        let input = serde_json::json!({ "modules": ["late_module"], "maps": null });
        for (started, vantage) in ahead.into_iter().zip(vantages) {
            let early: serde_json::Value = started.finish(&input).unwrap();
            let now: serde_json::Value = run(&venv, PROOF, "late_module", &input, vantage).unwrap();
            for field in ["sys_path", "modules", "prefix", "executable", "pythonpath"] {
                assert_eq!(early[field], now[field], "{field} from {vantage:?}");
            }
            assert_eq!(
                early["modules"][0]["file"].as_str(),
                Some(extra.join("late_module.py").to_str().unwrap()),
                "from {vantage:?}: {early}"
            );
        }
    }

    #[test]
    fn the_proof_script_refuses_input_with_data_after_the_json_value() {
        let dir = tempfile::tempdir().unwrap();
        let input = br#"{"modules": [], "maps": null} []"#.to_vec();
        let failed = run_proof_script(dir.path(), "", "", input);
        assert!(failed.is_err(), "{failed:?}");
    }
}
