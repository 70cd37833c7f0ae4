//! `--watch` (issue 15; `docs/watch.md`): run a cycle, then wait for a save that changes a build
//! input (or, for `test`, a Python test), and run it again. The file events come from the
//! `notify` debouncer; whether a save changed anything is decided by content, with the digest's
//! own hashes, so a `touch`, an editor's backup file or the tool's own writes never start a cycle.
//!
//! Only the directories that hold watched files (and the subdirectories of the source roots, so
//! a new module or package is seen) are watched, each non-recursively: `target/`, a venv, `.git`
//! and `__pycache__` are never watched at all.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use notify_debouncer_full::notify::event::ModifyKind;
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{
    DebounceEventResult, DebouncedEvent, Debouncer, RecommendedCache, new_debouncer,
};

use crate::digest::{self, InputsDigest};
use crate::output::{self, short_hash};
use crate::process;

/// How long a path must stay quiet before its events are delivered: an editor's save is a burst
/// of writes and renames within a few milliseconds, and 100 ms adds little to a multi-second
/// build.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// What one cycle watches: the files whose content starts the next cycle, the directories whose
/// new subdirectories are watched too, and the one file a build writes itself.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub(crate) files: Vec<PathBuf>,
    pub(crate) roots: Vec<PathBuf>,
    /// `Cargo.lock`: cargo writes it when there is none, or when a manifest edit changed the
    /// dependencies, so its content after a cycle is the build's own, not a save.
    pub(crate) lockfile: Option<PathBuf>,
    /// Where paths are shown relative to.
    pub(crate) base: PathBuf,
    /// The project's target dir, never watched whatever its name.
    pub(crate) target_dir: PathBuf,
}

/// How a cycle ended, for its line.
pub(crate) struct Cycle {
    /// "proven", "build failed", "tests failed (exit 1)", …
    pub(crate) result: String,
    /// The sha256 of the extension that is installed and proven after this cycle, when this
    /// cycle proved one.
    pub(crate) proven: Option<String>,
}

/// Directories that never hold a build input and that the tool or the tools write to: `target`
/// is the project's target dir (`CARGO_TARGET_DIR` or `--target-dir` may give it any name).
fn excluded(dir: &Path, target: &Path) -> bool {
    if dir == target {
        return true;
    }
    let Some(name) = dir.file_name().and_then(|name| name.to_str()) else {
        return true;
    };
    // Hidden directories hold `.git`, `.venv` and tools' caches; a venv under any name has its
    // `pyvenv.cfg`.
    name.starts_with('.')
        || name == "__pycache__"
        || name == "target"
        || name == "node_modules"
        || dir.join("pyvenv.cfg").is_file()
        || dir.join("CACHEDIR.TAG").is_file()
}

/// Every directory under `root` (itself included, whatever its name) that is not excluded;
/// symlinks not followed.
fn directories(root: &Path, target: &Path, found: &mut BTreeSet<PathBuf>) {
    if !found.insert(root.to_path_buf()) {
        return;
    }
    let Ok(entries) = fs_err::read_dir(root) else {
        return;
    };
    for entry in entries.filter_map(|entry| entry.ok()) {
        let path = entry.path();
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) && !excluded(&path, target) {
            directories(&path, target, found);
        }
    }
}

/// `.py` files under `root` outside the excluded directories: the tests `test --watch` reruns on.
pub(crate) fn python_files(root: &Path, target: &Path) -> Vec<PathBuf> {
    let mut dirs = BTreeSet::new();
    directories(root, target, &mut dirs);
    let mut files = Vec::new();
    for dir in dirs {
        let Ok(entries) = fs_err::read_dir(&dir) else {
            continue;
        };
        files.extend(
            entries
                .filter_map(|entry| entry.ok())
                .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|extension| extension == "py")),
        );
    }
    files.sort();
    files
}

/// The debouncer and the directories it watches now.
struct Watcher {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    events: mpsc::Receiver<DebounceEventResult>,
    watched: BTreeSet<PathBuf>,
}

