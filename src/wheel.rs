//! Reading a wheel: its extension modules, their sha256, and the check against `RECORD`.
//!
//! Nothing is ever extracted: entries are hashed as they stream out of the zip, and an entry
//! whose name is absolute or climbs out with `..` makes the whole wheel untrusted.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::failure::user_error;
use crate::platform;

/// A built wheel and the extension modules inside it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Wheel {
    pub(crate) file_name: String,
    pub(crate) sha256: String,
    pub(crate) extensions: Vec<WheelExtension>,
    /// The `Generator:` line of `*.dist-info/WHEEL`, e.g. `maturin (1.16.0)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) generator: Option<String>,
}

impl Wheel {
    /// The distribution's version, as the wheel's file name carries it (`{name}-{version}-…`,
    /// where the name has no `-`): what the installed distribution reports, which can differ from
    /// Cargo's version (`[project] version`, or a pre-release maturin spells the PEP 440 way).
    pub(crate) fn version(&self) -> Option<&str> {
        self.file_name.split('-').nth(1)
    }
}

/// One compiled extension module inside a wheel.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct WheelExtension {
    /// Its path inside the wheel, e.g. `hello/hello.cpython-311-x86_64-linux-gnu.so`.
    pub(crate) entry: String,
    /// The dotted name Python imports it as, e.g. `hello.hello`.
    pub(crate) module: String,
    pub(crate) sha256: String,
}

/// Opens a wheel, hashes it and each extension entry, and checks the entries against RECORD.
pub(crate) fn inspect(path: &Path) -> Result<Wheel> {
    // The whole-wheel hash only goes into the receipt: it runs beside the entry scan instead of
    // before it, since both read megabytes of debug wheel (docs/performance.md).
    std::thread::scope(|scope| {
        let whole = scope.spawn(|| sha256_file(path));
        let mut wheel = inspect_entries(path)?;
        wheel.sha256 = whole
            .join()
            .map_err(|_| anyhow::anyhow!("hashing `{}` panicked", path.display()))??;
        Ok(wheel)
    })
}

/// Everything [`inspect`] does but the whole-wheel hash.
fn inspect_entries(path: &Path) -> Result<Wheel> {
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = fs_err::File::open(path)?;
    let mut archive = zip::ZipArchive::new(file)
        .with_context(|| format!("`{}` is not a valid wheel (zip)", path.display()))?;

    let mut extensions = Vec::new();
    let mut record = None;
    let mut generator = None;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .with_context(|| format!("failed to read entry {index} of `{}`", path.display()))?;
        let name = entry.name().to_owned();
        if entry.enclosed_name().is_none() {
            return Err(user_error(
                format!(
                    "the wheel `{}` has an unsafe entry `{name}`",
                    path.display()
                ),
                "a wheel entry must be a relative path inside the wheel; rebuild it with maturin",
            ));
        }
        if entry.is_dir() {
            continue;
        }
        if is_dist_info_file(&name, "RECORD") {
            record = Some(read_text(&mut entry, &name)?);
        } else if is_dist_info_file(&name, "WHEEL") {
            generator = read_text(&mut entry, &name)?
                .lines()
                .find_map(|line| line.strip_prefix("Generator:"))
                .map(|value| value.trim().to_owned());
        } else if let Some(module) = extension_module(&name) {
            let mut hasher = Sha256::new();
            std::io::copy(&mut entry, &mut hasher)
                .with_context(|| format!("failed to read `{name}` in `{}`", path.display()))?;
            extensions.push(WheelExtension {
                entry: name,
                module,
                sha256: hex(&hasher.finalize()),
            });
        }
    }

    if extensions.is_empty() {
        return Err(user_error(
            format!(
                "the wheel `{}` contains no extension module",
                path.display()
            ),
            "check that the crate is a `cdylib` with a `#[pymodule]`, and `tool.maturin` settings",
        ));
    }
    let record = record.ok_or_else(|| {
        user_error(
            format!("the wheel `{}` has no `RECORD`", path.display()),
            "rebuild the wheel with maturin",
        )
    })?;
    check_record(path, &record, &extensions)?;
    Ok(Wheel {
        file_name,
        sha256: String::new(),
        extensions,
        generator,
    })
}

fn read_text(entry: &mut impl Read, name: &str) -> Result<String> {
    let mut text = String::new();
    entry
        .read_to_string(&mut text)
        .with_context(|| format!("failed to read `{name}` as text"))?;
    Ok(text)
}

fn is_dist_info_file(name: &str, file: &str) -> bool {
    name.split_once('/')
        .is_some_and(|(dir, rest)| dir.ends_with(".dist-info") && rest == file)
}

