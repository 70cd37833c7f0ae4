//! The integration-test harness: real cargo, maturin, python and uv on copies of the fixtures.
//!
//! - maturin and uv come from PATH, or are installed (pinned, from PyPI) into a tools venv under
//!   `target/tmp` the first time any test needs them. If that fails the test fails: nothing is
//!   ever skipped because a tool is missing.
//! - every fixture copy shares one cargo target dir and one uv cache, so pyo3 compiles once.
//! - commands that build take a file lock: fixture copies share `lib<name>.so` paths in the
//!   shared target dir, and nextest runs tests as parallel processes. Commands that must run
//!   side by side are started with `spawn()`, which leaves the lock to the test.
//! - the environment is isolated: no inherited venv, no colour, uv never downloads a python.
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod faults;
pub mod snapshot;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const MATURIN_PIN: &str = "maturin==1.16.0";
pub const UV_PIN: &str = "uv==0.13.8";

/// `target/tmp`: cargo's scratch space for integration tests, kept between runs.
pub fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

pub fn fixture_target_dir() -> PathBuf {
    scratch().join("fixture-target")
}

pub fn uv_cache_dir() -> PathBuf {
    scratch().join("uv-cache")
}

/// Where the tools live: `all` has maturin and uv, `maturin_only` has maturin and no uv,
/// `uv_only` has uv and no maturin.
pub struct Tools {
    pub all: PathBuf,
    pub maturin_only: PathBuf,
    pub uv_only: PathBuf,
}

/// Finds or provisions maturin and uv once per test process (and once per machine: a file lock
/// keeps parallel test processes from installing at the same time).
pub fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let root = scratch().join("tools");
        std::fs::create_dir_all(&root).unwrap();
        let _lock = lock_file(&root.join("provision.lock"));
        let all = root.join("bin");
        let maturin_only = root.join("maturin-only");
        let uv_only = root.join("uv-only");
        if !all.join("maturin").is_file() || !all.join("uv").is_file() {
            std::fs::create_dir_all(&all).unwrap();
            for (tool, pin) in [("maturin", MATURIN_PIN), ("uv", UV_PIN)] {
                let found = which_outside(tool, &[&all, &maturin_only, &uv_only])
                    .unwrap_or_else(|| provision(&root, tool, pin));
                link(&found, &all.join(tool));
            }
        }
        for (dir, tool) in [(&maturin_only, "maturin"), (&uv_only, "uv")] {
            if !dir.join(tool).is_file() {
                std::fs::create_dir_all(dir).unwrap();
                link(&all.join(tool), &dir.join(tool));
            }
        }
        Tools {
            all,
            maturin_only,
            uv_only,
        }
    })
}

fn link(from: &Path, to: &Path) {
    let _ = std::fs::remove_file(to);
    std::os::unix::fs::symlink(std::fs::canonicalize(from).unwrap(), to).unwrap();
}

/// `tool` on the user's PATH, ignoring our own tool dirs.
fn which_outside(tool: &str, ours: &[&Path]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !ours.contains(&dir.as_path()))
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

/// Installs a pinned tool from PyPI into the tools venv. Panics with everything it saw.
fn provision(root: &Path, tool: &str, pin: &str) -> PathBuf {
    let venv = root.join("venv");
    if !venv.join("bin/python").exists() {
        run_ok(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    }
    run_ok(Command::new(venv.join("bin/python")).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        pin,
    ]));
    let installed = venv.join("bin").join(tool);
    assert!(
        installed.is_file(),
        "installing {pin} did not produce {}",
        installed.display()
    );
    installed
}

