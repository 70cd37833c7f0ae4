//! `cargo bench --bench dev_loop`: the edit → proven-import loop, side by side (issue 7).
//!
//! Two fixtures: a copy of `examples/hello`, and a generated crate of 40 classes × 10 methods.
//! Each iteration makes a real one-line edit to the Rust source (a constant Python can read
//! back), then runs every variant in turn, interleaved, so that the load other processes put on
//! the machine falls on all of them alike:
//!
//! 1. `cargo pyo3 dev` (the release build of this crate, as `cargo bench` builds it),
//! 2. `cargo pyo3 dev --clean full` (`cargo clean -p`, the default before issue 13),
//! 3. `maturin develop` into the same kind of venv, followed by the same import,
//! 4. the floor: `cargo build` of the crate alone, nothing installed,
//! 5. `cargo pyo3 test`, then bare `python -m pytest` on the same suite in the same venv,
//! 6. `cargo pyo3 run -- python -c …`, then the same `python -c …` run bare in the same venv,
//! 7. `cargo pyo3 dev --python A,B` (issue 24): `python3`'s version and a second local one, each
//!    in its own venv and target dir; the receipts' totals give the second interpreter's cost as
//!    a ratio to the first's.
//!
//! After every run the edit must be visible: the venv's python imports the module and reads the
//! constant back (the floor must have rewritten its `.so`). A run that leaves the old build in
//! place is reported as a failure, never as a time. The same is then done with nothing edited,
//! then with the old-mtime trap: an edit whose mtime is set an hour back, which cargo's mtime
//! check does not see, and last with the `RUSTFLAGS` trap: no source edit, only
//! `RUSTFLAGS="--cfg bench_flavour"` set or unset, which selects another function body.
//! `docs/performance.md` explains the choices and keeps the latest table.

#![expect(
    clippy::disallowed_methods,
    reason = "the benchmark times the real tools with std::process::Command and builds its \
              fixtures with std::fs; clippy.toml's boundaries are for the tool's own code"
)]

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Iterations on the small fixture (edits, and as many reruns with nothing changed).
const ITERATIONS_VARIABLE: &str = "CARGO_PYO3_BENCH_ITERATIONS";
/// Iterations on the large fixture.
const LARGE_ITERATIONS_VARIABLE: &str = "CARGO_PYO3_BENCH_LARGE_ITERATIONS";
/// The second interpreter of `dev --python A,B` (a version, `3.12` unless `python3` is 3.12).
const SECOND_PYTHON_VARIABLE: &str = "CARGO_PYO3_BENCH_SECOND_PYTHON";
/// Comma-separated subset of `small,large`.
const FIXTURES_VARIABLE: &str = "CARGO_PYO3_BENCH_FIXTURES";
const DEFAULT_SMALL_ITERATIONS: usize = 7;
/// As many as the small fixture: the large edit ratio sits near its target, and a median of three
/// moved by 0.03 between runs of the same code.
const DEFAULT_LARGE_ITERATIONS: usize = 7;

const LARGE_CLASSES: usize = 40;
/// Classes per generated source file: a large crate is rarely one file.
const CLASSES_PER_FILE: usize = 5;

/// Where the edited constant goes in a fixture's source template.
const GENERATION_PLACEHOLDER: &str = "@@GENERATION@@";
/// The line of `examples/hello/src/lib.rs` whose default the benchmark edits.
const HELLO_EDITED_LINE: &str = "#[pyo3(signature = (start = 0))]";

// The `receipt.json` steps, in the order `dev` runs them: read from the tool's own list, so the
// benchmark's breakdown cannot drift from the receipt.
#[path = "../src/receipt/steps.rs"]
mod steps;
use steps::STEPS;

fn main() {
    // `cargo test --all-targets` runs benches without `--bench`: a full run takes minutes, so
    // only `cargo bench` runs it.
    if !std::env::args().any(|argument| argument == "--bench") {
        println!("dev_loop: skipped (run it with `cargo bench --bench dev_loop`)");
        return;
    }
    let selected = std::env::var(FIXTURES_VARIABLE).unwrap_or_else(|_| "small,large".into());
    let selected: Vec<&str> = selected.split(',').map(str::trim).collect();
    let bench = Bench::prepare();
    let machine_before = Machine::describe(&bench);
    let mut results = Vec::new();
    if selected.contains(&"small") {
        let fixture = Fixture::small(
            &bench.scratch,
            iterations(ITERATIONS_VARIABLE, DEFAULT_SMALL_ITERATIONS),
        );
        results.push(bench.run(&fixture));
    }
    if selected.contains(&"large") {
        let fixture = Fixture::large(
            &bench.scratch,
            iterations(LARGE_ITERATIONS_VARIABLE, DEFAULT_LARGE_ITERATIONS),
        );
        results.push(bench.run(&fixture));
    }
    let load_after = read_load_average();
    let report = render_report(&machine_before, &load_after, &results);
    let report_path = bench.scratch.join("report.md");
    std::fs::write(&report_path, &report).unwrap();
    let samples_path = bench.scratch.join("samples.json");
    std::fs::write(
        &samples_path,
        serde_json::to_string_pretty(&samples_json(&results)).unwrap(),
    )
    .unwrap();
    println!("{report}");
    eprintln!(
        "dev_loop: report written to {} (raw samples: {})",
        report_path.display(),
        samples_path.display()
    );
}

