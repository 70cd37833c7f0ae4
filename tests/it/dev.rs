//! `cargo pyo3 dev` end to end: real cargo, maturin, python, uv and pip on fixture copies.

use crate::assert_filtered_snapshot;
use crate::common;
use crate::common::TestProject;

fn extension(receipt: &serde_json::Value) -> &serde_json::Value {
    &receipt["extensions"][0]
}

#[track_caller]
fn assert_proven(project: &TestProject, receipt: &serde_json::Value) {
    let extension = extension(receipt);
    assert_eq!(extension["problem"], serde_json::Value::Null, "{receipt:#}");
    assert_eq!(
        extension["loaded_sha256"], extension["wheel_sha256"],
        "{receipt:#}"
    );
    let loaded = extension["loaded_path"].as_str().unwrap();
    let venv = std::fs::canonicalize(project.path(".venv")).unwrap();
    assert!(
        loaded.starts_with(venv.to_str().unwrap()),
        "{loaded} not in {venv:?}"
    );
    // Hash the loaded file ourselves: the receipt must not be taking its own word for it.
    assert_eq!(
        common::sha256(loaded.as_ref()),
        extension["wheel_sha256"].as_str().unwrap()
    );
}

#[test]
fn pure_layout_is_proven_and_an_edit_reaches_python() {
    let project = TestProject::from_fixture("pure");
    let first = project.cargo_pyo3().arg("dev").arg("--json").run();
    first.assert_code(0).assert_stderr_contains("Proven");
    let receipt = first.json();
    assert_eq!(
        receipt,
        project.receipt(),
        "--json prints the receipt it wrote"
    );
    assert_proven(&project, &receipt);
    assert_eq!(receipt["module"], "purefix");
    assert_eq!(extension(&receipt)["module"], "purefix.purefix");
    project
        .python(
            "import purefix; assert purefix.answer() == 42; assert not hasattr(purefix, 'fresh')",
        )
        .assert_code(0);

    project.add_fresh_function();
    let second = project.cargo_pyo3().arg("dev").run();
    second.assert_code(0);
    let updated = project.receipt();
    assert_proven(&project, &updated);
    assert_ne!(
        extension(&updated)["wheel_sha256"],
        extension(&receipt)["wheel_sha256"],
        "the extension changed"
    );
    assert!(updated["built_at_unix_ms"].as_u64() > receipt["built_at_unix_ms"].as_u64());
    project
        .python("import purefix; assert purefix.fresh() == 7")
        .assert_code(0);
}

#[test]
fn maturin_builds_with_a_venv_of_its_own_so_a_recreated_venv_recompiles_only_the_package() {
    let project = TestProject::from_fixture("pure");
    // A target dir of its own: another test's build in the shared one could configure pyo3 for
    // another interpreter between the two runs, and this test counts pyo3's compilations.
    let target = tempfile::tempdir().unwrap();
    let dev = || {
        project
            .cargo_pyo3()
            .args(["dev", "--json"])
            .env("CARGO_TARGET_DIR", target.path())
            .run()
    };
    let first = dev();
    first
        .assert_code(0)
        .assert_stderr_contains("Compiling pyo3 ");
    let build_python = first.json()["python"]["build_interpreter"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        std::fs::canonicalize(&build_python)
            .is_ok_and(|base| base == std::fs::canonicalize(project.venv_python()).unwrap()),
        "{build_python} stands for the venv's base interpreter"
    );
    let build_venv = std::path::Path::new(&build_python)
        .ancestors()
        .nth(3)
        .unwrap();
    assert_eq!(
        std::fs::canonicalize(build_venv).unwrap(),
        std::fs::canonicalize(target.path().join("cargo-pyo3/build-python")).unwrap(),
        "{build_python} is in a venv of its own in the target dir"
    );

    // The user's venv made anew, and an edit: only the package is compiled again.
    std::fs::remove_dir_all(project.path(".venv")).unwrap();
    project.add_fresh_function();
    let second = dev();
    second
        .assert_code(0)
        .assert_stderr_contains("Compiling purefix ");
    assert!(!second.stderr.contains("Compiling pyo3"), "{second:?}");
    let receipt = second.json();
    assert_eq!(
        receipt["python"]["build_interpreter"],
        build_python.as_str()
    );
    assert_proven(&project, &receipt);
    project
        .python("import purefix; assert purefix.fresh() == 7")
        .assert_code(0);
}

