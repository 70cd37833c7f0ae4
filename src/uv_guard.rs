//! The uv guard: refuses to build when uv's cache keys cannot see Rust edits, because a later
//! `uv run` or `uv sync` would then put a stale cached wheel back over ours (PyO3/maturin#2314),
//! and writes the `tool.uv.cache-keys` that fix it.
//!
//! How uv decides (uv 0.13.8, `crates/uv-cache-info/src/cache_info.rs` and `glob.rs`, and
//! measured in docs/uv.md and ground-truth.md §2–§5):
//! - Unset `cache-keys` means `pyproject.toml`, `setup.py`, `setup.cfg` and `{ dir = "src" }`.
//! - A file key contributes the newest `ctime` of the files it names; a key with `*?[{` in it is
//!   a glob, walked with gitignore syntax from the longest glob-free prefix of the key (which may
//!   start with `../`).
//! - A `dir` key contributes only the directory's creation time (its inode where there is none):
//!   editing, adding or removing files inside never changes it, so it covers no edit.
//! - `git` and `env` keys cover no uncommitted edit either.
//! - When the list cannot be read (an entry uv does not know), uv warns and uses the defaults.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use globset::{GlobBuilder, GlobMatcher};
use serde::Serialize;
use toml_edit::{Array, DocumentMut, InlineTable, Item, RawString, Table, Value};

use crate::output::user_error;
use crate::process::Cmd;
use crate::project::Project;
use crate::venv::Venv;

/// What the guard found: the verdict and its evidence, for `dev`, `doctor` and `--json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct GuardReport {
    /// uv.lock or uv-made venv, AND uv on PATH.
    pub(crate) in_play: bool,
    pub(crate) not_in_play_reason: Option<String>,
    /// Build inputs that the effective cache-keys miss (paths relative to `project_dir`).
    pub(crate) uncovered: Vec<String>,
    /// cache-keys entries the fix would add, rendered as TOML inline tables.
    pub(crate) missing_keys: Vec<String>,
    /// What `uv sync --dry-run` said, when it ran.
    pub(crate) dry_run: Option<DryRun>,
    pub(crate) elapsed_ms: u64,
    /// The distribution uv would reinstall, and its version.
    pub(crate) package: String,
    pub(crate) version: String,
    /// Where the effective keys come from.
    pub(crate) cache_keys: CacheKeysState,
    /// Why the dry run gave no evidence, when it was run and failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dry_run_error: Option<String>,
}

/// Where the cache keys uv uses come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "detail")]
pub(crate) enum CacheKeysState {
    /// `tool.uv.cache-keys` is set and uv can read it.
    Set,
    /// Not set: uv uses its defaults.
    Defaults,
    /// Set, but uv cannot read it and falls back to its defaults (the detail says why).
    Unreadable(String),
    /// Not looked at (uv not in play).
    NotChecked,
}

/// What `uv sync` would do to the project, per the dry run (ground-truth.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum SyncAction {
    /// It would reinstall a wheel it already has in its cache (`~`, or `+ name==version`).
    ReinstallFromCache,
    /// It would build the project from source first (`+ name @ file://…`).
    Rebuild,
    /// It would only uninstall it (`tool.uv.package = false`, exact sync).
    Remove,
    /// Nothing to do for the project.
    None,
}

/// Which output of uv the verdict was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum DryRunFormat {
    Json,
    Text,
}

/// The result of `uv sync --dry-run --frozen`, for the project only.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DryRun {
    pub(crate) action: SyncAction,
    /// The version uv would reinstall, when it names one.
    pub(crate) version: Option<String>,
    /// uv's own lines about the project (`~ hello==0.1.0 (from file://…)`), or the JSON entries.
    pub(crate) evidence: Vec<String>,
    pub(crate) format: DryRunFormat,
    pub(crate) command: String,
}

impl GuardReport {
    fn not_in_play(project: &Project, reason: impl Into<String>) -> GuardReport {
        GuardReport {
            in_play: false,
            not_in_play_reason: Some(reason.into()),
            uncovered: Vec::new(),
            missing_keys: Vec::new(),
            dry_run: None,
            elapsed_ms: 0,
            package: project.dist_name.clone(),
            version: project.version.clone(),
            cache_keys: CacheKeysState::NotChecked,
            dry_run_error: None,
        }
    }

    pub(crate) fn refuses(&self) -> bool {
        self.in_play && !self.uncovered.is_empty()
    }

