//! Issue 21: with nothing changed, `dev` proves the installed build again without building or
//! installing; each part of the build key, changed alone, makes the next `dev` build, and the
//! new build is what loads.

use crate::assert_filtered_snapshot;
use crate::common;
use crate::common::TestProject;

/// The wheel's file as the receipt names it, with its modification time: a reused build leaves
/// it alone, a new one replaces it.
fn kept_wheel(project: &TestProject) -> (String, std::time::SystemTime) {
    let receipt = project.receipt();
    let path = receipt["wheel"]["path"].as_str().unwrap().to_owned();
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    (path, modified)
}

#[track_caller]
fn assert_reused(project: &TestProject, run: &common::Run, reused: bool) {
    run.assert_code(0);
    let receipt = project.receipt();
    assert_eq!(receipt["reused"], reused, "{run:?}\n{receipt:#}");
    let extension = &receipt["extensions"][0];
    assert_eq!(extension["problem"], serde_json::Value::Null, "{receipt:#}");
    assert_eq!(
        common::sha256(extension["loaded_path"].as_str().unwrap().as_ref()),
        extension["wheel_sha256"].as_str().unwrap(),
        "the loaded file is the proven one"
    );
}

#[test]
fn nothing_changed_proves_again_without_building_and_force_builds() {
    let project = TestProject::maturin_new("fastpath", false);
    assert_reused(&project, &project.cargo_pyo3().arg("dev").run(), false);
    let built = kept_wheel(&project);
    let first = project.receipt();

    let again = project.cargo_pyo3().arg("dev").run();
    assert_reused(&project, &again, true);
    assert_filtered_snapshot!(
        "dev_nothing_changed",
        common::snapshot::render(&again, &project.root)
    );
    assert_eq!(
        built,
        kept_wheel(&project),
        "the kept wheel was not rebuilt"
    );
    let reused = project.receipt();
    assert_eq!(reused["built_at_unix_ms"], first["built_at_unix_ms"]);
    assert_eq!(reused["build_key"], first["build_key"]);
    assert_eq!(reused["timings_ms"]["build"], 0);
    assert_eq!(reused["timings_ms"]["install"], 0);
    project
        .python("import fastpath; assert fastpath.sum_as_string(1, 2) == '3'")
        .assert_code(0);

    let forced = project.cargo_pyo3().args(["dev", "--force", "-v"]).run();
    assert_reused(&project, &forced, false);
    forced.assert_stderr_contains("Compiling fastpath");

    // An installed file edited in site-packages: what a reinstall puts back is not there.
    project
        .python(
            "import fastpath, pathlib; p = pathlib.Path(fastpath.__file__); \
             p.write_text(p.read_text() + '# edited in site-packages\\n')",
        )
        .assert_code(0);
    let reinstalled = project.cargo_pyo3().args(["dev", "-v"]).run();
    assert_reused(&project, &reinstalled, false);
    reinstalled.assert_stderr_contains("is not what was proven (uninstalled, replaced or edited)");

    // The installed extension itself edited: left to the proof, which hashes what Python loaded.
    let loaded = project.receipt()["extensions"][0]["loaded_path"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bytes = std::fs::read(&loaded).unwrap();
    bytes.push(0);
    std::fs::write(&loaded, &bytes).unwrap();
    let rebuilt = project.cargo_pyo3().args(["dev", "-v"]).run();
    assert_reused(&project, &rebuilt, false);
    rebuilt.assert_stderr_contains("proving the last build again failed for `fastpath.fastpath`");

    // The kept wheel changed: its entries can no longer be taken from the receipt.
    let (kept, _) = kept_wheel(&project);
    let mut bytes = std::fs::read(&kept).unwrap();
    bytes.extend_from_slice(b"appended");
    std::fs::write(&kept, &bytes).unwrap();
    let rebuilt = project.cargo_pyo3().args(["dev", "-v"]).run();
    assert_reused(&project, &rebuilt, false);
    rebuilt.assert_stderr_contains("is not the one proven: building");
    assert_reused(&project, &project.cargo_pyo3().arg("dev").run(), true);
}

/// A crate whose answer depends on what reaches the build and nothing in its sources: a cfg
/// (from `RUSTFLAGS` or cargo's config), a feature, and a variable its build script declares.
fn configurable(project: &TestProject) {
    project.write(
        "build.rs",
        "fn main() {\n    println!(\"cargo:rustc-check-cfg=cfg(fastpath_x)\");\n    \
         println!(\"cargo:rerun-if-env-changed=FASTPATH_GREETING\");\n    \
         let greeting = std::env::var(\"FASTPATH_GREETING\").unwrap_or_else(|_| \"hello\".into());\n    \
         println!(\"cargo:rustc-env=FASTPATH_GREETING={greeting}\");\n}\n",
    );
    project.append("Cargo.toml", "\n[features]\nbig = []\n");
    // maturin's template is a declarative `#[pymodule] mod`: a `#[pyfunction]` inside it is
    // exported without an `add_function`.
    project.edit(
        "src/lib.rs",
        "    /// Formats the sum",
        "    #[pyfunction]\n    fn flavour() -> String {\n        \
         let cfg = if cfg!(fastpath_x) { \"x\" } else { \"plain\" };\n        \
         let size = if cfg!(feature = \"big\") { \"big\" } else { \"small\" };\n        \
         format!(\"{cfg} {size} {}\", env!(\"FASTPATH_GREETING\"))\n    }\n\n    /// Formats the sum",
    );
}

#[track_caller]
fn assert_flavour(project: &TestProject, expected: &str) {
    project
        .python(&format!(
            "import keyparts; got = keyparts.flavour(); assert got == {expected:?}, got"
        ))
        .assert_code(0);
}

#[test]
fn each_part_of_the_build_key_changed_alone_rebuilds_and_the_new_build_loads() {
    let project = TestProject::maturin_new("keyparts", false);
    configurable(&project);
    let dev = || project.cargo_pyo3().args(["dev", "-v"]);
    assert_reused(&project, &dev().run(), false);
    assert_flavour(&project, "plain small hello");
    assert_reused(&project, &dev().run(), true);

    // A variable the build script declared with `rerun-if-env-changed`.
    let run = dev().env("FASTPATH_GREETING", "bonjour").run();
    assert_reused(&project, &run, false);
    run.assert_stderr_contains("changed since the proven build: `FASTPATH_GREETING`");
    assert_flavour(&project, "plain small bonjour");
    let run = dev().run();
    assert_reused(&project, &run, false);
    assert_flavour(&project, "plain small hello");

    // A feature.
    let run = dev().args(["--features", "big"]).run();
    assert_reused(&project, &run, false);
    run.assert_stderr_contains("the features");
    assert_flavour(&project, "plain big hello");

    // `RUSTFLAGS`, with no source edit: the trap where an mtime or a content digest sees nothing.
    let run = dev()
        .env("RUSTFLAGS", "--cfg fastpath_x")
        .args(["--features", "big"])
        .run();
    assert_reused(&project, &run, false);
    run.assert_stderr_contains("`RUSTFLAGS`");
    assert_flavour(&project, "x big hello");

    // cargo's configuration file, setting the same flags from the project.
    let run = dev().args(["--features", "big"]).run();
    assert_reused(&project, &run, false);
    assert_flavour(&project, "plain big hello");
    project.write(
        ".cargo/config.toml",
        "[build]\nrustflags = [\"--cfg\", \"fastpath_x\"]\n",
    );
    let run = dev().args(["--features", "big"]).run();
    assert_reused(&project, &run, false);
    run.assert_stderr_contains("cargo's configuration files");
    assert_flavour(&project, "x big hello");
    assert_reused(&project, &dev().args(["--features", "big"]).run(), true);
}

#[test]
fn what_the_sources_read_and_the_maturin_settings_rebuild_too() {
    let project = TestProject::maturin_new("keysources", false);
    project.append(
        "Cargo.toml",
        "\n[features]\nbig = []\n\n[dependencies.words]\npath = \"words\"\n",
    );
    project.write(
        "words/Cargo.toml",
        "[package]\nname = \"words\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    project.write(
        "words/src/lib.rs",
        "pub fn word() -> &'static str {\n    \"one\"\n}\n",
    );
    // No build script: `option_env!` alone makes cargo rebuild when the variable changes.
    project.edit(
        "src/lib.rs",
        "    /// Formats the sum",
        "    #[pyfunction]\n    fn flavour() -> String {\n        \
         let size = if cfg!(feature = \"big\") { \"big\" } else { \"small\" };\n        \
         let colour = option_env!(\"FASTPATH_COLOUR\").unwrap_or(\"grey\");\n        \
         format!(\"{size} {colour} {}\", words::word())\n    }\n\n    /// Formats the sum",
    );
    let dev = || project.cargo_pyo3().args(["dev", "-v"]);
    let assert_flavour = |expected: &str| {
        project
            .python(&format!(
                "import keysources; got = keysources.flavour(); assert got == {expected:?}, got"
            ))
            .assert_code(0);
    };
    assert_reused(&project, &dev().run(), false);
    assert_flavour("small grey one");
    assert_reused(&project, &dev().run(), true);

    // A variable the crate's source reads with `option_env!`, which rustc lists in its dep-info.
    let run = dev().env("FASTPATH_COLOUR", "blue").run();
    assert_reused(&project, &run, false);
    run.assert_stderr_contains("`FASTPATH_COLOUR`");
    assert_flavour("small blue one");
    assert_reused(&project, &dev().env("FASTPATH_COLOUR", "blue").run(), true);

    // A path dependency's source.
    project.edit("words/src/lib.rs", "\"one\"", "\"two\"");
    assert_reused(&project, &dev().env("FASTPATH_COLOUR", "blue").run(), false);
    assert_flavour("small blue two");

    // The `[tool.maturin]` settings in `pyproject.toml`.
    project.append("pyproject.toml", "\n[tool.maturin]\nfeatures = [\"big\"]\n");
    assert_reused(&project, &dev().env("FASTPATH_COLOUR", "blue").run(), false);
    assert_flavour("big blue two");
    assert_reused(&project, &dev().env("FASTPATH_COLOUR", "blue").run(), true);
}

/// Another maturin (here the same release, from another place first on PATH, as an upgrade or a
/// second install puts one) is a new key: the next `dev` builds with it.
#[test]
fn another_maturin_makes_the_next_dev_build() {
    let project = TestProject::maturin_new("keymaturin", false);
    assert_reused(&project, &project.cargo_pyo3().arg("dev").run(), false);
    assert_reused(&project, &project.cargo_pyo3().arg("dev").run(), true);
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::tools().all.join("maturin"),
        elsewhere.path().join("maturin"),
    )
    .unwrap();
    let run = project
        .cargo_pyo3()
        .args(["dev", "-v"])
        .path_first(elsewhere.path())
        .run();
    assert_reused(&project, &run, false);
    run.assert_stderr_contains("changed since the proven build: maturin");
    let again = project
        .cargo_pyo3()
        .arg("dev")
        .path_first(elsewhere.path())
        .run();
    assert_reused(&project, &again, true);
}