#[test]
fn mixed_layout_without_editable_is_proven_and_an_in_tree_copy_does_not_fool_the_proof() {
    let project = TestProject::from_fixture("mixed");
    project
        .cargo_pyo3()
        .args(["dev", "--no-editable"])
        .run()
        .assert_code(0);
    let receipt = project.receipt();
    assert_proven(&project, &receipt);
    assert_eq!(receipt["module"], "mixedfix._core");
    assert_eq!(extension(&receipt)["module"], "mixedfix._core");

    // The trap `maturin develop` leaves in mixed projects: a copy of the extension in the source
    // tree, which wins when Python runs from `python/`.
    let installed = extension(&receipt)["loaded_path"]
        .as_str()
        .unwrap()
        .to_owned();
    let planted = project.path("python/mixedfix/_core.cpython-311-x86_64-linux-gnu.so");
    std::fs::copy(&installed, &planted).unwrap();
    project.edit("src/lib.rs", "x * 2", "x * 3");

    project
        .cargo_pyo3()
        .args(["dev", "--no-editable"])
        .run()
        .assert_code(0);
    let updated = project.receipt();
    assert_proven(&project, &updated);
    assert_ne!(
        extension(&updated)["loaded_sha256"].as_str().unwrap(),
        common::sha256(&planted),
        "the proof hashed the in-tree copy"
    );
    project
        .python("import mixedfix; assert mixedfix.double(2) == 6, mixedfix.double(2)")
        .assert_code(0);
}

#[test]
fn pip_install_without_uv_in_a_path_with_spaces_and_non_ascii() {
    let project = TestProject::from_fixture_at("pure", "my projé with spaces");
    let run = project.cargo_pyo3().arg("dev").without_uv().run();
    run.assert_code(0).assert_stderr_contains("Proven");
    let receipt = project.receipt();
    assert_proven(&project, &receipt);
    assert_eq!(receipt["tools"]["installer"], "pip");
    assert_eq!(receipt["tools"]["uv"], serde_json::Value::Null);
    let config = project.read(".venv/pyvenv.cfg");
    assert!(
        !config.contains("uv ="),
        "the venv came from `python -m venv`:\n{config}"
    );
}

#[test]
fn a_compile_error_installs_nothing_and_keeps_the_proven_build() {
    let project = TestProject::from_fixture("pure");
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    let before = project.receipt();
    let installed = extension(&before)["loaded_path"]
        .as_str()
        .unwrap()
        .to_owned();

    project.edit("src/lib.rs", "42", "42 +");
    let run = project.cargo_pyo3().arg("dev").run();
    run.assert_code(2)
        .assert_stderr_contains("error: the build failed");
    assert!(
        run.stderr.contains("error: expected expression"),
        "rustc's error is shown\n{run:?}"
    );
    assert!(run.stderr.contains("hint:"), "{run:?}");

    assert_eq!(
        project.receipt(),
        before,
        "the receipt still describes the proven build"
    );
    assert_eq!(
        common::sha256(installed.as_ref()),
        extension(&before)["wheel_sha256"].as_str().unwrap()
    );
    project
        .python("import purefix; assert purefix.answer() == 42")
        .assert_code(0);
}

#[test]
fn a_venv_without_pip_and_no_uv_is_a_clear_error() {
    let project = TestProject::from_fixture("pure");
    common::TestCommand::new("python3", &project.root)
        .args(["-m", "venv", "--without-pip", ".venv"])
        .run()
        .assert_code(0);
    let before = common::snapshot_tree(&project.root);
    let run = project.cargo_pyo3().arg("dev").without_uv().run();
    run.assert_code(2)
        .assert_stderr_contains("has no pip and uv is not on PATH")
        .assert_stderr_contains("hint:");
    assert_eq!(common::snapshot_tree(&project.root), before);
}

/// Cases rejected before anything is built: exit 2, one error line naming the file, a hint.
mod bad_projects {
    use super::*;