fn iterations(variable: &str, default: usize) -> usize {
    match std::env::var(variable) {
        Ok(value) => value
            .trim()
            .parse()
            .ok()
            .filter(|count| *count > 0)
            .unwrap_or_else(|| panic!("{variable}={value:?}: expected a positive integer")),
        Err(_) => default,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Dev,
    DevCleanFull,
    MaturinDevelop,
    Floor,
    Test,
    /// The same suite as [`Variant::Test`], run bare right after it in its venv.
    Pytest,
    Run,
    /// The same command as [`Variant::Run`], run bare right after it in its venv.
    Python,
    /// `dev --python A,B`: two interpreters, each in its own `.venv-3.X` beside the fixture.
    DevPythons,
}

impl Variant {
    /// In the order of a round: each bare variant right after the one whose venv it uses.
    const ALL: [Variant; 9] = [
        Variant::Dev,
        Variant::DevCleanFull,
        Variant::MaturinDevelop,
        Variant::Floor,
        Variant::Test,
        Variant::Pytest,
        Variant::Run,
        Variant::Python,
        Variant::DevPythons,
    ];
    /// The variants of the `dev` table, compared with `maturin develop` and the floor.
    const DEV: [Variant; 4] = [
        Variant::Dev,
        Variant::DevCleanFull,
        Variant::MaturinDevelop,
        Variant::Floor,
    ];
    /// Each wrapped command beside the bare one it wraps.
    const PAIRS: [(Variant, Variant); 2] = [
        (Variant::Test, Variant::Pytest),
        (Variant::Run, Variant::Python),
    ];

    fn label(self) -> &'static str {
        match self {
            Variant::Dev => "`cargo pyo3 dev`",
            Variant::DevCleanFull => "`cargo pyo3 dev --clean full`",
            Variant::MaturinDevelop => "`maturin develop` + import",
            Variant::Floor => "floor: `cargo build`",
            Variant::Test => "`cargo pyo3 test -- -q`",
            Variant::Pytest => "`python -m pytest -q`",
            Variant::Run => "`cargo pyo3 run -- python -c …`",
            Variant::Python => "`python -c …`",
            Variant::DevPythons => "`cargo pyo3 dev --python A,B`",
        }
    }

    /// Names its target dir and venv.
    fn slug(self) -> &'static str {
        match self {
            Variant::Dev => "dev",
            Variant::DevCleanFull => "dev-clean-full",
            Variant::MaturinDevelop => "maturin-develop",
            Variant::Floor => "floor",
            Variant::Test => "test",
            Variant::Pytest => "pytest",
            Variant::Run => "run",
            Variant::Python => "python",
            Variant::DevPythons => "dev-pythons",
        }
    }

    /// The variant whose venv this one runs in: a bare command uses its wrapper's.
    fn venv_owner(self) -> Variant {
        match self {
            Variant::Pytest => Variant::Test,
            Variant::Python => Variant::Run,
            other => other,
        }
    }

    /// Runs only what is installed: it builds nothing, so it is never stale on its own.
    fn is_bare(self) -> bool {
        matches!(self, Variant::Pytest | Variant::Python)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// A one-line edit before each round.
    Edit,
    /// Nothing changed since the last round.
    NoChange,
    /// A one-line edit, then the file's mtime set an hour back (`cp -p`, `tar x`, a restore).
    Trap,
    /// No edit: `RUSTFLAGS="--cfg bench_flavour"` set, then unset, in turn.
    Rustflags,
}

impl Phase {
    const ALL: [Phase; 4] = [Phase::Edit, Phase::NoChange, Phase::Trap, Phase::Rustflags];

    fn slug(self) -> &'static str {
        match self {
            Phase::Edit => "edit",
            Phase::NoChange => "no-change",
            Phase::Trap => "old-mtime",
            Phase::Rustflags => "rustflags",
        }
    }

    fn is_trap(self) -> bool {
        matches!(self, Phase::Trap | Phase::Rustflags)
    }
}

/// The `RUSTFLAGS` the trap sets, and the answer of the fixture's `flavour()` under it.
const FLAVOUR_RUSTFLAGS: &str = "--cfg bench_flavour";
/// Appended to each fixture's `lib.rs` (and registered): a body `RUSTFLAGS` alone selects.
const FLAVOUR_FUNCTION: &str = "\n/// Added by the benchmark: which body the build's `RUSTFLAGS` selected.\n\
    #[pyfunction]\n\
    fn flavour() -> &'static str {\n\
    \x20   if cfg!(bench_flavour) { \"flavoured\" } else { \"plain\" }\n\
    }\n";
const FLAVOUR_REGISTRATION: &str = "    m.add_function(wrap_pyfunction!(flavour, m)?)?;\n";

/// What a fresh build of the fixture answers: the constant of the last edit, and `flavour()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expected {
    generation: u64,
    flavoured: bool,
}

impl Expected {
    fn answer(self) -> String {
        let flavour = if self.flavoured { "flavoured" } else { "plain" };
        format!("{} {flavour}", self.generation)
    }
}

/// A crate to benchmark, copied or generated under the scratch directory.
struct Fixture {
    name: &'static str,
    description: String,
    dir: PathBuf,
    /// The file holding the edited constant.
    source: PathBuf,
    /// Its text, with [`GENERATION_PLACEHOLDER`] where the constant goes.
    template: String,
    module: String,
    /// A Python expression that evaluates to the constant, after `import <module>`.
    generation_expression: String,
    /// `lib<name>.so`, which the floor's `cargo build` writes.
    library_file: String,
    /// A small pytest suite, written to `tests/test_bench.py`.
    tests: &'static str,
    iterations: usize,
}

