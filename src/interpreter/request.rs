//! What `--python` asks for when it names several interpreters: versions (`3.12`), ranges
//! (`3.9-3.12`), `all`, or an interpreter by path or command.

use anyhow::Result;

use crate::failure::user_error;

/// A `major.minor` version, as `python3.12` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Minor {
    pub(crate) major: u64,
    pub(crate) minor: u64,
}

impl std::fmt::Display for Minor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl Minor {
    /// `3.12` → 3.12; anything else (`3`, `3.12.1`, `3.x`) → `None`.
    pub(crate) fn parse(text: &str) -> Option<Minor> {
        let (major, minor) = text.split_once('.')?;
        let number = |part: &str| {
            (!part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()))
                .then(|| part.parse().ok())
                .flatten()
        };
        Some(Minor {
            major: number(major)?,
            minor: number(minor)?,
        })
    }

    /// The `major.minor` of a full version such as `3.12.1` or `3.13.0rc2`.
    pub(crate) fn of_version(version: &str) -> Option<Minor> {
        let mut parts = version.splitn(3, '.');
        let major = parts.next()?;
        let minor: String = parts
            .next()?
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        Minor::parse(&format!("{major}.{minor}"))
    }
}

/// One `--python` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    /// `3.12`: the local CPython 3.12.
    Version(Minor),
    /// `3.9-3.12`: every version from the first to the last, both included.
    Range(Minor, Minor),
    /// `all`: every local CPython the project admits.
    All,
    /// A path to an interpreter, or a command on PATH (`pypy3.10`, `python3`).
    Named(String),
}

impl Request {
    pub(crate) fn parse(value: &str) -> Result<Request> {
        let value = value.trim();
        if value == "all" {
            return Ok(Request::All);
        }
        if let Some(minor) = Minor::parse(value) {
            return Ok(Request::Version(minor));
        }
        if let Some((low, high)) = value.split_once('-')
            && let (Some(low), Some(high)) = (Minor::parse(low), Minor::parse(high))
        {
            if low.major != high.major || low > high {
                return Err(user_error(
                    format!("`--python {value}` is not a range of versions"),
                    format!(
                        "write the lower version first, within one major version: `--python \
                         {}-{}`",
                        low.min(high),
                        low.max(high)
                    ),
                ));
            }
            return Ok(Request::Range(low, high));
        }
        if value.is_empty() {
            return Err(user_error(
                "`--python` was given an empty value",
                "name a version (`3.12`), a range (`3.9-3.12`), `all`, or an interpreter's path",
            ));
        }
        if value.starts_with(|first: char| first.is_ascii_digit()) {
            return Err(user_error(
                format!("`--python {value}` is not a version `cargo pyo3` can look for"),
                "name a minor version (`3.12`: the newest local 3.12), a range (`3.9-3.12`), \
                 `all`, or an interpreter's path",
            ));
        }
        Ok(Request::Named(value.to_owned()))
    }

    /// How the request was written, for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Request::Version(minor) => format!("`--python {minor}`"),
            Request::Range(low, high) => format!("`--python {low}-{high}`"),
            Request::All => "`--python all`".to_owned(),
            Request::Named(name) => format!("`--python {name}`"),
        }
    }
}

/// Whether `values` (every `--python`) ask for several interpreters: more than one, a range or
/// `all`. One version or path keeps today's single `.venv`.
pub(crate) fn several(values: &[String]) -> bool {
    match values {
        [] => false,
        [one] => matches!(Request::parse(one), Ok(Request::Range(..) | Request::All)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minor(text: &str) -> Minor {
        Minor::parse(text).unwrap()
    }

    #[test]
    fn values_are_read_as_users_write_them() {
        assert_eq!(
            Request::parse("3.12").unwrap(),
            Request::Version(minor("3.12"))
        );
        assert_eq!(
            Request::parse("3.9-3.12").unwrap(),
            Request::Range(minor("3.9"), minor("3.12"))
        );
        assert_eq!(Request::parse("all").unwrap(), Request::All);
        assert_eq!(
            Request::parse("/opt/py/bin/python3").unwrap(),
            Request::Named("/opt/py/bin/python3".into())
        );
        assert_eq!(
            Request::parse("pypy3.10").unwrap(),
            Request::Named("pypy3.10".into())
        );
        assert!(Request::parse("3.12-3.9").is_err());
        assert!(Request::parse("3.12.1").is_err());
        assert!(Request::parse("").is_err());
        // 3.10 sorts after 3.9.
        assert!(minor("3.10") > minor("3.9"));
        assert_eq!(Minor::of_version("3.13.0rc2"), Some(minor("3.13")));
    }

    #[test]
    fn several_means_more_than_one_interpreter() {
        let values = |list: &[&str]| list.iter().map(|v| v.to_string()).collect::<Vec<_>>();
        assert!(!several(&values(&[])));
        assert!(!several(&values(&["3.12"])));
        assert!(!several(&values(&["/usr/bin/python3"])));
        assert!(several(&values(&["3.9", "3.12"])));
        assert!(several(&values(&["3.9-3.12"])));
        assert!(several(&values(&["all"])));
    }
}