    #[track_caller]
    fn assert_error(run: &common::Run, needle: &str) {
        run.assert_code(2).assert_stderr_contains(needle);
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with("error: "), "{run:?}");
        assert!(run.stderr.contains("\nhint: "), "{run:?}");
    }

    #[test]
    fn no_cargo_toml() {
        let project = TestProject::empty("nothing here");
        let run = project.cargo_pyo3().arg("dev").run();
        assert_error(&run, "could not find `Cargo.toml`");
        assert!(
            run.stderr.contains("nothing here"),
            "names the directory\n{run:?}"
        );
        assert!(
            !project.path(".venv").exists(),
            "no venv created for a non-project"
        );
    }

    #[test]
    fn not_a_pyo3_project() {
        let project = TestProject::empty("plain");
        project.write(
            "Cargo.toml",
            "[package]\nname = \"plain\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[workspace]\n",
        );
        project.write("src/lib.rs", "");
        let run = project.cargo_pyo3().arg("dev").run();
        assert_error(&run, "is not a PyO3 project");
        assert!(run.stderr.contains("Cargo.toml"), "{run:?}");
    }

    #[test]
    fn workspace_with_two_pyo3_packages_needs_p() {
        let project = TestProject::empty("workspace");
        project.write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"one\", \"two\"]\nresolver = \"2\"\n",
        );
        for name in ["one", "two"] {
            project.write(
                &format!("{name}/Cargo.toml"),
                &format!(
                    "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\npyo3 = \"0.29\"\n"
                ),
            );
            project.write(&format!("{name}/src/lib.rs"), "");
        }
        let run = project.cargo_pyo3().arg("dev").run();
        assert_error(&run, "has 2 PyO3 packages: `one`, `two`");
        assert!(run.stderr.contains("-p one"), "{run:?}");
    }

    #[test]
    fn manifest_path_to_a_directory() {
        let project = TestProject::from_fixture("pure");
        let run = project
            .cargo_pyo3()
            .args(["dev", "--manifest-path", "."])
            .run();
        assert_error(&run, "must point to a `Cargo.toml` file");
    }

    #[test]
    fn malformed_pyproject_names_the_line() {
        let project = TestProject::from_fixture("pure");
        project.edit("pyproject.toml", "[project]", "[project\n");
        let run = project.cargo_pyo3().arg("dev").run();
        assert_error(&run, "failed to parse");
        assert!(run.stderr.contains("pyproject.toml"), "{run:?}");
        assert!(run.stderr.contains("line 5"), "{run:?}");
    }
}

#[test]
fn help_is_stable() {
    let dir = std::env::temp_dir();
    let top = common::cargo_pyo3(&dir).arg("--help").run();
    top.assert_code(0);
    insta::assert_snapshot!("help", top.stdout);
    let dev = common::cargo_pyo3(&dir).args(["dev", "--help"]).run();
    dev.assert_code(0);
    insta::assert_snapshot!("dev_help", dev.stdout);
}

/// maturin's documented layout for a crate in a subfolder: `pyproject.toml` at the root, the crate
/// in `rust/`, made from an unmodified `maturin new` project by moving its crate.
fn rust_subfolder_project(manifest_path_key: bool) -> TestProject {
    let project = TestProject::maturin_new("subdemo", false);
    std::fs::create_dir(project.path("rust")).unwrap();
    for moved in ["Cargo.toml", "src"] {
        std::fs::rename(project.path(moved), project.path("rust").join(moved)).unwrap();
    }
    if manifest_path_key {
        project.append(
            "pyproject.toml",
            "[tool.maturin]\nmanifest-path = \"rust/Cargo.toml\"\n",
        );
    }
    project
}

#[test]
fn a_crate_in_rust_subfolder_is_found_from_pyproject_and_works_from_the_python_root() {
    let project = rust_subfolder_project(true);
    let first = project.cargo_pyo3().arg("dev").run();
    first.assert_code(0).assert_stderr_contains("Proven");
    assert!(project.path(".venv/pyvenv.cfg").is_file(), "{first:?}");
    assert!(!project.path("rust/.venv").exists(), "{first:?}");
    assert_proven(&project, &project.receipt());
    project
        .python("import subdemo; assert subdemo.sum_as_string(1, 2) == '3'")
        .assert_code(0);

    // From inside the crate, and with `--manifest-path`, it is the same project: same venv.
    let from_crate = common::cargo_pyo3(&project.path("rust")).arg("dev").run();
    from_crate.assert_code(0);
    assert!(!project.path("rust/.venv").exists(), "{from_crate:?}");
    let with_flag = project
        .cargo_pyo3()
        .args(["dev", "--manifest-path", "rust/Cargo.toml"])
        .run();
    with_flag.assert_code(0);
    assert!(!project.path("rust/.venv").exists(), "{with_flag:?}");
    let receipt = project.receipt();
    assert_eq!(
        receipt["python"]["venv"],
        project.path(".venv").to_str().unwrap()
    );
    let root = std::fs::canonicalize(&project.root).unwrap();
    assert_eq!(receipt["project_root"], root.to_str().unwrap());

    // The uv guard works from the Python root too: the keys it asks for, and writes from inside
    // the crate, are paths from the `pyproject.toml` to the crate's files.
    assert!(
        first
            .stderr
            .lines()
            .any(|line| line.starts_with("warning:") && line.contains("`rust/Cargo.toml`")),
        "{first:?}"
    );
    common::cargo_pyo3(&project.path("rust"))
        .args(["dev", "--fix-uv"])
        .run()
        .assert_code(0);
    let pyproject = project.read("pyproject.toml");
    for key in ["rust/Cargo.toml", "rust/Cargo.lock", "rust/src/**/*.rs"] {
        assert!(
            pyproject.contains(&format!("{{ file = \"{key}\" }}")),
            "{pyproject}"
        );
    }
    let quiet = project.cargo_pyo3().arg("dev").run();
    quiet.assert_code(0);
    assert!(!quiet.stderr.contains("warning:"), "{quiet:?}");
}

