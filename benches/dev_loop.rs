//! `cargo bench --bench dev_loop`: the edit → proven-import loop, side by side (issue 7).
//!
//! Two fixtures: a copy of `examples/hello`, and a generated crate of 40 classes × 10 methods.
//! Each iteration makes a real one-line edit to the Rust source (a constant Python can read
//! back), then runs every variant in turn, interleaved, so that the load other processes put on
//! the machine falls on all of them alike:
//!
//! 1. `cargo pyo3 dev` (the release build of this crate, as `cargo bench` builds it),
//! 2. `cargo pyo3 dev --clean full` (`cargo clean -p`, the default before issue 13),
//! 3. `cargo pyo3 dev --no-clean`,
//! 4. `maturin develop` into the same kind of venv, followed by the same import,
//! 5. the floor: `cargo build` of the crate alone, nothing installed.
//!
//! After every run the edit must be visible: the venv's python imports the module and reads the
//! constant back (the floor must have rewritten its `.so`). A run that leaves the old build in
//! place is reported as a failure, never as a time. The same is then done with nothing edited,
//! and last with the old-mtime trap: an edit whose mtime is set an hour back, which cargo's
//! mtime check does not see (last, because the variants that miss it stay stale).
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
/// Comma-separated subset of `small,large`.
const FIXTURES_VARIABLE: &str = "CARGO_PYO3_BENCH_FIXTURES";
const DEFAULT_SMALL_ITERATIONS: usize = 7;
const DEFAULT_LARGE_ITERATIONS: usize = 3;

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
    DevNoClean,
    MaturinDevelop,
    Floor,
}

impl Variant {
    const ALL: [Variant; 5] = [
        Variant::Dev,
        Variant::DevCleanFull,
        Variant::DevNoClean,
        Variant::MaturinDevelop,
        Variant::Floor,
    ];

    fn label(self) -> &'static str {
        match self {
            Variant::Dev => "`cargo pyo3 dev`",
            Variant::DevCleanFull => "`cargo pyo3 dev --clean full`",
            Variant::DevNoClean => "`cargo pyo3 dev --no-clean`",
            Variant::MaturinDevelop => "`maturin develop` + import",
            Variant::Floor => "floor: `cargo build`",
        }
    }

    /// Names its target dir and venv.
    fn slug(self) -> &'static str {
        match self {
            Variant::Dev => "dev",
            Variant::DevCleanFull => "dev-clean-full",
            Variant::DevNoClean => "dev-no-clean",
            Variant::MaturinDevelop => "maturin-develop",
            Variant::Floor => "floor",
        }
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
}