/// The toolchain part of the key, where it is looked up: `dev -p member` from a workspace's root
/// starts `rustc -vV` in the root before `cargo metadata` names the member, and a toolchain
/// override in the member's own directory must still count.
#[test]
fn a_toolchain_of_the_packages_own_directory_rebuilds() {
    let generated = TestProject::maturin_new("keytoolchain", false);
    let workspace = TestProject::empty("toolchain-workspace");
    workspace.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"keytoolchain\"]\nresolver = \"2\"\n",
    );
    common::copy_dir(&generated.root, &workspace.path("keytoolchain"));
    let member = TestProject::from_existing(workspace.path("keytoolchain"));

    let faults = tempfile::tempdir().unwrap();
    let fault_dir = common::faults::fault_executable(
        faults.path(),
        "fault-rustc-reports-another-release",
        Some("rustc"),
    );
    let real_rustc = which_outside("rustc", &fault_dir);
    let dev = || {
        workspace
            .cargo_pyo3()
            .args(["dev", "-v", "-p", "keytoolchain"])
            // Started as `cargo-pyo3`, not through cargo's proxy: rustup has chosen no
            // toolchain yet, so it picks one by each directory's `rust-toolchain.toml`.
            .env_remove("RUSTUP_TOOLCHAIN")
            .path_first(&fault_dir)
            .env(common::faults::REAL_RUSTC, &real_rustc)
    };
    assert_reused(&member, &dev().run(), false);
    assert_reused(&member, &dev().run(), true);

    member.write("rust-toolchain.toml", "[toolchain]\nchannel = \"stable\"\n");
    let run = dev().run();
    assert_reused(&member, &run, false);
    run.assert_stderr_contains("changed since the proven build: `rustc -vV`");
    let key = &member.receipt()["build_key"];
    assert!(
        key["rustc"]
            .as_str()
            .unwrap()
            .contains("commit-hash: fault-rustc-reports-another-release"),
        "the key holds the member directory's answer: {key:#}"
    );
    assert_reused(&member, &dev().run(), true);
}

