//! The receipt of the last proven `dev`: what was built, installed and loaded, with hashes and
//! timings (a public schema, `docs/receipt.md`, versioned by [`SCHEMA_VERSION`]); reading and
//! writing it; and the freshness assessment ([`assess`]) that `verify` and `doctor` both report.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::clock::{may_follow, modified_unix_ms};
use crate::proof::LoadedExtension;
use crate::toolchain::InstallerKind;

mod steps;

/// Bumped on any change a reader of version 1 would misread: a field removed, renamed or given
/// another type or meaning. Adding a field is not a bump (`docs/receipt.md`).
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
    /// The installed distribution's version (from the wheel), which can differ from Cargo's.
    #[serde(default)]
    pub(crate) distribution_version: String,
    pub(crate) module: String,
    pub(crate) manifest_path: PathBuf,
    /// The Python project root: where `pyproject.toml` is (the crate's directory when there is
    /// none), which the venv and the uv guard work from.
    #[serde(default)]
    pub(crate) project_root: PathBuf,
    pub(crate) profile: String,
    /// The feature flags passed to maturin, as given.
    pub(crate) features: Vec<String>,
    pub(crate) wheel: ReceiptWheel,
    pub(crate) extensions: Vec<LoadedExtension>,
    /// The runtime requirements installed before the project (sorted requirement strings).
    #[serde(default)]
    pub(crate) dependencies: Vec<String>,
    /// Where the versions of `dependencies` came from: `locked` (the project's `uv.lock`, each
    /// installed as pinned, `--no-deps`) or `resolved` (the installer resolved the ranges).
    #[serde(default = "resolved")]
    pub(crate) dependency_versions: VersionSource,
    /// With `locked` versions: the hash of what the pins were exported from (the lock, the
    /// `pyproject.toml` files it depends on, the selection), so an unchanged lock is not
    /// exported again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lock_digest: Option<String>,
    /// Set when the project was installed editable.
    #[serde(default)]
    pub(crate) editable: Option<ReceiptEditable>,
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
    /// What else the build depended on (`docs/receipt.md`): with it and `inputs` unchanged, the
    /// next `dev` proves this build again instead of rebuilding it.
    #[serde(default)]
    pub(crate) build_key: Option<crate::build_key::BuildKey>,
    /// Whether this run found nothing changed and proved the build made at
    /// `built_at_unix_ms` again, without building or installing.
    #[serde(default)]
    pub(crate) reused: bool,
    pub(crate) timings_ms: Timings,
}

/// Where the versions of the installed requirements came from, as the receipt records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum VersionSource {
    /// Pinned by the project's lockfile, installed with `--no-deps`.
    Locked,
    /// Resolved by the installer from the requirements' ranges.
    Resolved,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReceiptWheel {
    pub(crate) file_name: String,
    /// The copy kept beside the receipt.
    pub(crate) path: PathBuf,
    pub(crate) sha256: String,
}

/// An editable install: where the proven extensions were written, and the wheel that points
/// the venv at the sources.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReceiptEditable {
    /// The directory the venv's `.pth` puts on `sys.path`.
    pub(crate) python_root: PathBuf,
    /// The `.pth`-only wheel that was installed.
    pub(crate) wheel: PathBuf,
    /// Every copy of an extension written beside the sources (one per extension).
    pub(crate) placed: Vec<PathBuf>,
}

impl Receipt {
    /// The wheels this receipt's install came from, which must stay as long as it is the last.
    pub(crate) fn kept_wheels(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self.wheel.path.as_path()).chain(
            self.editable
                .iter()
                .map(|editable| editable.wheel.as_path()),
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReceiptPython {
    pub(crate) version: String,
    pub(crate) executable: String,
    pub(crate) venv: PathBuf,
    /// The interpreter maturin built against (the venv's base interpreter).
    pub(crate) build_interpreter: PathBuf,
    /// When `cargo pyo3` made the venv: the interpreter it was made from and why that one
    /// (kept by later runs in the same venv).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) venv_created_with: Option<crate::venv::CreatedWith>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReceiptTools {
    pub(crate) maturin: Option<String>,
    pub(crate) uv: Option<String>,
    pub(crate) installer: InstallerKind,
}

/// Milliseconds spent in each step of `dev`, in the order they run: the names in `steps.rs`
/// (a test keeps the two in step).
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
    /// Installing the runtime requirements; 0 when they were unchanged since the last receipt.
    pub(crate) dependencies: u64,
    pub(crate) install: u64,
    pub(crate) prove: u64,
    pub(crate) receipt: u64,
    pub(crate) total: u64,
}

pub(crate) fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(RECEIPT_FILE)
}