/// `pkg/_core.cpython-311-x86_64-linux-gnu.so` → `pkg._core`, `rpds/rpds.cp311-win_amd64.pyd` →
/// `rpds.rpds`; `None` for anything Python would not import as an extension module (the file
/// names of every platform: `platform::extension_stem`), such as a bundled library in
/// `pkg.libs/`.
pub(crate) fn extension_module(entry: &str) -> Option<String> {
    // Extensions installed from a wheel's data directory land in site-packages too.
    let entry = match entry.split_once(".data/platlib/") {
        Some((_, rest)) => rest,
        None => entry,
    };
    let (dir, file) = entry.rsplit_once('/').unwrap_or(("", entry));
    let stem = platform::extension_stem(file)?;
    let mut parts: Vec<&str> = dir.split('/').filter(|part| !part.is_empty()).collect();
    if !parts.iter().all(|part| platform::is_identifier(part)) {
        return None;
    }
    parts.push(stem);
    Some(parts.join("."))
}

/// Every extension's hash must be the one RECORD lists (urlsafe base64, no padding).
fn check_record(path: &Path, record: &str, extensions: &[WheelExtension]) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(record.as_bytes());
    let mut listed = std::collections::HashMap::new();
    for row in reader.records() {
        let row = row.with_context(|| format!("malformed RECORD in `{}`", path.display()))?;
        if let (Some(entry), Some(hash)) = (row.get(0), row.get(1)) {
            listed.insert(entry.to_owned(), hash.to_owned());
        }
    }
    for extension in extensions {
        let expected = listed.get(&extension.entry).ok_or_else(|| {
            user_error(
                format!(
                    "`{}` is in the wheel `{}` but not in its RECORD",
                    extension.entry,
                    path.display()
                ),
                "the wheel is inconsistent; rebuild it with maturin",
            )
        })?;
        let actual = format!("sha256={}", record_digest(&extension.sha256)?);
        if *expected != actual {
            return Err(user_error(
                format!(
                    "`{}` in the wheel `{}` does not match its RECORD: RECORD says `{expected}`, the entry hashes to `{actual}`",
                    extension.entry,
                    path.display()
                ),
                "the wheel was modified after it was built; rebuild it and do not install this one",
            ));
        }
    }
    Ok(())
}