/// `program` on the test's PATH, outside `ours`.
fn which_outside(program: &str, ours: &std::path::Path) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .filter(|dir| dir != ours)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("no {program} on PATH"))
}

/// The toolchain the tests run with (`rustc --print sysroot`).
fn sysroot() -> std::path::PathBuf {
    let printed = std::process::Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .expect("rustc runs");
    std::path::PathBuf::from(String::from_utf8(printed.stdout).unwrap().trim())
}

/// Under `cargo pyo3`, rustup has chosen the toolchain already (`RUSTUP_TOOLCHAIN`) and cargo
/// names its binary (`CARGO`): the build then runs that toolchain's `cargo` and `rustc` without
/// rustup's proxies, and what it builds is still what loads. Run as `cargo-pyo3` without rustup's
/// choice, the proxies decide as before.
#[test]
fn the_toolchain_rustup_chose_runs_without_its_proxies() {
    let sysroot = sysroot();
    let toolchains = sysroot.parent().unwrap();
    assert_eq!(
        toolchains.file_name().unwrap(),
        "toolchains",
        "this test needs a toolchain installed by rustup; `rustc --print sysroot` is {}",
        sysroot.display()
    );
    let project = TestProject::maturin_new("noproxy", false);
    let chosen = |forced: bool| {
        let command = project
            .cargo_pyo3()
            .args(["dev", "-v"])
            .env("CARGO", sysroot.join("bin/cargo"))
            .env("RUSTUP_TOOLCHAIN", sysroot.file_name().unwrap())
            .env("RUSTUP_HOME", toolchains.parent().unwrap());
        if forced {
            command.arg("--force")
        } else {
            command
        }
    };
    let direct = format!(
        "the build runs `cargo` and `rustc` from `{}`",
        std::fs::canonicalize(sysroot.join("bin"))
            .unwrap()
            .display()
    );

    let run = chosen(false).run();
    assert_reused(&project, &run, false);
    run.assert_stderr_contains(&direct);
    project
        .python("import noproxy; assert noproxy.sum_as_string(1, 2) == '3'")
        .assert_code(0);

    let run = chosen(true).env_remove("RUSTUP_TOOLCHAIN").run();
    assert_reused(&project, &run, false);
    assert!(!run.stderr.contains(&direct), "{run:?}");
    // The same toolchain either way: the key did not change, so nothing is rebuilt.
    assert_reused(&project, &chosen(false).run(), true);
}