impl Fixture {
    /// A copy of `examples/hello`; the edit is the default of `Counter(start=…)`.
    fn small(scratch: &Path, iterations: usize) -> Fixture {
        let dir = scratch.join("fixtures").join("hello");
        let _ = std::fs::remove_dir_all(&dir);
        common::copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello"),
            &dir,
        );
        let source = dir.join("src/lib.rs");
        let text = std::fs::read_to_string(&source).unwrap();
        assert!(
            text.contains(HELLO_EDITED_LINE),
            "examples/hello/src/lib.rs no longer has `{HELLO_EDITED_LINE}`, the line this \
             benchmark edits; update `HELLO_EDITED_LINE` and `generation_expression`"
        );
        let registration = "    m.add_function(wrap_pyfunction!(greet, m)?)?;\n";
        assert!(
            text.contains(registration),
            "examples/hello no longer registers `greet`"
        );
        let template =
            text.replacen(
                HELLO_EDITED_LINE,
                &format!("#[pyo3(signature = (start = {GENERATION_PLACEHOLDER}))]"),
                1,
            )
            .replacen(
                registration,
                &format!("{registration}{FLAVOUR_REGISTRATION}"),
                1,
            ) + FLAVOUR_FUNCTION;
        Fixture {
            name: "small",
            description: "a copy of `examples/hello` (1 class, 1 function)".into(),
            dir,
            source,
            template,
            module: "hello".into(),
            generation_expression: "hello.Counter().value".into(),
            library_file: "libhello.so".into(),
            tests: "import hello\n\n\ndef test_increment():\n    \
                    counter = hello.Counter(start=1)\n    \
                    assert counter.increment() == 2\n    \
                    assert counter.increment(step=3) == 5\n\n\n\
                    def test_greet():\n    \
                    assert hello.greet(\"bench\") == \"Hello, bench!\"\n",
            iterations,
        }
    }

    /// A generated crate: [`LARGE_CLASSES`] classes of 10 methods each, in several files, and a
    /// `generation()` function in `lib.rs` that the edit changes.
    fn large(scratch: &Path, iterations: usize) -> Fixture {
        let dir = scratch.join("fixtures").join("bench-large");
        let _ = std::fs::remove_dir_all(&dir);
        let hello = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello");
        write(
            &dir.join("Cargo.toml"),
            &std::fs::read_to_string(hello.join("Cargo.toml"))
                .unwrap()
                .replace("name = \"hello\"", "name = \"bench-large\"")
                .replace(
                    "[lib]\nname = \"bench-large\"",
                    "[lib]\nname = \"bench_large\"",
                ),
        );
        // The same locked pyo3 as the small fixture, so nothing is resolved or downloaded.
        write(
            &dir.join("Cargo.lock"),
            &std::fs::read_to_string(hello.join("Cargo.lock"))
                .unwrap()
                .replace("name = \"hello\"", "name = \"bench-large\""),
        );
        write(
            &dir.join("pyproject.toml"),
            &std::fs::read_to_string(hello.join("pyproject.toml"))
                .unwrap()
                .replace("name = \"hello\"", "name = \"bench-large\""),
        );
        let files = LARGE_CLASSES.div_ceil(CLASSES_PER_FILE);
        let mut lib = String::from(
            "//! Generated by benches/dev_loop.rs: a larger extension to time the dev loop on.\n\
             use pyo3::prelude::*;\n\n",
        );
        let mut registrations = String::new();
        for file in 0..files {
            writeln!(lib, "mod group_{file};").unwrap();
            let mut text =
                String::from("use pyo3::exceptions::PyValueError;\nuse pyo3::prelude::*;\n");
            let classes =
                file * CLASSES_PER_FILE..((file + 1) * CLASSES_PER_FILE).min(LARGE_CLASSES);
            for class in classes {
                text.push_str(&large_class(class));
                writeln!(
                    registrations,
                    "    m.add_class::<group_{file}::Class{class}>()?;"
                )
                .unwrap();
            }
            write(&dir.join(format!("src/group_{file}.rs")), &text);
        }
        write!(
            lib,
            "\n/// Rewritten by the benchmark before every round.\n\
             #[pyfunction]\n\
             fn generation() -> u64 {{\n    {GENERATION_PLACEHOLDER}\n}}\n\n\
             #[pymodule]\n\
             fn bench_large(m: &Bound<'_, PyModule>) -> PyResult<()> {{\n\
             \x20   m.add_function(wrap_pyfunction!(generation, m)?)?;\n\
             {FLAVOUR_REGISTRATION}\
             {registrations}\
             \x20   Ok(())\n\
             }}\n\
             {FLAVOUR_FUNCTION}"
        )
        .unwrap();
        let source = dir.join("src/lib.rs");
        write(&source, &lib);
        Fixture {
            name: "large",
            description: format!(
                "generated: {LARGE_CLASSES} classes × 10 methods in {files} files"
            ),
            dir,
            source,
            template: lib,
            module: "bench_large".into(),
            generation_expression: "bench_large.generation()".into(),
            library_file: "libbench_large.so".into(),
            tests: "import bench_large\n\n\ndef test_generation():\n    \
                    assert bench_large.generation() > 0\n\n\n\
                    def test_every_class_is_exported():\n    \
                    missing = [i for i in range(40) if not hasattr(bench_large, f\"Class{i}\")]\n    \
                    assert missing == []\n",
            iterations,
        }
    }

    fn manifest(&self) -> PathBuf {
        self.dir.join("Cargo.toml")
    }

    /// Python code printing what the loaded build answers, in the form of [`Expected::answer`].
    fn answer_code(&self) -> String {
        format!(
            "import {0}; print({1}, {0}.flavour())",
            self.module, self.generation_expression
        )
    }

    fn check_answer(&self, stdout: &str, expected: Expected) -> Result<(), String> {
        let answer = stdout.lines().last().unwrap_or_default().trim();
        if answer == expected.answer() {
            Ok(())
        } else if answer
            .split_once(' ')
            .is_some_and(|(generation, _)| generation.parse::<u64>().is_ok())
        {
            Err(format!(
                "stale: python loaded a build answering `{answer}`, the source and flags say `{}`",
                expected.answer()
            ))
        } else {
            Err(format!(
                "unexpected output from `{}`: {stdout:?}",
                self.answer_code()
            ))
        }
    }

    /// Rewrites the source in place (same inode, as an editor that saves in place would).
    fn set_generation(&self, generation: u64) {
        let text = self
            .template
            .replace(GENERATION_PLACEHOLDER, &generation.to_string());
        std::fs::write(&self.source, text).unwrap();
    }

    /// Sets the source's mtime an hour back: older than any build of it.
    fn backdate(&self) {
        std::fs::File::options()
            .write(true)
            .open(&self.source)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
    }
}

