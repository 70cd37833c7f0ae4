//! Editable installs of projects with Python sources, as `maturin develop` makes them: the
//! extension just built is placed beside the Python sources, and the venv gets a distribution
//! whose only file is a `.pth` that puts the Python root on `sys.path`. Python edits are then
//! live, and `python` or pytest started in the project root imports the same package, extension
//! included, as a neutral interpreter does.
//!
//! The distribution is installed by the installer (uv or pip) from a small wheel made here from
//! the built wheel's metadata: nothing is ever written into site-packages by hand (uv hardlinks
//! installed files into its cache). Each extension is written to a temporary file beside its
//! target and renamed over it, so a process that has the old one mapped keeps a valid file
//! (PyO3/maturin#758). Windows refuses that rename while a process has the old `.pyd` loaded;
//! the error says so (`platform::replace_error`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::platform;
use crate::wheel::Wheel;

/// Writes each extension of `wheel` (at `wheel_path`) to `<python_root>/<its entry>`, replacing
/// what is there by rename; returns the paths written.
pub(crate) fn place_extensions(
    wheel_path: &Path,
    wheel: &Wheel,
    python_root: &Path,
) -> Result<Vec<PathBuf>> {
    let mut archive = open(wheel_path)?;
    let mut placed = Vec::new();
    for extension in &wheel.extensions {
        // `wheel::inspect` refused absolute and `..` entries before this runs.
        let target = python_root.join(&extension.entry);
        let dir = target
            .parent()
            .with_context(|| format!("`{}` has no parent directory", target.display()))?;
        fs_err::create_dir_all(dir)?;
        let mut entry = archive.by_name(&extension.entry).with_context(|| {
            format!(
                "`{}` has no entry `{}`",
                wheel_path.display(),
                extension.entry
            )
        })?;
        crate::fs_atomic::replace(&target, platform::extension_permissions(), |out| {
            std::io::copy(&mut entry, out).map(drop)
        })?;
        placed.push(target);
    }
    Ok(placed)
}

/// Removes the extensions the last editable install (`previous`) placed beside the sources, when
/// this run installs into site-packages instead: left there, they would win every import started
/// from the Python root over the build just installed. A file is removed only while its content
/// is still what that install placed (its sha256 in the receipt), so a build someone else wrote
/// there since is never touched; the proof then names it. Returns the paths removed.
pub(crate) fn remove_placed(previous: &crate::receipt::Receipt) -> Result<Vec<PathBuf>> {
    let Some(editable) = &previous.editable else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    for extension in &previous.extensions {
        let path = editable.python_root.join(&extension.entry);
        if !editable.placed.contains(&path) {
            continue;
        }
        let unchanged =
            crate::wheel::sha256_file(&path).is_ok_and(|sha256| sha256 == extension.wheel_sha256);
        if unchanged {
            fs_err::remove_file(&path)?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// The wheel the installer installs for an editable project, written into `out_dir` under the
/// built wheel's file name: the built wheel's `*.dist-info` (but `RECORD`, which is made anew),
/// and `<distribution>.pth` naming `python_root`. No package file, so the sources win.
pub(crate) fn editable_wheel(
    wheel_path: &Path,
    wheel: &Wheel,
    python_root: &Path,
    out_dir: &Path,
) -> Result<PathBuf> {
    let mut archive = open(wheel_path)?;
    let dist_info = (0..archive.len())
        .filter_map(|index| archive.name_for_index(index))
        .find_map(|name| {
            name.split_once(".dist-info/")
                .map(|(stem, _)| stem.to_owned())
        })
        .with_context(|| format!("`{}` has no `.dist-info`", wheel_path.display()))?;
    let distribution = dist_info
        .rsplit_once('-')
        .map_or(dist_info.as_str(), |(name, _)| name)
        .to_owned();

    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index)?;
        let name = entry.name().to_owned();
        let in_dist_info = name.starts_with(&format!("{dist_info}.dist-info/"));
        if !in_dist_info || entry.is_dir() || name.ends_with("/RECORD") {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        files.push((name, bytes));
    }
    let root = python_root
        .to_str()
        .with_context(|| format!("`{}` is not valid UTF-8", python_root.display()))?;
    files.push((
        format!("{distribution}.pth"),
        format!("{root}\n").into_bytes(),
    ));

    let target = out_dir.join(&wheel.file_name);
    let file = fs_err::File::create(&target)?;
    let mut writer = zip::ZipWriter::new(file);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut record = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    for (name, bytes) in &files {
        writer.start_file(name.as_str(), options)?;
        writer.write_all(bytes)?;
        let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(bytes));
        record.write_record([
            name.as_str(),
            &format!("sha256={digest}"),
            &bytes.len().to_string(),
        ])?;
    }
    let record_name = format!("{dist_info}.dist-info/RECORD");
    record.write_record([record_name.as_str(), "", ""])?;
    let record = record.into_inner().context("failed to write RECORD")?;
    writer.start_file(record_name.as_str(), options)?;
    writer.write_all(&record)?;
    writer.finish()?;
    Ok(target)
}

fn open(wheel_path: &Path) -> Result<zip::ZipArchive<fs_err::File>> {
    let file = fs_err::File::open(wheel_path)?;
    zip::ZipArchive::new(file)
        .with_context(|| format!("`{}` is not a valid wheel (zip)", wheel_path.display()))
}