#[test]
fn maturins_src_layout_python_in_src_and_the_crate_in_rust_is_editable() {
    // maturin's documented layout: `src/<package>/` for Python, `rust/Cargo.toml` for the crate,
    // found without `manifest-path` because `src/<import name>` exists.
    let project = TestProject::maturin_new("srcdemo", true);
    std::fs::create_dir(project.path("rust")).unwrap();
    for moved in ["Cargo.toml", "src"] {
        std::fs::rename(project.path(moved), project.path("rust").join(moved)).unwrap();
    }
    std::fs::rename(project.path("python"), project.path("src")).unwrap();
    project.edit("pyproject.toml", "python-source = \"python\"\n", "");
    let run = project.cargo_pyo3().arg("dev").run();
    run.assert_code(0).assert_stderr_contains("Proven");
    assert_proven_editable(
        &project,
        &project.receipt(),
        "src/srcdemo/srcdemo.cpython-311-x86_64-linux-gnu.so",
    );
    project
        .python("import srcdemo; assert srcdemo.sum_as_string(2, 2) == '4'")
        .assert_code(0);
}

#[test]
fn maturins_rust_cargo_toml_fallback_is_found_without_manifest_path() {
    let project = rust_subfolder_project(false);
    let run = project.cargo_pyo3().arg("dev").run();
    run.assert_code(0).assert_stderr_contains("Proven");
    assert!(project.path(".venv/pyvenv.cfg").is_file(), "{run:?}");
    assert_proven(&project, &project.receipt());
}

#[test]
fn a_pyo3_ffi_crate_is_built_proven_and_verified_from_the_runtime() {
    let project = TestProject::from_fixture("ffi");
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    assert_proven(&project, &project.receipt());
    project
        .python("import ffifix; assert ffifix.answer() == 42")
        .assert_code(0);
    project
        .cargo_pyo3()
        .args(["verify", "answer"])
        .run()
        .assert_code(0);
    let doctor = project.cargo_pyo3().args(["doctor", "--json"]).run();
    doctor.assert_code(0);
    let module_name = common::doctor_check(&doctor.json(), "module-name").clone();
    assert_eq!(module_name["verdict"], "ok", "{doctor:?}");
    assert_eq!(
        module_name["evidence"]["exported_init"],
        serde_json::json!(["ffifix"]),
        "{doctor:?}"
    );
}

#[test]
fn bin_cffi_and_uniffi_projects_are_pointed_at_maturin_develop() {
    for bindings in ["bin", "cffi", "uniffi"] {
        let name = format!("{bindings}demo");
        let project = TestProject::maturin_new_with(&name, &["--bindings", bindings]);
        let before = common::snapshot_tree(&project.root);
        let run = project.cargo_pyo3().arg("dev").run();
        assert_filtered_snapshot!(
            format!("dev_refuses_{bindings}_bindings"),
            common::snapshot::render(&run, &project.root)
        );
        assert_eq!(before, common::snapshot_tree(&project.root), "{run:?}");
    }
}

