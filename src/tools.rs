//! Finding the external tools: maturin (venv, then PATH, else installed into the venv), uv
//! (optional, PATH only), and their versions, read off the programs themselves.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::output::{self, user_error};
use crate::process::Cmd;
use crate::venv::Venv;

/// What `dev` installs when maturin is nowhere to be found.
pub(crate) const MATURIN_REQUIREMENT: &str = "maturin>=1.9,<2";

/// uv on PATH, if any. uv is never required.
pub(crate) fn find_uv() -> Option<PathBuf> {
    which::which("uv").ok()
}

/// maturin from the venv (when there is one), then from PATH.
pub(crate) fn find_maturin(venv: Option<&Venv>) -> Option<PathBuf> {
    venv.map(|venv| venv.bin("maturin"))
        .filter(|in_venv| in_venv.is_file())
        .or_else(|| which::which("maturin").ok())
}

/// maturin, installed into the venv when neither the venv nor PATH has it.
pub(crate) fn maturin_or_install(venv: &Venv, uv: Option<&Path>) -> Result<PathBuf> {
    if let Some(maturin) = find_maturin(Some(venv)) {
        return Ok(maturin);
    }
    output::status(
        "Installing",
        format!(
            "`{MATURIN_REQUIREMENT}` into `{}` (maturin was not found)",
            venv.root.display()
        ),
    );
    let command = match uv {
        Some(uv) => Cmd::new(uv)
            .args(["pip", "install", "--python"])
            .arg(&venv.python)
            .arg(MATURIN_REQUIREMENT),
        None if venv.has_pip() => Cmd::new(&venv.python)
            .args(["-m", "pip", "install", "--disable-pip-version-check"])
            .arg(MATURIN_REQUIREMENT),
        None => {
            return Err(user_error(
                format!(
                    "maturin is not installed and the venv `{}` has neither pip nor uv to install it",
                    venv.root.display()
                ),
                "install uv (`pip install uv`), or maturin itself (`pip install maturin`)",
            ));
        }
    };
    command.run_captured().map_err(|error| {
        user_error(
            format!("failed to install maturin: {error}"),
            "install maturin yourself (`pip install maturin`) and run again",
        )
    })?;
    let maturin = venv.bin("maturin");
    if !maturin.is_file() {
        anyhow::bail!(
            "`{command}` succeeded but `{}` does not exist",
            maturin.display()
        );
    }
    Ok(maturin)
}

/// The version a tool prints for `--version`: `maturin 1.16.0` → `1.16.0`.
pub(crate) fn version(program: &Path) -> Option<String> {
    let captured = Cmd::new(program).arg("--version").run_captured().ok()?;
    parse_version(&captured.stdout)
}

fn parse_version(text: &str) -> Option<String> {
    text.split_whitespace().nth(1).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_second_word() {
        assert_eq!(parse_version("maturin 1.16.0\n").as_deref(), Some("1.16.0"));
        assert_eq!(
            parse_version("uv 0.13.8 (abc 2026-11-01)\n").as_deref(),
            Some("0.13.8")
        );
        assert_eq!(parse_version(""), None);
    }
}