/// One generated class: a constructor and 10 methods of the shapes real bindings have.
fn large_class(index: usize) -> String {
    format!(
        r#"
/// Generated class number {index}.
#[pyclass]
pub struct Class{index} {{
    value: i64,
    items: Vec<f64>,
    label: String,
}}

#[pymethods]
impl Class{index} {{
    #[new]
    #[pyo3(signature = (value = {index}, label = String::new()))]
    fn new(value: i64, label: String) -> Self {{
        Class{index} {{ value, items: Vec::new(), label }}
    }}

    #[getter]
    fn value(&self) -> i64 {{
        self.value
    }}

    #[setter]
    fn set_value(&mut self, value: i64) {{
        self.value = value;
    }}

    #[pyo3(signature = (step = 1))]
    fn add(&mut self, step: i64) -> i64 {{
        self.value += step;
        self.value
    }}

    fn scale(&self, factor: f64) -> f64 {{
        self.value as f64 * factor
    }}

    fn push(&mut self, item: f64) -> usize {{
        self.items.push(item);
        self.items.len()
    }}

    fn items(&self) -> Vec<f64> {{
        self.items.clone()
    }}

    fn total(&self) -> f64 {{
        self.items.iter().sum::<f64>() + self.value as f64
    }}

    fn describe(&self, prefix: &str) -> String {{
        format!("{{prefix}}{{}}#{index}={{}} ({{}} items)", self.label, self.value, self.items.len())
    }}

    #[staticmethod]
    fn parse(text: &str) -> PyResult<Self> {{
        let value = text
            .trim()
            .parse::<i64>()
            .map_err(|error| PyValueError::new_err(error.to_string()))?;
        Ok(Class{index} {{ value, items: Vec::new(), label: text.to_owned() }})
    }}

    fn __repr__(&self) -> String {{
        format!("Class{index}(value={{}})", self.value)
    }}
}}
"#
    )
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The shared setup: tools, interpreter, one venv and one target dir per variant.
struct Bench {
    /// `target/tmp/dev-loop`: kept between runs, so a rerun does not compile pyo3 four times
    /// again (fixtures are copied afresh and every variant is warmed up on every run).
    scratch: PathBuf,
    /// PATH with maturin and uv first.
    path: OsString,
    /// The interpreter behind `python3`, resolved: every venv is made from it and the floor
    /// builds against it.
    interpreter: PathBuf,
    cargo: OsString,
    tool: PathBuf,
    /// The versions `dev --python A,B` runs with: `python3`'s, then a second local one.
    pythons: [String; 2],
    /// An empty directory to import from, so no source tree can shadow the install.
    neutral: PathBuf,
}

impl Bench {
    fn prepare() -> Bench {
        let scratch = common::scratch().join("dev-loop");
        std::fs::create_dir_all(&scratch).unwrap();
        let neutral = scratch.join("neutral");
        let _ = std::fs::remove_dir_all(&neutral);
        std::fs::create_dir_all(&neutral).unwrap();
        let tools = common::tools();
        let inherited = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::join_paths(
            std::iter::once(tools.all.clone()).chain(std::env::split_paths(&inherited)),
        )
        .unwrap();
        let mut bench = Bench {
            scratch,
            path,
            interpreter: PathBuf::new(),
            cargo: std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
            tool: PathBuf::from(env!("CARGO_BIN_EXE_cargo-pyo3")),
            pythons: Default::default(),
            neutral,
        };
        let resolved = bench.capture(bench.command("python3", &bench.neutral).args([
            "-c",
            "import os, sys; print(os.path.realpath(sys.executable))",
        ]));
        bench.interpreter = PathBuf::from(resolved.trim());
        let first = bench.capture(
            bench
                .command(&bench.interpreter, &bench.neutral)
                .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]),
        );
        let first = first.trim().to_owned();
        let second = std::env::var(SECOND_PYTHON_VARIABLE)
            .unwrap_or_else(|_| if first == "3.12" { "3.11" } else { "3.12" }.to_owned());
        assert_ne!(
            first, second,
            "{SECOND_PYTHON_VARIABLE} names `python3`'s own version"
        );
        bench.pythons = [first, second];
        for variant in Variant::ALL {
            // `dev --python A,B` makes its own `.venv-3.X` beside the fixture.
            if matches!(variant, Variant::Floor | Variant::DevPythons)
                || variant.venv_owner() != variant
            {
                continue;
            }
            let venv = bench.venv(variant);
            let _ = std::fs::remove_dir_all(&venv);
            bench.capture(
                bench
                    .command("uv", &bench.neutral)
                    .args(["venv", "--quiet", "--python"])
                    .arg(&bench.interpreter)
                    .arg(&venv),
            );
        }
        bench
    }

    fn venv(&self, variant: Variant) -> PathBuf {
        self.scratch.join("venvs").join(variant.venv_owner().slug())
    }

    fn venv_python(&self, variant: Variant) -> PathBuf {
        self.venv(variant).join("bin/python")
    }

    /// One target dir per variant, shared by both fixtures (their packages differ). Sharing
    /// one between variants would let the first variant after an edit compile it for the
    /// others, and `maturin develop` (venv python) and `dev` (base python) configure pyo3
    /// differently, so each switch would recompile pyo3.
    fn target_dir(&self, variant: Variant) -> PathBuf {
        self.scratch.join("targets").join(variant.slug())
    }

    /// A command in the benchmark's environment: tools first on PATH, nothing inherited that
    /// would pick a venv, a target dir or an interpreter behind the variant's back.
    fn command(&self, program: impl Into<OsString>, dir: &Path) -> Command {
        let mut command = Command::new(program.into());
        command.current_dir(dir).stdin(Stdio::null());
        let bench_only = [
            "CARGO_TARGET_DIR",
            "PYO3_PYTHON",
            "PYO3_CONFIG_FILE",
            // cargo hands its jobserver to what it runs; our builds must not share it.
            "CARGO_MAKEFLAGS",
            "MAKEFLAGS",
            "MFLAGS",
        ];
        for variable in common::ISOLATED_VARIABLES.iter().chain(&bench_only) {
            command.env_remove(variable);
        }
        // What cargo sets for this bench process describes cargo-pyo3, not the fixtures.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if [
                "CARGO_PKG_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
                "CARGO_MANIFEST_",
            ]
            .iter()
            .any(|prefix| key.starts_with(prefix))
                || key == "CARGO_PRIMARY_PACKAGE"
                || key == "CARGO_TARGET_TMPDIR"
            {
                command.env_remove(&*key);
            }
        }
        command
            .env("PATH", &self.path)
            .env("NO_COLOR", "1")
            .env("CARGO_TERM_COLOR", "never")
            .env("UV_CACHE_DIR", self.scratch.join("uv-cache"))
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("UV_NO_PROGRESS", "1");
        command
    }

    /// Runs a setup command that must succeed; returns its stdout.
    fn capture(&self, command: &mut Command) -> String {
        let output = command
            .output()
            .unwrap_or_else(|error| panic!("could not run {command:?}: {error}"));
        assert!(
            output.status.success(),
            "{command:?} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Warm-up, then edits, reruns with nothing changed, and the two traps; every variant
    /// every round.
    fn run(&self, fixture: &Fixture) -> FixtureResult {
        eprintln!(
            "dev_loop: {} fixture ({}), {} iterations",
            fixture.name, fixture.description, fixture.iterations
        );
        write(&fixture.dir.join("tests/test_bench.py"), fixture.tests);
        let mut state = RoundState::default();
        let mut expected = Expected {
            generation: 1,
            flavoured: false,
        };
        fixture.set_generation(expected.generation);
        self.warm_up(fixture, expected, &mut state, true);
        let mut samples = Vec::new();
        for phase in Phase::ALL {
            if phase == Phase::Rustflags {
                // Untimed: an edit makes every variant fresh again after the old-mtime trap, and
                // a round with the flags set compiles the dependencies once for them (cargo keeps
                // one build per `RUSTFLAGS`, so the timed rounds recompile only the crate).
                expected.generation += 1;
                fixture.set_generation(expected.generation);
                for flavoured in [true, false] {
                    expected.flavoured = flavoured;
                    self.warm_up(fixture, expected, &mut state, false);
                }
            }
            for iteration in 1..=fixture.iterations {
                match phase {
                    Phase::Edit | Phase::Trap => {
                        expected.generation += 1;
                        fixture.set_generation(expected.generation);
                    }
                    Phase::NoChange => {}
                    Phase::Rustflags => expected.flavoured = !expected.flavoured,
                }
                if phase == Phase::Trap {
                    fixture.backdate();
                }
                for variant in Variant::ALL {
                    let mut sample =
                        self.run_variant(fixture, variant, phase, expected, &mut state);
                    sample.iteration = iteration;
                    eprintln!(
                        "  {:<9} {iteration}/{} {:<16} {}",
                        phase.slug(),
                        fixture.iterations,
                        variant.slug(),
                        sample.describe()
                    );
                    samples.push(sample);
                }
            }
        }
        FixtureResult {
            name: fixture.name,
            description: fixture.description.clone(),
            iterations: fixture.iterations,
            samples,
        }
    }

    /// One untimed round of every variant; `fatal`, a failure ends the benchmark.
    fn warm_up(&self, fixture: &Fixture, expected: Expected, state: &mut RoundState, fatal: bool) {
        for variant in Variant::ALL {
            let sample = self.run_variant(fixture, variant, Phase::Edit, expected, state);
            eprintln!(
                "  warm-up   {} {:<16} {}",
                expected.answer(),
                variant.slug(),
                sample.describe()
            );
            if let Some(failure) = sample.failure.as_ref().filter(|_| fatal) {
                panic!(
                    "warming up {} on the {} fixture failed; nothing can be measured:\n{failure}",
                    variant.label(),
                    fixture.name
                );
            }
        }
    }

    fn run_variant(
        &self,
        fixture: &Fixture,
        variant: Variant,
        phase: Phase,
        expected: Expected,
        state: &mut RoundState,
    ) -> Sample {
        let target_dir = self.target_dir(variant);
        let venv = self.venv(variant);
        let mut sample = Sample {
            variant,
            phase,
            iteration: 0,
            wall: Duration::ZERO,
            failure: None,
            timings: None,
            per_python: Vec::new(),
        };
        let with_flags = |mut command: Command| {
            if expected.flavoured {
                command.env("RUSTFLAGS", FLAVOUR_RUSTFLAGS);
            }
            command
        };
        let tool = |subcommand: &str| {
            let mut command = with_flags(self.command(&self.tool, &fixture.dir));
            command
                .args(["pyo3", subcommand, "--manifest-path"])
                .arg(fixture.manifest())
                .arg("--venv")
                .arg(&venv)
                .arg("--target-dir")
                .arg(&target_dir);
            command
        };
        match variant {
            Variant::Dev | Variant::DevCleanFull | Variant::Test => {
                let mut command = tool(if variant == Variant::Test {
                    "test"
                } else {
                    "dev"
                });
                command.arg("--json");
                match variant {
                    Variant::DevCleanFull => drop(command.args(["--clean", "full"])),
                    Variant::Test => drop(command.args(["--", "-q"])),
                    _ => {}
                }
                let (wall, outcome) = timed(&mut command);
                sample.wall = wall;
                match outcome {
                    Ok(stdout) => {
                        match serde_json::from_str::<serde_json::Value>(&stdout) {
                            // `test --json` wraps the receipt: `{"receipt": …, "pytest": …}`.
                            Ok(json) => {
                                let receipt = json.get("receipt").unwrap_or(&json);
                                sample.timings = Some(receipt["timings_ms"].clone());
                            }
                            Err(error) => {
                                sample.failure = Some(format!("no receipt on stdout: {error}"))
                            }
                        }
                        if sample.failure.is_none() {
                            sample.failure = self.check_import(fixture, variant, expected).err();
                        }
                    }
                    Err(failure) => sample.failure = Some(failure),
                }
            }
            Variant::DevPythons => {
                let mut command = with_flags(self.command(&self.tool, &fixture.dir));
                command
                    .args(["pyo3", "dev", "--manifest-path"])
                    .arg(fixture.manifest())
                    .arg("--target-dir")
                    .arg(&target_dir)
                    .args(["--python", &self.pythons.join(","), "--json"]);
                let (wall, outcome) = timed(&mut command);
                sample.wall = wall;
                match outcome.and_then(|stdout| {
                    serde_json::from_str::<serde_json::Value>(&stdout)
                        .map_err(|error| format!("no report on stdout: {error}"))
                }) {
                    Ok(report) => {
                        let rows = report["pythons"].as_array().cloned().unwrap_or_default();
                        // The first interpreter's receipt stands for the sample's steps.
                        sample.timings =
                            rows.first().map(|row| row["report"]["timings_ms"].clone());
                        sample.per_python = rows
                            .iter()
                            .filter_map(|row| row["report"]["timings_ms"]["total"].as_f64())
                            .collect();
                        if sample.per_python.len() != 2 {
                            sample.failure = Some(format!("not two proven interpreters: {report}"));
                        }
                        for python in &self.pythons {
                            if sample.failure.is_some() {
                                break;
                            }
                            let venv_python =
                                fixture.dir.join(format!(".venv-{python}/bin/python"));
                            let mut check = self.command(venv_python, &self.neutral);
                            check.args(["-I", "-c"]).arg(fixture.answer_code());
                            let (_, answered) = timed(&mut check);
                            sample.failure = answered
                                .and_then(|stdout| fixture.check_answer(&stdout, expected))
                                .err();
                        }
                    }
                    Err(failure) => sample.failure = Some(failure),
                }
            }
            Variant::Run | Variant::Python => {
                let mut command = if variant == Variant::Run {
                    let mut command = tool("run");
                    command.args(["--", "python"]);
                    command
                } else {
                    self.command(self.venv_python(variant), &fixture.dir)
                };
                command.arg("-c").arg(fixture.answer_code());
                let (wall, outcome) = timed(&mut command);
                sample.wall = wall;
                sample.failure = outcome
                    .and_then(|stdout| fixture.check_answer(&stdout, expected))
                    .err();
            }
            Variant::Pytest => {
                let mut command = self.command(self.venv_python(variant), &fixture.dir);
                command.args(["-m", "pytest", "-q"]);
                let (wall, outcome) = timed(&mut command);
                sample.wall = wall;
                sample.failure = outcome.err();
            }
            Variant::MaturinDevelop => {
                let mut command = with_flags(self.command("maturin", &fixture.dir));
                command
                    .args(["develop", "--manifest-path"])
                    .arg(fixture.manifest())
                    .arg("--target-dir")
                    .arg(&target_dir)
                    .env("VIRTUAL_ENV", &venv);
                // The import is part of this variant's loop: `dev` proves by importing too.
                let started = Instant::now();
                let (_, outcome) = timed(&mut command);
                let checked = outcome.and_then(|_| self.check_import(fixture, variant, expected));
                sample.wall = started.elapsed();
                sample.failure = checked.err();
            }
            Variant::Floor => {
                let library = target_dir.join("debug").join(&fixture.library_file);
                let before = library.is_file().then(|| common::sha256(&library));
                let mut command = with_flags(self.command(&self.cargo, &fixture.dir));
                command
                    .args(["build", "--lib", "--features", "pyo3/extension-module"])
                    .arg("--manifest-path")
                    .arg(fixture.manifest())
                    .arg("--target-dir")
                    .arg(&target_dir)
                    .env("PYO3_PYTHON", &self.interpreter);
                let (wall, outcome) = timed(&mut command);
                sample.wall = wall;
                sample.failure = outcome.err().or_else(|| {
                    let after = library.is_file().then(|| common::sha256(&library));
                    let changed = state.floor_built.as_ref() != Some(&expected);
                    match &after {
                        None => Some(format!("`{}` was not built", library.display())),
                        // What the build answers changed, so the binary must have; the very
                        // first build counts.
                        Some(_) if before == after && changed && state.floor_built.is_some() => {
                            Some(format!(
                                "stale: `{}` did not change after the edit",
                                library.display()
                            ))
                        }
                        _ => None,
                    }
                });
                if sample.failure.is_none() {
                    state.floor_built = Some(expected);
                }
            }
        }
        sample
    }

    /// The venv's python, isolated, from an empty directory, must answer what the source says.
    fn check_import(
        &self,
        fixture: &Fixture,
        variant: Variant,
        expected: Expected,
    ) -> Result<(), String> {
        let mut command = self.command(self.venv_python(variant), &self.neutral);
        command.args(["-I", "-c"]).arg(fixture.answer_code());
        let (_, outcome) = timed(&mut command);
        fixture.check_answer(&outcome?, expected)
    }
}

#[derive(Default)]
struct RoundState {
    /// What the floor's last good build answers.
    floor_built: Option<Expected>,
}

/// Runs a command to completion and times it; a failure carries its output.
fn timed(command: &mut Command) -> (Duration, Result<String, String>) {
    let started = Instant::now();
    let output = command.output();
    let wall = started.elapsed();
    let outcome = match output {
        Err(error) => Err(format!("could not run {command:?}: {error}")),
        Ok(output) if output.status.success() => {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        }
        Ok(output) => Err(format!(
            "{command:?} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
            output.status,
            tail(&String::from_utf8_lossy(&output.stdout)),
            tail(&String::from_utf8_lossy(&output.stderr))
        )),
    };
    (wall, outcome)
}

/// The last lines of a long output: where the error is.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// One run of one variant.
struct Sample {
    variant: Variant,
    phase: Phase,
    iteration: usize,
    wall: Duration,
    /// Why this run does not count: it failed or left a stale build loaded.
    failure: Option<String>,
    /// `timings_ms` of the receipt, for `dev` runs.
    timings: Option<serde_json::Value>,
    /// `dev --python A,B`: each interpreter's receipt `total`, in order.
    per_python: Vec<f64>,
}

impl Sample {
    fn describe(&self) -> String {
        match &self.failure {
            None => format!("{:>8.3} s", self.wall.as_secs_f64()),
            Some(failure) => format!(
                "{:>8.3} s FAILED: {}",
                self.wall.as_secs_f64(),
                failure.lines().next().unwrap_or_default()
            ),
        }
    }

    fn is_stale(&self) -> bool {
        self.failure
            .as_deref()
            .is_some_and(|failure| failure.starts_with("stale:"))
    }

    fn millis(&self) -> f64 {
        self.wall.as_secs_f64() * 1000.0
    }

    fn step(&self, step: &str) -> Option<f64> {
        self.timings.as_ref()?.get(step)?.as_f64()
    }

    /// Everything `dev` spends outside the clean and build subprocesses.
    fn tool_overhead(&self) -> Option<f64> {
        Some(self.step("total")? - self.step("clean")? - self.step("build")?)
    }

    /// Process start, argument parsing, receipt write and exit: the wall time the receipt's
    /// `total` cannot see.
    fn outside_total(&self) -> Option<f64> {
        Some(self.millis() - self.step("total")?)
    }
}

struct FixtureResult {
    name: &'static str,
    description: String,
    iterations: usize,
    samples: Vec<Sample>,
}

impl FixtureResult {
    fn good(&self, variant: Variant, phase: Phase) -> impl Iterator<Item = &Sample> {
        self.samples.iter().filter(move |sample| {
            sample.variant == variant && sample.phase == phase && sample.failure.is_none()
        })
    }

    fn failures(&self, variant: Variant, phase: Phase) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|sample| {
                sample.variant == variant && sample.phase == phase && sample.failure.is_some()
            })
            .collect()
    }

    fn wall(&self, variant: Variant, phase: Phase) -> Option<Summary> {
        Summary::of(self.good(variant, phase).map(Sample::millis).collect())
    }

    fn median_wall(&self, variant: Variant, phase: Phase) -> Option<f64> {
        self.wall(variant, phase).map(|summary| summary.median)
    }

    fn ratio(&self, variant: Variant, phase: Phase, base: Variant) -> Option<f64> {
        Some(self.median_wall(variant, phase)? / self.median_wall(base, phase)?)
    }

    /// Wall times of every run, stale or not: in the trap, what a variant costs whether or not
    /// it loads the edit.
    fn wall_all(&self, variant: Variant, phase: Phase) -> Option<Summary> {
        Summary::of(
            self.samples
                .iter()
                .filter(|sample| sample.variant == variant && sample.phase == phase)
                .map(Sample::millis)
                .collect(),
        )
    }

    /// Runs that finished but left the old build loaded.
    fn stale(&self, variant: Variant, phase: Phase) -> usize {
        self.failures(variant, phase)
            .iter()
            .filter(|sample| sample.is_stale())
            .count()
    }
}