#[test]
fn a_setuptools_rust_project_is_refused_before_anything_is_built() {
    // A PyO3 crate built by setuptools-rust, as its documentation lays one out: the crate is
    // one maturin could build too, so only the pyproject tells.
    let project = TestProject::maturin_new("srust", false);
    project.write(
        "pyproject.toml",
        "[build-system]\nrequires = [\"setuptools>=62.4\", \"setuptools-rust>=1.5.2\"]\n\
         build-backend = \"setuptools.build_meta\"\n\n\
         [project]\nname = \"srust\"\nversion = \"1.0\"\n\n\
         [[tool.setuptools-rust.ext-modules]]\ntarget = \"srust._lib\"\n",
    );
    let before = common::snapshot_tree(&project.root);
    let run = project.cargo_pyo3().arg("dev").run();
    run.assert_code(2);
    assert_filtered_snapshot!(
        "dev_refuses_setuptools_rust",
        common::snapshot::render(&run, &project.root)
    );
    assert_eq!(before, common::snapshot_tree(&project.root), "{run:?}");
    assert!(!project.path(".venv").exists(), "nothing was made: {run:?}");
}

/// `requires-python = ">=3.10"` lets uv pick the newest CPython it knows and download it; the
/// venv must come from a local interpreter instead: the project's `.python-version` when it
/// resolves here, else `python3`, with uv's downloads allowed as a user's would be.
#[test]
fn the_venv_is_made_from_a_local_interpreter_never_a_download() {
    let project = TestProject::maturin_new("localpy", false);
    project.edit(
        "pyproject.toml",
        "requires-python = \">=3.8\"",
        "requires-python = \">=3.10\"",
    );
    project.write(".python-version", "3.12\n");
    // pyo3 configured for 3.12 gets a target dir of its own: in the shared one it would replace
    // the 3.11 build every other test uses.
    let target = common::scratch().join("target-python3.12");
    let run = project
        .cargo_pyo3()
        .args(["dev", "-v", "--json"])
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("UV_PYTHON_DOWNLOADS")
        .run();
    run.assert_code(0);
    let receipt = run.json();
    let python = &receipt["python"];
    assert!(
        python["version"].as_str().unwrap().starts_with("3.12."),
        "{receipt:#}"
    );
    assert_eq!(
        python["venv_created_with"]["reason"], "`.python-version` asks for 3.12",
        "{receipt:#}"
    );
    assert!(
        python["venv_created_with"]["interpreter"]
            .as_str()
            .unwrap()
            .ends_with("python3.12"),
        "{receipt:#}"
    );
    // pyenv's shim, if that is what PATH has, resolved to the interpreter behind it.
    assert!(
        !python["build_interpreter"]
            .as_str()
            .unwrap()
            .contains("shims"),
        "{receipt:#}"
    );
    // A later run keeps the record.
    let again = project
        .cargo_pyo3()
        .args(["dev", "--json"])
        .env("CARGO_TARGET_DIR", &target)
        .run();
    again.assert_code(0);
    assert_eq!(
        again.json()["python"]["venv_created_with"],
        python["venv_created_with"]
    );

    // A version that is not here: a warning, and `python3`.
    let other = TestProject::maturin_new("localpy2", false);
    other.write(".python-version", "3.99\n");
    let run = other
        .cargo_pyo3()
        .args(["dev", "-v"])
        .env_remove("UV_PYTHON_DOWNLOADS")
        .run();
    run.assert_code(0).assert_stderr_contains(
        "warning: `.python-version` asks for 3.99, but no `python3.99` is on PATH",
    );
    assert_eq!(
        other.receipt()["python"]["venv_created_with"]["reason"],
        "`python3` on PATH, the interpreter maturin would use"
    );
}

#[test]
fn quiet_shows_the_result_and_nothing_of_the_steps() {
    let project = TestProject::from_fixture("pure");
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    let quiet = project.cargo_pyo3().args(["dev", "-q"]).run();
    assert_filtered_snapshot!("dev_quiet", common::snapshot::render(&quiet, &project.root));
}