impl Watcher {
    fn new() -> Result<Watcher> {
        let (sender, events) = mpsc::channel();
        let debouncer = new_debouncer(DEBOUNCE, None, move |result| {
            let _ = sender.send(result);
        })
        .context("failed to start watching files")?;
        Ok(Watcher {
            debouncer,
            events,
            watched: BTreeSet::new(),
        })
    }

    /// Watches exactly the directories `scope` needs, each non-recursively.
    fn follow(&mut self, scope: &Scope) {
        let mut wanted = BTreeSet::new();
        for root in &scope.roots {
            directories(root, &scope.target_dir, &mut wanted);
        }
        wanted.extend(
            scope
                .files
                .iter()
                .filter_map(|file| file.parent())
                .filter(|dir| dir.is_dir())
                .map(Path::to_path_buf),
        );
        for gone in self.watched.difference(&wanted) {
            let _ = self.debouncer.unwatch(gone);
        }
        for dir in wanted.difference(&self.watched) {
            if let Err(error) = self.debouncer.watch(dir, RecursiveMode::NonRecursive) {
                output::warning(format_args!(
                    "cannot watch `{}`: {error}",
                    scope_relative(scope, dir).display()
                ));
            }
        }
        self.watched = wanted;
    }

    /// Waits for events that may matter to `scope`: a watched file, a Rust or Python file, or a
    /// new directory. The events already delivered (saves during the last cycle) count at once.
    /// Returns whether one of them was outside the scope's files (a new module, a new directory),
    /// so the scope must be read again. An interrupt ends the wait with an error.
    fn wait(&self, scope: &Scope) -> Result<bool> {
        let files: BTreeSet<&Path> = scope.files.iter().map(PathBuf::as_path).collect();
        loop {
            match self.events.recv_timeout(process::INTERRUPT_POLL) {
                Ok(Ok(events)) => {
                    let relevant: Vec<Relevance> = events
                        .iter()
                        .map(|event| relevance(event, &files, &scope.target_dir))
                        .collect();
                    if relevant.contains(&Relevance::New) {
                        return Ok(true);
                    }
                    if relevant.contains(&Relevance::Watched) {
                        return Ok(false);
                    }
                }
                Ok(Err(errors)) => {
                    for error in errors {
                        output::warning(format_args!("watching files: {error}"));
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    anyhow::bail!("the file watcher stopped")
                }
            }
            if process::interrupted() {
                return Err(process::interrupted_while("watching for changes"));
            }
        }
    }

    /// Drops the events delivered within one more tick of the debouncer (it delivers every
    /// quarter of [`DEBOUNCE`]): the rest of a burst of saves to several files joins the change
    /// that is about to be built. A whole debounce period here measured 75 ms more from save to
    /// proof for nothing a tick does not catch.
    fn settle(&self) {
        let until = Instant::now() + DEBOUNCE / 4;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            if self.events.recv_timeout(left).is_err() {
                break;
            }
        }
    }
}

/// Ordered: an event batch is as relevant as its most relevant path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Relevance {
    Ignored,
    /// A file of the scope was written, created, renamed or removed.
    Watched,
    /// A Rust or Python file, or a directory, that the scope does not name yet.
    New,
}

fn relevance(event: &DebouncedEvent, files: &BTreeSet<&Path>, target: &Path) -> Relevance {
    // Reads (cargo opening the manifest) and permission changes say nothing about content; an
    // open is what a `cargo metadata` after every event would itself cause.
    if matches!(
        event.kind,
        EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_))
    ) {
        return Relevance::Ignored;
    }
    let mut relevance = Relevance::Ignored;
    for path in &event.paths {
        if files.contains(path.as_path()) {
            relevance = relevance.max(Relevance::Watched);
        } else if !path.ancestors().any(|dir| {
            dir.file_name()
                .is_some_and(|name| name == "__pycache__" || name == "target")
        }) && (path
            .extension()
            .is_some_and(|extension| extension == "rs" || extension == "py" || extension == "pyi")
            || (path.is_dir() && !excluded(path, target)))
        {
            relevance = Relevance::New;
        }
    }
    relevance
}

