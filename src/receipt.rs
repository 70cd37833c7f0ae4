//! The receipt of the last proven `dev`: what was built, installed and loaded, with hashes and
//! timings. `verify` and `doctor` read it to tell a fresh install from a stale one. The schema is
//! documented in `docs/receipt.md`; bump [`SCHEMA_VERSION`] on any incompatible change.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::install::Installer;
use crate::proof::LoadedExtension;

pub(crate) const SCHEMA_VERSION: u32 = 1;
const RECEIPT_FILE: &str = "receipt.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Receipt {
    pub(crate) schema_version: u32,
    /// `cargo-pyo3` and its version.
    pub(crate) tool: String,
    pub(crate) tool_version: String,
    pub(crate) package: String,
    pub(crate) version: String,
    pub(crate) distribution: String,
    pub(crate) module: String,
    pub(crate) manifest_path: PathBuf,
    pub(crate) profile: String,
    /// The feature flags passed to maturin, as given.
    pub(crate) features: Vec<String>,
    pub(crate) wheel: ReceiptWheel,
    pub(crate) extensions: Vec<LoadedExtension>,
    pub(crate) python: ReceiptPython,
    pub(crate) tools: ReceiptTools,
    /// When the build started, in milliseconds since the Unix epoch. A source modified after
    /// this instant is not in the installed build.
    pub(crate) built_at_unix_ms: u64,
    pub(crate) git_commit: Option<String>,
    /// The build inputs' content, hashed right before the build (`docs/receipt.md`). Absent in
    /// receipts written before it existed: freshness then falls back to modification times.
    #[serde(default)]
    pub(crate) inputs: Option<crate::digest::InputsDigest>,
    pub(crate) timings_ms: Timings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReceiptWheel {
    pub(crate) file_name: String,
    /// The copy kept beside the receipt.
    pub(crate) path: PathBuf,
    pub(crate) sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReceiptPython {
    pub(crate) version: String,
    pub(crate) executable: String,
    pub(crate) venv: PathBuf,
    /// The interpreter maturin built against (the venv's base interpreter).
    pub(crate) build_interpreter: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReceiptTools {
    pub(crate) maturin: Option<String>,
    pub(crate) uv: Option<String>,
    pub(crate) installer: Installer,
}

/// Milliseconds spent in each step of `dev`, in the order they run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Timings {
    pub(crate) discover: u64,
    /// Waiting for another `dev` of the same package to finish.
    pub(crate) lock: u64,
    pub(crate) venv: u64,
    pub(crate) guard: u64,
    /// Hashing the build inputs, before and after the build.
    pub(crate) digest: u64,
    pub(crate) clean: u64,
    pub(crate) build: u64,
    pub(crate) inspect: u64,
    pub(crate) install: u64,
    pub(crate) prove: u64,
    pub(crate) receipt: u64,
    pub(crate) total: u64,
}

pub(crate) fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(RECEIPT_FILE)
}

/// The last receipt, if there is one that this version understands.
pub(crate) fn read(state_dir: &Path) -> Result<Option<Receipt>> {
    let path = path(state_dir);
    if !path.is_file() {
        return Ok(None);
    }
    let text = fs_err::read_to_string(&path)?;
    let receipt: Receipt = serde_json::from_str(&text)
        .with_context(|| format!("failed to parse the receipt `{}`", path.display()))?;
    if receipt.schema_version != SCHEMA_VERSION {
        return Ok(None);
    }
    Ok(Some(receipt))
}

/// Moves the installed wheel into `state_dir`, dropping older ones; returns where it is.
///
/// Moved, not copied: the wheel's temporary directory is removed right after, and a debug wheel
/// is megabytes to copy on every run. Across filesystems the move fails and it is copied.
pub(crate) fn keep_wheel(state_dir: &Path, wheel: &Path, file_name: &str) -> Result<PathBuf> {
    fs_err::create_dir_all(state_dir)?;
    let kept = state_dir.join(file_name);
    // rename(2) replaces an older wheel of the same name atomically.
    if std::fs::rename(wheel, &kept).is_err() {
        let staged = tempfile::NamedTempFile::new_in(state_dir)?;
        fs_err::copy(wheel, staged.path())?;
        staged
            .persist(&kept)
            .with_context(|| format!("failed to keep the wheel at `{}`", kept.display()))?;
    }
    for entry in fs_err::read_dir(state_dir)?.filter_map(|entry| entry.ok()) {
        let path = entry.path();
        if path != kept && path.extension().is_some_and(|extension| extension == "whl") {
            fs_err::remove_file(&path)?;
        }
    }
    Ok(kept)
}