/// What is on disk where the receipt should be: read once, judged by [`assess`].
#[derive(Debug, Clone)]
pub(crate) enum Stored {
    /// No receipt file (never proven here), or one of another schema version, which readers
    /// ignore (`docs/receipt.md`).
    Missing,
    /// A receipt file that cannot be read or parsed: `dev` writes atomically, so this is damage
    /// from outside (a disk, an editor, a copy), and the next `dev` replaces it.
    Unreadable {
        path: PathBuf,
        reason: String,
    },
    Found(Box<Receipt>),
}

impl Stored {
    pub(crate) fn receipt(&self) -> Option<&Receipt> {
        match self {
            Stored::Found(receipt) => Some(receipt),
            Stored::Missing | Stored::Unreadable { .. } => None,
        }
    }

    /// The extension module `dev` installed (the receipt's first), else `project_extension`:
    /// what `doctor` looks for on `sys.path`, so that a module renamed since the build still
    /// finds the build to compare the new name with.
    pub(crate) fn installed_module(&self, project_extension: String) -> String {
        self.receipt()
            .and_then(|receipt| receipt.extensions.first())
            .map_or(project_extension, |extension| extension.module.clone())
    }
}

/// Reads the last receipt. Never an error: a damaged receipt is a verdict to report
/// ([`Freshness::Unreadable`]), the same in `verify` and `doctor`.
pub(crate) fn read(state_dir: &Path) -> Stored {
    let path = path(state_dir);
    let text = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Stored::Missing,
        Err(error) => {
            return Stored::Unreadable {
                reason: io_reason(&error),
                path,
            };
        }
    };
    // The version first, so that a receipt of another schema is ignored, not called corrupt.
    #[derive(Deserialize)]
    struct Versioned {
        schema_version: u32,
    }
    match serde_json::from_str::<Versioned>(&text) {
        Ok(versioned) if versioned.schema_version != SCHEMA_VERSION => return Stored::Missing,
        Ok(_) => {}
        Err(error) => {
            return Stored::Unreadable {
                path,
                reason: format!("not a receipt: {error}"),
            };
        }
    }
    match serde_json::from_str::<Receipt>(&text) {
        Ok(receipt) => Stored::Found(Box::new(receipt)),
        Err(error) => Stored::Unreadable {
            path,
            reason: format!("not a receipt: {error}"),
        },
    }
}

/// Receipts written before the field existed resolved their dependencies.
fn resolved() -> VersionSource {
    VersionSource::Resolved
}

/// The cause of an I/O error without the path `fs_err` adds (callers name the file themselves).
fn io_reason(error: &std::io::Error) -> String {
    std::io::Error::from(error.kind()).to_string()
}

/// Writes the receipt atomically, so a reader never sees half a file.
pub(crate) fn write(state_dir: &Path, receipt: &Receipt) -> Result<()> {
    fs_err::create_dir_all(state_dir)?;
    let target = path(state_dir);
    crate::fs_atomic::replace(&target, None, |out| {
        serde_json::to_writer_pretty(out, receipt).map_err(std::io::Error::other)
    })
    .with_context(|| format!("failed to write the receipt `{}`", target.display()))
}

impl Receipt {
    /// The extension this receipt proved for `extension_module`: the one of that name, else the
    /// first (a receipt written before a module rename still judges the one extension it has).
    pub(crate) fn proven(&self, extension_module: &str) -> Option<&LoadedExtension> {
        self.extensions
            .iter()
            .find(|extension| extension.module == extension_module)
            .or_else(|| self.extensions.first())
    }
}

/// How the extension Python loads now relates to the last proven `dev`: the one judgement
/// `verify` and `doctor` both report, each in its own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// No receipt: this install was never proven.
    NoReceipt,
    /// A receipt that cannot be read: nothing to compare with until `dev` writes a new one.
    Unreadable {
        path: PathBuf,
        reason: String,
    },
    /// The last `dev` installed into this other venv.
    OtherVenv(PathBuf),
    /// The loaded extension could not be hashed, so it cannot be compared with the proof.
    Unhashable {
        path: PathBuf,
        reason: String,
    },
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