/// Under rustup's choice, the toolchain's binaries answer `rustc -vV` and `cargo -V` the same as
/// long as they are the same files: a run takes the answers from the last build's key when the
/// binaries' `stat` is unchanged, and asks again when one was replaced. The toolchain here is one
/// rustup could have installed, whose `rustc` is a stand-in (the fault
/// `fault-rustc-reports-another-release`, copied) that answers as another release would in a
/// directory with a `rust-toolchain.toml`; rustup's choice makes that file irrelevant to the
/// build, so only asking the stand-in can see it.
#[test]
fn the_toolchain_is_asked_again_only_when_its_binaries_changed() {
    let sysroot = sysroot();
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("toolchains/chosen/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(sysroot.join("bin/cargo"), bin.join("cargo")).unwrap();
    let stand_in = common::faults::faults_dir().join("fault-rustc-reports-another-release");
    std::fs::copy(&stand_in, bin.join("rustc")).unwrap();

    let project = TestProject::maturin_new("askagain", false);
    let dev = || {
        project
            .cargo_pyo3()
            .args(["dev", "-v"])
            .env("CARGO", bin.join("cargo"))
            .env("RUSTUP_TOOLCHAIN", "chosen")
            .env("RUSTUP_HOME", home.path())
            .env(common::faults::REAL_RUSTC, sysroot.join("bin/rustc"))
    };
    let answered_by = || project.receipt()["build_key"]["answered_by"].clone();
    let taken = "`rustc -vV` and `cargo -V` as the last build's key has them";

    let run = dev().run();
    assert_reused(&project, &run, false);
    assert!(!run.stderr.contains(taken), "{run:?}");
    let first = answered_by();
    assert_eq!(
        first[0]["path"].as_str().map(std::path::Path::new),
        Some(bin.join("rustc").as_path()),
        "{first:#}"
    );

    // Asked now, the stand-in would answer as another release and the build would be redone.
    project.write("rust-toolchain.toml", "[toolchain]\nchannel = \"stable\"\n");
    let run = dev().run();
    assert_reused(&project, &run, true);
    run.assert_stderr_contains(taken);

    // The same stand-in written anew (a reinstall): asked again, it answers as before in a
    // directory without the override, and the receipt has the binary's new state.
    std::fs::remove_file(project.path("rust-toolchain.toml")).unwrap();
    std::fs::remove_file(bin.join("rustc")).unwrap();
    std::fs::copy(&stand_in, bin.join("rustc")).unwrap();
    let run = dev().run();
    assert_reused(&project, &run, true);
    assert!(!run.stderr.contains(taken), "{run:?}");
    assert_ne!(answered_by(), first);
    assert_eq!(answered_by()[1], first[1], "cargo is unchanged");
    project
        .python("import askagain; assert askagain.sum_as_string(1, 2) == '3'")
        .assert_code(0);
}
