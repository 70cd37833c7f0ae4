//! The uv guard: refuses to build when uv's cache keys cannot see Rust edits, because a later
//! `uv run` or `uv sync` would then put a stale cached wheel back over ours (PyO3/maturin#2314),
//! and writes the `tool.uv.cache-keys` that fix it.
//!
//! How uv decides (uv 0.13.8, `crates/uv-cache-info/src/cache_info.rs` and `glob.rs`, and
//! measured as docs/uv.md describes):
//! - Unset `cache-keys` means `pyproject.toml`, `setup.py`, `setup.cfg` and `{ dir = "src" }`.
//! - A file key contributes the newest `ctime` of the files it names; a key with `*?[{` in it is
//!   a glob, walked with gitignore syntax from the longest glob-free prefix of the key (which may
//!   start with `../`).
//! - A `dir` key contributes only the directory's creation time (its inode where there is none):
//!   editing, adding or removing files inside never changes it, so it covers no edit.
//! - `git` and `env` keys cover no uncommitted edit either.
//! - When the list cannot be read (an entry uv does not know), uv warns and uses the defaults.
//!
//! One concern per file: `check` (the verdict), `cache_keys` (the keys as uv reads them),
//! `coverage` (which files those keys watch), `plan` (the build inputs and the keys to add),
//! `dry_run` (what `uv sync` would do now), `edit` (the fix, written into `pyproject.toml`) and
//! `refusal` (the message).

mod cache_keys;
mod check;
mod coverage;
mod dry_run;
mod edit;
mod paths;
mod plan;
mod refusal;
#[cfg(test)]
mod test_support;

pub(crate) use check::{GuardVerdict, check, find_uv_lock};
pub(crate) use edit::fix;