#[test]
fn the_installed_distribution_names_its_kept_wheel_and_its_own_version() {
    let project = TestProject::from_fixture("pure");
    // `[project] version` wins over Cargo's for the distribution that gets installed.
    project.edit(
        "pyproject.toml",
        "dynamic = [\"version\"]",
        "version = \"2.1.0\"",
    );
    let run = project.cargo_pyo3().arg("dev").run();
    run.assert_code(0)
        .assert_stderr_contains("`purefix` 2.1.0 loads");
    let receipt = project.receipt();
    assert_eq!(receipt["version"], "0.1.0", "{receipt:#}");
    assert_eq!(receipt["distribution_version"], "2.1.0", "{receipt:#}");

    let direct_url = std::fs::read_to_string(
        project.path(".venv/lib/python3.11/site-packages/purefix-2.1.0.dist-info/direct_url.json"),
    )
    .unwrap();
    let direct_url: serde_json::Value = serde_json::from_str(&direct_url).unwrap();
    let url = direct_url["url"].as_str().unwrap();
    let kept = receipt["wheel"]["path"].as_str().unwrap();
    assert_eq!(url, format!("file://{kept}"), "{direct_url:#}");
    assert!(std::path::Path::new(kept).is_file(), "{kept}");
    assert_eq!(
        common::sha256(kept.as_ref()),
        receipt["wheel"]["sha256"].as_str().unwrap()
    );

    // The next build is kept under its own hash and the first one goes.
    project.add_fresh_function();
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    let next = project.receipt();
    assert_ne!(next["wheel"]["path"], receipt["wheel"]["path"]);
    assert!(
        !std::path::Path::new(kept).exists(),
        "{kept} was not pruned"
    );
}

#[test]
fn a_failed_proof_names_its_cause_a_pymodule_of_another_name() {
    let project = TestProject::maturin_new("namedemo", false);
    project.edit("src/lib.rs", "mod namedemo {", "mod renamed {");
    let run = project.cargo_pyo3().arg("dev").without_uv().run();
    assert_filtered_snapshot!(
        "dev_proof_no_init_function",
        common::snapshot::render(&run, &project.root)
    );
    assert!(project.find_receipt().is_none(), "{run:?}");
}

#[test]
fn a_failed_proof_names_its_cause_a_module_the_package_imports() {
    let project = TestProject::maturin_new("depdemo", true);
    let init = project.path("python/depdemo/__init__.py");
    let text = std::fs::read_to_string(&init).unwrap();
    std::fs::write(&init, format!("import not_installed_anywhere\n{text}")).unwrap();
    let run = project.cargo_pyo3().arg("dev").without_uv().run();
    assert_filtered_snapshot!(
        "dev_proof_missing_module",
        common::snapshot::render(&run, &project.root)
    );
}

/// The mission's own case at first contact: a `#[pyclass]` that compiles but was never registered,
/// re-exported by the package's `__init__.py`. The import fails with Python's "cannot import
/// name"; the hint says why from the Rust sources, with the line to add, as `verify` would.
#[test]
fn a_failed_proof_names_its_cause_a_class_the_package_imports_that_was_never_registered() {
    let project = TestProject::from_fixture("mixed");
    project.append("src/lib.rs", "#[pyclass]\nstruct Stopwatch {}\n");
    project.edit(
        "python/mixedfix/__init__.py",
        "import double",
        "import double, Stopwatch",
    );
    let run = project.cargo_pyo3().arg("dev").without_uv().run();
    assert_filtered_snapshot!(
        "dev_proof_unregistered_class",
        common::snapshot::render(&run, &project.root)
    );

    // The same in maturin's own `--mixed` template, whose extension `unreg.unreg` is not the
    // module name (`unreg`): the name is looked up in the extension, not in the package.
    let project = TestProject::maturin_new("unreg", true);
    project.append("src/lib.rs", "#[pyo3::pyclass]\nstruct Counter {}\n");
    project.write(
        "python/unreg/__init__.py",
        "from .unreg import sum_as_string, Counter\n",
    );
    let run = project.cargo_pyo3().arg("dev").without_uv().run();
    run.assert_code(1).assert_stderr_contains(
        "imports `Counter` from `unreg.unreg`, which this build does not define: `Counter` is \
         defined in src/lib.rs:",
    );
    run.assert_stderr_contains(
        "but never registered: add `#[pymodule_export] use crate::Counter;` to `mod unreg`",
    );
}

/// The editable install of a mixed project: the proven extension beside the Python sources, the
/// venv pointed at them.
#[track_caller]
fn assert_proven_editable(project: &TestProject, receipt: &serde_json::Value, placed: &str) {
    let extension = extension(receipt);
    assert_eq!(extension["problem"], serde_json::Value::Null, "{receipt:#}");
    let placed = std::fs::canonicalize(project.path(placed)).unwrap();
    assert_eq!(
        extension["loaded_path"],
        placed.to_str().unwrap(),
        "{receipt:#}"
    );
    assert_eq!(
        receipt["editable"]["placed"],
        serde_json::json!([placed.to_str().unwrap()]),
        "{receipt:#}"
    );
    assert_eq!(
        common::sha256(&placed),
        extension["wheel_sha256"].as_str().unwrap(),
        "the placed copy is the wheel's extension, byte for byte"
    );
}

