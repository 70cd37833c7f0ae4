//! The fix: writes the missing keys into `pyproject.toml` with toml_edit, only adding, keeping
//! every comment and byte outside the touched array, proving the result before an atomic write.

use std::path::Path;

use anyhow::Result;
use toml_edit::{Array, DocumentMut, InlineTable, Item, RawString, Table, Value};

use super::cache_keys::{CacheKeysState, parse_pyproject, read_cache_keys, render_key};
use super::coverage::Coverage;
use super::paths::relative_display;
use super::plan::{build_inputs, plan_missing_keys};
use crate::failure::user_error;
use crate::project::Project;

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

pub(super) const ADDED_COMMENT: &str = "# uv's default cache keys ignore Rust sources: without these, `uv run` \
                             reinstalls a stale\n# cached build after a Rust edit \
                             (PyO3/maturin#2314). Added by `cargo pyo3 dev --fix-uv`.\n";

/// Adds `{ file = … }` entries to `[tool.uv] cache-keys`, creating the table or the array when
/// needed and leaving every byte outside the touched array as it was.
pub(super) fn add_cache_keys(
    text: &str,
    paths: &[String],
    pyproject_path: &Path,
) -> Result<String> {
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
pub(super) fn insert_entries(
    document: &mut DocumentMut,
    entries: Vec<Value>,
) -> Result<(), &'static str> {
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
pub(super) fn insert_into_inline(uv: &mut Value, entries: Vec<Value>) -> Result<(), &'static str> {
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
pub(super) fn append_entries(array: &mut Array, entries: Vec<Value>, multiline_allowed: bool) {
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

/// Keeps the file's permissions; replaced by rename ([`crate::fs_atomic`]).
pub(super) fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let permissions = fs_err::metadata(path)?.permissions();
    crate::fs_atomic::replace(path, Some(permissions), |out| {
        out.write_all(text.as_bytes())
    })
}

/// The change as a unified diff with two lines of context, as `git diff` shows it.
pub(super) fn line_diff(old: &str, new: &str, name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header(name, name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::test_support::{set_unusual_permissions, symlink_file};
    use crate::uv_guard::test_support::*;

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
        set_unusual_permissions(&path);
        let permissions = fs_err::metadata(&path).unwrap().permissions();

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
        assert_eq!(fs_err::metadata(&path).unwrap().permissions(), permissions);
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
        assert!(check_in_play(&project, Some(Path::new("uv"))).is_err());
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
        symlink_file(&real, &dir.path().join("pyproject.toml"));
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