/// A wheel from PyPI for another platform, downloaded once into `target/tmp/pypi-wheels/` and
/// kept there: `pip download --no-deps --only-binary=:all: --platform <tag> --python-version
/// <version> <pin>`, as the tools are provisioned. A failed download fails the test (on CI and
/// off it): nothing is skipped. Returns the one `.whl` in the cache directory.
pub fn pypi_wheel(pin: &str, platform: &str, python_version: &str) -> PathBuf {
    let dir = scratch()
        .join("pypi-wheels")
        .join(format!("{pin}-{platform}-{python_version}"));
    std::fs::create_dir_all(&dir).unwrap();
    let _lock = lock_file(&dir.join("download.lock"));
    let find = || {
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| path.extension().is_some_and(|extension| extension == "whl"))
    };
    if let Some(wheel) = find() {
        return wheel;
    }
    let mut command = Command::new("python3");
    command
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-deps", "--only-binary=:all:", "--platform", platform])
        .args(["--python-version", python_version, "--dest"])
        .arg(&dir)
        .arg(pin);
    for variable in ISOLATED_VARIABLES {
        command.env_remove(variable);
    }
    run_ok(&mut command);
    find().unwrap_or_else(|| panic!("`{command:?}` downloaded no wheel into {}", dir.display()))
}