#[test]
fn a_mixed_project_is_installed_editable_over_a_stale_copy_and_python_edits_are_live() {
    let project = TestProject::from_fixture("mixed");
    // What an old `maturin develop` leaves: a copy of the extension beside the sources.
    let in_tree = "python/mixedfix/_core.cpython-311-x86_64-linux-gnu.so";
    project.write(in_tree, "a stale build");
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    assert_proven_editable(&project, &project.receipt(), in_tree);
    project
        .python("import mixedfix; assert mixedfix.double(2) == 4")
        .assert_code(0);

    // A Python edit is live without another `dev`, from a neutral directory and the root.
    project.edit(
        "python/mixedfix/__init__.py",
        "__all__ = [\"double\"]",
        "__all__ = [\"double\", \"edited\"]\n\ndef edited():\n    return 5",
    );
    project
        .python("import mixedfix; assert mixedfix.edited() == 5")
        .assert_code(0);
    common::TestCommand::new(project.venv_python(), &project.root)
        .args(["-c", "import mixedfix; assert mixedfix.edited() == 5"])
        .run()
        .assert_code(0);
    project.cargo_pyo3().arg("verify").run().assert_code(0);
}

/// `maturin new --mixed`, converted to the layout where the Python package sits at the project
/// root (no `python-source`), with a runtime dependency from PyPI and a `dev` group.
fn root_layout_project() -> TestProject {
    let project = TestProject::maturin_new("rootdemo", true);
    std::fs::rename(project.path("python/rootdemo"), project.path("rootdemo")).unwrap();
    std::fs::rename(project.path("python/tests"), project.path("tests")).unwrap();
    std::fs::remove_dir(project.path("python")).unwrap();
    project.edit("pyproject.toml", "python-source = \"python\"\n", "");
    project.edit(
        "pyproject.toml",
        "dynamic = [\"version\"]",
        "dynamic = [\"version\"]\ndependencies = [\"boltons\"]",
    );
    project.append(
        "pyproject.toml",
        "[dependency-groups]\ndev = [\"pytest\"]\n",
    );
    project
}

#[test]
fn the_root_layout_runs_the_proven_build_from_the_project_root() {
    let project = root_layout_project();
    let first = project.cargo_pyo3().arg("dev").run();
    first
        .assert_code(0)
        .assert_stderr_contains("Installing 2 dependencies");
    let receipt = project.receipt();
    assert_proven_editable(
        &project,
        &receipt,
        "rootdemo/rootdemo.cpython-311-x86_64-linux-gnu.so",
    );
    assert_eq!(
        receipt["dependencies"],
        serde_json::json!(["boltons", "pytest"])
    );
    project.python("import boltons, rootdemo").assert_code(0);

    // What `maturin develop` users run: pytest with the working directory first on `sys.path`.
    let pytest = common::TestCommand::new(project.venv_python(), &project.root)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .run();
    pytest.assert_code(0);

    project.edit(
        "rootdemo/__init__.py",
        "from .rootdemo import *",
        "from .rootdemo import *\n\ndef edited():\n    return 5",
    );
    project
        .python("import rootdemo; assert rootdemo.edited() == 5")
        .assert_code(0);
    common::TestCommand::new(project.venv_python(), &project.root)
        .args(["-c", "import rootdemo; assert rootdemo.edited() == 5"])
        .run()
        .assert_code(0);
    project.cargo_pyo3().arg("verify").run().assert_code(0);
    // A name the package defines in Python counts, found in the package, not the extension.
    let python_name = project
        .cargo_pyo3()
        .args(["verify", "edited", "--json"])
        .run();
    python_name.assert_code(0);
    let report: serde_json::Value = serde_json::from_str(&python_name.stdout).unwrap();
    let edited = &report["names"][0];
    assert_eq!(
        (&edited["name"], &edited["status"], &edited["found_in"]),
        (
            &serde_json::json!("edited"),
            &serde_json::json!("found"),
            &serde_json::json!("rootdemo")
        ),
        "{python_name:?}"
    );

    // The requirements did not change: the step is skipped.
    let second = project.cargo_pyo3().arg("dev").run();
    second.assert_code(0);
    assert!(!second.stderr.contains("Installing"), "{second:?}");
    let timings = &project.receipt()["timings_ms"];
    assert!(timings["dependencies"].as_u64().unwrap() < 5, "{timings}");

    // The receipt still names the same requirements and venv, but the venv was made anew: the
    // dependencies are installed again, not assumed.
    fs_err::remove_dir_all(project.path(".venv")).unwrap();
    project
        .cargo_pyo3()
        .arg("dev")
        .run()
        .assert_code(0)
        .assert_stderr_contains("Installing 2 dependencies");
    project.python("import boltons, rootdemo").assert_code(0);

    // A plain wheel install cannot serve the root: `python` there imports the source package,
    // which has no extension. Never "Proven" then.
    let plain = project.cargo_pyo3().args(["dev", "--no-editable"]).run();
    plain.assert_code(1);
    assert!(plain.stderr.contains("from the project root"), "{plain:?}");
    // The copy the editable runs placed is theirs, unchanged, so it goes: left, it would win from
    // the root over the build just installed.
    assert!(
        !project
            .path("rootdemo/rootdemo.cpython-311-x86_64-linux-gnu.so")
            .exists(),
        "{plain:?}"
    );
    // `doctor` names the same shadow, and the way out.
    project
        .cargo_pyo3()
        .arg("doctor")
        .run()
        .assert_code(1)
        .assert_stderr_contains("is not importable when Python runs from the project directory")
        .assert_stderr_contains("without `--no-editable`");
}