/// Median and spread of some milliseconds.
#[derive(Debug, Clone, Copy)]
struct Summary {
    median: f64,
    min: f64,
    max: f64,
}

impl Summary {
    fn of(mut values: Vec<f64>) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let middle = values.len() / 2;
        let median = if values.len().is_multiple_of(2) {
            (values[middle - 1] + values[middle]) / 2.0
        } else {
            values[middle]
        };
        Some(Summary {
            median,
            min: values[0],
            max: values[values.len() - 1],
        })
    }

    /// `median (min–max)`, in seconds.
    fn cell(self) -> String {
        format!(
            "{} ({}–{})",
            seconds(self.median),
            seconds(self.min),
            seconds(self.max)
        )
    }
}

/// The machine and tools the numbers come from.
struct Machine {
    date: String,
    cpu: String,
    cores: usize,
    memory: String,
    load_before: String,
    versions: Vec<(String, String)>,
    /// Median wall time of `cargo --version` from PATH: what typing `cargo pyo3 dev` adds to
    /// the binary the benchmark runs directly (rustup's proxy and cargo's own start).
    cargo_start_ms: Option<f64>,
}

impl Machine {
    fn describe(bench: &Bench) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, name)| name.trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kib| format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0))
            .unwrap_or_else(|| "unknown".into());
        let version = |program: &OsString, argument: &str| {
            bench
                .command(program, &bench.neutral)
                .arg(argument)
                .output()
                .ok()
                .map(|output| {
                    let text = String::from_utf8_lossy(&output.stdout).into_owned()
                        + &String::from_utf8_lossy(&output.stderr);
                    text.lines().next().unwrap_or_default().trim().to_owned()
                })
                .unwrap_or_else(|| "not found".into())
        };
        let revision = bench
            .command("git", Path::new(env!("CARGO_MANIFEST_DIR")))
            .args(["rev-parse", "--short", "HEAD"])
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let versions = vec![
            (
                "cargo-pyo3".into(),
                format!(
                    "{} (release build, commit {revision})",
                    env!("CARGO_PKG_VERSION")
                ),
            ),
            ("rustc".into(), version(&"rustc".into(), "--version")),
            ("maturin".into(), version(&"maturin".into(), "--version")),
            ("uv".into(), version(&"uv".into(), "--version")),
            (
                "python".into(),
                format!(
                    "{} (`{}`)",
                    version(&bench.interpreter.clone().into_os_string(), "--version"),
                    bench.interpreter.display()
                ),
            ),
        ];
        Machine {
            date: utc_now(),
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |count| count.get()),
            memory,
            load_before: read_load_average(),
            cargo_start_ms: Summary::of(
                (0..5)
                    .filter_map(|_| {
                        let mut command = bench.command("cargo", &bench.neutral);
                        command.arg("--version");
                        let (wall, outcome) = timed(&mut command);
                        outcome.ok().map(|_| wall.as_secs_f64() * 1000.0)
                    })
                    .collect(),
            )
            .map(|summary| summary.median),
            versions,
        }
    }
}