impl Freshness {
    /// The words for a verdict that must read the same in `verify` and `doctor`, with its
    /// hint: today the unreadable receipt.
    pub(crate) fn shared_words(&self) -> Option<(String, &'static str)> {
        match self {
            Freshness::Unreadable { path, reason } => Some((
                format!("the receipt `{}` is unreadable: {reason}", path.display()),
                "run `cargo pyo3 dev` to write a new one",
            )),
            _ => None,
        }
    }
}

/// What the freshness judgement looks at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FreshnessInputs<'a> {
    pub(crate) receipt: &'a Stored,
    /// The venv being checked.
    pub(crate) venv_root: &'a Path,
    /// The project's extension module (`Project::extension_module`), see [`Receipt::proven`].
    pub(crate) extension_module: &'a str,
    /// The extension file Python loads now; `None` when it does not load (the import checks
    /// report that).
    pub(crate) loaded: Option<&'a Path>,
    /// The build inputs ([`build_inputs`]).
    pub(crate) inputs: &'a [PathBuf],
}

/// The judgement with the facts it rests on, for the reports.
#[derive(Debug, Clone)]
pub(crate) struct Assessment {
    pub(crate) freshness: Freshness,
    pub(crate) loaded_sha256: Option<String>,
    pub(crate) proven_sha256: Option<String>,
    pub(crate) built_at_unix_ms: Option<u64>,
}

/// Judges freshness, in this order: a receipt to compare with (missing, unreadable, for another
/// venv), the loaded file against the proven hash, then the sources against the build.
pub(crate) fn assess(inputs: FreshnessInputs<'_>) -> Assessment {
    let receipt = inputs.receipt.receipt();
    let proven_sha256 = receipt
        .and_then(|receipt| receipt.proven(inputs.extension_module))
        .and_then(|extension| extension.loaded_sha256.clone());
    let hashed = inputs
        .loaded
        .map(|loaded| (loaded, crate::wheel::sha256_file(loaded)));
    let loaded_sha256 = hashed
        .as_ref()
        .and_then(|(_, hash)| hash.as_ref().ok().cloned());
    let freshness = judge(&inputs, hashed, proven_sha256.as_deref());
    Assessment {
        freshness,
        loaded_sha256,
        proven_sha256,
        built_at_unix_ms: receipt.map(|receipt| receipt.built_at_unix_ms),
    }
}

fn judge(
    inputs: &FreshnessInputs<'_>,
    hashed: Option<(&Path, Result<String>)>,
    proven_sha256: Option<&str>,
) -> Freshness {
    let receipt = match inputs.receipt {
        Stored::Missing => return Freshness::NoReceipt,
        Stored::Unreadable { path, reason } => {
            return Freshness::Unreadable {
                path: path.clone(),
                reason: reason.clone(),
            };
        }
        Stored::Found(receipt) => receipt,
    };
    if !crate::project::same_file(&receipt.python.venv, inputs.venv_root) {
        return Freshness::OtherVenv(receipt.python.venv.clone());
    }
    match hashed {
        Some((path, Err(error))) => {
            return Freshness::Unhashable {
                path: path.to_path_buf(),
                reason: format!("{error:#}"),
            };
        }
        Some((_, Ok(loaded))) => {
            if let Some(proven) = proven_sha256
                && loaded != proven
            {
                return Freshness::Replaced {
                    loaded_sha256: loaded,
                    proven_sha256: proven.to_owned(),
                };
            }
        }
        None => {}
    }
    let changed = sources_changed(receipt, inputs.inputs);
    if changed.is_empty() {
        Freshness::Fresh
    } else {
        Freshness::SourcesChanged(changed)
    }
}

/// The one place that decides which build inputs changed since the receipt's build, newest
/// first: today a file modified after the build started.
fn sources_changed(receipt: &Receipt, inputs: &[PathBuf]) -> Vec<PathBuf> {
    // By content when the receipt has a digest (mtimes only pre-check it), else by mtime.
    let mut changed =
        changed_since(receipt, inputs).unwrap_or_else(|| newer_inputs(inputs, receipt));
    // An editable install loads the Python sources where they are: an edit there is live, not
    // stale. Anywhere else (a plain wheel) the wheel holds a copy, which an edit leaves behind.
    if let Some(editable) = &receipt.editable {
        changed.retain(|path| {
            !(path.starts_with(&editable.python_root)
                && path
                    .extension()
                    .is_some_and(|extension| extension == "py" || extension == "pyi"))
        });
    }
    changed
}

