//! The external tools, found once per command: uv (optional, PATH only), the installer that puts
//! packages into the venv (uv when on PATH, else the venv's pip), and maturin (the venv's, then
//! PATH's, else installed into the venv). Each tool is a value that carries its program, so no
//! step can fall back to another tool on its own.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::output;

use crate::failure::user_error;
use crate::process::Cmd;
use crate::venv::Venv;

/// What `dev` installs when maturin is nowhere to be found.
pub(crate) const MATURIN_REQUIREMENT: &str = "maturin>=1.9,<2";

/// The tools on PATH, looked up once at the start of a command.
#[derive(Debug, Clone, Default)]
pub(crate) struct Toolchain {
    /// uv on PATH, if any. uv is never required.
    pub(crate) uv: Option<PathBuf>,
}

/// What installs packages into the venv, with the program it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Installer {
    /// `uv pip install --python <venv python>`.
    Uv { uv: PathBuf },
    /// `<venv python> -m pip install`.
    Pip { python: PathBuf },
}

/// Which installer it was, as the receipt records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum InstallerKind {
    Uv,
    Pip,
}

impl Toolchain {
    pub(crate) fn find() -> Toolchain {
        Toolchain {
            uv: which::which("uv").ok(),
        }
    }

    /// uv when it is on PATH, else the venv's pip, else a clear error.
    pub(crate) fn installer(&self, venv: &Venv) -> Result<Installer> {
        if let Some(uv) = &self.uv {
            return Ok(Installer::Uv { uv: uv.clone() });
        }
        if venv.has_pip() {
            return Ok(Installer::Pip {
                python: venv.python.clone(),
            });
        }
        Err(user_error(
            format!(
                "cannot install into `{}`: the venv has no pip and uv is not on PATH",
                venv.root.display()
            ),
            format!(
                "install uv (`pip install uv`), or add pip to the venv: `{} -m ensurepip`",
                venv.python.display()
            ),
        ))
    }

    /// maturin, installed into the venv with `installer` when neither the venv nor PATH has it.
    pub(crate) fn maturin(&self, venv: &Venv, installer: &Installer) -> Result<PathBuf> {
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
        let command = installer.install_command(venv).arg(MATURIN_REQUIREMENT);
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
}

impl Installer {
    /// The command that installs what follows it into `venv`.
    pub(crate) fn install_command(&self, venv: &Venv) -> Cmd {
        match self {
            Installer::Uv { uv } => Cmd::new(uv)
                .args(["pip", "install", "--python"])
                .arg(&venv.python),
            Installer::Pip { python } => Cmd::new(python).args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
            ]),
        }
    }

    pub(crate) fn kind(&self) -> InstallerKind {
        match self {
            Installer::Uv { .. } => InstallerKind::Uv,
            Installer::Pip { .. } => InstallerKind::Pip,
        }
    }
}

/// maturin from the venv (when there is one), then from PATH.
pub(crate) fn find_maturin(venv: Option<&Venv>) -> Option<PathBuf> {
    venv.map(|venv| venv.bin("maturin"))
        .filter(|in_venv| in_venv.is_file())
        .or_else(|| which::which("maturin").ok())
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