/// The 1, 5 and 15 minute load averages: other work on the machine, which moves absolute times.
fn read_load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".into())
}

/// `YYYY-MM-DD HH:MM UTC`, from the system clock.
fn utc_now() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs()) as i64;
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (the proleptic Gregorian calendar, in 400-year eras).
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        of_day / 3600,
        of_day % 3600 / 60
    )
}

fn seconds(milliseconds: f64) -> String {
    format!("{:.2} s", milliseconds / 1000.0)
}

fn ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |value| format!("{value:.2}×"))
}

fn render_report(machine: &Machine, load_after: &str, results: &[FixtureResult]) -> String {
    let mut out = String::new();
    writeln!(out, "## dev_loop: {}\n", machine.date).unwrap();
    writeln!(
        out,
        "Machine: {}, {} cores, {}; load average (1/5/15 min) {} before, {load_after} after.",
        machine.cpu, machine.cores, machine.memory, machine.load_before
    )
    .unwrap();
    let versions: Vec<String> = machine
        .versions
        .iter()
        .map(|(name, version)| format!("{name}: {version}"))
        .collect();
    writeln!(out, "Tools: {}.\n", versions.join("; ")).unwrap();
    if let Some(cargo_start) = machine.cargo_start_ms {
        writeln!(
            out,
            "The benchmark runs the `cargo-pyo3` binary directly; typed as `cargo pyo3 dev` it also \
             pays cargo's own start, here {cargo_start:.0} ms (median `cargo --version`).\n"
        )
        .unwrap();
    }
    for result in results {
        render_fixture(&mut out, result);
    }
    render_targets(&mut out, results);
    out
}