/// Writes the receipt atomically, so a reader never sees half a file.
pub(crate) fn write(state_dir: &Path, receipt: &Receipt) -> Result<()> {
    fs_err::create_dir_all(state_dir)?;
    let mut staged = tempfile::NamedTempFile::new_in(state_dir)?;
    serde_json::to_writer_pretty(&mut staged, receipt)?;
    let target = path(state_dir);
    staged
        .persist(&target)
        .with_context(|| format!("failed to write the receipt `{}`", target.display()))?;
    Ok(())
}

pub(crate) fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

/// The modification time of a file in milliseconds since the Unix epoch.
pub(crate) fn modified_unix_ms(path: &Path) -> Option<u64> {
    let modified = fs_err::metadata(path).ok()?.modified().ok()?;
    Some(modified.duration_since(UNIX_EPOCH).ok()?.as_millis() as u64)
}

/// Build inputs modified after the receipt's build started (changes the install does not
/// have), newest first.
pub(crate) fn newer_inputs(inputs: &[PathBuf], receipt: &Receipt) -> Vec<PathBuf> {
    let mut newer: Vec<(u64, PathBuf)> = inputs
        .iter()
        .filter_map(|input| Some((modified_unix_ms(input)?, input.clone())))
        .filter(|(modified, _)| *modified > receipt.built_at_unix_ms)
        .collect();
    newer.sort_by(|left, right| right.cmp(left));
    newer.into_iter().map(|(_, input)| input).collect()
}

impl Receipt {
    /// The sha256 `dev` proved for an extension module (the first one when none has that name).
    pub(crate) fn proven_sha256(&self, extension_module: &str) -> Option<&str> {
        self.extensions
            .iter()
            .find(|extension| extension.module == extension_module)
            .or_else(|| self.extensions.first())
            .and_then(|extension| extension.loaded_sha256.as_deref())
    }
}

/// How the extension Python loads now relates to the last proven `dev`: the one judgement
/// `verify` and `doctor` both report, each in its own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// No receipt: this install was never proven.
    NoReceipt,
    /// The last `dev` installed into this other venv.
    OtherVenv(PathBuf),
    /// The loaded extension is not the file `dev` proved: something replaced it since
    /// (`uv sync`/`uv run`, pip or `maturin develop`).
    Replaced {
        loaded_sha256: String,
        proven_sha256: String,
    },
    /// Build inputs changed after the proven build started, newest first.
    SourcesChanged(Vec<PathBuf>),
    Fresh,
}

/// Judges freshness. `loaded_sha256` is the hash of the extension Python loads now (`None` when
/// it does not load: the import checks report that); `inputs` are the build inputs to compare
/// with the build's start.
pub(crate) fn freshness(
    receipt: Option<&Receipt>,
    venv_root: &Path,
    extension_module: &str,
    loaded_sha256: Option<&str>,
    inputs: &[PathBuf],
) -> Freshness {
    let Some(receipt) = receipt else {
        return Freshness::NoReceipt;
    };
    if !crate::project::same_file(&receipt.python.venv, venv_root) {
        return Freshness::OtherVenv(receipt.python.venv.clone());
    }
    if let (Some(loaded), Some(proven)) = (loaded_sha256, receipt.proven_sha256(extension_module))
        && loaded != proven
    {
        return Freshness::Replaced {
            loaded_sha256: loaded.to_owned(),
            proven_sha256: proven.to_owned(),
        };
    }
    // By content when the receipt has a digest (mtimes only pre-check it), else by mtime.
    let newer = crate::digest::changed_since(receipt, inputs)
        .unwrap_or_else(|| newer_inputs(inputs, receipt));
    if newer.is_empty() {
        Freshness::Fresh
    } else {
        Freshness::SourcesChanged(newer)
    }
}
