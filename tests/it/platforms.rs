//! The wheel reader, its RECORD check, extension detection and the `PyInit_` symbol reader on
//! real files of all three platforms (issue 18, `docs/platforms.md`): the macOS (Mach-O) and
//! Windows (PE) wheels of a PyO3 project from PyPI, our own Linux (ELF) build, and an ELF compiled
//! here that exports Python 3.15's `PyModExport_` hook instead of `PyInit_`.
//!
//! The project is `rpds-py` (the Rust persistent data structures that `jsonschema` and
//! `referencing` import; a PyO3 extension, one module `rpds.rpds`), pinned with each wheel's
//! sha256 so the files under test never change. The tool is a binary crate: its readers are
//! compiled into this test from their own sources (`src/wheel.rs`, `src/platform/names.rs`),
//! which need nothing else from the crate but `output::user_error`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::common;
use crate::common::TestProject;
use crate::wheel;

const RPDS_PIN: &str = "rpds-py==0.22.3";

/// A wheel of the pinned project for `platform`, checked against the sha256 PyPI lists for it.
fn rpds_wheel(platform: &str, sha256: &str) -> PathBuf {
    let wheel = common::pypi_wheel(RPDS_PIN, platform, "3.11");
    assert_eq!(
        common::sha256(&wheel),
        sha256,
        "{} is not the pinned wheel",
        wheel.display()
    );
    wheel
}

fn macos_wheel() -> PathBuf {
    rpds_wheel(
        "macosx_11_0_arm64",
        "68049202f67380ff9aa52f12e92b1c30115f32e6895cd7198fa2a7961621fc5a",
    )
}

fn windows_wheel() -> PathBuf {
    rpds_wheel(
        "win_amd64",
        "8bd7c8cfc0b8247c8799080fbff54e0b9619e17cdfeb0478ba7295d43f635d7c",
    )
}

/// The bytes of one wheel entry.
fn entry_bytes(wheel: &Path, entry: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(wheel).unwrap()).unwrap();
    let mut bytes = Vec::new();
    archive
        .by_name(entry)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

/// Writes `bytes` to a fresh file named `name` and returns its directory (kept alive) and path.
fn file_of(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// Reads a wheel as `dev` does and checks what it holds: one extension `rpds.rpds` at `entry`,
/// of `kind`, that exports `PyInit_rpds`.
fn assert_reads(wheel_path: &Path, entry: &str, kind: object::FileKind) {
    let wheel = wheel::inspect(wheel_path).unwrap();
    let found: Vec<(&str, &str)> = wheel
        .extensions
        .iter()
        .map(|extension| (extension.entry.as_str(), extension.module.as_str()))
        .collect();
    assert_eq!(found, [(entry, "rpds.rpds")]);
    assert_eq!(wheel.sha256, common::sha256(wheel_path));
    assert!(
        wheel
            .generator
            .as_deref()
            .is_some_and(|generator| generator.starts_with("maturin")),
        "{wheel:?}"
    );

    let bytes = entry_bytes(wheel_path, entry);
    assert_eq!(object::FileKind::parse(&*bytes).unwrap(), kind);
    let file_name = entry.rsplit('/').next().unwrap();
    let (_dir, extension) = file_of(file_name, &bytes);
    assert_eq!(common::sha256(&extension), wheel.extensions[0].sha256);
    assert_eq!(wheel::pyinit_symbols(&extension).unwrap(), ["rpds"]);
}

/// The wheel with one entry's bytes changed and its RECORD left as it was.
fn tampered(wheel_path: &Path, entry: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(wheel_path.file_name().unwrap());
    let mut archive = zip::ZipArchive::new(std::fs::File::open(wheel_path).unwrap()).unwrap();
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).unwrap();
        let name = file.name().to_owned();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        if name == entry {
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
        }
        writer
            .start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(&bytes).unwrap();
    }
    writer.finish().unwrap();
    (dir, path)
}

fn assert_record_refuses(wheel_path: &Path, entry: &str) {
    let (_dir, path) = tampered(wheel_path, entry);
    let error = wheel::inspect(&path).unwrap_err().to_string();
    assert!(
        error.contains(&format!("`{entry}` in the wheel"))
            && error.contains("does not match its RECORD"),
        "{error}"
    );
}

#[test]
fn a_macos_wheel_is_read_and_its_mach_o_exports_pyinit() {
    assert_reads(
        &macos_wheel(),
        "rpds/rpds.cpython-311-darwin.so",
        object::FileKind::MachO64,
    );
}

#[test]
fn a_windows_wheel_is_read_and_its_pe_exports_pyinit() {
    assert_reads(
        &windows_wheel(),
        "rpds/rpds.cp311-win_amd64.pyd",
        object::FileKind::Pe64,
    );
}