fn render_fixture(out: &mut String, result: &FixtureResult) {
    writeln!(
        out,
        "### {} fixture: {}\n\n{} edits, then {} reruns with nothing changed; wall time, \
         median (min–max) of the runs that proved the edit loaded.\n",
        result.name, result.description, result.iterations, result.iterations
    )
    .unwrap();
    writeln!(
        out,
        "| variant | edit → loaded | × maturin develop | × floor | no change | × maturin develop | failed or stale |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|---|---|---|").unwrap();
    for variant in Variant::DEV {
        let cell = |phase| match result.wall(variant, phase) {
            Some(summary) => format!(
                "{} ({}–{})",
                seconds(summary.median),
                seconds(summary.min),
                seconds(summary.max)
            ),
            None => "–".into(),
        };
        let failed = result.failures(variant, Phase::Edit).len()
            + result.failures(variant, Phase::NoChange).len();
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {failed} of {} |",
            variant.label(),
            cell(Phase::Edit),
            ratio(result.ratio(variant, Phase::Edit, Variant::MaturinDevelop)),
            ratio(result.ratio(variant, Phase::Edit, Variant::Floor)),
            cell(Phase::NoChange),
            ratio(result.ratio(variant, Phase::NoChange, Variant::MaturinDevelop)),
            2 * result.iterations
        )
        .unwrap();
    }
    writeln!(out).unwrap();
    render_pairs(out, result);
    render_pythons(out, result);
    render_trap(
        out,
        result,
        Phase::Trap,
        &format!(
            "The old-mtime trap: {} edits, each with the source's mtime then set an hour back",
            result.iterations
        ),
    );
    render_trap(
        out,
        result,
        Phase::Rustflags,
        &format!(
            "The `RUSTFLAGS` trap: no source edit; `RUSTFLAGS=\"{FLAVOUR_RUSTFLAGS}\"` set and \
             unset in turn {} times, which selects the other body of `flavour()`",
            result.iterations
        ),
    );
    for variant in Variant::ALL {
        for phase in Phase::ALL {
            for sample in result.failures(variant, phase) {
                if phase.is_trap() && sample.is_stale() {
                    continue;
                }
                writeln!(
                    out,
                    "- {} failed ({} {}): {}",
                    variant.label(),
                    phase.slug(),
                    sample.iteration,
                    sample
                        .failure
                        .as_deref()
                        .unwrap_or_default()
                        .lines()
                        .next()
                        .unwrap_or_default()
                )
                .unwrap();
            }
        }
    }

    writeln!(
        out,
        "Where `cargo pyo3 dev`'s time goes (median ms per step, from the receipts' `timings_ms`):\n"
    )
    .unwrap();
    let columns = [
        (Variant::Dev, Phase::Edit),
        (Variant::DevCleanFull, Phase::Edit),
        (Variant::Dev, Phase::NoChange),
        (Variant::Dev, Phase::Rustflags),
        (Variant::Test, Phase::Edit),
        (Variant::Test, Phase::NoChange),
    ];
    writeln!(
        out,
        "| step | dev, edit | dev --clean full, edit | dev, no change | dev, `RUSTFLAGS` | test, edit | test, no change |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|---|---|---|").unwrap();
    let row = |out: &mut String, name: &str, value: &dyn Fn(&Sample) -> Option<f64>| {
        let cells: Vec<String> = columns
            .iter()
            .map(|(variant, phase)| {
                let values = result.good(*variant, *phase).filter_map(value).collect();
                Summary::of(values)
                    .map_or_else(|| "–".into(), |summary| format!("{:.0}", summary.median))
            })
            .collect();
        writeln!(out, "| {name} | {} |", cells.join(" | ")).unwrap();
    };
    for step in STEPS {
        row(out, step, &|sample| sample.step(step));
    }
    row(out, "**total** (receipt)", &|sample| sample.step("total"));
    row(
        out,
        "**tool overhead** (total − clean − build)",
        &Sample::tool_overhead,
    );
    row(
        out,
        "process start and exit (wall − total)",
        &Sample::outside_total,
    );
    writeln!(out).unwrap();
}

/// Each wrapped command beside the bare one it wraps, run right after it in the same venv.
fn render_pairs(out: &mut String, result: &FixtureResult) {
    writeln!(
        out,
        "`test` and `run` beside the bare command they wrap, run right after them in the same venv \
         (so the bare one loads the build just proven); wall time, median (min–max). The bare \
         command builds nothing: after an edit its ratio is the whole price of the build and the \
         proof.\n"
    )
    .unwrap();
    writeln!(
        out,
        "| command | edit → loaded | × bare | no change | × bare | failed or stale |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|---|---|").unwrap();
    for (wrapped, bare) in Variant::PAIRS {
        for variant in [wrapped, bare] {
            let cell = |phase| {
                result
                    .wall(variant, phase)
                    .map_or_else(|| "–".into(), |summary| summary.cell())
            };
            let versus = |phase| {
                if variant == bare {
                    "1.00×".to_owned()
                } else {
                    ratio(result.ratio(variant, phase, bare))
                }
            };
            let failed = result.failures(variant, Phase::Edit).len()
                + result.failures(variant, Phase::NoChange).len();
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {failed} of {} |",
                variant.label(),
                cell(Phase::Edit),
                versus(Phase::Edit),
                cell(Phase::NoChange),
                versus(Phase::NoChange),
                2 * result.iterations
            )
            .unwrap();
        }
    }
    writeln!(out).unwrap();
}