impl Phase {
    fn slug(self) -> &'static str {
        match self {
            Phase::Edit => "edit",
            Phase::NoChange => "no-change",
            Phase::Trap => "old-mtime",
        }
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
        let template = text.replacen(
            HELLO_EDITED_LINE,
            &format!("#[pyo3(signature = (start = {GENERATION_PLACEHOLDER}))]"),
            1,
        );
        Fixture {
            name: "small",
            description: "a copy of `examples/hello` (1 class, 1 function)".into(),
            dir,
            source,
            template,
            module: "hello".into(),
            generation_expression: "hello.Counter().value".into(),
            library_file: "libhello.so".into(),
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
             {registrations}\
             \x20   Ok(())\n\
             }}\n"
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
            iterations,
        }
    }

    fn manifest(&self) -> PathBuf {
        self.dir.join("Cargo.toml")
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
            neutral,
        };
        let resolved = bench.capture(bench.command("python3", &bench.neutral).args([
            "-c",
            "import os, sys; print(os.path.realpath(sys.executable))",
        ]));
        bench.interpreter = PathBuf::from(resolved.trim());
        for variant in Variant::ALL {
            if variant == Variant::Floor {
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
        self.scratch.join("venvs").join(variant.slug())
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

    /// Warm-up, then edits, then reruns with nothing changed; every variant every round.
    fn run(&self, fixture: &Fixture) -> FixtureResult {
        eprintln!(
            "dev_loop: {} fixture ({}), {} iterations",
            fixture.name, fixture.description, fixture.iterations
        );
        let mut state = RoundState::default();
        let mut generation = 1;
        fixture.set_generation(generation);
        for variant in Variant::ALL {
            let sample = self.run_variant(fixture, variant, Phase::Edit, generation, &mut state);
            eprintln!("  warm-up {:<16} {}", variant.slug(), sample.describe());
            if let Some(failure) = &sample.failure {
                panic!(
                    "warming up {} on the {} fixture failed; nothing can be measured:\n{failure}",
                    variant.label(),
                    fixture.name
                );
            }
        }
        let mut samples = Vec::new();
        for phase in [Phase::Edit, Phase::NoChange, Phase::Trap] {
            for iteration in 1..=fixture.iterations {
                if phase != Phase::NoChange {
                    generation += 1;
                    fixture.set_generation(generation);
                }
                if phase == Phase::Trap {
                    fixture.backdate();
                }
                for variant in Variant::ALL {
                    let mut sample =
                        self.run_variant(fixture, variant, phase, generation, &mut state);
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

    fn run_variant(
        &self,
        fixture: &Fixture,
        variant: Variant,
        phase: Phase,
        generation: u64,
        state: &mut RoundState,
    ) -> Sample {
        let target_dir = self.target_dir(variant);
        let mut sample = Sample {
            variant,
            phase,
            iteration: 0,
            wall: Duration::ZERO,
            failure: None,
            timings: None,
        };
        match variant {
            Variant::Dev | Variant::DevCleanFull | Variant::DevNoClean => {
                let mut command = self.command(&self.tool, &fixture.dir);
                command
                    .args(["pyo3", "dev", "--json", "--manifest-path"])
                    .arg(fixture.manifest())
                    .arg("--venv")
                    .arg(self.venv(variant))
                    .arg("--target-dir")
                    .arg(&target_dir);
                match variant {
                    Variant::DevNoClean => drop(command.arg("--no-clean")),
                    Variant::DevCleanFull => drop(command.args(["--clean", "full"])),
                    _ => {}
                }
                let (wall, outcome) = timed(&mut command);
                sample.wall = wall;
                match outcome {
                    Ok(stdout) => {
                        match serde_json::from_str::<serde_json::Value>(&stdout) {
                            Ok(receipt) => sample.timings = Some(receipt["timings_ms"].clone()),
                            Err(error) => {
                                sample.failure = Some(format!("no receipt on stdout: {error}"))
                            }
                        }
                        if sample.failure.is_none() {
                            sample.failure = self.check_import(fixture, variant, generation).err();
                        }
                    }
                    Err(failure) => sample.failure = Some(failure),
                }
            }
            Variant::MaturinDevelop => {
                let mut command = self.command("maturin", &fixture.dir);
                command
                    .args(["develop", "--manifest-path"])
                    .arg(fixture.manifest())
                    .arg("--target-dir")
                    .arg(&target_dir)
                    .env("VIRTUAL_ENV", self.venv(variant));
                // The import is part of this variant's loop: `dev` proves by importing too.
                let started = Instant::now();
                let (_, outcome) = timed(&mut command);
                let checked = outcome.and_then(|_| self.check_import(fixture, variant, generation));
                sample.wall = started.elapsed();
                sample.failure = checked.err();
            }
            Variant::Floor => {
                let library = target_dir.join("debug").join(&fixture.library_file);
                let before = library.is_file().then(|| common::sha256(&library));
                let mut command = self.command(&self.cargo, &fixture.dir);
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
                    match (phase, &after) {
                        (_, None) => Some(format!("`{}` was not built", library.display())),
                        // The edit must have reached the binary; the very first build counts.
                        (Phase::Edit | Phase::Trap, Some(_))
                            if before == after && state.floor_built =>
                        {
                            Some(format!(
                                "stale: `{}` did not change after the edit",
                                library.display()
                            ))
                        }
                        _ => None,
                    }
                });
                state.floor_built = true;
            }
        }
        sample
    }

    /// The venv's python, isolated, from an empty directory, must read back `generation`.
    fn check_import(
        &self,
        fixture: &Fixture,
        variant: Variant,
        generation: u64,
    ) -> Result<(), String> {
        let code = format!(
            "import {}; print({})",
            fixture.module, fixture.generation_expression
        );
        let mut command = self.command(self.venv_python(variant), &self.neutral);
        command.args(["-I", "-c", &code]);
        let (_, outcome) = timed(&mut command);
        let stdout = outcome?;
        match stdout.trim().parse::<u64>() {
            Ok(seen) if seen == generation => Ok(()),
            Ok(seen) => Err(format!(
                "stale: python loaded generation {seen}, the source says {generation}"
            )),
            Err(_) => Err(format!("unexpected output from `{code}`: {stdout:?}")),
        }
    }
}

#[derive(Default)]
struct RoundState {
    floor_built: bool,
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
    for variant in Variant::ALL {
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
    writeln!(
        out,
        "The old-mtime trap: {} edits, each with the source's mtime then set an hour back; wall \
         time of every run, median (min–max), whether or not it loaded the edit.\n",
        result.iterations
    )
    .unwrap();
    writeln!(
        out,
        "| variant | loads the edit | stale | wall | × maturin develop |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|---|").unwrap();
    let trap_base = result
        .wall_all(Variant::MaturinDevelop, Phase::Trap)
        .map(|summary| summary.median);
    for variant in Variant::ALL {
        let runs = result
            .samples
            .iter()
            .filter(|sample| sample.variant == variant && sample.phase == Phase::Trap)
            .count();
        let loaded = result.good(variant, Phase::Trap).count();
        let wall = result.wall_all(variant, Phase::Trap);
        writeln!(
            out,
            "| {} | {loaded} of {runs} | {} of {runs} | {} | {} |",
            variant.label(),
            result.stale(variant, Phase::Trap),
            wall.map_or_else(
                || "–".into(),
                |summary| format!(
                    "{} ({}–{})",
                    seconds(summary.median),
                    seconds(summary.min),
                    seconds(summary.max)
                )
            ),
            ratio(wall.zip(trap_base).map(|(wall, base)| wall.median / base)),
        )
        .unwrap();
    }
    writeln!(out).unwrap();
    for variant in Variant::ALL {
        for phase in [Phase::Edit, Phase::NoChange, Phase::Trap] {
            for sample in result.failures(variant, phase) {
                if phase == Phase::Trap && sample.is_stale() {
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
        (Variant::DevNoClean, Phase::Edit),
        (Variant::Dev, Phase::NoChange),
        (Variant::DevNoClean, Phase::NoChange),
    ];
    writeln!(
        out,
        "| step | dev, edit | dev --clean full, edit | dev --no-clean, edit | dev, no change | dev --no-clean, no change |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|---|---|").unwrap();
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

fn render_targets(out: &mut String, results: &[FixtureResult]) {
    writeln!(out, "### Targets (issue 13)\n").unwrap();
    let verdict = |met: Option<bool>| match met {
        Some(true) => "**met**",
        Some(false) => "**missed**",
        None => "not measured",
    };
    for result in results {
        for (phase, what) in [
            (Phase::Edit, "after an edit"),
            (Phase::NoChange, "with nothing changed"),
        ] {
            let value = result.ratio(Variant::Dev, phase, Variant::MaturinDevelop);
            writeln!(
                out,
                "- `dev` {what} ≤ 0.85 × `maturin develop` + import ({}): {} → {}",
                result.name,
                ratio(value),
                verdict(value.map(|value| value <= 0.85))
            )
            .unwrap();
        }
        let stale = result.stale(Variant::Dev, Phase::Trap);
        let failed = result.failures(Variant::Dev, Phase::Trap).len();
        writeln!(
            out,
            "- 0 stale runs of `dev` in the old-mtime trap ({}): {stale} stale, {} failed otherwise, of {} → {}",
            result.name,
            failed - stale,
            result.iterations,
            verdict(Some(failed == 0))
        )
        .unwrap();
    }
    if let Some(small) = results.iter().find(|result| result.name == "small") {
        let overhead = Summary::of(
            small
                .good(Variant::Dev, Phase::Edit)
                .filter_map(Sample::tool_overhead)
                .collect(),
        )
        .map(|summary| summary.median);
        writeln!(
            out,
            "- tool overhead (total − clean − build) ≤ 100 ms (small, `dev` edit runs): {} ms → {}",
            overhead.map_or_else(|| "–".into(), |value| format!("{value:.0}")),
            verdict(overhead.map(|value| value <= 100.0))
        )
        .unwrap();
    }
    for result in results {
        if let (Some(package), Some(full)) = (
            result.median_wall(Variant::Dev, Phase::Edit),
            result.median_wall(Variant::DevCleanFull, Phase::Edit),
        ) {
            writeln!(
                out,
                "- the clean on the {} fixture, after an edit: `dev` (package) {} vs `dev --clean full` {} ({})",
                result.name,
                seconds(package),
                seconds(full),
                ratio(Some(package / full))
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
                    })
                })
            })
            .collect(),
    )
}