fn scope_relative<'a>(scope: &Scope, path: &'a Path) -> std::borrow::Cow<'a, Path> {
    match path.strip_prefix(&scope.base) {
        Ok(relative) if !relative.as_os_str().is_empty() => relative.into(),
        _ => path.into(),
    }
}

/// The files of `scope` whose content is not what `baseline` recorded: edited, deleted, or new.
fn changed(baseline: &InputsDigest, scope: &Scope) -> Vec<PathBuf> {
    let mut changed = digest::changed_files(baseline);
    let known: BTreeSet<&Path> = baseline
        .files
        .iter()
        .map(|file| file.path.as_path())
        .collect();
    changed.extend(
        scope
            .files
            .iter()
            .filter(|file| !known.contains(file.as_path()) && file.is_file())
            .cloned(),
    );
    changed.sort();
    changed.dedup();
    changed
}

/// The content a cycle started from, with what it cannot count as a save: the lockfile as the
/// build left it, and the files the new scope adds (a module the cycle's sources declared) as
/// they are now, when they are older than the cycle. There is no earlier content to compare a
/// newer one with: it was written while the cycle ran, so it counts as changed (as
/// `receipt::changed_since` counts an unrecorded input).
fn rebase(mut before: InputsDigest, scope: &Scope, started_unix_ms: u64) -> InputsDigest {
    let known: BTreeSet<PathBuf> = before
        .files
        .iter()
        .map(|file| file.path.clone())
        .filter(|path| Some(path) != scope.lockfile.as_ref())
        .collect();
    before
        .files
        .retain(|file| Some(&file.path) != scope.lockfile.as_ref());
    let older: Vec<PathBuf> = scope
        .files
        .iter()
        .filter(|file| !known.contains(*file))
        .filter(|file| {
            Some(*file) == scope.lockfile.as_ref()
                || crate::clock::modified_unix_ms(file)
                    .is_some_and(|ms| !crate::clock::may_follow(ms, started_unix_ms))
        })
        .cloned()
        .collect();
    before.files.extend(digest::take(&older).files);
    before
}

/// "`src/lib.rs`", "`src/lib.rs` and 2 others".
fn describe_change(scope: &Scope, changed: &[PathBuf]) -> String {
    match changed {
        [] => "first build".to_owned(),
        [only] => format!("`{}`", scope_relative(scope, only).display()),
        [first, rest @ ..] => format!(
            "`{}` and {} other{}",
            scope_relative(scope, first).display(),
            rest.len(),
            if rest.len() == 1 { "" } else { "s" }
        ),
    }
}

