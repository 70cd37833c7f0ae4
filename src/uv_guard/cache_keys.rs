//! `tool.uv.cache-keys` as uv reads it: the entries it accepts, its defaults when unset, and
//! the whole list ignored when one entry is unreadable.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;
use toml_edit::{DocumentMut, InlineTable, Value};

use crate::failure::user_error;

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

/// One `tool.uv.cache-keys` entry, in the shapes uv accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CacheKey {
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
pub(super) struct UvKeys {
    state: CacheKeysState,
    /// The user's entries, when `state` is `Set`.
    keys: Vec<CacheKey>,
}

impl UvKeys {
    pub(super) fn state(&self) -> CacheKeysState {
        self.state.clone()
    }

    /// The keys uv really uses.
    pub(super) fn effective(&self) -> Vec<CacheKey> {
        match self.state {
            CacheKeysState::Set => self.keys.clone(),
            _ => default_keys(),
        }
    }

    /// The keys a fix builds on: setting the list replaces uv's defaults, so with none set the
    /// fix starts from nothing and must list `pyproject.toml` itself.
    pub(super) fn explicit(&self) -> Vec<CacheKey> {
        match self.state {
            CacheKeysState::Set => self.keys.clone(),
            _ => Vec::new(),
        }
    }
}

/// uv's defaults when `cache-keys` is unset (uv-cache-info `cache_info.rs`).
pub(super) fn default_keys() -> Vec<CacheKey> {
    vec![
        CacheKey::File("pyproject.toml".to_owned()),
        CacheKey::File("setup.py".to_owned()),
        CacheKey::File("setup.cfg".to_owned()),
        CacheKey::Directory("src".to_owned()),
    ]
}

pub(super) fn read_cache_keys(document: &DocumentMut) -> UvKeys {
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
pub(super) fn parse_cache_key(value: &Value) -> Option<CacheKey> {
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
pub(super) fn render_key(path: &str) -> String {
    let mut table = InlineTable::new();
    table.insert("file", Value::from(path));
    table.fmt();
    table.to_string()
}

pub(super) fn parse_pyproject(text: &str, path: &Path) -> Result<DocumentMut> {
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

pub(super) fn uv_table(document: &DocumentMut) -> Option<&dyn toml_edit::TableLike> {
    document
        .get("tool")?
        .as_table_like()?
        .get("uv")?
        .as_table_like()
}