#[test]
fn a_dependency_that_cannot_be_installed_is_an_error_that_changes_nothing() {
    let project = TestProject::from_fixture("pure");
    project.cargo_pyo3().arg("dev").run().assert_code(0);
    project.edit(
        "pyproject.toml",
        "dynamic = [\"version\"]",
        "dynamic = [\"version\"]\ndependencies = [\"cargo-pyo3-no-such-distribution\"]",
    );
    let before = common::snapshot_tree(&project.path(".venv"));
    let run = project.cargo_pyo3().arg("dev").run();
    run.assert_code(2)
        .assert_stderr_contains("cargo-pyo3-no-such-distribution")
        .assert_stderr_contains("hint:");
    assert_eq!(
        before,
        common::snapshot_tree(&project.path(".venv")),
        "{run:?}"
    );
}

/// Issue 12: `-E`, `--group` and `--no-deps` pick what is installed before the project. The
/// requirements name nothing that exists, so what each selection asks the installer for shows in
/// its count and in the installer's refusal, and nothing is downloaded.
#[test]
fn extras_groups_and_no_deps_select_the_requirements() {
    let project = TestProject::from_fixture("pure");
    project.edit(
        "pyproject.toml",
        "dynamic = [\"version\"]",
        "dynamic = [\"version\"]\ndependencies = [\"cargo-pyo3-missing-base\"]\n\
         optional-dependencies = { speed = [\"cargo-pyo3-missing-speed\"] }",
    );
    project.append(
        "pyproject.toml",
        "[dependency-groups]\ndev = [\"cargo-pyo3-missing-dev\"]\nlint = [\"cargo-pyo3-missing-lint\"]\n",
    );

    let skipped = project.cargo_pyo3().args(["dev", "--no-deps"]).run();
    skipped.assert_code(0).assert_stderr_contains("Proven");
    assert!(!skipped.stderr.contains("Installing"), "{skipped:?}");
    assert_eq!(project.receipt()["dependencies"], serde_json::json!([]));

    for (args, count, named) in [
        (&["dev"][..], 2, &["base", "dev"][..]),
        (&["dev", "-E", "speed"], 3, &["base", "speed", "dev"]),
        (&["dev", "--group", "lint"], 2, &["base", "lint"]),
    ] {
        let run = project.cargo_pyo3().args(args).arg("-v").run();
        run.assert_code(2)
            .assert_stderr_contains(&format!("Installing {count} dependencies"))
            .assert_stderr_contains("hint:");
        for name in named {
            run.assert_stderr_contains(&format!("cargo-pyo3-missing-{name}"));
        }
    }

    let unknown = project.cargo_pyo3().args(["dev", "-E", "nosuch"]).run();
    unknown
        .assert_code(2)
        .assert_stderr_contains("nosuch")
        .assert_stderr_contains("hint:");
    assert!(!unknown.stderr.contains("Building"), "{unknown:?}");
}