pub fn run_ok(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An exclusive lock on a file, released when dropped.
pub fn lock_file(path: &Path) -> File {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap();
    file.lock().unwrap();
    file
}

/// Serializes everything that builds into the shared target dir.
pub fn build_lock() -> File {
    std::fs::create_dir_all(scratch()).unwrap();
    lock_file(&scratch().join("build.lock"))
}

/// A copy of a fixture in a fresh temporary directory.
pub struct TestProject {
    _temp: tempfile::TempDir,
    pub root: PathBuf,
}

impl TestProject {
    pub fn from_fixture(name: &str) -> TestProject {
        Self::from_fixture_at(name, name)
    }

    /// Copies `tests/fixtures/<fixture>` to `<tempdir>/<dir_name>` (dir_name may hold spaces).
    pub fn from_fixture_at(fixture: &str, dir_name: &str) -> TestProject {
        let temp = tempfile::Builder::new()
            .prefix("cargo-pyo3-test-")
            .tempdir()
            .unwrap();
        let root = temp.path().join(dir_name);
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(fixture);
        copy_dir(&source, &root);
        TestProject { _temp: temp, root }
    }

    /// A project made at test time by the pinned `maturin new --bindings pyo3` (with `--mixed`
    /// when `mixed`), unmodified: what a user who follows maturin's guide starts from. It is given
    /// no `Cargo.lock`, no `uv.lock` and no `[tool.uv]`, exactly as maturin writes it.
    pub fn maturin_new(name: &str, mixed: bool) -> TestProject {
        let mut args = vec!["--bindings", "pyo3"];
        if mixed {
            args.push("--mixed");
        }
        Self::maturin_new_with(name, &args)
    }

    /// `maturin new <args> <name>`, unmodified (for example `--bindings bin`).
    pub fn maturin_new_with(name: &str, args: &[&str]) -> TestProject {
        let temp = tempfile::Builder::new()
            .prefix("cargo-pyo3-test-")
            .tempdir()
            .unwrap();
        let mut command = Command::new(tools().all.join("maturin"));
        command
            .arg("new")
            .args(args)
            .arg(name)
            .current_dir(temp.path());
        for variable in ISOLATED_VARIABLES {
            command.env_remove(variable);
        }
        run_ok(&mut command);
        let root = temp.path().join(name);
        assert!(
            root.join("Cargo.toml").is_file() && root.join("pyproject.toml").is_file(),
            "`maturin new {name}` made no project in {}",
            root.display()
        );
        TestProject { _temp: temp, root }
    }

    /// A project at a path inside another test's temporary directory (kept alive by that one).
    pub fn from_existing(root: PathBuf) -> TestProject {
        let placeholder = tempfile::tempdir().unwrap();
        TestProject {
            _temp: placeholder,
            root,
        }
    }

    /// An empty project directory, for tests that write their own files.
    pub fn empty(dir_name: &str) -> TestProject {
        let temp = tempfile::Builder::new()
            .prefix("cargo-pyo3-test-")
            .tempdir()
            .unwrap();
        let root = temp.path().join(dir_name);
        std::fs::create_dir_all(&root).unwrap();
        TestProject { _temp: temp, root }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap()
    }

    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// Appends `text` to a file, on a line of its own (a table added to `pyproject.toml`, say).
    pub fn append(&self, relative: &str, text: &str) {
        let current = self.read(relative);
        self.write(relative, &format!("{current}\n{text}"));
    }

    /// Replaces `from` with `to` in a file, asserting it was there.
    pub fn edit(&self, relative: &str, from: &str, to: &str) {
        let text = self.read(relative);
        assert!(text.contains(from), "`{from}` not in {relative}");
        self.write(relative, &text.replacen(from, to, 1));
    }

    /// Adds `#[pyfunction] fn fresh() -> i64 { 7 }` to the `pure` fixture and registers it: a real
    /// Rust edit whose result Python can see.
    pub fn add_fresh_function(&self) {
        self.edit(
            "src/lib.rs",
            "#[pymodule]",
            "#[pyfunction]\nfn fresh() -> i64 {\n    7\n}\n\n#[pymodule]",
        );
        self.edit(
            "src/lib.rs",
            "    Ok(())",
            "    m.add_function(wrap_pyfunction!(fresh, m)?)?;\n    Ok(())",
        );
    }

    /// `cargo pyo3 <args>` in this project.
    pub fn cargo_pyo3(&self) -> TestCommand {
        cargo_pyo3(&self.root)
    }

    pub fn venv_python(&self) -> PathBuf {
        self.path(".venv/bin/python")
    }

    /// Runs python code with the venv's python, isolated, from a neutral directory.
    pub fn python(&self, code: &str) -> Run {
        let neutral = tempfile::tempdir().unwrap();
        TestCommand::new(self.venv_python(), neutral.path())
            .args(["-I", "-c", code])
            .run()
    }

    /// The receipt `dev` wrote, parsed.
    pub fn receipt(&self) -> serde_json::Value {
        self.find_receipt()
            .unwrap_or_else(|| panic!("no receipt for {}", self.root.display()))
    }

    /// Where `dev` writes this project's receipt: `<target>/cargo-pyo3/<package>-<first 8 hex
    /// digits of sha256(manifest path)>/receipt.json` (docs/receipt.md).
    pub fn receipt_path(&self, package: &str) -> PathBuf {
        use sha2::Digest;
        let manifest = std::fs::canonicalize(self.path("Cargo.toml")).unwrap();
        let digest = sha2::Sha256::digest(manifest.as_os_str().as_encoded_bytes());
        let short: String = digest[..4]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        fixture_target_dir()
            .join("cargo-pyo3")
            .join(format!("{package}-{short}"))
            .join("receipt.json")
    }

    /// The receipt `dev` wrote, if it ever wrote one.
    pub fn find_receipt(&self) -> Option<serde_json::Value> {
        let state = fixture_target_dir().join("cargo-pyo3");
        let manifest = ["Cargo.toml", "rust/Cargo.toml"]
            .iter()
            .find_map(|manifest| std::fs::canonicalize(self.path(manifest)).ok())
            .unwrap();
        for entry in std::fs::read_dir(&state).ok()? {
            let receipt = entry.unwrap().path().join("receipt.json");
            // Another test may be damaging its own receipt on purpose (doctor.rs, B6).
            let value = std::fs::read_to_string(&receipt)
                .ok()
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
            if let Some(value) = value
                && value["manifest_path"] == manifest.to_str().unwrap()
            {
                return Some(value);
            }
        }
        None
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" && entry.file_name() != ".venv" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The `cargo-pyo3` binary under test, run as cargo runs it.
pub fn cargo_pyo3(dir: &Path) -> TestCommand {
    TestCommand::new(env!("CARGO_BIN_EXE_cargo-pyo3"), dir).arg("pyo3")
}

/// Variables that would pick a venv, interpreter, target dir or repository behind a test's back.
pub const ISOLATED_VARIABLES: &[&str] = &[
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYTHONPATH",
    "PYTHONHOME",
    "UV_PROJECT_ENVIRONMENT",
    "UV_NO_SYNC",
    "CARGO_BUILD_TARGET_DIR",
    "GIT_DIR",
    "GIT_WORK_TREE",
];

/// The check named `name` in a `doctor --json` report.
pub fn doctor_check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report:#}"))
}

/// A command with the test environment: isolated, tools on PATH, shared caches.
pub struct TestCommand {
    command: Command,
    uv: bool,
    maturin: bool,
    path_first: Vec<PathBuf>,
    exact_path: Option<PathBuf>,
}

impl TestCommand {
    pub fn new(program: impl Into<OsString>, dir: &Path) -> TestCommand {
        let mut command = Command::new(program.into());
        command.current_dir(dir).stdin(std::process::Stdio::null());
        for variable in ISOLATED_VARIABLES {
            command.env_remove(variable);
        }
        command
            .env("NO_COLOR", "1")
            .env("COLUMNS", "80")
            .env("CARGO_TERM_COLOR", "never")
            .env("CARGO_TARGET_DIR", fixture_target_dir())
            // The fixtures' debug builds without debuginfo: an extension of 1 MB instead of
            // 8 MB, in the shared target dir, every kept wheel and uv's cache alike. What the
            // suite checks never reads debuginfo, and the whole run fits a small disk.
            .env("CARGO_PROFILE_DEV_DEBUG", "0")
            .env("UV_CACHE_DIR", uv_cache_dir())
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("UV_NO_PROGRESS", "1")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
        TestCommand {
            command,
            uv: true,
            maturin: true,
            path_first: Vec::new(),
            exact_path: None,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.command.env_remove(key);
        self
    }

    /// Starts it as the leader of its own process group, as a shell starts a job: a signal sent
    /// to that group (`kill -INT -- -PID`) is what a terminal's Ctrl-C delivers.
    pub fn own_process_group(mut self) -> Self {
        use std::os::unix::process::CommandExt;
        self.command.process_group(0);
        self
    }

    /// Feeds the file at `path` to its stdin (instead of nothing).
    pub fn stdin_file(mut self, path: &Path) -> Self {
        self.command.stdin(File::open(path).unwrap());
        self
    }

    /// PATH without any uv: maturin only, so the pip code paths run.
    pub fn without_uv(mut self) -> Self {
        self.uv = false;
        self
    }

    /// PATH without any maturin: uv only (or nothing, with [`Self::without_uv`]).
    pub fn without_maturin(mut self) -> Self {
        self.maturin = false;
        self
    }

    /// Puts `dir` first on PATH, before the tools: how a fault executable replaces a real one.
    pub fn path_first(mut self, dir: &Path) -> Self {
        self.path_first.push(dir.to_owned());
        self
    }

    /// PATH is exactly `dir` (no tools): for tests of what happens when a tool is missing or
    /// replaced by a fault-injecting fake.
    pub fn path_exactly(mut self, dir: &Path) -> Self {
        self.exact_path = Some(dir.to_path_buf());
        self
    }

    /// Sets PATH from the tool choices and returns the command as a printable line.
    fn prepare(&mut self) -> String {
        let path = match &self.exact_path {
            Some(dir) => dir.clone().into_os_string(),
            None => {
                let tools = tools();
                let ours = match (self.maturin, self.uv) {
                    (true, true) => Some(&tools.all),
                    (true, false) => Some(&tools.maturin_only),
                    (false, true) => Some(&tools.uv_only),
                    (false, false) => None,
                };
                let inherited = std::env::var_os("PATH").unwrap_or_default();
                let rest = std::env::split_paths(&inherited).filter(|dir| {
                    (self.uv || !dir.join("uv").is_file())
                        && (self.maturin || !dir.join("maturin").is_file())
                });
                let first = self.path_first.iter().chain(ours).cloned();
                std::env::join_paths(first.chain(rest)).unwrap()
            }
        };
        self.command.env("PATH", path);
        format!("{:?}", self.command)
    }

    /// Starts it without waiting and without the build lock: for tests that run commands
    /// side by side (they take [`build_lock`] themselves, once around the group).
    pub fn spawn(mut self) -> Spawned {
        let command = self.prepare();
        let mut child = self
            .command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("could not start {command}: {error}"));
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Spawned {
            command,
            child,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    /// Runs it to completion and returns what it did (never panics on a non-zero exit).
    pub fn run(self) -> Run {
        let _lock = build_lock();
        self.run_unlocked()
    }

    /// [`Self::run`] for a test that holds [`build_lock`] itself (around a spawned command):
    /// taking it again would wait for ever.
    pub fn run_unlocked(mut self) -> Run {
        let command = self.prepare();
        let output = self
            .command
            .output()
            .unwrap_or_else(|error| panic!("could not run {command}: {error}"));
        Run {
            command,
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Everything a pipe delivers, collected by a thread as it arrives.
type Collected = (
    std::sync::Arc<std::sync::Mutex<String>>,
    std::thread::JoinHandle<()>,
);

fn collect(mut pipe: impl std::io::Read + Send + 'static) -> Collected {
    let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = std::sync::Arc::clone(&text);
    let reader = std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(read) = pipe.read(&mut buffer) {
            if read == 0 {
                break;
            }
            let chunk = String::from_utf8_lossy(&buffer[..read]);
            sink.lock().unwrap().push_str(&chunk);
        }
    });
    (text, reader)
}

/// The `Watch` lines of a running `--watch`'s stderr: one per cycle.
pub fn cycles(watch: &Spawned) -> Vec<String> {
    watch
        .stderr_so_far()
        .lines()
        .filter(|line| line.trim_start().starts_with("Watch "))
        .map(str::to_owned)
        .collect()
}

/// A command started with [`TestCommand::spawn`]. Dropped while still running (a test failed
/// half-way), it is killed, so a failing test leaves no process behind.
pub struct Spawned {
    command: String,
    child: std::process::Child,
    stdout: Option<Collected>,
    stderr: Option<Collected>,
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn has_ended(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    /// What it has printed on stderr so far.
    pub fn stderr_so_far(&self) -> String {
        self.stderr.as_ref().unwrap().0.lock().unwrap().clone()
    }

    /// Waits until its stderr contains `needle`; panics with everything it printed after
    /// `timeout`, or when it ends first.
    #[track_caller]
    pub fn wait_for_stderr(&mut self, needle: &str, timeout: std::time::Duration) {
        let deadline = std::time::Instant::now() + timeout;
        while !self.stderr_so_far().contains(needle) {
            let ended = self.child.try_wait().unwrap().is_some();
            if ended || std::time::Instant::now() > deadline {
                let how = if ended { "ended" } else { "timed out" };
                panic!(
                    "{how} before stderr showed {needle:?}\n{}\n{}",
                    self.command,
                    self.stderr_so_far()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Waits for it to end (at most `timeout`, then panics; the drop kills it).
    pub fn wait(mut self, timeout: std::time::Duration) -> Run {
        let deadline = std::time::Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "still running after {timeout:?}: {}\n{}",
                    self.command,
                    self.stderr_so_far()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let (stdout, stdout_reader) = self.stdout.take().unwrap();
        let (stderr, stderr_reader) = self.stderr.take().unwrap();
        // The pipes close when every process holding them has ended, grandchildren included.
        while !(stdout_reader.is_finished() && stderr_reader.is_finished()) {
            if std::time::Instant::now() > deadline {
                panic!(
                    "a child of {} still holds its output open after {timeout:?}\n{}",
                    self.command,
                    stderr.lock().unwrap()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Run {
            command: std::mem::take(&mut self.command),
            code: status.code(),
            stdout: std::mem::take(&mut *stdout.lock().unwrap()),
            stderr: std::mem::take(&mut *stderr.lock().unwrap()),
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a command did. Its `Debug` shows everything, so a failed assertion explains itself.
pub struct Run {
    pub command: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "{self:?}");
        self
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{self:?}"
        );
        self
    }

    /// Exit code 2, the rule in the `error:` line, and `hint` in the `hint:` line.
    #[track_caller]
    pub fn assert_refused(&self, rule: &str, hint: &str) {
        assert_eq!(self.code, Some(2), "{self:?}");
        let error = self.stderr.lines().find(|line| line.starts_with("error: "));
        assert!(
            error.is_some_and(|line| line.contains(rule)),
            "expected {rule:?} in the error\n{self:?}"
        );
        let hint_line = self.stderr.lines().find(|line| line.starts_with("hint: "));
        assert!(
            hint_line.is_some_and(|line| line.contains(hint)),
            "expected {hint:?} in the hint\n{self:?}"
        );
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| panic!("{error}\n{self:?}"))
    }
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.command)?;
        writeln!(f, "exit code: {:?}", self.code)?;
        writeln!(f, "----- stdout -----\n{}", self.stdout)?;
        write!(f, "----- stderr -----\n{}", self.stderr)
    }
}

/// sha256 of a file, hex.
pub fn sha256(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).unwrap();
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Every entry under `dir` (relative path → `dir`, `-> target` or the file's sha256), for
/// "nothing changed" assertions: equal snapshots mean byte-for-byte equal trees.
pub fn snapshot_tree(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
    // An unreadable directory must fail the test: an empty snapshot would make every
    // "nothing changed" comparison pass.
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot snapshot `{}`: {error}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap();
        let path = entry.path();
        let kind = entry.file_type().unwrap();
        let relative = path.strip_prefix(root).unwrap().display().to_string();
        if kind.is_dir() {
            files.insert(relative, "dir".into());
            walk(root, &path, files);
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            files.insert(relative, format!("-> {}", target.display()));
        } else {
            files.insert(relative, sha256(&path));
        }
    }
}

/// One process as /proc shows it.
pub struct ProcessInfo {
    pub pid: u32,
    pub parent: u32,
    pub state: char,
    /// Clock ticks after boot: with the pid, it tells a process from a later one that reuses
    /// the pid.
    pub start: u64,
    pub name: String,
}

pub fn process_info(pid: u32) -> Option<ProcessInfo> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (name) state ppid …`: the name may hold spaces and parentheses, so split at the last
    // `)`.
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcessInfo {
        pid,
        parent: fields.get(1)?.parse().ok()?,
        state: fields.first()?.chars().next()?,
        start: fields.get(19)?.parse().ok()?,
        name,
    })
}

/// Every process below `root`.
pub fn descendants(root: u32) -> Vec<ProcessInfo> {
    let all: Vec<ProcessInfo> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter_map(process_info)
        .collect();
    let mut found: Vec<ProcessInfo> = Vec::new();
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        for process in all.iter().filter(|process| process.parent == parent) {
            parents.push(process.pid);
            found.push(ProcessInfo {
                name: process.name.clone(),
                ..*process
            });
        }
    }
    found
}

/// Alive and not a zombie (a zombie has ended; only its exit status is left to collect).
pub fn still_running(process: &ProcessInfo) -> bool {
    process_info(process.pid).is_some_and(|now| now.start == process.start && now.state != 'Z')
}

#[track_caller]
pub fn wait_until(what: &str, timeout: std::time::Duration, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A build script that holds the build: it marks that it has started, then waits until the
/// test opens the gate. A signal, or a second `dev`, then lands while cargo is really building.
/// The gate also opens when its directory goes, at the end of the test: a test that fails
/// half-way never leaves a build waiting in the shared target dir.
pub struct Gate {
    started: PathBuf,
    open: PathBuf,
    _dir: tempfile::TempDir,
}

impl Gate {
    pub fn install(project: &TestProject) -> Gate {
        let gate = Gate::install_build_script(project);
        // A build script is a build input: a uv-safe project lists it in uv's cache keys, or the
        // uv guard refuses the build.
        project.edit(
            "pyproject.toml",
            "{ file = \"Cargo.toml\" }",
            "{ file = \"Cargo.toml\" }, { file = \"build.rs\" }",
        );
        gate
    }

    /// Writes only the build script: for a project whose uv cache keys list it already (a gate
    /// installed before).
    pub fn install_build_script(project: &TestProject) -> Gate {
        let dir = tempfile::tempdir().unwrap();
        let started = dir.path().join("started");
        let open = dir.path().join("open");
        project.write(
            "build.rs",
            &format!(
                r#"// Written by the integration tests: holds the build until the test opens the gate.
fn main() {{
    println!("cargo:rerun-if-changed=build.rs");
    std::fs::write({started:?}, "").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !std::path::Path::new({open:?}).exists() && std::path::Path::new({dir:?}).exists() {{
        assert!(std::time::Instant::now() < deadline, "the test never opened the gate");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }}
}}
"#,
                started = started.to_str().unwrap(),
                open = open.to_str().unwrap(),
                dir = dir.path().to_str().unwrap()
            ),
        );
        Gate {
            started,
            open,
            _dir: dir,
        }
    }

    pub fn has_started(&self) -> bool {
        self.started.exists()
    }

    pub fn open(&self) {
        std::fs::write(&self.open, "").unwrap();
    }
}
