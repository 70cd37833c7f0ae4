//! `--watch` (docs/watch.md) with real file events: saves rebuild and reach the venv's python, a
//! burst during a build gives one rebuild, a failure keeps or restores the last proven build
//! (editable too), a refusal keeps it, the tool's own
//! directories never start a cycle, a running interpreter survives a reinstall, and Ctrl-C ends
//! it at once with nothing left behind.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{
    self, Gate, Spawned, TestProject, cycles, descendants, still_running, wait_until,
};

#[track_caller]
fn wait_for_cycle(watch: &mut Spawned, count: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some(line) = cycles(watch).get(count - 1) {
            return line.clone();
        }
        assert!(
            !watch.has_ended() && Instant::now() < deadline,
            "no cycle {count}\n{}",
            watch.stderr_so_far()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many times cargo started compiling the fixture's crate: a build is under way once it
/// grows.
fn compilations(watch: &Spawned) -> usize {
    watch.stderr_so_far().matches("Compiling purefix").count()
}

fn set_answer(project: &TestProject, value: i64) {
    set_answer_text(project, &value.to_string());
}

/// Replaces the body of `answer()`.
fn set_answer_text(project: &TestProject, body: &str) {
    let source = project.read("src/lib.rs");
    let start = source.find("fn answer() -> i64 {\n").unwrap() + "fn answer() -> i64 {\n".len();
    let end = start + source[start..].find('\n').unwrap();
    let mut edited = source.clone();
    edited.replace_range(start..end, &format!("    {body}"));
    project.write("src/lib.rs", &edited);
}

#[track_caller]
fn assert_answer(project: &TestProject, value: i64) {
    let neutral = tempfile::tempdir().unwrap();
    let code = format!("import purefix; assert purefix.answer() == {value}, purefix.answer()");
    common::TestCommand::new(project.venv_python(), neutral.path())
        .args(["-I", "-c", &code])
        .run_unlocked()
        .assert_code(0);
}

/// An interpreter that imported the build installed now and keeps it mapped until it is asked,
/// with a line on stdin, to call into it again.
struct Holder {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl Holder {
    fn start(project: &TestProject) -> Holder {
        let mut child = Command::new(project.venv_python())
            .args([
                "-I",
                "-c",
                "import sys, purefix\n\
                 print(purefix.__file__, purefix.answer(), flush=True)\n\
                 sys.stdin.readline()\n\
                 print(purefix.answer(), purefix.Counter().increment(), flush=True)\n",
            ])
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        assert!(!first.is_empty(), "the holder did not import the module");
        Holder { child, stdout }
    }

    /// Calls into the old module again; it must answer as it did, and exit cleanly.
    fn call_again(mut self, expected: i64) {
        self.child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the holder crashed: {status:?}");
        assert_eq!(line.trim(), format!("{expected} 1"));
    }
}

fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().ino()
}

fn loaded_path(project: &TestProject) -> std::path::PathBuf {
    let receipt = project.receipt();
    receipt["extensions"][0]["loaded_path"]
        .as_str()
        .unwrap()
        .into()
}

/// One watch session on the `pure` fixture: two saves in a row, a live interpreter across the
/// reinstall, writes under `target/` and `.venv/`, a compile error and its fix, a burst of ten
/// saves during a build, and Ctrl-C in the middle of a build.
#[test]
fn a_watch_rebuilds_on_every_save_and_survives_failures() {
    let project = TestProject::from_fixture("pure");
    let tmp = tempfile::Builder::new()
        .prefix("cargo-pyo3-test-tmpdir-")
        .tempdir()
        .unwrap();
    let _build = common::build_lock();
    let mut watch = project
        .cargo_pyo3()
        .args(["dev", "--watch"])
        .env("TMPDIR", tmp.path())
        .spawn();
    let first = wait_for_cycle(&mut watch, 1);
    assert!(first.contains("first build: proven `"), "{first}");
    watch.wait_for_stderr("Watching", Duration::from_secs(30));
    assert_answer(&project, 42);

    // Two saves in a row, each live in the venv; an interpreter holding the first build keeps
    // working across the reinstall, which put a new file (a new inode) in place.
    let holder = Holder::start(&project);
    let old_inode = inode(&loaded_path(&project));
    set_answer(&project, 43);
    let second = wait_for_cycle(&mut watch, 2);
    assert!(second.contains("`src/lib.rs`: proven `"), "{second}");
    assert_answer(&project, 43);
    assert_ne!(inode(&loaded_path(&project)), old_inode);
    holder.call_again(42);
    set_answer(&project, 44);
    assert!(wait_for_cycle(&mut watch, 3).contains("proven"));
    assert_answer(&project, 44);

    // The tool's own directories and the venv start nothing.
    let site = loaded_path(&project);
    std::fs::write(site.parent().unwrap().join("stray.py"), "").unwrap();
    project.write("target/debug/stray.rs", "fn main() {}\n");
    project.write(".venv/stray.rs", "fn main() {}\n");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(cycles(&watch).len(), 3, "{}", watch.stderr_so_far());

    // A compile error: reported, the watch goes on, the last proven build stays with its receipt.
    let receipt = project.receipt();
    set_answer_text(&project, "nope");
    let failed = wait_for_cycle(&mut watch, 4);
    assert!(
        failed.contains("`src/lib.rs`: failed (exit 2)")
            && failed.contains("stays installed and proven"),
        "{failed}"
    );
    assert!(!watch.has_ended());
    assert_eq!(project.receipt(), receipt);
    assert_answer(&project, 44);
    set_answer(&project, 45);
    assert!(wait_for_cycle(&mut watch, 5).contains("proven"));
    assert_answer(&project, 45);

    // Ten saves while a build runs (held by a build script until the test lets it go): one
    // rebuild after it, with the last of them.
    let gate = Gate::install(&project);
    wait_until(
        "the build script holds the build",
        Duration::from_secs(120),
        || gate.has_started(),
    );
    for value in 50..60 {
        set_answer(&project, value);
        std::thread::sleep(Duration::from_millis(30));
    }
    // Long enough for the debouncer to deliver every one of them while the build is held.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(cycles(&watch).len(), 5, "{}", watch.stderr_so_far());
    gate.open();
    wait_for_cycle(&mut watch, 7);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(cycles(&watch).len(), 7, "{}", watch.stderr_so_far());
    assert_answer(&project, 59);

    // Ctrl-C in the middle of a build: it stops at once, exit 2, nothing left.
    let receipt = project.receipt();
    let gate = Gate::install_build_script(&project);
    wait_until(
        "the build script holds the build",
        Duration::from_secs(120),
        || gate.has_started(),
    );
    let children = descendants(watch.pid());
    let names: Vec<&str> = children.iter().map(|child| child.name.as_str()).collect();
    assert!(
        names.contains(&"cargo"),
        "cargo should be building: {names:?}"
    );
    let signalled = Instant::now();
    let signal = Command::new("kill")
        .args(["-INT", &watch.pid().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    let run = watch.wait(Duration::from_secs(10));
    let stopped = signalled.elapsed();
    eprintln!("Ctrl-C to exit: {stopped:?}");
    run.assert_code(2)
        .assert_stderr_contains("interrupted while running `")
        .assert_stderr_contains("nothing was installed");
    assert!(
        stopped < Duration::from_secs(2),
        "took {stopped:?}\n{run:?}"
    );
    wait_until("every child has ended", Duration::from_secs(5), || {
        !children.iter().any(still_running)
    });
    let left = || -> Vec<std::ffi::OsString> {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect()
    };
    let waited = Instant::now();
    while !left().is_empty() && waited.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("TMPDIR empty {:?} after the exit", waited.elapsed());
    assert!(left().is_empty(), "left in TMPDIR: {:?}", left());
    assert_eq!(project.receipt(), receipt);
    assert_answer(&project, 59);
}

/// The sha256 the receipt says the proven extension has.
fn proven_sha256(project: &TestProject) -> String {
    project.receipt()["extensions"][0]["wheel_sha256"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A failed proof puts the last proven build back and proves it again, the receipt untouched;
/// the fix gives a proven build; then a refusal by the uv guard keeps the watch going with the
/// proven build installed.
#[test]
fn a_failed_proof_restores_the_proven_build_and_a_refusal_keeps_it() {
    let project = TestProject::from_fixture("pure");
    let receipt_path = project.receipt_path("purefix");
    let _build = common::build_lock();
    let mut watch = project.cargo_pyo3().args(["dev", "--watch"]).spawn();
    assert!(wait_for_cycle(&mut watch, 1).contains("first build: proven `"));
    watch.wait_for_stderr("Watching", Duration::from_secs(30));
    assert_answer(&project, 42);
    let proven = proven_sha256(&project);
    let receipt = std::fs::read(&receipt_path).unwrap();

    // A `#[pymodule]` of another name builds, installs, and fails the proof: Python finds no
    // `PyInit_purefix` in it.
    project.edit("src/lib.rs", "fn purefix(", "fn renamed(");
    let failed = wait_for_cycle(&mut watch, 2);
    assert!(
        failed.contains("`src/lib.rs`: proof failed in ")
            && failed.contains(&format!("; restored the proven build `{}`", &proven[..12])),
        "{failed}\n{}",
        watch.stderr_so_far()
    );
    let stderr = watch.stderr_so_far();
    assert!(
        stderr.contains("error: proof failed for `purefix.purefix`"),
        "{stderr}"
    );
    assert!(stderr.contains("Restoring the proven build `"), "{stderr}");
    assert!(!watch.has_ended());
    assert_answer(&project, 42);
    assert_eq!(std::fs::read(&receipt_path).unwrap(), receipt);

    // The fix, with a new answer, in one save: proven, and the receipt names the new build.
    let source = project.read("src/lib.rs");
    project.write(
        "src/lib.rs",
        &source
            .replace("fn renamed(", "fn purefix(")
            .replace("    42\n", "    43\n"),
    );
    let fixed = wait_for_cycle(&mut watch, 3);
    assert!(fixed.contains("`src/lib.rs`: proven `"), "{fixed}");
    assert_answer(&project, 43);
    let proven = proven_sha256(&project);
    let receipt = std::fs::read(&receipt_path).unwrap();

    // uv manages the project once there is a `uv.lock` (not a build input: no cycle), and the
    // keys are uv's defaults: the guard refuses before anything is built.
    project.write("uv.lock", "version = 1\n");
    let pyproject = project.read("pyproject.toml");
    let keys = pyproject
        .lines()
        .find(|line| line.starts_with("cache-keys = "))
        .unwrap();
    project.edit("pyproject.toml", keys, "");
    let refused = wait_for_cycle(&mut watch, 4);
    assert!(
        refused.contains("`pyproject.toml`: refused by the uv guard in ")
            && refused.contains(&format!("; `{}` stays installed and proven", &proven[..12])),
        "{refused}\n{}",
        watch.stderr_so_far()
    );
    assert!(!watch.has_ended());
    assert_eq!(compilations(&watch), 3, "{}", watch.stderr_so_far());
    assert_answer(&project, 43);
    assert_eq!(std::fs::read(&receipt_path).unwrap(), receipt);
    watch.wait_for_stderr("Watching", Duration::from_secs(30));
}

/// A file the crate reads with `include_str!`, outside every source directory: once the first
/// build has read it (cargo's dep-info names it, the receipt records it), a save to it is a
/// cycle, and the venv loads what it says.
#[test]
fn a_file_the_build_reads_with_include_str_is_watched() {
    let project = TestProject::from_fixture("pure");
    project.write("data/answer.txt", "61\n");
    set_answer_text(
        &project,
        "include_str!(\"../data/answer.txt\").trim().parse().unwrap()",
    );
    let _build = common::build_lock();
    let mut watch = project.cargo_pyo3().args(["dev", "--watch"]).spawn();
    assert!(wait_for_cycle(&mut watch, 1).contains("first build: proven `"));
    watch.wait_for_stderr("Watching", Duration::from_secs(30));
    assert_answer(&project, 61);

    project.write("data/answer.txt", "62\n");
    let saved = wait_for_cycle(&mut watch, 2);
    assert!(
        saved.contains("`data/answer.txt`: proven `"),
        "{saved}\n{}",
        watch.stderr_so_far()
    );
    assert_answer(&project, 62);

    // Ctrl-C while it waits for a save: it ends at once, the proven build untouched.
    wait_until("the watch waits again", Duration::from_secs(30), || {
        watch.stderr_so_far().matches("Watching ").count() == 2
    });
    let signalled = Instant::now();
    let signal = Command::new("kill")
        .args(["-INT", &watch.pid().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    let run = watch.wait(Duration::from_secs(10));
    assert!(signalled.elapsed() < Duration::from_secs(2), "{run:?}");
    // The watch's normal end: the shell's code for Ctrl-C and one line, not an error.
    run.assert_code(130)
        .assert_stderr_contains("Stopped watching after 2 runs (2 proven) at ");
    let proven = &proven_sha256(&project)[..12];
    run.assert_stderr_contains(&format!("; `{proven}` is installed and proven\n"));
    assert!(!run.stderr.contains("error"), "{run:?}");
    assert_answer(&project, 62);
}

/// An installer killed half-way through a cycle's install: the error is reported, the
/// receipt's build is installed again and proven, and the watch goes on.
#[test]
fn a_killed_install_restores_the_proven_build() {
    let project = TestProject::from_fixture("pure");
    let receipt_path = project.receipt_path("purefix");
    let _build = common::build_lock();
    // A first `dev` says where the extension is installed, which the fault overwrites.
    project
        .cargo_pyo3()
        .arg("dev")
        .run_unlocked()
        .assert_code(0);
    let installed = loaded_path(&project);
    let faults = tempfile::tempdir().unwrap();
    let dir =
        common::faults::fault_executable(faults.path(), "fault-uv-killed-mid-install", Some("uv"));
    let armed = faults.path().join("armed");
    let mut watch = project
        .cargo_pyo3()
        .args(["dev", "--watch"])
        .path_first(&dir)
        .env(common::faults::REAL_UV, common::tools().all.join("uv"))
        .env(common::faults::INSTALLED, &installed)
        .env(common::faults::ARMED, &armed)
        .spawn();
    assert!(wait_for_cycle(&mut watch, 1).contains("first build: proven `"));
    watch.wait_for_stderr("Watching", Duration::from_secs(30));
    let proven = proven_sha256(&project);
    let receipt = std::fs::read(&receipt_path).unwrap();

    std::fs::write(&armed, "").unwrap();
    set_answer(&project, 43);
    let failed = wait_for_cycle(&mut watch, 2);
    assert!(
        failed.contains("`src/lib.rs`: failed (exit 2) in ")
            && failed.contains(&format!("; restored the proven build `{}`", &proven[..12])),
        "{failed}\n{}",
        watch.stderr_so_far()
    );
    assert!(!armed.exists(), "the fault did not strike");
    let stderr = watch.stderr_so_far();
    assert!(
        stderr.contains("failed to install the wheel") && stderr.contains("SIGKILL"),
        "{stderr}"
    );
    assert_eq!(common::sha256(&installed), proven);
    assert_answer(&project, 42);
    assert_eq!(std::fs::read(&receipt_path).unwrap(), receipt);

    set_answer(&project, 44);
    assert!(wait_for_cycle(&mut watch, 3).contains("`src/lib.rs`: proven `"));
    assert_answer(&project, 44);

    // The proven build's kept wheel is gone: the restore fails, and says so with its hint; the
    // watch goes on, and the next save gives a proven build.
    let kept = project.receipt()["wheel"]["path"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::remove_file(&kept).unwrap();
    std::fs::write(&armed, "").unwrap();
    set_answer(&project, 45);
    let unrestored = wait_for_cycle(&mut watch, 4);
    assert!(
        unrestored.contains("`src/lib.rs`: failed (exit 2) in ")
            && unrestored.contains(
                "; the proven build could not be restored (the error above), so the venv's \
                 install is not proven: run `cargo pyo3 dev`"
            ),
        "{unrestored}\n{}",
        watch.stderr_so_far()
    );
    let stderr = watch.stderr_so_far();
    assert!(
        stderr.contains("error: failed to restore the proven build `")
            && stderr.contains(&kept)
            && stderr.contains("install; run `cargo pyo3 dev` to build, install and prove"),
        "{stderr}"
    );
    assert!(!watch.has_ended());
    set_answer(&project, 46);
    assert!(wait_for_cycle(&mut watch, 5).contains("`src/lib.rs`: proven `"));
    assert_answer(&project, 46);
}

/// An editable mixed project: a failed proof puts the proven extension back beside the Python
/// sources, where the venv's `.pth` makes Python load it.
#[test]
fn a_failed_proof_of_an_editable_install_puts_the_proven_extension_back() {
    let project = TestProject::from_fixture("mixed");
    let receipt_path = project.receipt_path("mixedfix");
    let _build = common::build_lock();
    let mut watch = project.cargo_pyo3().args(["dev", "--watch"]).spawn();
    assert!(wait_for_cycle(&mut watch, 1).contains("first build: proven `"));
    watch.wait_for_stderr("Watching", Duration::from_secs(30));
    let receipt = std::fs::read(&receipt_path).unwrap();
    let proven = proven_sha256(&project);
    let placed = project.receipt()["editable"]["placed"][0]
        .as_str()
        .unwrap()
        .to_owned();

    project.edit("src/lib.rs", "mod _core {", "mod _other {");
    let failed = wait_for_cycle(&mut watch, 2);
    assert!(
        failed.contains("`src/lib.rs`: proof failed in ")
            && failed.contains(&format!("; restored the proven build `{}`", &proven[..12])),
        "{failed}\n{}",
        watch.stderr_so_far()
    );
    assert_eq!(common::sha256(Path::new(&placed)), proven);
    assert_eq!(std::fs::read(&receipt_path).unwrap(), receipt);
    assert_double(&project, 4);

    let source = project.read("src/lib.rs");
    project.write(
        "src/lib.rs",
        &source
            .replace("mod _other {", "mod _core {")
            .replace("x * 2", "x * 3"),
    );
    let fixed = wait_for_cycle(&mut watch, 3);
    assert!(fixed.contains("`src/lib.rs`: proven `"), "{fixed}");
    assert_double(&project, 6);
}

/// `mixedfix.double(2)` from a neutral directory, where the editable install's `.pth` finds it.
#[track_caller]
fn assert_double(project: &TestProject, value: i64) {
    let neutral = tempfile::tempdir().unwrap();
    let code = format!("import mixedfix; assert mixedfix.double(2) == {value}, mixedfix.double(2)");
    common::TestCommand::new(project.venv_python(), neutral.path())
        .args(["-I", "-c", &code])
        .run_unlocked()
        .assert_code(0);
}

/// `test --watch`: a change to a test runs pytest again without a build, a Rust change builds and
/// runs the tests, a failing test is reported and the watch goes on.
#[test]
fn test_watch_reruns_the_tests_and_rebuilds_only_for_rust() {
    let project = TestProject::from_fixture("pure");
    project.write(
        "tests/test_answer.py",
        "import purefix\n\n\ndef test_answer():\n    assert purefix.answer() == 42\n",
    );
    let pyproject = project.read("pyproject.toml");
    project.write(
        "pyproject.toml",
        &format!("{pyproject}\n[dependency-groups]\ntest = [\"pytest\"]\n"),
    );
    let _build = common::build_lock();
    let mut watch = project.cargo_pyo3().args(["test", "--watch"]).spawn();
    let first = wait_for_cycle(&mut watch, 1);
    assert!(
        first.contains("first build: proven, tests passed `"),
        "{first}"
    );
    watch.wait_for_stderr("Watching", Duration::from_secs(30));

    // A test that fails: pytest again, no build.
    let compiled = compilations(&watch);
    project.edit("tests/test_answer.py", "== 42", "== 43");
    let failing = wait_for_cycle(&mut watch, 2);
    assert!(
        failing.contains("`tests/test_answer.py`: tests failed (exit 1)"),
        "{failing}"
    );
    // The Rust change the test now expects: built, proven, tested.
    set_answer(&project, 43);
    let rebuilt = wait_for_cycle(&mut watch, 3);
    assert!(
        rebuilt.contains("`src/lib.rs`: proven, tests passed `"),
        "{rebuilt}"
    );
    assert_eq!(
        compilations(&watch),
        compiled + 1,
        "{}",
        watch.stderr_so_far()
    );
    // A new test file: pytest again, not rebuilt.
    project.write(
        "tests/test_more.py",
        "import purefix\n\n\ndef test_counter():\n    assert purefix.Counter().increment() == 1\n",
    );
    let tests_only = wait_for_cycle(&mut watch, 4);
    assert!(
        tests_only.contains("`tests/test_more.py`: tests passed (not rebuilt) `"),
        "{tests_only}"
    );
    assert_eq!(compilations(&watch), compiled + 1);
    assert!(watch.stderr_so_far().contains("2 passed"));

    // A build that fails its proof: the proven build is put back, as under `dev --watch`, and
    // pytest does not run against the failed one.
    let proven = proven_sha256(&project);
    let receipt = std::fs::read(project.receipt_path("purefix")).unwrap();
    project.edit("src/lib.rs", "fn purefix(", "fn renamed(");
    let failed = wait_for_cycle(&mut watch, 5);
    assert!(
        failed.contains("`src/lib.rs`: proof failed in ")
            && failed.contains(&format!("; restored the proven build `{}`", &proven[..12])),
        "{failed}\n{}",
        watch.stderr_so_far()
    );
    assert_eq!(watch.stderr_so_far().matches("2 passed").count(), 1);
    assert_answer(&project, 43);
    assert_eq!(
        std::fs::read(project.receipt_path("purefix")).unwrap(),
        receipt
    );
}

/// The same guarantee with pip as the installer (no uv on PATH): pip removes the old
/// distribution's files and writes new ones, so the interpreter that mapped the old extension
/// keeps it.
#[test]
fn a_running_python_survives_a_pip_reinstall() {
    let project = TestProject::from_fixture("pure");
    let _build = common::build_lock();
    let dev = || {
        project
            .cargo_pyo3()
            .without_uv()
            .arg("dev")
            .run_unlocked()
            .assert_code(0);
    };
    dev();
    let receipt = project.receipt();
    assert_eq!(receipt["tools"]["installer"], "pip", "{receipt:#}");
    let holder = Holder::start(&project);
    let old_inode = inode(&loaded_path(&project));
    set_answer(&project, 43);
    dev();
    assert_ne!(inode(&loaded_path(&project)), old_inode);
    assert_answer(&project, 43);
    holder.call_again(42);
}

/// `run` has no watch: its command owns the terminal. Refused before anything is built.
#[test]
fn run_refuses_watch() {
    let project = TestProject::from_fixture("pure");
    let run = project
        .cargo_pyo3()
        .args(["run", "--watch", "--", "python", "-c", "pass"])
        .run();
    run.assert_code(2)
        .assert_stderr_contains("`--watch` is not available with `run`")
        .assert_stderr_contains("hint: watch with `cargo pyo3 dev --watch`");
    assert!(!project.path(".venv").exists(), "{run:?}");
}