/// The cost of a second interpreter (issue 24): `dev --python A,B` beside `dev` with one, and
/// the second interpreter's receipt total as a ratio to the first's, from the same runs.
fn render_pythons(out: &mut String, result: &FixtureResult) {
    writeln!(
        out,
        "A second interpreter: `cargo pyo3 dev --python A,B`, each interpreter in its own venv and \
         target dir, beside `cargo pyo3 dev` with one; the receipts' `total` of each interpreter \
         in the same runs, median ms, and the second's as a ratio to the first's.\n"
    )
    .unwrap();
    writeln!(
        out,
        "| phase | `dev` (one) | `dev --python A,B` | × one | first (total) | second (total) | second ÷ first | failed or stale |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|---|---|---|---|").unwrap();
    for phase in [Phase::Edit, Phase::NoChange] {
        let cell = |variant| {
            result
                .wall(variant, phase)
                .map_or_else(|| "–".into(), |summary| summary.cell())
        };
        let total = |index: usize| {
            Summary::of(
                result
                    .good(Variant::DevPythons, phase)
                    .filter_map(|sample| sample.per_python.get(index).copied())
                    .collect(),
            )
            .map(|summary| summary.median)
        };
        let (first, second) = (total(0), total(1));
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} of {} |",
            phase.slug(),
            cell(Variant::Dev),
            cell(Variant::DevPythons),
            ratio(result.ratio(Variant::DevPythons, phase, Variant::Dev)),
            first.map_or_else(|| "–".into(), |value| format!("{value:.0}")),
            second.map_or_else(|| "–".into(), |value| format!("{value:.0}")),
            ratio(first.zip(second).map(|(first, second)| second / first)),
            result.failures(Variant::DevPythons, phase).len(),
            result.iterations
        )
        .unwrap();
    }
    writeln!(out).unwrap();
}

/// Per building variant: how many runs of a trap loaded what the source and flags say.
fn render_trap(out: &mut String, result: &FixtureResult, phase: Phase, title: &str) {
    writeln!(
        out,
        "{title}; wall time of every run, median (min–max), whether or not it loaded the change.\n"
    )
    .unwrap();
    writeln!(
        out,
        "| variant | loads the change | stale | wall | × maturin develop |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|---|").unwrap();
    let base = result
        .wall_all(Variant::MaturinDevelop, phase)
        .map(|summary| summary.median);
    for variant in Variant::ALL
        .into_iter()
        .filter(|variant| !variant.is_bare())
    {
        let runs = result
            .samples
            .iter()
            .filter(|sample| sample.variant == variant && sample.phase == phase)
            .count();
        let loaded = result.good(variant, phase).count();
        let wall = result.wall_all(variant, phase);
        writeln!(
            out,
            "| {} | {loaded} of {runs} | {} of {runs} | {} | {} |",
            variant.label(),
            result.stale(variant, phase),
            wall.map_or_else(|| "–".into(), |summary| summary.cell()),
            ratio(wall.zip(base).map(|(wall, base)| wall.median / base)),
        )
        .unwrap();
    }
    writeln!(out).unwrap();
}

fn render_targets(out: &mut String, results: &[FixtureResult]) {
    writeln!(out, "### Targets (issue 21)\n").unwrap();
    let verdict = |met: Option<bool>| match met {
        Some(true) => "**met**",
        Some(false) => "**missed**",
        None => "not measured",
    };
    for result in results {
        for (phase, what, limit) in [
            (Phase::NoChange, "with nothing changed", 0.25),
            (Phase::Edit, "after an edit", 0.80),
        ] {
            let value = result.ratio(Variant::Dev, phase, Variant::MaturinDevelop);
            writeln!(
                out,
                "- `dev` {what} ≤ {limit:.2} × `maturin develop` + import ({}): {} → {}",
                result.name,
                ratio(value),
                verdict(value.map(|value| value <= limit))
            )
            .unwrap();
        }
    }
    if let Some(small) = results.iter().find(|result| result.name == "small") {
        let value = small.ratio(Variant::Test, Phase::NoChange, Variant::Pytest);
        writeln!(
            out,
            "- `test` with nothing changed ≤ 1.30 × bare pytest (small): {} → {}",
            ratio(value),
            verdict(value.map(|value| value <= 1.30))
        )
        .unwrap();
        let overhead = Summary::of(
            small
                .good(Variant::Dev, Phase::Edit)
                .filter_map(Sample::tool_overhead)
                .collect(),
        )
        .map(|summary| summary.median);
        writeln!(
            out,
            "- tool overhead (total − clean − build) ≤ 80 ms (small, `dev` edit runs): {} ms → {}",
            overhead.map_or_else(|| "–".into(), |value| format!("{value:.0}")),
            verdict(overhead.map(|value| value <= 80.0))
        )
        .unwrap();
    }
    for result in results {
        for phase in [Phase::Trap, Phase::Rustflags] {
            let variants = [Variant::Dev, Variant::Test, Variant::Run];
            let stale: usize = variants.iter().map(|v| result.stale(*v, phase)).sum();
            let failed: usize = variants
                .iter()
                .map(|v| result.failures(*v, phase).len())
                .sum();
            writeln!(
                out,
                "- 0 stale runs of `dev`, `test` and `run` in the {} trap ({}): {stale} stale, {} \
                 failed otherwise, of {} → {}",
                phase.slug(),
                result.name,
                failed - stale,
                variants.len() * result.iterations,
                verdict(Some(failed == 0))
            )
            .unwrap();
        }
    }
    writeln!(out).unwrap();
}

/// Every sample, for whoever wants to look beyond medians.
fn samples_json(results: &[FixtureResult]) -> serde_json::Value {
    serde_json::Value::Array(
        results
            .iter()
            .flat_map(|result| {
                result.samples.iter().map(move |sample| {
                    serde_json::json!({
                        "fixture": result.name,
                        "phase": sample.phase.slug(),
                        "iteration": sample.iteration,
                        "variant": sample.variant.slug(),
                        "wall_ms": sample.millis(),
                        "failure": sample.failure,
                        "timings_ms": sample.timings,
                        "per_python_total_ms": sample.per_python,
                    })
                })
            })
            .collect(),
    )
}