/// The freshness seam: the build inputs that changed since `receipt`'s build, by content, newest
/// first; `None` when the receipt holds no digest (written before there was one), so the caller
/// falls back to modification times.
///
/// Every recorded file is checked (a deleted one has changed); of `inputs`, those the digest
/// does not cover (a file created since, a `#[path]` module the scan found that no build has
/// read yet) count when they were modified after the check that
/// followed the build, since there is no content to compare with.
fn changed_since(receipt: &Receipt, inputs: &[PathBuf]) -> Option<Vec<PathBuf>> {
    let digest = receipt.inputs.as_ref()?;
    let mut changed = crate::digest::changed_files(digest);
    let recorded: std::collections::BTreeSet<&Path> = digest
        .files
        .iter()
        .map(|file| file.path.as_path())
        .collect();
    let since = match digest.checked_at_unix_ms {
        0 => receipt.built_at_unix_ms,
        checked => checked,
    };
    changed.extend(
        inputs
            .iter()
            .filter(|input| !recorded.contains(input.as_path()))
            .filter(|input| modified_unix_ms(input).is_some_and(|ms| may_follow(ms, since)))
            .cloned(),
    );
    let mut dated: Vec<(u64, PathBuf)> = changed
        .into_iter()
        .map(|path| (modified_unix_ms(&path).unwrap_or(0), path))
        .collect();
    dated.sort_by(|left, right| right.cmp(left));
    dated.dedup_by(|left, right| left.1 == right.1);
    Some(dated.into_iter().map(|(_, path)| path).collect())
}

/// Inputs modified after the build started, newest first: the judgement for receipts written
/// before they had a digest.
fn newer_inputs(inputs: &[PathBuf], receipt: &Receipt) -> Vec<PathBuf> {
    let mut newer: Vec<(u64, PathBuf)> = inputs
        .iter()
        .filter_map(|input| Some((modified_unix_ms(input)?, input.clone())))
        .filter(|(modified, _)| may_follow(*modified, receipt.built_at_unix_ms))
        .collect();
    newer.sort_by(|left, right| right.cmp(left));
    newer.into_iter().map(|(_, input)| input).collect()
}