    /// The refusal as an error whose message says what uv would do and why it is stale, with the
    /// fix as hint. `dev` reports it and exits with `ExitStatus::Refused` (3).
    pub(crate) fn refusal(&self) -> anyhow::Error {
        let package = &self.package;
        let named = format!("`{package} {}`", self.version);
        let what_uv_does = match &self.dry_run {
            Some(dry_run) if dry_run.action == SyncAction::ReinstallFromCache => {
                let version = dry_run.version.as_deref().unwrap_or(&self.version);
                format!(
                    "`uv run` or `uv sync` would reinstall `{package} {version}` from uv's cache \
                     (`uv sync --dry-run` plans it now: {})",
                    evidence_summary(dry_run)
                )
            }
            Some(dry_run) if dry_run.action == SyncAction::Rebuild => format!(
                "`uv run` would rebuild {named} this time ({}), but after your next Rust edit it \
                 would reinstall a stale build from uv's cache",
                evidence_summary(dry_run)
            ),
            // Right after any install that is not `uv sync`'s own, uv sees the environment as
            // outdated and reinstalls (ground-truth.md §4, "Conclusions" 2).
            _ => format!(
                "after this install, `uv run` or `uv sync` would reinstall {named} from uv's cache"
            ),
        };
        let why = match &self.cache_keys {
            CacheKeysState::Defaults => format!(
                "its default cache keys (`pyproject.toml`, `setup.py`, `setup.cfg` and the \
                 creation time of `src/`) do not cover {}, so it never rebuilds after a Rust edit \
                 (PyO3/maturin#2314)",
                list_paths(&self.uncovered)
            ),
            CacheKeysState::Unreadable(detail) => format!(
                "it cannot read `tool.uv.cache-keys` ({detail}), so it uses its defaults, which \
                 do not cover {}, and never rebuilds after a Rust edit (PyO3/maturin#2314)",
                list_paths(&self.uncovered)
            ),
            _ => format!(
                "`tool.uv.cache-keys` does not cover {}, so it does not rebuild after an edit \
                 there (PyO3/maturin#2314)",
                list_paths(&self.uncovered)
            ),
        };
        let message = format!(
            "refusing to build {named}: uv would swap it for a stale build from its cache\n  \
             {what_uv_does}\n  uv cannot tell that build is stale: {why}"
        );
        let hint = match &self.cache_keys {
            CacheKeysState::Unreadable(_) => format!(
                "fix or remove the entry uv cannot read in `[tool.uv] cache-keys`, then run \
                 `cargo pyo3 dev --fix-uv`\n  or pass `--allow-uv-cache` to build anyway and run \
                 `uv run --no-sync` (or set `{}=1`) afterwards",
                crate::env::UV_NO_SYNC
            ),
            _ => format!(
                "run `cargo pyo3 dev --fix-uv` to add these to `[tool.uv] cache-keys` in \
                 `pyproject.toml`, so uv rebuilds after Rust edits:\n{}\n  \
                 or pass `--allow-uv-cache` to build anyway and run `uv run --no-sync` (or set \
                 `{}=1`) afterwards",
                self.missing_keys
                    .iter()
                    .map(|key| format!("      {key},"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                crate::env::UV_NO_SYNC
            ),
        };
        user_error(message, hint)
    }
}

fn evidence_summary(dry_run: &DryRun) -> String {
    // The `+`/`~` line says what uv would install; the `-` line only what it would remove.
    let deciding: Vec<&String> = dry_run
        .evidence
        .iter()
        .filter(|line| !line.trim_start().starts_with('-'))
        .collect();
    let shown = if deciding.is_empty() {
        dry_run.evidence.iter().collect()
    } else {
        deciding
    };
    let lines: Vec<String> = shown
        .iter()
        .map(|line| format!("`{}`", line.trim()))
        .collect();
    if lines.is_empty() {
        "no details".to_owned()
    } else {
        lines.join(", ")
    }
}

/// `a`, `b`, `c` and 4 more.
fn list_paths(paths: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut shown: Vec<String> = paths
        .iter()
        .take(SHOWN)
        .map(|path| format!("`{path}`"))
        .collect();
    if paths.len() > SHOWN {
        shown.push(format!("{} more", paths.len() - SHOWN));
    }
    match shown.len() {
        0 => String::new(),
        1 => shown.remove(0),
        _ => {
            let last = shown.pop().unwrap_or_default();
            format!("{} and {last}", shown.join(", "))
        }
    }
}

/// Decides whether uv would undo the build.
///
/// Static check first (no subprocess): the effective cache keys must cover every build input.
/// The dry run only runs when it adds evidence to a refusal, so the happy path starts nothing.
pub(crate) fn check(
    project: &Project,
    venv: Option<&Venv>,
    uv: Option<&Path>,
) -> Result<GuardReport> {
    let started = Instant::now();
    let mut report = check_in_play(project, venv, uv)?;
    // `--frozen` needs a lockfile; without one the static verdict stands alone.
    if report.in_play
        && !report.uncovered.is_empty()
        && has_uv_lock(project)
        && let Some(uv) = uv
    {
        match dry_run(uv, project) {
            Ok(dry_run) => report.dry_run = Some(dry_run),
            // The refusal stands on the static check alone; the dry run is only evidence.
            Err(error) => report.dry_run_error = Some(format!("{error:#}")),
        }
    }
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

/// Everything but the dry run.
fn check_in_play(project: &Project, venv: Option<&Venv>, uv: Option<&Path>) -> Result<GuardReport> {
    let has_lock = has_uv_lock(project);
    let uv_venv = venv.is_some_and(Venv::created_by_uv);
    if !has_lock && !uv_venv {
        return Ok(GuardReport::not_in_play(
            project,
            "the project has no `uv.lock` and the venv was not created by uv",
        ));
    }
    if uv.is_none() {
        return Ok(GuardReport::not_in_play(project, "uv is not on PATH"));
    }
    let Some(pyproject_path) = &project.pyproject_path else {
        return Ok(GuardReport::not_in_play(
            project,
            "the project has no `pyproject.toml`, so uv does not build it",
        ));
    };
    let text = fs_err::read_to_string(pyproject_path)?;
    let document = parse_pyproject(&text, pyproject_path)?;
    // With `package = false` uv never builds or installs the project, so it has no cached build
    // to put back (ground-truth.md §5; exact `uv sync` removes it instead, which `dev` reports).
    if uv_table(&document)
        .and_then(|table| table.get("package"))
        .and_then(Item::as_bool)
        == Some(false)
    {
        return Ok(GuardReport::not_in_play(
            project,
            "`tool.uv.package = false`: uv neither builds nor installs the project",
        ));
    }

    let keys = read_cache_keys(&document);
    let inputs = build_inputs(project)?;
    let coverage = Coverage::new(&project.project_dir, &keys.effective())?;
    let uncovered: Vec<String> = inputs
        .iter()
        .filter(|input| !coverage.covers(&input.path))
        .map(|input| relative_display(&input.path, &project.project_dir))
        .collect();
    let missing_keys = if uncovered.is_empty() {
        Vec::new()
    } else {
        plan_missing_keys(&project.project_dir, &inputs, &keys)?
            .iter()
            .map(|key| render_key(key))
            .collect()
    };
    Ok(GuardReport {
        in_play: true,
        not_in_play_reason: None,
        uncovered,
        missing_keys,
        dry_run: None,
        elapsed_ms: 0,
        package: project.dist_name.clone(),
        version: project.version.clone(),
        cache_keys: keys.state(),
        dry_run_error: None,
    })
}

/// `uv.lock` next to `pyproject.toml`, or at the root of the uv workspace the project belongs to
/// (an ancestor whose `pyproject.toml` has `[tool.uv.workspace]`), where uv keeps it for members.
fn has_uv_lock(project: &Project) -> bool {
    if project.uses_uv_lock() {
        return true;
    }
    project.project_dir.ancestors().skip(1).any(|dir| {
        dir.join("uv.lock").is_file()
            && fs_err::read_to_string(dir.join("pyproject.toml"))
                .ok()
                .and_then(|text| text.parse::<DocumentMut>().ok())
                .is_some_and(|document| {
                    uv_table(&document).is_some_and(|uv| uv.contains_key("workspace"))
                })
    })
}

/// Writes the missing keys into pyproject.toml; returns the diff it made (None when nothing to do).
pub(crate) fn fix(project: &Project) -> Result<Option<String>> {
    let Some(pyproject_path) = &project.pyproject_path else {
        return Err(user_error(
            format!(
                "`{}` has no `pyproject.toml` next to it, so there are no uv cache keys to fix",
                project.manifest_path.display()
            ),
            "uv only builds projects that have a `pyproject.toml`; `cargo pyo3 init` creates one",
        ));
    };
    // Edit the real file behind a symlink, so the link survives the rename.
    let target = fs_err::canonicalize(pyproject_path)?;
    let text = fs_err::read_to_string(&target)?;
    let document = parse_pyproject(&text, pyproject_path)?;
    let keys = read_cache_keys(&document);
    if let CacheKeysState::Unreadable(detail) = keys.state() {
        return Err(user_error(
            format!(
                "uv cannot read `tool.uv.cache-keys` in `{}`: {detail}",
                pyproject_path.display()
            ),
            "uv ignores the whole list when one entry is wrong; fix or remove that entry, then \
             run `cargo pyo3 dev --fix-uv` again",
        ));
    }
    let inputs = build_inputs(project)?;
    let missing = plan_missing_keys(&project.project_dir, &inputs, &keys)?;
    if missing.is_empty() {
        return Ok(None);
    }
    let new_text = add_cache_keys(&text, &missing, pyproject_path)?;

    // Prove the edit before writing it: uv must now read keys that cover every input.
    let new_keys = read_cache_keys(&parse_pyproject(&new_text, pyproject_path)?);
    let coverage = Coverage::new(&project.project_dir, &new_keys.effective())?;
    if let Some(input) = inputs.iter().find(|input| !coverage.covers(&input.path)) {
        anyhow::bail!(
            "the cache keys planned for `{}` would still miss `{}`; the file was not changed",
            pyproject_path.display(),
            relative_display(&input.path, &project.project_dir)
        );
    }
    write_atomically(&target, &new_text)?;
    Ok(Some(line_diff(&text, &new_text, "pyproject.toml")))
}

fn parse_pyproject(text: &str, path: &Path) -> Result<DocumentMut> {
    text.parse::<DocumentMut>().map_err(|error| {
        user_error(
            format!(
                "failed to parse `{}`: {}",
                path.display(),
                error.to_string().trim_end()
            ),
            format!("fix the TOML syntax in `{}`", path.display()),
        )
    })
}

fn uv_table(document: &DocumentMut) -> Option<&dyn toml_edit::TableLike> {
    document
        .get("tool")?
        .as_table_like()?
        .get("uv")?
        .as_table_like()
}

// ---------------------------------------------------------------------------------------------
// Cache keys as uv reads them.
// ---------------------------------------------------------------------------------------------

/// One `tool.uv.cache-keys` entry, in the shapes uv accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CacheKey {
    /// `"path"` or `{ file = "path" }`: a file, or a glob when it holds `*?[{`.
    File(String),
    /// `{ dir = "path" }`: the directory's creation time only.
    Directory(String),
    /// `{ git = … }`: the commit and/or tags.
    Git,
    /// `{ env = "NAME" }`: an environment variable's value.
    Environment,
}

#[derive(Debug)]
struct UvKeys {
    state: CacheKeysState,
    /// The user's entries, when `state` is `Set`.
    keys: Vec<CacheKey>,
}

impl UvKeys {
    fn state(&self) -> CacheKeysState {
        self.state.clone()
    }

    /// The keys uv really uses.
    fn effective(&self) -> Vec<CacheKey> {
        match self.state {
            CacheKeysState::Set => self.keys.clone(),
            _ => default_keys(),
        }
    }

    /// The keys a fix builds on: setting the list replaces uv's defaults, so with none set the
    /// fix starts from nothing and must list `pyproject.toml` itself.
    fn explicit(&self) -> Vec<CacheKey> {
        match self.state {
            CacheKeysState::Set => self.keys.clone(),
            _ => Vec::new(),
        }
    }
}

/// uv's defaults when `cache-keys` is unset (uv-cache-info `cache_info.rs`).
fn default_keys() -> Vec<CacheKey> {
    vec![
        CacheKey::File("pyproject.toml".to_owned()),
        CacheKey::File("setup.py".to_owned()),
        CacheKey::File("setup.cfg".to_owned()),
        CacheKey::Directory("src".to_owned()),
    ]
}

fn read_cache_keys(document: &DocumentMut) -> UvKeys {
    let Some(item) = uv_table(document).and_then(|table| table.get("cache-keys")) else {
        return UvKeys {
            state: CacheKeysState::Defaults,
            keys: Vec::new(),
        };
    };
    let unreadable = |detail: String| UvKeys {
        state: CacheKeysState::Unreadable(detail),
        keys: Vec::new(),
    };
    let Some(array) = item.as_array() else {
        return unreadable("it is not an array".to_owned());
    };
    let mut keys = Vec::new();
    for (index, value) in array.iter().enumerate() {
        match parse_cache_key(value) {
            Some(key) => keys.push(key),
            None => {
                let shown = value.to_string();
                return unreadable(format!(
                    "entry {} `{}` is not one of `\"path\"`, `{{ file = … }}`, `{{ dir = … }}`, \
                     `{{ git = … }}`, `{{ env = … }}`",
                    index + 1,
                    shown.trim()
                ));
            }
        }
    }
    UvKeys {
        state: CacheKeysState::Set,
        keys,
    }
}

/// uv deserialises each entry strictly: exactly one known key with the right type.
fn parse_cache_key(value: &Value) -> Option<CacheKey> {
    if let Some(path) = value.as_str() {
        return Some(CacheKey::File(path.to_owned()));
    }
    let table = value.as_inline_table()?;
    let mut entries = table.iter();
    let (name, inner) = entries.next()?;
    if entries.next().is_some() {
        return None;
    }
    match name {
        "file" => inner.as_str().map(|path| CacheKey::File(path.to_owned())),
        "dir" => inner
            .as_str()
            .map(|path| CacheKey::Directory(path.to_owned())),
        "env" => inner.as_str().map(|_| CacheKey::Environment),
        "git" => {
            if inner.as_bool().is_some() {
                return Some(CacheKey::Git);
            }
            let set = inner.as_inline_table()?;
            set.iter()
                .all(|(key, flag)| matches!(key, "commit" | "tags") && flag.as_bool().is_some())
                .then_some(CacheKey::Git)
        }
        _ => None,
    }
}

/// `{ file = "src/**/*.rs" }`
fn render_key(path: &str) -> String {
    let mut table = InlineTable::new();
    table.insert("file", Value::from(path));
    table.fmt();
    table.to_string()
}

// ---------------------------------------------------------------------------------------------
// Coverage: which files uv's keys would notice.
// ---------------------------------------------------------------------------------------------

/// The files a set of keys watches, matched the way uv walks them.
struct Coverage {
    /// Plain file keys, resolved against the project directory.
    files: Vec<PathBuf>,
    globs: Vec<GlobGroup>,
}

/// uv walks each glob from the longest glob-free prefix of its key, and merges keys whose
/// prefixes nest (`glob.rs`, `cluster_globs`). Within a group, patterns use gitignore syntax
/// (uv walks with `globwalk`, which builds `ignore` overrides): a pattern without `/` matches at
/// any depth below the group's directory, one with `/` is anchored there.
///
/// That makes `src/*.rs` alone reach `src/a/b.rs`, but not when another key like `*.toml` pulls
/// it into a group based at the project directory (measured with uv 0.13.8: docs/uv.md).
struct GlobGroup {
    directory: PathBuf,
    patterns: Vec<IgnorePattern>,
}

struct IgnorePattern {
    matcher: GlobMatcher,
    /// `!pattern`: excludes what earlier patterns included.
    negated: bool,
    /// `pattern/`: matches directories only.
    only_directories: bool,
}

impl Coverage {
    fn new(project_dir: &Path, keys: &[CacheKey]) -> Result<Coverage> {
        let mut files = Vec::new();
        let mut globs: Vec<(PathBuf, String)> = Vec::new();
        for key in keys {
            // `dir`, `git` and `env` keys never change when a source file is edited.
            let CacheKey::File(path) = key else { continue };
            if path.contains(['*', '?', '[', '{']) {
                globs.push(split_glob(path));
            } else {
                files.push(normalize(&project_dir.join(path)));
            }
        }

        let bases: Vec<PathBuf> = globs.iter().map(|(base, _)| base.clone()).collect();
        let mut groups: Vec<(PathBuf, Vec<String>)> = Vec::new();
        for (base, pattern) in &globs {
            let group_base = group_base(base, &bases);
            let remainder = base.strip_prefix(&group_base).unwrap_or(Path::new(""));
            let mut full = path_to_slashes(remainder);
            if !full.is_empty() {
                full.push('/');
            }
            full.push_str(pattern);
            match groups
                .iter_mut()
                .find(|(existing, _)| *existing == group_base)
            {
                Some((_, patterns)) => patterns.push(full),
                None => groups.push((group_base, vec![full])),
            }
        }
        let globs = groups
            .into_iter()
            .map(|(base, patterns)| {
                let patterns = patterns
                    .iter()
                    .filter_map(|pattern| IgnorePattern::new(pattern).transpose())
                    .collect::<Result<Vec<_>>>()?;
                Ok(GlobGroup {
                    directory: normalize(&project_dir.join(base)),
                    patterns,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Coverage { files, globs })
    }

    /// Whether an edit to `path` (absolute) changes the cache key.
    fn covers(&self, path: &Path) -> bool {
        let path = normalize(path);
        self.files.contains(&path) || self.globs.iter().any(|group| group.covers(&path))
    }
}

impl GlobGroup {
    fn covers(&self, path: &Path) -> bool {
        let Ok(relative) = path.strip_prefix(&self.directory) else {
            return false;
        };
        let relative = path_to_slashes(relative);
        // The walk skips a directory that a negated pattern matches, with all that is inside.
        let mut prefix = String::new();
        let components: Vec<&str> = relative.split('/').collect();
        for component in &components[..components.len().saturating_sub(1)] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(component);
            if self.decide(&prefix, true) == Some(false) {
                return false;
            }
        }
        self.decide(&relative, false) == Some(true)
    }

    /// The last matching pattern wins: `Some(true)` included, `Some(false)` excluded. A file
    /// that no pattern matches is excluded (the patterns are a whitelist).
    fn decide(&self, path: &str, is_directory: bool) -> Option<bool> {
        let last = self.patterns.iter().rev().find(|pattern| {
            (is_directory || !pattern.only_directories) && pattern.matcher.is_match(path)
        });
        match last {
            Some(pattern) => Some(!pattern.negated),
            None if is_directory => None,
            None => Some(false),
        }
    }
}

impl IgnorePattern {
    /// Compiles one pattern with gitignore rules; `None` for a comment or an empty pattern.
    fn new(pattern: &str) -> Result<Option<IgnorePattern>> {
        let mut text = pattern.trim_end();
        if text.is_empty() || text.starts_with('#') {
            return Ok(None);
        }
        let negated = text.starts_with('!');
        if negated {
            text = &text[1..];
        }
        let anchored = text.starts_with('/');
        if anchored {
            text = &text[1..];
        }
        let only_directories = text.ends_with('/');
        if only_directories {
            text = &text[..text.len() - 1];
        }
        let mut glob = text.to_owned();
        if !anchored && !glob.contains('/') && !glob.starts_with("**/") {
            glob = format!("**/{glob}");
        }
        // `dir/**` matches what is inside `dir`, never `dir` itself.
        if glob.ends_with("/**") {
            glob.push_str("/*");
        }
        let matcher = GlobBuilder::new(&glob)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .with_context(|| format!("uv cannot read the cache key glob `{pattern}`"))?
            .compile_matcher();
        Ok(Some(IgnorePattern {
            matcher,
            negated,
            only_directories,
        }))
    }
}

/// Splits a glob key into the directory uv walks from and the pattern below it: every leading
/// component free of glob characters, but never the last one (`src/**/*.rs` → `src` + `**/*.rs`,
/// `../dep/src/*.rs` → `../dep/src` + `*.rs`, `*.toml` → `` + `*.toml`).
fn split_glob(key: &str) -> (PathBuf, String) {
    let components: Vec<Component> = Path::new(key)
        .components()
        .filter(|component| *component != Component::CurDir)
        .collect();
    let is_glob_like = |component: &Component| {
        matches!(component, Component::Normal(_))
            && component
                .as_os_str()
                .to_str()
                .is_some_and(|text| text.contains(['*', '{', '}', '?', '[', ']']))
    };
    let first_glob = components.iter().position(is_glob_like);
    let split = match first_glob {
        Some(index) => index,
        None => match components.last() {
            Some(Component::Normal(_)) => components.len() - 1,
            _ => components.len(),
        },
    };
    let base: PathBuf = components[..split].iter().collect();
    let pattern = components[split..]
        .iter()
        .map(|component| component.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    (base, pattern)
}

/// The group a glob's base falls into: the shortest base among all glob keys that is a prefix of
/// it through plain directory names only (`..` or `/` start a group of their own).
fn group_base(base: &Path, bases: &[PathBuf]) -> PathBuf {
    bases
        .iter()
        .filter(|candidate| {
            base.strip_prefix(candidate).is_ok_and(|rest| {
                rest.components()
                    .all(|component| matches!(component, Component::Normal(_)))
            })
        })
        .min_by_key(|candidate| candidate.components().count())
        .cloned()
        .unwrap_or_else(|| base.to_path_buf())
}

// ---------------------------------------------------------------------------------------------
// Build inputs and the keys that cover them.
// ---------------------------------------------------------------------------------------------

/// A file whose edit changes the extension, and the key the fix would add to cover it.
#[derive(Debug, Clone)]
struct BuildInput {
    /// Absolute and normalised.
    path: PathBuf,
    /// A `file` key path relative to the project directory.
    remedy: String,
}

/// The project's build inputs, each with the `file` key that would cover it: the glob of its
/// source directory for `.rs` files (`src/**/*.rs`, `../dep/src/**/*.rs`), else the file itself.
fn build_inputs(project: &Project) -> Result<Vec<BuildInput>> {
    let project_dir = normalize(&project.project_dir);
    let source_globs: Vec<(PathBuf, String)> = project
        .source_dirs()
        .iter()
        .map(|dir| normalize(dir))
        // Sources at the project's root get no glob: one there would make uv walk `target/`
        // and `.venv` on every command.
        .filter(|dir| !project_dir.starts_with(dir))
        .map(|dir| {
            let glob = format!("{}/**/*.rs", relative_display(&dir, &project_dir));
            (dir, glob)
        })
        .collect();
    Ok(project
        .build_inputs()
        .iter()
        .map(|path| {
            let path = normalize(path);
            let is_rust = path.extension().is_some_and(|extension| extension == "rs");
            let remedy = source_globs
                .iter()
                .find(|(dir, _)| is_rust && path.starts_with(dir))
                .map(|(_, glob)| glob.clone())
                .unwrap_or_else(|| relative_display(&path, &project_dir));
            BuildInput { path, remedy }
        })
        .collect())
}

/// The keys to add so that every input is covered, keeping every key the user has.
fn plan_missing_keys(
    project_dir: &Path,
    inputs: &[BuildInput],
    keys: &UvKeys,
) -> Result<Vec<String>> {
    let explicit = keys.explicit();
    let coverage = Coverage::new(project_dir, &explicit)?;
    let mut planned: Vec<String> = Vec::new();
    for input in inputs {
        if !coverage.covers(&input.path) && !planned.contains(&input.remedy) {
            planned.push(input.remedy.clone());
        }
    }
    // New globs can regroup the user's globs (see `GlobGroup`); whatever is still missed is
    // listed file by file, which no grouping changes.
    let mut all = explicit;
    all.extend(planned.iter().cloned().map(CacheKey::File));
    let coverage = Coverage::new(project_dir, &all)?;
    let still_missed: Vec<String> = inputs
        .iter()
        .filter(|input| !coverage.covers(&input.path))
        .map(|input| relative_display(&input.path, project_dir))
        .collect();
    for path in still_missed {
        if !planned.contains(&path) {
            planned.push(path);
        }
    }
    Ok(planned)
}

// ---------------------------------------------------------------------------------------------
// Paths.
// ---------------------------------------------------------------------------------------------

/// Resolves `.` and `..` without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut normalized = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !normalized.pop() {
                    normalized.push("..");
                }
            }
            other => normalized.push(other),
        }
    }
    normalized
}