#[test]
fn record_catches_a_changed_extension_in_macos_and_windows_wheels() {
    assert_record_refuses(&macos_wheel(), "rpds/rpds.cpython-311-darwin.so");
    assert_record_refuses(&windows_wheel(), "rpds/rpds.cp311-win_amd64.pyd");
}

/// A universal2 extension is a fat Mach-O: one image per architecture behind a big-endian
/// header (what `lipo -create` writes). The real arm64 image, wrapped as the only architecture,
/// is read through the fat header.
#[test]
fn a_universal2_mach_o_is_read_per_architecture() {
    let image = entry_bytes(&macos_wheel(), "rpds/rpds.cpython-311-darwin.so");
    const ALIGN: u32 = 14; // 2^14: arm64's page size, as lipo aligns an arm64 slice
    let offset = 1u32 << ALIGN;
    let mut fat = Vec::new();
    fat.extend(0xcafe_babe_u32.to_be_bytes()); // FAT_MAGIC
    fat.extend(1u32.to_be_bytes()); // one architecture
    fat.extend(0x0100_000c_u32.to_be_bytes()); // CPU_TYPE_ARM64
    fat.extend(0u32.to_be_bytes()); // CPU_SUBTYPE_ARM64_ALL
    fat.extend(offset.to_be_bytes());
    fat.extend(u32::try_from(image.len()).unwrap().to_be_bytes());
    fat.extend(ALIGN.to_be_bytes());
    fat.resize(offset as usize, 0);
    fat.extend(&image);
    assert_eq!(
        object::FileKind::parse(&*fat).unwrap(),
        object::FileKind::MachOFat32
    );
    let (_dir, path) = file_of("rpds.cpython-311-darwin.so", &fat);
    assert_eq!(wheel::pyinit_symbols(&path).unwrap(), ["rpds"]);
}

/// Our own Linux build of a project nobody here wrote: the wheel `dev` built and proved, read
/// again, and the ELF it installed exports the init function of the module's name.
#[test]
fn our_linux_build_is_read_and_its_elf_exports_pyinit() {
    let project = TestProject::maturin_new("platformsdemo", false);
    let run = project.cargo_pyo3().arg("dev").without_uv().run();
    run.assert_code(0);
    let receipt = project.receipt();
    let wheel_path = PathBuf::from(receipt["wheel"]["path"].as_str().unwrap());
    let wheel = wheel::inspect(&wheel_path).unwrap();
    assert_eq!(wheel.extensions.len(), 1, "{wheel:?}");
    let extension = &wheel.extensions[0];
    assert_eq!(extension.module, "platformsdemo.platformsdemo");
    assert!(
        extension.entry.ends_with("-linux-gnu.so"),
        "{}",
        extension.entry
    );
    let loaded = PathBuf::from(
        receipt["extensions"][0]["loaded_path"]
            .as_str()
            .unwrap_or_else(|| panic!("{receipt:#}")),
    );
    assert_eq!(common::sha256(&loaded), extension.sha256);
    let bytes = std::fs::read(&loaded).unwrap();
    assert_eq!(
        object::FileKind::parse(&*bytes).unwrap(),
        object::FileKind::Elf64
    );
    assert_eq!(wheel::pyinit_symbols(&loaded).unwrap(), ["platformsdemo"]);
    // Linux lists what is mapped into the interpreter: the check was made, so nothing says why
    // it was not.
    assert_eq!(receipt["extensions"][0]["mapped"], true, "{receipt:#}");
    assert!(
        receipt["extensions"][0].get("mapped_unavailable").is_none(),
        "{receipt:#}"
    );
}

/// Python 3.15's export hook (PEP 793): an extension may export `PyModExport_<name>` instead of
/// `PyInit_<name>`. A real shared object, compiled here by the machine's C compiler (`$CC`, else
/// `cc`, which cargo links with on Linux) from `tests/data/pymodexport/demo.c`, exports only
/// `PyModExport_demo`: the module's name is read from it, and the hidden `PyInit_hidden` beside
/// it is not an export.
#[test]
fn an_elf_exporting_pymodexport_names_its_module() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pymodexport/demo.c");
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("demo.cpython-315-x86_64-linux-gnu.so");
    let compiler = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let output = std::process::Command::new(&compiler)
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .output()
        .unwrap_or_else(|error| panic!("could not run {compiler:?}: {error}"));
    assert!(
        output.status.success(),
        "{compiler:?} -shared -fPIC failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let bytes = std::fs::read(&library).unwrap();
    assert!(
        matches!(
            object::FileKind::parse(&*bytes).unwrap(),
            object::FileKind::Elf64 | object::FileKind::Elf32
        ),
        "{compiler:?} did not write an ELF file"
    );
    // The compiler really emitted both symbols: only the export is an import name.
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("PyModExport_demo") && text.contains("PyInit_hidden"));
    assert_eq!(wheel::pyinit_symbols(&library).unwrap(), ["demo"]);
}