/// The wall-clock time of day, UTC, for the cycle line.
fn clock() -> String {
    let seconds = crate::clock::now_unix_ms() / 1000 % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Runs `cycle` once, then again each time a save changes what `scope` names, until Ctrl-C.
/// `scope` is asked again after every cycle (a new module, a new path dependency); when it fails
/// (a manifest that does not parse), the last scope stays. `cycle` gets the changed files (none
/// the first time) and returns how it ended; an error from it is reported as the command would,
/// and the watch goes on, unless the user interrupted it. A cycle that failed after its install
/// began calls `restore`, which puts the last proven build back and proves it again: it returns
/// that build's sha256, or `None` when no build was ever proven in the venv. Ctrl-C while
/// waiting for a change is the watch's normal end: a one-line summary and [`STOPPED`]; during a
/// cycle it is an interrupt like any other (an error, exit 2).
pub(crate) fn run(
    mut scope: Scope,
    mut next_scope: impl FnMut() -> Result<Scope>,
    mut cycle: impl FnMut(&[PathBuf]) -> Result<Cycle>,
    mut restore: impl FnMut() -> Result<Option<String>>,
) -> Result<crate::failure::ExitStatus> {
    let mut watcher = Watcher::new()?;
    watcher.follow(&scope);
    let mut installed: Option<String> = None;
    let mut changes: Vec<PathBuf> = Vec::new();
    let (mut cycles, mut proven) = (0usize, 0usize);
    loop {
        let before = digest::take(&scope.files);
        let started = Instant::now();
        let started_unix_ms = crate::clock::now_unix_ms();
        let ended = cycle(&changes).or_else(|error| {
            if process::interrupted() {
                return Err(error);
            }
            let status = crate::outcome::report(&error);
            Ok(Cycle {
                result: match crate::outcome::classify(&error) {
                    crate::failure::Failure::Refused => "refused by the uv guard".to_owned(),
                    crate::failure::Failure::Crashed => "the import crashed".to_owned(),
                    _ => format!("failed (exit {})", status.code()),
                },
                proven: None,
            })
        })?;
        // A Ctrl-C that pytest took as its own (it shares the terminal) ends the watch too.
        if process::interrupted() {
            return Err(process::interrupted_while("running a cycle"));
        }
        let elapsed = started.elapsed().as_secs_f64();
        let what = describe_change(&scope, &changes);
        cycles += 1;
        match &ended.proven {
            Some(sha256) => {
                proven += 1;
                crate::outcome::install_settled();
                installed = Some(sha256.clone());
                output::result(
                    "Watch",
                    format_args!(
                        "{what}: {} `{}` in {elapsed:.2}s at {}",
                        ended.result,
                        short_hash(sha256),
                        clock()
                    ),
                );
            }
            None => {
                let left = if crate::outcome::install_unsettled() {
                    match restore() {
                        Ok(Some(sha256)) => {
                            crate::outcome::install_settled();
                            let left =
                                format!("restored the proven build `{}`", short_hash(&sha256));
                            installed = Some(sha256);
                            left
                        }
                        Ok(None) => {
                            installed = None;
                            "no build was proven in this venv before, so this cycle's install \
                             stays, unproven"
                                .to_owned()
                        }
                        Err(error) => {
                            if process::interrupted() {
                                return Err(error);
                            }
                            output::report_error(&error);
                            installed = None;
                            "the proven build could not be restored (the error above), so the \
                             venv's install is not proven: run `cargo pyo3 dev`"
                                .to_owned()
                        }
                    }
                } else {
                    match &installed {
                        Some(sha256) => {
                            format!("`{}` stays installed and proven", short_hash(sha256))
                        }
                        None => "no build of this watch is proven yet".to_owned(),
                    }
                };
                output::result(
                    "Watch",
                    format_args!(
                        "{what}: {} in {elapsed:.2}s at {}; {left}",
                        ended.result,
                        clock()
                    ),
                );
            }
        }
        match next_scope() {
            Ok(next) => scope = next,
            Err(error) => output::warning(format_args!(
                "{error:#}; watching the files of the last project that could be read"
            )),
        }
        watcher.follow(&scope);
        let baseline = rebase(before, &scope, started_unix_ms);
        output::status(
            "Watching",
            format_args!("{} files for changes (Ctrl-C to stop)", scope.files.len()),
        );
        changes = loop {
            let rescope = match watcher.wait(&scope) {
                Ok(rescope) => rescope,
                Err(_) if process::interrupted() => {
                    stopped(cycles, proven, installed.as_deref());
                    return Ok(STOPPED);
                }
                Err(error) => return Err(error),
            };
            watcher.settle();
            // A new module or directory may be a new input: read the scope again, and watch the
            // new directory, before judging.
            if rescope {
                if let Ok(next) = next_scope() {
                    scope = next;
                }
                watcher.follow(&scope);
            }
            let changed = changed(&baseline, &scope);
            if !changed.is_empty() {
                break changed;
            }
        };
    }
}

/// The exit status of a watch stopped while waiting: the shell's code for a SIGINT.
pub(crate) const STOPPED: crate::failure::ExitStatus = crate::failure::ExitStatus::External(130);

/// The line a watch ends with: how many cycles ran, and what the venv holds now.
fn stopped(cycles: usize, proven: usize, installed: Option<&str>) {
    let runs = if cycles == 1 { "run" } else { "runs" };
    let holds = match installed {
        Some(sha256) => format!("`{}` is installed and proven", short_hash(sha256)),
        None => "no build of this watch is installed and proven".to_owned(),
    };
    output::result(
        "Stopped",
        format_args!(
            "watching after {cycles} {runs} ({proven} proven) at {}; {holds}",
            clock()
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_of(dir: &Path, files: &[&str]) -> Scope {
        Scope {
            files: files.iter().map(|file| dir.join(file)).collect(),
            roots: vec![dir.to_path_buf()],
            lockfile: Some(dir.join("Cargo.lock")),
            base: dir.to_path_buf(),
            target_dir: dir.join("target"),
        }
    }

    #[test]
    fn only_content_changes_count() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(dir.path().join("src")).unwrap();
        fs_err::write(dir.path().join("src/lib.rs"), "fn a() {}\n").unwrap();
        let scope = scope_of(dir.path(), &["src/lib.rs", "Cargo.lock"]);
        let before = digest::take(&scope.files);
        // The build writes the lockfile: its own write, not a save.
        fs_err::write(dir.path().join("Cargo.lock"), "version = 4\n").unwrap();
        let baseline = rebase(before, &scope, crate::clock::now_unix_ms());
        assert!(changed(&baseline, &scope).is_empty());
        fs_err::write(dir.path().join("src/lib.rs"), "fn a() {}\n").unwrap();
        assert!(changed(&baseline, &scope).is_empty(), "same content");
        fs_err::write(dir.path().join("src/lib.rs"), "fn b() {}\n").unwrap();
        fs_err::write(dir.path().join("Cargo.lock"), "version = 3\n").unwrap();
        assert_eq!(
            changed(&baseline, &scope),
            [dir.path().join("Cargo.lock"), dir.path().join("src/lib.rs")]
        );
    }

    #[test]
    fn a_file_new_to_the_scope_counts_when_written_during_the_cycle() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("old.py"), "").unwrap();
        // Saved long before the cycle (a file written just before it may count as written in it).
        crate::clock::set_modified(
            &dir.path().join("old.py"),
            std::time::SystemTime::now() - Duration::from_secs(3600),
        );
        let before = digest::take(&[]);
        let started = crate::clock::now_unix_ms() + 1;
        std::thread::sleep(Duration::from_millis(5));
        fs_err::write(dir.path().join("new.py"), "").unwrap();
        let scope = scope_of(dir.path(), &["old.py", "new.py"]);
        let baseline = rebase(before, &scope, started);
        assert_eq!(changed(&baseline, &scope), [dir.path().join("new.py")]);
    }

    #[test]
    fn excluded_directories_are_never_walked() {
        let dir = tempfile::tempdir().unwrap();
        for sub in [
            "pkg/sub",
            "target/debug",
            ".venv/lib",
            "venv",
            "pkg/__pycache__",
            "tests",
        ] {
            fs_err::create_dir_all(dir.path().join(sub)).unwrap();
        }
        fs_err::write(dir.path().join("venv/pyvenv.cfg"), "").unwrap();
        for file in [
            "pkg/a.py",
            "pkg/sub/b.py",
            "tests/test_a.py",
            "target/c.py",
            "venv/d.py",
        ] {
            fs_err::write(dir.path().join(file), "").unwrap();
        }
        fs_err::write(dir.path().join(".venv/lib/e.py"), "").unwrap();
        fs_err::create_dir_all(dir.path().join("build/debug")).unwrap();
        fs_err::write(dir.path().join("build/debug/f.py"), "").unwrap();
        let found: Vec<PathBuf> = python_files(dir.path(), &dir.path().join("build"))
            .into_iter()
            .map(|path| path.strip_prefix(dir.path()).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            found,
            [
                Path::new("pkg/a.py"),
                Path::new("pkg/sub/b.py"),
                Path::new("tests/test_a.py")
            ]
        );
    }

    #[test]
    fn a_change_names_its_first_file_and_counts_the_rest() {
        let scope = scope_of(Path::new("/p"), &[]);
        assert_eq!(describe_change(&scope, &[]), "first build");
        let one = [PathBuf::from("/p/src/lib.rs")];
        assert_eq!(describe_change(&scope, &one), "`src/lib.rs`");
        let three = [
            PathBuf::from("/p/src/lib.rs"),
            PathBuf::from("/p/src/a.rs"),
            PathBuf::from("/p/Cargo.toml"),
        ];
        assert_eq!(describe_change(&scope, &three), "`src/lib.rs` and 2 others");
    }
}