/// `path` relative to `base` with `/` separators, climbing with `..` when it lies outside.
fn relative_display(path: &Path, base: &Path) -> String {
    let path = normalize(path);
    let base = normalize(base);
    let path_components: Vec<Component> = path.components().collect();
    let base_components: Vec<Component> = base.components().collect();
    let common = path_components
        .iter()
        .zip(&base_components)
        .take_while(|(left, right)| left == right)
        .count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..base_components.len() {
        parts.push("..".to_owned());
    }
    for component in &path_components[common..] {
        parts.push(component.as_os_str().to_string_lossy().into_owned());
    }
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

fn path_to_slashes(path: &Path) -> String {
    path.components()
        .map(|component| component.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

// ---------------------------------------------------------------------------------------------
// The dry run.
// ---------------------------------------------------------------------------------------------

/// `uv sync --dry-run --frozen`: about 60 ms, changes nothing in the project, the venv or uv's
/// cache, never starts maturin or cargo (ground-truth.md §4).
fn dry_run(uv: &Path, project: &Project) -> Result<DryRun> {
    let base = Cmd::new(uv)
        .args(["sync", "--dry-run", "--frozen", "--color", "never"])
        .dir(&project.project_dir);
    // The JSON schema is marked preview; the stderr lines are the fallback.
    let json_command = base.clone().args(["--output-format", "json"]);
    let (command, captured) = match json_command.run_captured() {
        Ok(captured) => (json_command, captured),
        Err(_) => {
            let captured = base
                .run_captured()
                .with_context(|| format!("failed to ask uv what it would do: `{base}`"))?;
            (base, captured)
        }
    };
    let name = crate::venv::normalize_name(&project.dist_name);
    let evidence_lines = text_lines_about(&captured.stderr, &name);
    if let Some((action, version, entries)) = parse_json(&captured.stdout, &name) {
        return Ok(DryRun {
            action,
            version,
            evidence: if evidence_lines.is_empty() {
                entries
            } else {
                evidence_lines
            },
            format: DryRunFormat::Json,
            command: command.to_string(),
        });
    }
    let (action, version) = parse_text(&captured.stderr, &name);
    Ok(DryRun {
        action,
        version,
        evidence: evidence_lines,
        format: DryRunFormat::Text,
        command: command.to_string(),
    })
}

/// Reads `sync.changes[]` for the project (`name` already normalised). `None` when the JSON is
/// missing or not the shape we know.
fn parse_json(stdout: &str, name: &str) -> Option<(SyncAction, Option<String>, Vec<String>)> {
    let document: serde_json::Value = serde_json::from_str(stdout).ok()?;
    let changes = document.get("sync")?.get("changes")?.as_array()?;
    let mut reinstalled = None;
    let mut rebuilt = false;
    let mut uninstalled = false;
    let mut evidence = Vec::new();
    for change in changes {
        let change_name = change.get("name")?.as_str()?;
        if crate::venv::normalize_name(change_name) != name {
            continue;
        }
        evidence.push(change.to_string());
        let version = change
            .get("version")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        match change.get("action")?.as_str()? {
            "reinstalled" => reinstalled = Some(version),
            // A version means uv already has that build; none means it must build it first.
            "installed" => match version {
                Some(version) => reinstalled = Some(Some(version)),
                None => rebuilt = true,
            },
            "uninstalled" => uninstalled = true,
            _ => {}
        }
    }
    let (action, version) = classify(reinstalled, rebuilt, uninstalled);
    Some((action, version, evidence))
}

/// The text fallback: `~ name==1.0 (from …)`, `- name==1.0 (from …)`, `+ name==1.0 (from …)`
/// (a cached build) and `+ name @ file://…` (a build from source), printed on stderr.
fn parse_text(stderr: &str, name: &str) -> (SyncAction, Option<String>) {
    let mut reinstalled = None;
    let mut rebuilt = false;
    let mut uninstalled = false;
    for line in stderr.lines() {
        let Some((marker, change_name, version)) = parse_change_line(line) else {
            continue;
        };
        if crate::venv::normalize_name(change_name) != name {
            continue;
        }
        match (marker, version) {
            ('~', version) => reinstalled = Some(version.map(str::to_owned)),
            ('+', Some(version)) => reinstalled = Some(Some(version.to_owned())),
            ('+', None) => rebuilt = true,
            ('-', _) => uninstalled = true,
            _ => {}
        }
    }
    classify(reinstalled, rebuilt, uninstalled)
}

fn classify(
    reinstalled: Option<Option<String>>,
    rebuilt: bool,
    uninstalled: bool,
) -> (SyncAction, Option<String>) {
    match reinstalled {
        Some(version) => (SyncAction::ReinstallFromCache, version),
        None if rebuilt => (SyncAction::Rebuild, None),
        None if uninstalled => (SyncAction::Remove, None),
        None => (SyncAction::None, None),
    }
}

/// Splits ` ~ hello==0.1.0 (from file:///p)` into marker, name and version.
fn parse_change_line(line: &str) -> Option<(char, &str, Option<&str>)> {
    let line = line.trim();
    let mut characters = line.chars();
    let marker = characters
        .next()
        .filter(|marker| matches!(marker, '~' | '+' | '-'))?;
    let rest = characters.as_str().strip_prefix(' ')?.trim_start();
    let requirement = rest.split_whitespace().next()?;
    if let Some((change_name, version)) = requirement.split_once("==") {
        return Some((marker, change_name, Some(version)));
    }
    // `+ hello @ file:///p`: a direct reference, nothing cached to name a version from.
    Some((marker, requirement, None))
}

fn text_lines_about(stderr: &str, name: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|line| {
            parse_change_line(line)
                .is_some_and(|(_, change_name, _)| crate::venv::normalize_name(change_name) == name)
        })
        .map(|line| line.trim().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Editing pyproject.toml.
// ---------------------------------------------------------------------------------------------

const ADDED_COMMENT: &str = "# uv's default cache keys ignore Rust sources: without these, `uv run` \
                             reinstalls a stale\n# cached build after a Rust edit \
                             (PyO3/maturin#2314). Added by `cargo pyo3 dev --fix-uv`.\n";

/// Adds `{ file = … }` entries to `[tool.uv] cache-keys`, creating the table or the array when
/// needed and leaving every byte outside the touched array as it was.
fn add_cache_keys(text: &str, paths: &[String], pyproject_path: &Path) -> Result<String> {
    let mut document = parse_pyproject(text, pyproject_path)?;
    let entries: Vec<Value> = paths
        .iter()
        .map(|path| {
            let mut table = InlineTable::new();
            table.insert("file", Value::from(path.as_str()));
            table.fmt();
            Value::InlineTable(table)
        })
        .collect();
    if let Err(what) = insert_entries(&mut document, entries) {
        return Err(user_error(
            format!(
                "`{what}` in `{}` is not a table, so `cache-keys` cannot be added to it",
                pyproject_path.display()
            ),
            format!(
                "add `cache-keys = [{}]` under `[tool.uv]` by hand",
                paths
                    .iter()
                    .map(|path| render_key(path))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(document.to_string())
}

/// The edit itself; `Err` names the key that has the wrong type.
fn insert_entries(document: &mut DocumentMut, entries: Vec<Value>) -> Result<(), &'static str> {
    let tool = document.as_table_mut().entry("tool").or_insert_with(|| {
        let mut table = Table::new();
        table.set_implicit(true);
        Item::Table(table)
    });
    let uv = match tool {
        Item::Table(tool) => tool.entry("uv").or_insert_with(|| {
            let mut table = Table::new();
            table.decor_mut().set_prefix("\n");
            Item::Table(table)
        }),
        Item::Value(Value::InlineTable(tool)) => {
            if !tool.contains_key("uv") {
                tool.insert("uv", Value::InlineTable(InlineTable::new()));
            }
            let uv = tool.get_mut("uv").ok_or("tool.uv")?;
            return insert_into_inline(uv, entries);
        }
        _ => return Err("tool"),
    };
    match uv {
        Item::Table(uv) => {
            if let Some(existing) = uv.get_mut("cache-keys") {
                let array = existing.as_array_mut().ok_or("tool.uv.cache-keys")?;
                append_entries(array, entries, true);
            } else {
                let mut array = Array::new();
                append_entries(&mut array, entries, true);
                uv.insert("cache-keys", Item::Value(Value::Array(array)));
                if let Some(mut key) = uv.key_mut("cache-keys") {
                    key.leaf_decor_mut().set_prefix(ADDED_COMMENT);
                }
            }
            Ok(())
        }
        Item::Value(uv) => insert_into_inline(uv, entries),
        _ => Err("tool.uv"),
    }
}

/// `uv = { … }`: arrays inside inline tables stay on one line.
fn insert_into_inline(uv: &mut Value, entries: Vec<Value>) -> Result<(), &'static str> {
    let table = uv.as_inline_table_mut().ok_or("tool.uv")?;
    if let Some(existing) = table.get_mut("cache-keys") {
        let array = existing.as_array_mut().ok_or("tool.uv.cache-keys")?;
        append_entries(array, entries, false);
    } else {
        // The blank before `}` belongs to the last value: hand it on to the new last value.
        let mut closing = String::new();
        if let Some((_, last)) = table.iter_mut().last() {
            closing = last
                .decor()
                .suffix()
                .and_then(RawString::as_str)
                .unwrap_or("")
                .to_owned();
            last.decor_mut().set_suffix("");
        }
        let mut array = Array::new();
        append_entries(&mut array, entries, false);
        array.decor_mut().set_prefix(" ");
        array.decor_mut().set_suffix(if closing.is_empty() {
            " "
        } else {
            closing.as_str()
        });
        table.insert("cache-keys", Value::Array(array));
    }
    Ok(())
}

/// Appends values in the array's own style: one per line with the same indent when it is
/// multi-line (or empty and allowed to be), `, `-separated otherwise. A comment after the last
/// entry stays with that entry.
fn append_entries(array: &mut Array, entries: Vec<Value>, multiline_allowed: bool) {
    let raw = |raw: Option<&RawString>| raw.and_then(RawString::as_str).unwrap_or("").to_owned();
    let was_empty = array.is_empty();
    let multiline = if was_empty {
        multiline_allowed
    } else {
        array
            .iter()
            .any(|value| raw(value.decor().prefix()).contains('\n'))
    };
    if !multiline {
        for mut value in entries {
            let prefix = if array.is_empty() { "" } else { " " };
            value.decor_mut().clear();
            value.decor_mut().set_prefix(prefix);
            value.decor_mut().set_suffix("");
            array.push_formatted(value);
        }
        return;
    }

    let indent = array
        .iter()
        .last()
        .map(|value| raw(value.decor().prefix()))
        .and_then(|prefix| {
            prefix
                .rsplit_once('\n')
                .map(|(_, indent)| indent.to_owned())
        })
        .unwrap_or_else(|| "    ".to_owned());
    // Everything between the last value and `]`: without a trailing comma a comment after the
    // last value sits in that value's suffix. The comment stays behind the last old value (after
    // the comma the new entry brings); the line break and indent before `]` stay before `]`.
    let mut tail = String::new();
    if !array.trailing_comma()
        && let Some(last) = array.iter_mut().last()
    {
        let suffix = raw(last.decor().suffix());
        if suffix.contains('#') || suffix.contains('\n') {
            tail = suffix;
            last.decor_mut().set_suffix("");
        }
    }
    tail.push_str(&raw(Some(array.trailing())));
    let (carried, closing) = if was_empty {
        (String::new(), "\n".to_owned())
    } else {
        match tail.rfind('\n') {
            Some(index) => (tail[..index].to_owned(), tail[index..].to_owned()),
            None => (tail, String::new()),
        }
    };
    for (index, mut value) in entries.into_iter().enumerate() {
        let prefix = if index == 0 {
            format!("{carried}\n{indent}")
        } else {
            format!("\n{indent}")
        };
        value.decor_mut().clear();
        value.decor_mut().set_prefix(prefix);
        value.decor_mut().set_suffix("");
        array.push_formatted(value);
    }
    if was_empty {
        array.set_trailing_comma(true);
    }
    array.set_trailing(closing);
}

/// Temp file in the same directory, same permissions, then rename: a crash leaves either the old
/// file or the new one, never half of one.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = path
        .parent()
        .with_context(|| format!("`{}` has no parent directory", path.display()))?;
    let permissions = fs_err::metadata(path)?.permissions();
    let mut temporary = tempfile::Builder::new()
        .prefix(".pyproject.toml.")
        .tempfile_in(dir)
        .with_context(|| format!("failed to create a temporary file in `{}`", dir.display()))?;
    temporary
        .write_all(text.as_bytes())
        .and_then(|()| temporary.as_file().sync_all())
        .with_context(|| format!("failed to write `{}`", temporary.path().display()))?;
    fs_err::set_permissions(temporary.path(), permissions)?;
    temporary
        .persist(path)
        .with_context(|| format!("failed to replace `{}`", path.display()))?;
    Ok(())
}

/// One unified-diff hunk around the lines that changed, with two lines of context.
fn line_diff(old: &str, new: &str, name: &str) -> String {
    const CONTEXT: usize = 2;
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let prefix = old_lines
        .iter()
        .zip(&new_lines)
        .take_while(|(left, right)| left == right)
        .count();
    let suffix = old_lines[prefix..]
        .iter()
        .rev()
        .zip(new_lines[prefix..].iter().rev())
        .take_while(|(left, right)| left == right)
        .count();
    let old_end = old_lines.len() - suffix;
    let new_end = new_lines.len() - suffix;
    let start = prefix.saturating_sub(CONTEXT);
    let old_stop = (old_end + CONTEXT).min(old_lines.len());
    let new_stop = (new_end + CONTEXT).min(new_lines.len());

    let mut diff = String::new();
    let _ = writeln!(diff, "--- {name}\n+++ {name}");
    let _ = writeln!(
        diff,
        "@@ -{},{} +{},{} @@",
        start + 1,
        old_stop - start,
        start + 1,
        new_stop - start
    );
    for line in &old_lines[start..prefix] {
        let _ = writeln!(diff, " {line}");
    }
    for line in &old_lines[prefix..old_end] {
        let _ = writeln!(diff, "-{line}");
    }
    for line in &new_lines[prefix..new_end] {
        let _ = writeln!(diff, "+{line}");
    }
    for line in &new_lines[new_end..new_stop] {
        let _ = writeln!(diff, " {line}");
    }
    diff
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::project::PathDependency;

    /// Real `uv sync --dry-run --frozen` outputs, captured with uv 0.13.8 on a copy of
    /// `examples/hello` (tests/data/uv/README.md says how each one was made).
    const SHAPES: &[(&str, &str, &str, &str, SyncAction)] = &[
        (
            "in-sync",
            include_str!("../tests/data/uv/in-sync.json"),
            include_str!("../tests/data/uv/in-sync.txt"),
            include_str!("../tests/data/uv/in-sync.json-stderr.txt"),
            SyncAction::None,
        ),
        (
            "reinstall-same-url",
            include_str!("../tests/data/uv/reinstall-same-url.json"),
            include_str!("../tests/data/uv/reinstall-same-url.txt"),
            include_str!("../tests/data/uv/reinstall-same-url.json-stderr.txt"),
            SyncAction::ReinstallFromCache,
        ),
        (
            "reinstall-after-wheel-install",
            include_str!("../tests/data/uv/reinstall-after-wheel-install.json"),
            include_str!("../tests/data/uv/reinstall-after-wheel-install.txt"),
            include_str!("../tests/data/uv/reinstall-after-wheel-install.json-stderr.txt"),
            SyncAction::ReinstallFromCache,
        ),
        (
            "rebuild",
            include_str!("../tests/data/uv/rebuild.json"),
            include_str!("../tests/data/uv/rebuild.txt"),
            include_str!("../tests/data/uv/rebuild.json-stderr.txt"),
            SyncAction::Rebuild,
        ),
        (
            "rebuild-after-wheel-install",
            include_str!("../tests/data/uv/rebuild-after-wheel-install.json"),
            include_str!("../tests/data/uv/rebuild-after-wheel-install.txt"),
            include_str!("../tests/data/uv/rebuild-after-wheel-install.json-stderr.txt"),
            SyncAction::Rebuild,
        ),
        (
            "pip-drift",
            include_str!("../tests/data/uv/pip-drift.json"),
            include_str!("../tests/data/uv/pip-drift.txt"),
            include_str!("../tests/data/uv/pip-drift.json-stderr.txt"),
            SyncAction::ReinstallFromCache,
        ),
    ];

    fn expected_version(action: SyncAction) -> Option<String> {
        (action == SyncAction::ReinstallFromCache).then(|| "0.1.0".to_owned())
    }

    #[test]
    fn json_parser_reads_every_captured_shape() {
        for (shape, json, _, _, expected) in SHAPES {
            let (action, version, evidence) =
                parse_json(json, "hello").unwrap_or_else(|| panic!("{shape}: JSON not read"));
            assert_eq!(action, *expected, "{shape}");
            assert_eq!(version, expected_version(*expected), "{shape}");
            assert!(
                evidence.iter().all(|line| line.contains("\"hello\"")),
                "{shape}: {evidence:?}"
            );
            assert_eq!(
                evidence.is_empty(),
                *expected == SyncAction::None,
                "{shape}"
            );
        }
    }

    #[test]
    fn text_parser_reads_every_captured_shape() {
        for (shape, _, text, json_stderr, expected) in SHAPES {
            for stderr in [text, json_stderr] {
                let (action, version) = parse_text(stderr, "hello");
                assert_eq!(action, *expected, "{shape}: {stderr}");
                assert_eq!(version, expected_version(*expected), "{shape}");
            }
        }
    }

    #[test]
    fn other_packages_are_ignored() {
        let (_, _, _, pip_stderr, _) = SHAPES[5];
        assert_eq!(parse_text(pip_stderr, "pip").0, SyncAction::Remove);
        let lines = text_lines_about(pip_stderr, "hello");
        assert_eq!(
            lines,
            [
                "- hello==0.1.0 (from file:///tmp/uvexp/out/hello-0.1.0-cp311-cp311-manylinux_2_34_x86_64.whl)",
                "+ hello==0.1.0 (from file:///tmp/uvexp/hello)",
            ]
        );
        assert_eq!(parse_text(pip_stderr, "other").0, SyncAction::None);
        assert_eq!(
            parse_json(SHAPES[5].1, "other").map(|r| r.0),
            Some(SyncAction::None)
        );
    }

    #[test]
    fn names_are_compared_per_pep_503() {
        assert_eq!(
            crate::venv::normalize_name("My_Package.Name--x"),
            "my-package-name-x"
        );
        let stderr = " ~ my-package==1.2 (from file:///p)\n";
        assert_eq!(
            parse_text(stderr, &crate::venv::normalize_name("My_Package")),
            (SyncAction::ReinstallFromCache, Some("1.2".to_owned()))
        );
    }

    #[test]
    fn unreadable_json_falls_back_to_none() {
        assert!(parse_json("", "hello").is_none());
        assert!(parse_json("{\"schema\": {}}", "hello").is_none());
        assert!(parse_json("not json", "hello").is_none());
    }

    // --- static coverage on synthetic trees -------------------------------------------------

    const PLAIN_PYPROJECT: &str = "[build-system]\nrequires = [\"maturin>=1.9,<2\"]\n\
        build-backend = \"maturin\"\n\n[project]\nname = \"demo\"\ndynamic = [\"version\"]\n";

    fn write(path: &Path, text: &str) {
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, text).unwrap();
    }

    /// A PyO3-shaped tree: pyproject, manifest, lock, `src/lib.rs`, `src/sub/m.rs`, `uv.lock`.
    fn scaffold(root: &Path, pyproject: &str) -> Project {
        write(&root.join("pyproject.toml"), pyproject);
        write(&root.join("Cargo.toml"), "[package]\nname = \"demo\"\n");
        write(&root.join("Cargo.lock"), "version = 4\n");
        write(&root.join("uv.lock"), "version = 1\n");
        write(&root.join("src/lib.rs"), "mod sub;\n");
        write(&root.join("src/sub/m.rs"), "\n");
        write(&root.join("README.md"), "\n");
        Project {
            project_dir: root.to_path_buf(),
            manifest_path: root.join("Cargo.toml"),
            package_dir: root.to_path_buf(),
            package_name: "demo".to_owned(),
            version: "0.1.0".to_owned(),
            lib_name: "demo".to_owned(),
            lib_src: root.join("src/lib.rs"),
            dist_name: "demo".to_owned(),
            module_name: "demo".to_owned(),
            python_source: None,
            pyproject_path: Some(root.join("pyproject.toml")),
            target_dir: root.join("target"),
            build_dir: root.join("target"),
            cargo_lock: Some(root.join("Cargo.lock")),
            build_script: None,
            path_dependencies: Vec::new(),
        }
    }

    fn with_keys(keys: &str) -> String {
        format!("{PLAIN_PYPROJECT}\n[tool.uv]\ncache-keys = {keys}\n")
    }

    fn static_report(project: &Project) -> GuardReport {
        check_in_play(project, None, Some(Path::new("/nonexistent/uv"))).unwrap()
    }

    #[test]
    fn unset_keys_leave_rust_uncovered() {
        let dir = tempfile::tempdir().unwrap();
        let project = scaffold(dir.path(), PLAIN_PYPROJECT);
        let report = static_report(&project);
        assert!(report.in_play);
        assert!(report.refuses());
        assert_eq!(report.cache_keys, CacheKeysState::Defaults);
        assert_eq!(
            report.uncovered,
            ["Cargo.toml", "Cargo.lock", "src/lib.rs", "src/sub/m.rs"]
        );
        // Setting the keys drops uv's defaults, so the fix lists `pyproject.toml` too.
        assert_eq!(
            report.missing_keys,
            [
                r#"{ file = "pyproject.toml" }"#,
                r#"{ file = "Cargo.toml" }"#,
                r#"{ file = "Cargo.lock" }"#,
                r#"{ file = "src/**/*.rs" }"#,
            ]
        );
    }

    #[test]
    fn targeted_keys_cover_everything() {
        let dir = tempfile::tempdir().unwrap();
        let keys = r#"[{ file = "pyproject.toml" }, "Cargo.toml", { file = "Cargo.lock" }, { file = "src/**/*.rs" }]"#;
        let project = scaffold(dir.path(), &with_keys(keys));
        let report = static_report(&project);
        assert!(report.in_play);
        assert!(!report.refuses(), "{report:?}");
        assert!(report.missing_keys.is_empty());
        assert_eq!(report.cache_keys, CacheKeysState::Set);
    }

    #[test]
    fn dir_git_and_env_keys_cover_no_edit() {
        let dir = tempfile::tempdir().unwrap();
        let keys = r#"["pyproject.toml", "Cargo.toml", "Cargo.lock", { dir = "src" }, { git = { commit = true } }, { env = "X" }]"#;
        let project = scaffold(dir.path(), &with_keys(keys));
        let report = static_report(&project);
        assert_eq!(report.uncovered, ["src/lib.rs", "src/sub/m.rs"]);
        assert_eq!(report.missing_keys, [r#"{ file = "src/**/*.rs" }"#]);
    }

    #[test]
    fn a_missing_path_dependency_is_uncovered() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("py");
        let keys = r#"["pyproject.toml", "Cargo.toml", "Cargo.lock", "src/**/*.rs"]"#;
        let mut project = scaffold(&root, &with_keys(keys));
        let dependency = dir.path().join("core");
        write(
            &dependency.join("Cargo.toml"),
            "[package]\nname = \"core\"\n",
        );
        write(&dependency.join("src/lib.rs"), "\n");
        write(&dependency.join("src/deep/x.rs"), "\n");
        write(&dependency.join("tests/t.rs"), "\n");
        project
            .path_dependencies
            .push(PathDependency { dir: dependency });
        let report = static_report(&project);
        assert_eq!(
            report.uncovered,
            [
                "../core/Cargo.toml",
                "../core/src/deep/x.rs",
                "../core/src/lib.rs"
            ]
        );
        assert_eq!(
            report.missing_keys,
            [
                r#"{ file = "../core/Cargo.toml" }"#,
                r#"{ file = "../core/src/**/*.rs" }"#
            ]
        );
    }

    #[test]
    fn build_script_and_outside_lock_are_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("crates/py");
        let keys = r#"["pyproject.toml", "Cargo.toml", "src/**/*.rs"]"#;
        let mut project = scaffold(&root, &with_keys(keys));
        write(&root.join("build.rs"), "fn main() {}\n");
        project.build_script = Some(root.join("build.rs"));
        write(&dir.path().join("Cargo.lock"), "version = 4\n");
        project.cargo_lock = Some(dir.path().join("Cargo.lock"));
        let report = static_report(&project);
        assert_eq!(report.uncovered, ["../../Cargo.lock", "build.rs"]);
        assert_eq!(
            report.missing_keys,
            [
                r#"{ file = "../../Cargo.lock" }"#,
                r#"{ file = "build.rs" }"#
            ]
        );
    }

    #[test]
    fn sources_at_the_project_root_are_listed_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut project = scaffold(dir.path(), PLAIN_PYPROJECT);
        write(&dir.path().join("lib.rs"), "\n");
        write(
            &dir.path().join("target/debug/build/x/out/generated.rs"),
            "\n",
        );
        project.lib_src = dir.path().join("lib.rs");
        fs_err::remove_dir_all(dir.path().join("src")).unwrap();
        let report = static_report(&project);
        assert!(
            report
                .missing_keys
                .contains(&r#"{ file = "lib.rs" }"#.to_owned())
        );
        assert!(report.missing_keys.iter().all(|key| !key.contains("**")));
        assert!(
            report
                .uncovered
                .iter()
                .all(|path| !path.starts_with("target")),
            "{report:?}"
        );
    }

    /// Mirrors probes run against uv 0.13.8 with `uv sync --dry-run -v` ("Most recently
    /// modified: …"): docs/uv.md, "What counts as covered".
    #[test]
    fn globs_match_the_way_uv_walks_them() {
        let root = Path::new("/p/hello");
        let covers = |keys: &[&str], path: &str| {
            let keys: Vec<CacheKey> = keys
                .iter()
                .map(|key| CacheKey::File((*key).to_owned()))
                .collect();
            Coverage::new(root, &keys).unwrap().covers(&root.join(path))
        };
        assert!(covers(&["src/*.rs"], "src/sub/x.rs"));
        assert!(!covers(&["*.toml", "src/*.rs"], "src/sub/x.rs"));
        assert!(covers(&["*.toml", "src/*.rs"], "src/lib.rs"));
        assert!(covers(&["*.rs"], "src/sub/x.rs"));
        assert!(covers(&["../dep/src/**/*.rs"], "../dep/src/inner/m.rs"));
        assert!(covers(&["../dep/Cargo.toml"], "../dep/Cargo.toml"));
        assert!(covers(&["Cargo.*"], "Cargo.lock"));
        assert!(covers(&["./src/**/*.rs"], "src/sub/x.rs"));
        assert!(covers(&["/p/hello/src/**/*.rs"], "src/sub/x.rs"));
        assert!(covers(&["src/**"], "src/sub/x.rs"));
        assert!(covers(
            &["src/**/*.rs", "../dep/src/**/*.rs"],
            "../dep/src/lib.rs"
        ));
        assert!(!covers(&["src/**/*.rs"], "../dep/src/lib.rs"));
        assert!(!covers(&["src/**/*.rs"], "Cargo.toml"));
        assert!(!covers(&["src/lib.rs"], "src/sub/x.rs"));
        assert!(!covers(&["src"], "src/lib.rs"));
        assert!(!covers(&["src/**/*.rs", "src/**/!x.rs"], "x.rs"));
    }

    #[test]
    fn globs_split_like_uv() {
        let split = |key: &str| {
            let (base, pattern) = split_glob(key);
            (path_to_slashes(&base), pattern)
        };
        assert_eq!(
            split("src/**/*.rs"),
            ("src".to_owned(), "**/*.rs".to_owned())
        );
        assert_eq!(split("../x/*"), ("../x".to_owned(), "*".to_owned()));
        assert_eq!(split("./a/b/c"), ("a/b".to_owned(), "c".to_owned()));
        assert_eq!(split("c/d/*/../*"), ("c/d".to_owned(), "*/../*".to_owned()));
        assert_eq!(split("*"), (String::new(), "*".to_owned()));
        assert_eq!(split("a/{b,c}/d"), ("a".to_owned(), "{b,c}/d".to_owned()));
    }

    #[test]
    fn unreadable_keys_fall_back_to_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let text = with_keys(r#"[{ package = "dep" }, { file = "src/**/*.rs" }]"#);
        let project = scaffold(dir.path(), &text);
        let report = static_report(&project);
        assert!(
            matches!(report.cache_keys, CacheKeysState::Unreadable(ref detail) if detail.contains("entry 1"))
        );
        assert!(report.uncovered.contains(&"src/lib.rs".to_owned()));
        let error = fix(&project).unwrap_err();
        assert!(crate::output::hint_of(&error).is_some(), "{error:#}");
        assert_eq!(
            fs_err::read_to_string(dir.path().join("pyproject.toml")).unwrap(),
            text
        );
    }

    #[test]
    fn not_in_play_runs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let project = scaffold(dir.path(), PLAIN_PYPROJECT);
        // No uv on PATH: not in play, and `check` cannot have started anything.
        let report = check(&project, None, None).unwrap();
        assert!(!report.in_play);
        assert_eq!(
            report.not_in_play_reason.as_deref(),
            Some("uv is not on PATH")
        );
        assert!(report.dry_run.is_none() && !report.refuses());

        fs_err::remove_file(dir.path().join("uv.lock")).unwrap();
        let report = check(&project, None, Some(Path::new("/nonexistent/uv"))).unwrap();
        assert!(!report.in_play);
        assert!(report.dry_run.is_none() && report.dry_run_error.is_none());

        let text = format!("{PLAIN_PYPROJECT}\n[tool.uv]\npackage = false\n");
        let project = scaffold(dir.path(), &text);
        let report = check_in_play(&project, None, Some(Path::new("/nonexistent/uv"))).unwrap();
        assert!(!report.in_play, "{report:?}");
    }

    #[test]
    fn a_uv_workspace_lock_counts() {
        let dir = tempfile::tempdir().unwrap();
        let member = dir.path().join("packages/ext");
        let project = scaffold(&member, PLAIN_PYPROJECT);
        fs_err::remove_file(member.join("uv.lock")).unwrap();
        assert!(!has_uv_lock(&project));
        write(&dir.path().join("uv.lock"), "version = 1\n");
        assert!(
            !has_uv_lock(&project),
            "a lock of an unrelated project above"
        );
        write(
            &dir.path().join("pyproject.toml"),
            "[tool.uv.workspace]\nmembers = [\"packages/*\"]\n",
        );
        assert!(has_uv_lock(&project));
    }

    #[test]
    fn a_failed_dry_run_keeps_the_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let project = scaffold(dir.path(), PLAIN_PYPROJECT);
        let report = check(&project, None, Some(Path::new("/nonexistent/uv"))).unwrap();
        assert!(report.refuses());
        assert!(report.dry_run.is_none());
        assert!(
            report
                .dry_run_error
                .as_deref()
                .is_some_and(|error| error.contains("/nonexistent/uv"))
        );
    }

    #[test]
    fn refusal_says_what_why_and_how() {
        let dir = tempfile::tempdir().unwrap();
        let project = scaffold(dir.path(), PLAIN_PYPROJECT);
        let mut report = static_report(&project);
        let (action, version, _) = parse_json(SHAPES[1].1, "hello").unwrap();
        report.dry_run = Some(DryRun {
            action,
            version,
            evidence: text_lines_about(SHAPES[1].2, "hello"),
            format: DryRunFormat::Json,
            command: "uv sync --dry-run".to_owned(),
        });
        let error = report.refusal();
        let message = error.to_string();
        let hint = crate::output::hint_of(&error).unwrap();
        assert!(
            message.contains("would reinstall `demo 0.1.0` from uv's cache"),
            "{message}"
        );
        assert!(
            message.contains("`~ hello==0.1.0 (from file:///tmp/uvexp/hello)`"),
            "{message}"
        );
        assert!(message.contains("`src/lib.rs`"), "{message}");
        assert!(message.contains("PyO3/maturin#2314"), "{message}");
        assert!(hint.contains("cargo pyo3 dev --fix-uv"), "{hint}");
        assert!(hint.contains(r#"{ file = "src/**/*.rs" },"#), "{hint}");
        assert!(hint.contains("--allow-uv-cache"), "{hint}");
        assert!(hint.contains("uv run --no-sync"), "{hint}");

        report.dry_run = None;
        let message = report.refusal().to_string();
        assert!(message.contains("after this install"), "{message}");
    }

    // --- the fix ------------------------------------------------------------------------------

    const COMMENTED_PYPROJECT: &str = "# Top comment\n[build-system]\nrequires = [ \"maturin>=1.9,<2\" ]   # odd spacing\nbuild-backend=\"maturin\"\n\n[project]\nname = \"demo\"  # the name\ndynamic = [\"version\"]\n\n[tool.maturin]\n# features comment\nfeatures = [\n  \"pyo3/extension-module\",\n]\n\n[dependency-groups]\ndev = [\"pytest\"]\n# trailing comment\n";

    /// The new text is the old one with lines inserted at one place and nothing else changed.
    fn assert_only_inserted(old: &str, new: &str) {
        let old_lines: Vec<&str> = old.lines().collect();
        let new_lines: Vec<&str> = new.lines().collect();
        let prefix = old_lines
            .iter()
            .zip(&new_lines)
            .take_while(|(a, b)| a == b)
            .count();
        let suffix = old_lines[prefix..]
            .iter()
            .rev()
            .zip(new_lines[prefix..].iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        assert_eq!(prefix + suffix, old_lines.len(), "lines changed:\n{new}");
    }

    #[test]
    fn fix_keeps_comments_and_formatting() {
        let dir = tempfile::tempdir().unwrap();
        let project = scaffold(dir.path(), COMMENTED_PYPROJECT);
        let path = dir.path().join("pyproject.toml");
        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();

        let diff = fix(&project).unwrap().expect("a change");
        let new = fs_err::read_to_string(&path).unwrap();
        assert_only_inserted(COMMENTED_PYPROJECT, &new);
        assert!(new.ends_with("# trailing comment\n"), "{new}");
        // The new table follows `[tool.maturin]`, ahead of `[dependency-groups]`.
        let uv = new.find("[tool.uv]").unwrap();
        assert!(
            new.find("[tool.maturin]").unwrap() < uv
                && uv < new.find("[dependency-groups]").unwrap()
        );
        assert!(new.contains(
            "\n[tool.uv]\n# uv's default cache keys ignore Rust sources: without these, `uv run` reinstalls a stale\n# cached build after a Rust edit (PyO3/maturin#2314). Added by `cargo pyo3 dev --fix-uv`.\ncache-keys = [\n    { file = \"pyproject.toml\" },\n    { file = \"Cargo.toml\" },\n    { file = \"Cargo.lock\" },\n    { file = \"src/**/*.rs\" },\n]\n\n[dependency-groups]"
        ), "{new}");
        assert!(
            diff.contains("+[tool.uv]")
                && !diff
                    .lines()
                    .any(|line| line.starts_with("-") && !line.starts_with("---")),
            "{diff}"
        );
        let mode = fs_err::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        // uv reads the result and it covers everything; a second fix changes nothing.
        assert!(!static_report(&project).refuses());
        assert_eq!(fix(&project).unwrap(), None);
        assert_eq!(fs_err::read_to_string(&path).unwrap(), new);
    }

    #[test]
    fn fix_appends_to_existing_keys_and_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{PLAIN_PYPROJECT}\n[tool.uv]\ndev-dependencies = []  # keep\ncache-keys = [\n  # mine\n  \"pyproject.toml\",\n  {{ dir = \"src\" }},   # the old way\n]\n\n[tool.other]\nx = 1\n"
        );
        let project = scaffold(dir.path(), &text);
        fix(&project).unwrap().expect("a change");
        let new = fs_err::read_to_string(dir.path().join("pyproject.toml")).unwrap();
        assert_only_inserted(&text, &new);
        assert!(new.contains(
            "cache-keys = [\n  # mine\n  \"pyproject.toml\",\n  { dir = \"src\" },   # the old way\n  { file = \"Cargo.toml\" },\n  { file = \"Cargo.lock\" },\n  { file = \"src/**/*.rs\" },\n]\n\n[tool.other]"
        ), "{new}");
        assert_eq!(fix(&project).unwrap(), None);
    }

    #[test]
    fn fix_follows_one_line_arrays_and_comments_without_trailing_comma() {
        let dir = tempfile::tempdir().unwrap();
        let text = with_keys(r#"["pyproject.toml", "Cargo.toml"]"#);
        let project = scaffold(dir.path(), &text);
        fix(&project).unwrap().expect("a change");
        let new = fs_err::read_to_string(dir.path().join("pyproject.toml")).unwrap();
        assert!(new.ends_with(
            "cache-keys = [\"pyproject.toml\", \"Cargo.toml\", { file = \"Cargo.lock\" }, { file = \"src/**/*.rs\" }]\n"
        ), "{new}");

        let text = with_keys("[\n    \"pyproject.toml\",\n    \"Cargo.toml\"  # manifest\n]");
        let project = scaffold(dir.path(), &text);
        fix(&project).unwrap().expect("a change");
        let new = fs_err::read_to_string(dir.path().join("pyproject.toml")).unwrap();
        assert!(new.ends_with(
            "cache-keys = [\n    \"pyproject.toml\",\n    \"Cargo.toml\",  # manifest\n    { file = \"Cargo.lock\" },\n    { file = \"src/**/*.rs\" }\n]\n"
        ), "{new}");
        assert!(!static_report(&project).refuses());
    }

    #[test]
    fn fix_handles_dotted_and_inline_uv_tables() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{PLAIN_PYPROJECT}\n[tool]\nuv.managed = true\n");
        let project = scaffold(dir.path(), &text);
        fix(&project).unwrap().expect("a change");
        assert!(!static_report(&project).refuses());

        let text = format!("{PLAIN_PYPROJECT}\n[tool]\nuv = {{ managed = true }}\n");
        let project = scaffold(dir.path(), &text);
        fix(&project).unwrap().expect("a change");
        let new = fs_err::read_to_string(dir.path().join("pyproject.toml")).unwrap();
        assert!(
            new.contains("uv = { managed = true, cache-keys = [{ file = \"pyproject.toml\" }, "),
            "{new}"
        );
        assert!(!static_report(&project).refuses());
    }

    #[test]
    fn fix_refuses_a_wrong_type_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{PLAIN_PYPROJECT}\n[tool.uv]\ncache-keys = \"src\"\n");
        let project = scaffold(dir.path(), &text);
        let error = fix(&project).unwrap_err();
        assert!(error.to_string().contains("cache-keys"), "{error:#}");
        assert_eq!(
            fs_err::read_to_string(dir.path().join("pyproject.toml")).unwrap(),
            text
        );
    }

    #[test]
    fn malformed_pyproject_names_file_and_line_and_stays_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[project]\nname = \"demo\"\n\n[tool.uv\ncache-keys = []\n";
        let project = scaffold(dir.path(), text);
        let error = fix(&project).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("pyproject.toml"), "{message}");
        assert!(message.contains("line 4"), "{message}");
        assert_eq!(
            fs_err::read_to_string(dir.path().join("pyproject.toml")).unwrap(),
            text
        );
        assert!(check_in_play(&project, None, Some(Path::new("uv"))).is_err());
        // No temporary file left behind.
        let names: Vec<String> = fs_err::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|name| !name.starts_with(".pyproject")),
            "{names:?}"
        );
    }

    #[test]
    fn fix_writes_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let project = scaffold(dir.path(), PLAIN_PYPROJECT);
        let real = dir.path().join("real-pyproject.toml");
        fs_err::rename(dir.path().join("pyproject.toml"), &real).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("pyproject.toml")).unwrap();
        fix(&project).unwrap().expect("a change");
        assert!(dir.path().join("pyproject.toml").is_symlink());
        assert!(fs_err::read_to_string(&real).unwrap().contains("[tool.uv]"));
    }

    #[test]
    fn diff_is_one_hunk() {
        let diff = line_diff("a\nb\nc\nd\n", "a\nb\nx\ny\nc\nd\n", "pyproject.toml");
        assert_eq!(
            diff,
            "--- pyproject.toml\n+++ pyproject.toml\n@@ -1,4 +1,6 @@\n a\n b\n+x\n+y\n c\n d\n"
        );
    }
}