/// RECORD's form of a digest: urlsafe base64 without padding.
pub(crate) fn record_digest(hex_digest: &str) -> Result<String> {
    let bytes = (0..hex_digest.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&hex_digest[index..index + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .context("invalid hex digest")?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The names an extension can be imported as: its `PyInit_<name>` functions, and the
/// `PyModExport_<name>` ones of Python 3.15's export hook (maturin looks for both). Read from what
/// the file exports (ELF's dynamic symbols, Mach-O's external symbols, PE's export table), so a
/// module-name mismatch ("dynamic module does not define module export function") is found
/// without importing anything, and for a wheel built for any platform. A universal2 Mach-O
/// holds one image per architecture: the names of each are read.
pub(crate) fn pyinit_symbols(path: &Path) -> Result<Vec<String>> {
    let data = fs_err::read(path)?;
    let unreadable = || {
        format!(
            "`{}` is not a shared library this tool can read",
            path.display()
        )
    };
    let images: Vec<&[u8]> = match object::FileKind::parse(&*data).with_context(unreadable)? {
        object::FileKind::MachOFat32 => {
            fat_images::<object::macho::FatArch32>(&data).with_context(unreadable)?
        }
        object::FileKind::MachOFat64 => {
            fat_images::<object::macho::FatArch64>(&data).with_context(unreadable)?
        }
        _ => vec![&data],
    };
    let mut names = Vec::new();
    for image in images {
        names.extend(image_pyinit_symbols(image).with_context(unreadable)?);
    }
    names.sort();
    names.dedup();
    Ok(names)
}

fn image_pyinit_symbols(image: &[u8]) -> object::Result<Vec<String>> {
    use object::Object;
    let file = object::File::parse(image)?;
    let mach_o = file.format() == object::BinaryFormat::MachO;
    Ok(file
        .exports()?
        .iter()
        .filter_map(|export| std::str::from_utf8(export.name()).ok())
        .filter_map(|name| platform::c_symbol_name(name, mach_o))
        .filter_map(|name| {
            name.strip_prefix("PyInit_")
                .or_else(|| name.strip_prefix("PyModExport_"))
        })
        .map(str::to_owned)
        .collect())
}

/// The image of each architecture in a universal (fat) Mach-O file.
fn fat_images<Fat: object::read::macho::FatArch>(data: &[u8]) -> object::Result<Vec<&[u8]>> {
    object::read::macho::MachOFatFile::<Fat>::parse(data)?
        .arches()
        .iter()
        .map(|arch| arch.data(data))
        .collect()
}

/// The sha256 of a file, streamed.
pub(crate) fn sha256_file(path: &Path) -> Result<String> {
    let mut file = fs_err::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .with_context(|| format!("failed to read `{}`", path.display()))?;
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_wheel(dir: &Path, entries: &[(&str, &[u8])]) -> std::path::PathBuf {
        let path = dir.join("demo-0.1.0-cp311-cp311-linux_x86_64.whl");
        let mut writer = zip::ZipWriter::new(fs_err::File::create(&path).unwrap());
        for (name, bytes) in entries {
            writer
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap();
        path
    }

    fn record_line(entry: &str, bytes: &[u8]) -> String {
        let digest = hex(&Sha256::digest(bytes));
        format!(
            "{entry},sha256={},{}\n",
            record_digest(&digest).unwrap(),
            bytes.len()
        )
    }

    #[test]
    fn module_names_from_entries() {
        assert_eq!(
            extension_module("hello/hello.cpython-311-x86_64-linux-gnu.so").as_deref(),
            Some("hello.hello")
        );
        assert_eq!(
            extension_module("pkg/_core.abi3.so").as_deref(),
            Some("pkg._core")
        );
        assert_eq!(extension_module("top.so").as_deref(), Some("top"));
        assert_eq!(
            extension_module("demo-0.1.0.data/platlib/demo.cpython-311-x86_64-linux-gnu.so")
                .as_deref(),
            Some("demo")
        );
        assert_eq!(
            extension_module("rpds/rpds.cpython-311-darwin.so").as_deref(),
            Some("rpds.rpds")
        );
        assert_eq!(
            extension_module("rpds/rpds.cp311-win_amd64.pyd").as_deref(),
            Some("rpds.rpds")
        );
        assert_eq!(extension_module("hello/__init__.py"), None);
        // What auditwheel and delvewheel bundle beside the package is not importable.
        assert_eq!(extension_module("demo.libs/libssl-1a2b3c4d.so.3"), None);
        assert_eq!(extension_module("demo.libs/libfoo.so"), None);
    }

    #[test]
    fn record_digest_is_what_maturin_writes() {
        // The RECORD line of a real maturin 1.16 wheel and `sha256sum` of the same entry.
        let digest =
            record_digest("6ea510fb3941bc244630d42730bfdebec3e75a36bb2434f32b8cac880920d8f8")
                .unwrap();
        assert_eq!(digest, "bqUQ-zlBvCRGMNQnML_evsPnWja7JDTzK4ysiAkg2Pg");
    }

    #[test]
    fn consistent_wheel_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let so = b"\x7fELF fake extension";
        let entry = "demo/demo.cpython-311-x86_64-linux-gnu.so";
        let record = record_line(entry, so) + "demo-0.1.0.dist-info/RECORD,,\n";
        let path = write_wheel(
            dir.path(),
            &[
                ("demo/__init__.py", b"from .demo import *\n"),
                (entry, so),
                (
                    "demo-0.1.0.dist-info/WHEEL",
                    b"Generator: maturin (1.16.0)\n",
                ),
                ("demo-0.1.0.dist-info/RECORD", record.as_bytes()),
            ],
        );
        let wheel = inspect(&path).unwrap();
        assert_eq!(wheel.extensions.len(), 1);
        assert_eq!(wheel.extensions[0].module, "demo.demo");
        assert_eq!(wheel.extensions[0].sha256, hex(&Sha256::digest(so)));
        assert_eq!(wheel.generator.as_deref(), Some("maturin (1.16.0)"));
    }

    #[test]
    fn record_mismatch_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let entry = "demo/demo.cpython-311-x86_64-linux-gnu.so";
        let record = record_line(entry, b"what was built");
        let path = write_wheel(
            dir.path(),
            &[
                (entry, b"what is in the wheel now"),
                ("demo-0.1.0.dist-info/RECORD", record.as_bytes()),
            ],
        );
        let error = inspect(&path).unwrap_err();
        assert!(
            error.to_string().contains("does not match its RECORD"),
            "{error}"
        );
    }

    #[test]
    fn traversal_entries_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for evil in ["../evil.so", "/abs/evil.so"] {
            let path = write_wheel(dir.path(), &[(evil, b"x")]);
            let error = inspect(&path).unwrap_err();
            assert!(
                error.to_string().contains("unsafe entry"),
                "{evil}: {error}"
            );
        }
    }

    #[test]
    fn wheel_without_extension_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_wheel(dir.path(), &[("demo/__init__.py", b"")]);
        let error = inspect(&path).unwrap_err();
        assert!(error.to_string().contains("no extension module"), "{error}");
    }
}