/// The files freshness compares with the build: the project's build inputs and every module
/// file the scan read (a `#[path]` module may live outside `src/`), sorted, without repeats.
pub(crate) fn build_inputs(
    project: &crate::project::Project,
    scan: Option<&crate::rust_source::CrateScan>,
) -> Vec<PathBuf> {
    let mut inputs = crate::digest::inputs(project);
    if let Some(scan) = scan {
        inputs.extend(scan.files.iter().cloned());
    }
    inputs.sort();
    inputs.dedup();
    inputs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt_json(venv: &Path, built_at_unix_ms: u64) -> serde_json::Value {
        serde_json::json!({
            "schema_version": SCHEMA_VERSION,
            "tool": "cargo-pyo3", "tool_version": "0.1.0",
            "package": "demo", "version": "0.1.0", "distribution": "demo", "module": "demo",
            "manifest_path": "/p/Cargo.toml", "profile": "dev", "features": [],
            "wheel": { "file_name": "demo.whl", "path": "/s/demo.whl", "sha256": "aa" },
            "extensions": [{
                "module": "demo.demo", "entry": "demo/demo.so", "wheel_sha256": "bb",
                "loaded_path": "/v/demo.so", "loaded_sha256": "bb", "mapped": true,
                "in_venv": true, "problem": null
            }],
            "python": {
                "version": "3.11.7", "executable": "/v/bin/python", "venv": venv,
                "build_interpreter": "/usr/bin/python3"
            },
            "tools": { "maturin": "1.16.0", "uv": null, "installer": "uv" },
            "built_at_unix_ms": built_at_unix_ms,
            "git_commit": null,
            "timings_ms": {}
        })
    }

    fn stored(state: &Path, text: &str) -> Stored {
        fs_err::write(path(state), text).unwrap();
        read(state)
    }

    #[test]
    fn a_damaged_receipt_is_unreadable_and_another_schema_is_ignored() {
        let state = tempfile::tempdir().unwrap();
        assert!(matches!(read(state.path()), Stored::Missing));
        match stored(state.path(), "{\"schema_version\": 1, \"tool\": ") {
            Stored::Unreadable { path: file, reason } => {
                assert_eq!(file, path(state.path()));
                assert!(reason.starts_with("not a receipt: EOF"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            stored(state.path(), "{\"schema_version\": 1}"),
            Stored::Unreadable { .. }
        ));
        assert!(matches!(
            stored(
                state.path(),
                "{\"schema_version\": 99, \"from\": \"the future\"}"
            ),
            Stored::Missing
        ));
        let venv = state.path().join("venv");
        let good = receipt_json(&venv, 1).to_string();
        assert!(matches!(stored(state.path(), &good), Stored::Found(_)));
    }

    fn assess_with(
        receipt: &Stored,
        venv: &Path,
        loaded: Option<&Path>,
        inputs: &[PathBuf],
    ) -> Freshness {
        assess(FreshnessInputs {
            receipt,
            venv_root: venv,
            extension_module: "demo.demo",
            loaded,
            inputs,
        })
        .freshness
    }

    #[test]
    fn each_verdict_in_its_order() {
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join("venv");
        fs_err::create_dir_all(&venv).unwrap();
        let loaded = dir.path().join("demo.so");
        fs_err::write(&loaded, "bytes").unwrap();
        let loaded_sha256 = crate::wheel::sha256_file(&loaded).unwrap();
        let source = dir.path().join("lib.rs");
        fs_err::write(&source, "fn f() {}").unwrap();
        let inputs = [source.clone()];
        let receipt = |built_at: u64, sha256: &str| {
            let mut json = receipt_json(&venv, built_at);
            json["extensions"][0]["loaded_sha256"] = sha256.into();
            Stored::Found(Box::new(serde_json::from_value(json).unwrap()))
        };

        assert_eq!(
            assess_with(&Stored::Missing, &venv, Some(&loaded), &inputs),
            Freshness::NoReceipt
        );
        let unreadable = Stored::Unreadable {
            path: "/s/receipt.json".into(),
            reason: "why".into(),
        };
        assert_eq!(
            assess_with(&unreadable, &venv, Some(&loaded), &inputs),
            Freshness::Unreadable {
                path: "/s/receipt.json".into(),
                reason: "why".into()
            }
        );
        let later = crate::clock::now_unix_ms() + 60_000;
        assert_eq!(
            assess_with(
                &receipt(later, &loaded_sha256),
                dir.path(),
                Some(&loaded),
                &inputs
            ),
            Freshness::OtherVenv(venv.clone())
        );
        assert!(matches!(
            assess_with(
                &receipt(later, &loaded_sha256),
                &venv,
                Some(&dir.path().join("gone.so")),
                &inputs
            ),
            Freshness::Unhashable { .. }
        ));
        assert_eq!(
            assess_with(&receipt(later, "other"), &venv, Some(&loaded), &inputs),
            Freshness::Replaced {
                loaded_sha256: loaded_sha256.clone(),
                proven_sha256: "other".into()
            }
        );
        assert_eq!(
            assess_with(&receipt(0, &loaded_sha256), &venv, Some(&loaded), &inputs),
            Freshness::SourcesChanged(vec![source])
        );
        assert_eq!(
            assess_with(
                &receipt(later, &loaded_sha256),
                &venv,
                Some(&loaded),
                &inputs
            ),
            Freshness::Fresh
        );
        // Not importable: the import checks say so; the sources are still judged.
        assert_eq!(
            assess_with(&receipt(later, "other"), &venv, None, &inputs),
            Freshness::Fresh
        );
    }

    #[test]
    fn the_steps_are_the_timings_fields_in_order() {
        // Serialized as a struct, so in declaration order (a `Value` would sort the keys).
        let text = serde_json::to_string(&Timings::default()).unwrap();
        let expected: Vec<String> = steps::STEPS
            .iter()
            .chain(&["total"])
            .map(|step| format!("\"{step}\":0"))
            .collect();
        assert_eq!(text, format!("{{{}}}", expected.join(",")));
    }
}
