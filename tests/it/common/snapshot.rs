//! Whole runs as text for insta, uv-style: the exit code, stdout and stderr, with what differs
//! from one run or machine to the next (temporary paths, hashes, times, tool versions) replaced
//! by placeholders, so that a snapshot only changes when what users read changes.

use std::path::Path;

use super::Run;

/// Placeholders for the paths of one test: its project, the shared target dir and uv cache,
/// the pinned tools. Plain text, longest first, so that a path inside another is replaced whole.
fn path_filters(project: &Path) -> Vec<(String, &'static str)> {
    let mut paths: Vec<(String, &'static str)> = Vec::new();
    let mut add = |path: &Path, placeholder| {
        paths.push((path.display().to_string(), placeholder));
        if let Ok(canonical) = std::fs::canonicalize(path) {
            paths.push((canonical.display().to_string(), placeholder));
        }
    };
    add(project, "[PROJECT]");
    add(&super::fixture_target_dir(), "[TARGET]");
    add(&super::uv_cache_dir(), "[UV_CACHE]");
    add(&super::scratch().join("tools"), "[TOOLS]");
    if let Some(home) = std::env::var_os("HOME") {
        add(Path::new(&home), "[HOME]");
    }
    paths.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
    paths.dedup();
    paths
}

/// cargo names the profile's settings ("unoptimized + debuginfo"), and the harness builds the
/// fixtures without debuginfo: the line says `[SETTINGS]` whatever they are.
pub const PROFILE_SETTINGS: (&str, &str) =
    (r"profile \[[a-z +]+\] target", "profile [SETTINGS] target");

/// Regexes for what changes between runs of the same test.
pub const FILTERS: &[(&str, &str)] = &[
    // Whether cargo compiles, fetches or waits for a lock depends on what ran before (and beside)
    // in the shared target dir and cargo home.
    (
        r"(?m)^ +(Compiling|Blocking|Updating|Locking|Adding|Downloading|Downloaded) .*\n",
        "",
    ),
    (
        r"Found CPython (\S+) at \S+",
        "Found CPython $1 at [PYTHON]",
    ),
    (r"[0-9a-f]{64}", "[SHA256]"),
    (r"/wheels/[0-9a-f]{16}/", "/wheels/[HASH16]/"),
    (r"\bin \d+\.\d+s\b", "in [TIME]"),
    PROFILE_SETTINGS,
    (
        r#""git_commit": (null|"[0-9a-f]{40}")"#,
        r#""git_commit": "[COMMIT OR NULL]""#,
    ),
    (
        r#""(discover|lock|venv|guard|digest|clean|build|inspect|dependencies|install|prove|receipt|total)": \d+"#,
        r#""$1": "[MS]""#,
    ),
    (
        r#""(tool_version|maturin|uv)": "\d+\.\d+\.\d+""#,
        r#""$1": "[VERSION]""#,
    ),
    (
        r#""(build_interpreter|base_interpreter)": "[^"]*""#,
        r#""$1": "[PYTHON]""#,
    ),
    (r"sha256 [0-9a-f]{12}", "sha256 [HASH]"),
    (r"-[0-9a-f]{8}/", "-[HASH8]/"),
    (r"/tmp/cargo-pyo3-[a-z]+-[A-Za-z0-9]+", "[TMP]"),
    (r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]"),
    (r"\(\d+\.\d\ds\)", "([TIME])"),
    (r"\d+ (s|min|h|days) ago", "[AGE] ago"),
    (
        r#""(built_at_unix_ms|duration_ms|checked_at_unix_ms|size|inode|modified_ns|changed_ns)": \d+"#,
        r#""$1": "[NUMBER]""#,
    ),
    (
        r"((cargo|rustc|maturin|uv) )\d+\.\d+\.\d+(-[a-z0-9.]+)?( \([^)]*\))?",
        "$1[VERSION]",
    ),
    (
        r#""version": "\d+\.\d+\.\d+( \([^)]*\))?""#,
        r#""version": "[VERSION]""#,
    ),
    (r"python \d+\.\d+\.\d+", "python [VERSION]"),
    (r"python3\.\d+", "python3.[MINOR]"),
    (r"cpython-3\d+-", "cpython-3[MINOR]-"),
    (r"cp3\d+-cp3\d+", "cp3[MINOR]-cp3[MINOR]"),
];

/// `text` with the project's and the harness's paths replaced by placeholders.
pub fn redact(text: &str, project: &Path) -> String {
    let mut text = text.to_owned();
    for (path, placeholder) in path_filters(project) {
        text = text.replace(&path, placeholder);
    }
    text
}

/// The run as one text: `exit_code`, `----- stdout -----`, `----- stderr -----`, paths redacted
/// (the regex [`FILTERS`] are applied by [`assert_filtered_snapshot!`]).
pub fn render(run: &Run, project: &Path) -> String {
    let text = format!(
        "exit_code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
        run.code
            .map_or("signal".to_owned(), |code| code.to_string()),
        run.stdout,
        run.stderr
    );
    redact(&text, project)
}

/// `insta::assert_snapshot!` with the regex [`FILTERS`], then any given after them.
#[macro_export]
macro_rules! assert_filtered_snapshot {
    ($name:expr, $text:expr) => {
        $crate::assert_filtered_snapshot!($name, $text, &[])
    };
    ($name:expr, $text:expr, $extra:expr) => {{
        let text: String = $text;
        let extra: &[(&str, &str)] = $extra;
        let mut settings = insta::Settings::clone_current();
        for (pattern, replacement) in $crate::common::snapshot::FILTERS.iter().chain(extra) {
            settings.add_filter(pattern, *replacement);
        }
        settings.bind(|| insta::assert_snapshot!($name, text));
    }};
}
