//! Project names: one name has to be a Cargo package name, a PyPI distribution name and, with
//! `-` turned into `_`, a Python module name that is also a Rust identifier. This module decides
//! whether a name is all of those, says which rule a bad one breaks, and suggests one that works.

use std::fmt;

/// A name that passed every rule, with the module name derived from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProjectName {
    name: String,
    module_name: String,
}

impl ProjectName {
    /// Checks `name` against every rule; the first rule it breaks is the error.
    pub(crate) fn parse(name: &str) -> Result<ProjectName, InvalidName> {
        let module_name = module_name_of(name);
        match broken_rule(name, &module_name) {
            Some(rule) => Err(InvalidName {
                name: name.to_owned(),
                module_name,
                rule,
            }),
            None => Ok(ProjectName {
                name: name.to_owned(),
                module_name,
            }),
        }
    }

    /// The Cargo package name, exactly as given.
    pub(crate) fn crate_name(&self) -> &str {
        &self.name
    }

    /// The PyPI distribution name (`[project] name`): the same text as the crate name, which
    /// PyPI normalises on its own.
    pub(crate) fn dist_name(&self) -> &str {
        &self.name
    }

    /// The Python module name, also the `[lib] name` of the crate.
    pub(crate) fn module_name(&self) -> &str {
        &self.module_name
    }
}

/// The Python module a project name gives: `my-pkg` → `my_pkg`, as maturin and Cargo's
/// `[lib] name` derive it.
pub(crate) fn module_name_of(name: &str) -> String {
    name.replace('-', "_")
}

/// Why a name cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NameRule {
    Empty,
    /// A character outside `a-z`, `A-Z`, `0-9`, `-`, `_`.
    Character(char),
    Uppercase,
    /// The first character is not a letter.
    FirstCharacter(char),
    /// The last character is `-` or `_`.
    LastCharacter(char),
    PythonKeyword,
    RustKeyword,
    /// `test`, which Cargo rejects, or a crate of Rust's standard library, which Cargo warns about.
    RustStandardLibrary,
    PythonStandardLibrary,
    WindowsReserved,
    /// A package the generated project itself depends on or installs.
    ProjectDependency,
}

/// A name that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidName {
    pub(crate) name: String,
    pub(crate) module_name: String,
    pub(crate) rule: NameRule,
}

impl fmt::Display for InvalidName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        let module = &self.module_name;
        match &self.rule {
            NameRule::Empty => write!(f, "the name is empty"),
            NameRule::Character(character) => write!(
                f,
                "`{name}` contains {character:?}: a project name may contain only lowercase \
                 ASCII letters, digits, `-` and `_`, the characters that Cargo, PyPI and Python \
                 all accept"
            ),
            NameRule::Uppercase => write!(
                f,
                "`{name}` contains uppercase letters: Python module names are lowercase and PyPI \
                 compares names in lowercase"
            ),
            NameRule::FirstCharacter(character) => write!(
                f,
                "`{name}` starts with {character:?}: a project name must start with a letter \
                 (Cargo and Python reject a leading digit, PyPI a leading `-` or `_`)"
            ),
            NameRule::LastCharacter(character) => write!(
                f,
                "`{name}` ends with {character:?}: a project name must end with a letter or a \
                 digit, as PyPI requires"
            ),
            NameRule::PythonKeyword => write!(
                f,
                "the module name `{module}` is a Python keyword: `import {module}` would be a \
                 syntax error"
            ),
            NameRule::RustKeyword => write!(
                f,
                "the module name `{module}` is a Rust keyword: it cannot name the library crate \
                 or its `#[pymodule]` function"
            ),
            NameRule::RustStandardLibrary if module == "test" => write!(
                f,
                "`{name}` is the name of Rust's built-in test library, which Cargo rejects as a \
                 package name"
            ),
            NameRule::RustStandardLibrary => write!(
                f,
                "the module name `{module}` is a crate of Rust's standard library, which Cargo \
                 warns causes problems as a package name"
            ),
            NameRule::PythonStandardLibrary => write!(
                f,
                "the module name `{module}` is a module of Python's standard library: one would \
                 shadow the other on import"
            ),
            NameRule::WindowsReserved => write!(
                f,
                "`{name}` is a reserved file name on Windows: the package directory could not \
                 exist there"
            ),
            NameRule::ProjectDependency => write!(
                f,
                "`{name}` is the name of a package the project itself uses (pyo3, maturin, \
                 pytest): the two would collide"
            ),
        }
    }
}

fn broken_rule(name: &str, module_name: &str) -> Option<NameRule> {
    let Some(first) = name.chars().next() else {
        return Some(NameRule::Empty);
    };
    if let Some(character) = name
        .chars()
        .find(|character| !(character.is_ascii_alphanumeric() || matches!(character, '-' | '_')))
    {
        return Some(NameRule::Character(character));
    }
    if name.chars().any(|character| character.is_ascii_uppercase()) {
        return Some(NameRule::Uppercase);
    }
    if !first.is_ascii_lowercase() {
        return Some(NameRule::FirstCharacter(first));
    }
    if let Some(last @ ('-' | '_')) = name.chars().last() {
        return Some(NameRule::LastCharacter(last));
    }
    if PYTHON_KEYWORDS.contains(&module_name) {
        return Some(NameRule::PythonKeyword);
    }
    if RUST_KEYWORDS.contains(&module_name) {
        return Some(NameRule::RustKeyword);
    }
    if RUST_STANDARD_LIBRARY.contains(&module_name) {
        return Some(NameRule::RustStandardLibrary);
    }
    if PYTHON_STANDARD_LIBRARY.binary_search(&module_name).is_ok() {
        return Some(NameRule::PythonStandardLibrary);
    }
    if WINDOWS_RESERVED.contains(&name) {
        return Some(NameRule::WindowsReserved);
    }
    if PROJECT_DEPENDENCIES.contains(&module_name) {
        return Some(NameRule::ProjectDependency);
    }
    None
}

/// Suggests a valid name close to `name`: lowercased, other characters turned into `_`, leading
/// non-letters and trailing separators dropped, and `_rs` appended when the result is taken by a
/// keyword or a library. Always returns a valid name.
pub(crate) fn suggest(name: &str) -> String {
    const FALLBACK: &str = "my_project";
    let mut candidate = String::new();
    for character in name.chars() {
        let character = match character.to_ascii_lowercase() {
            letter_or_digit @ ('a'..='z' | '0'..='9') => letter_or_digit,
            separator @ ('-' | '_') => separator,
            _ => '_',
        };
        let is_separator = matches!(character, '-' | '_');
        // Nothing may come before the first letter, and separators never come in runs.
        if candidate.is_empty() && !character.is_ascii_lowercase() {
            continue;
        }
        if is_separator && candidate.ends_with(['-', '_']) {
            continue;
        }
        candidate.push(character);
    }
    let candidate = candidate.trim_end_matches(['-', '_']);
    if candidate.is_empty() {
        return FALLBACK.to_owned();
    }
    [candidate.to_owned(), format!("{candidate}_rs")]
        .into_iter()
        .find(|candidate| ProjectName::parse(candidate).is_ok())
        .unwrap_or_else(|| FALLBACK.to_owned())
}

/// Python 3.11's `keyword.kwlist`. Soft keywords (`match`, `case`, `_`) are valid module names.
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// The keywords Cargo refuses as package names, plus `gen`, reserved since the 2024 edition: the
/// module name is also the name of the `#[pymodule]` function and of the library crate.
const RUST_KEYWORDS: &[&str] = &[
    "Self", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
    "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if",
    "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub",
    "ref", "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Cargo refuses `test` and warns about the others; a scaffolder has no reason to start a project
/// with a name Cargo warns about.
const RUST_STANDARD_LIBRARY: &[&str] = &["alloc", "core", "proc_macro", "std", "test"];

/// Names Windows reserves for devices, with or without an extension; Cargo warns about them.
const WINDOWS_RESERVED: &[&str] = &[
    "aux", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9", "con", "lpt1",
    "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9", "nul", "prn",
];

/// The generated project depends on pyo3, is built by maturin and tested by pytest, which all end
/// up in the same venv or dependency graph as the project itself.
const PROJECT_DEPENDENCIES: &[&str] = &["maturin", "pyo3", "pytest"];

/// Python 3.11's `sys.stdlib_module_names`, sorted by code point (the order `binary_search`
/// needs, checked by a test).
#[rustfmt::skip]
const PYTHON_STANDARD_LIBRARY: &[&str] = &[
    "__future__", "_abc", "_aix_support", "_ast", "_asyncio", "_bisect", "_blake2",
    "_bootsubprocess", "_bz2", "_codecs", "_codecs_cn", "_codecs_hk", "_codecs_iso2022",
    "_codecs_jp", "_codecs_kr", "_codecs_tw", "_collections", "_collections_abc",
    "_compat_pickle", "_compression", "_contextvars", "_crypt", "_csv", "_ctypes", "_curses",
    "_curses_panel", "_datetime", "_dbm", "_decimal", "_elementtree", "_frozen_importlib",
    "_frozen_importlib_external", "_functools", "_gdbm", "_hashlib", "_heapq", "_imp", "_io",
    "_json", "_locale", "_lsprof", "_lzma", "_markupbase", "_md5", "_msi", "_multibytecodec",
    "_multiprocessing", "_opcode", "_operator", "_osx_support", "_overlapped", "_pickle",
    "_posixshmem", "_posixsubprocess", "_py_abc", "_pydecimal", "_pyio", "_queue", "_random",
    "_scproxy", "_sha1", "_sha256", "_sha3", "_sha512", "_signal", "_sitebuiltins", "_socket",
    "_sqlite3", "_sre", "_ssl", "_stat", "_statistics", "_string", "_strptime", "_struct",
    "_symtable", "_thread", "_threading_local", "_tkinter", "_tokenize", "_tracemalloc",
    "_typing", "_uuid", "_warnings", "_weakref", "_weakrefset", "_winapi", "_zoneinfo", "abc",
    "aifc", "antigravity", "argparse", "array", "ast", "asynchat", "asyncio", "asyncore",
    "atexit", "audioop", "base64", "bdb", "binascii", "bisect", "builtins", "bz2", "cProfile",
    "calendar", "cgi", "cgitb", "chunk", "cmath", "cmd", "code", "codecs", "codeop",
    "collections", "colorsys", "compileall", "concurrent", "configparser", "contextlib",
    "contextvars", "copy", "copyreg", "crypt", "csv", "ctypes", "curses", "dataclasses",
    "datetime", "dbm", "decimal", "difflib", "dis", "distutils", "doctest", "email",
    "encodings", "ensurepip", "enum", "errno", "faulthandler", "fcntl", "filecmp", "fileinput",
    "fnmatch", "fractions", "ftplib", "functools", "gc", "genericpath", "getopt", "getpass",
    "gettext", "glob", "graphlib", "grp", "gzip", "hashlib", "heapq", "hmac", "html", "http",
    "idlelib", "imaplib", "imghdr", "imp", "importlib", "inspect", "io", "ipaddress",
    "itertools", "json", "keyword", "lib2to3", "linecache", "locale", "logging", "lzma",
    "mailbox", "mailcap", "marshal", "math", "mimetypes", "mmap", "modulefinder", "msilib",
    "msvcrt", "multiprocessing", "netrc", "nis", "nntplib", "nt", "ntpath", "nturl2path",
    "numbers", "opcode", "operator", "optparse", "os", "ossaudiodev", "pathlib", "pdb",
    "pickle", "pickletools", "pipes", "pkgutil", "platform", "plistlib", "poplib", "posix",
    "posixpath", "pprint", "profile", "pstats", "pty", "pwd", "py_compile", "pyclbr", "pydoc",
    "pydoc_data", "pyexpat", "queue", "quopri", "random", "re", "readline", "reprlib",
    "resource", "rlcompleter", "runpy", "sched", "secrets", "select", "selectors", "shelve",
    "shlex", "shutil", "signal", "site", "smtpd", "smtplib", "sndhdr", "socket", "socketserver",
    "spwd", "sqlite3", "sre_compile", "sre_constants", "sre_parse", "ssl", "stat", "statistics",
    "string", "stringprep", "struct", "subprocess", "sunau", "symtable", "sys", "sysconfig",
    "syslog", "tabnanny", "tarfile", "telnetlib", "tempfile", "termios", "textwrap", "this",
    "threading", "time", "timeit", "tkinter", "token", "tokenize", "tomllib", "trace",
    "traceback", "tracemalloc", "tty", "turtle", "turtledemo", "types", "typing", "unicodedata",
    "unittest", "urllib", "uu", "uuid", "venv", "warnings", "wave", "weakref", "webbrowser",
    "winreg", "winsound", "wsgiref", "xdrlib", "xml", "xmlrpc", "zipapp", "zipfile",
    "zipimport", "zlib", "zoneinfo"
];

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_of(name: &str) -> NameRule {
        ProjectName::parse(name)
            .expect_err("the name should be invalid")
            .rule
    }

    #[test]
    fn module_name_replaces_hyphens() {
        assert_eq!(module_name_of("my-pkg"), "my_pkg");
        assert_eq!(module_name_of("my_pkg"), "my_pkg");
        assert_eq!(module_name_of("a-b-c"), "a_b_c");
        let name = ProjectName::parse("my-pkg").unwrap();
        assert_eq!(name.crate_name(), "my-pkg");
        assert_eq!(name.dist_name(), "my-pkg");
        assert_eq!(name.module_name(), "my_pkg");
    }

    #[test]
    fn valid_names_pass() {
        for name in [
            "pkg", "a", "a1", "my-pkg", "my_pkg", "pkg2go", "json_rs", "x-y_z9",
        ] {
            assert!(ProjectName::parse(name).is_ok(), "{name} should be valid");
        }
        // Python's soft keywords are fine as module names.
        assert!(ProjectName::parse("case").is_ok());
    }

    #[test]
    fn each_rule_is_named() {
        assert_eq!(rule_of(""), NameRule::Empty);
        assert_eq!(rule_of("a b"), NameRule::Character(' '));
        assert_eq!(rule_of("a/b"), NameRule::Character('/'));
        assert_eq!(rule_of("a.b"), NameRule::Character('.'));
        assert_eq!(rule_of("café"), NameRule::Character('é'));
        assert_eq!(rule_of("MyPkg"), NameRule::Uppercase);
        assert_eq!(rule_of("1abc"), NameRule::FirstCharacter('1'));
        assert_eq!(rule_of("_abc"), NameRule::FirstCharacter('_'));
        assert_eq!(rule_of("-abc"), NameRule::FirstCharacter('-'));
        assert_eq!(rule_of("abc-"), NameRule::LastCharacter('-'));
        assert_eq!(rule_of("abc_"), NameRule::LastCharacter('_'));
        assert_eq!(rule_of("import"), NameRule::PythonKeyword);
        assert_eq!(rule_of("class"), NameRule::PythonKeyword);
        assert_eq!(rule_of("self"), NameRule::RustKeyword);
        assert_eq!(rule_of("fn"), NameRule::RustKeyword);
        assert_eq!(rule_of("match"), NameRule::RustKeyword);
        assert_eq!(rule_of("gen"), NameRule::RustKeyword);
        assert_eq!(rule_of("test"), NameRule::RustStandardLibrary);
        assert_eq!(rule_of("std"), NameRule::RustStandardLibrary);
        assert_eq!(rule_of("proc-macro"), NameRule::RustStandardLibrary);
        assert_eq!(rule_of("json"), NameRule::PythonStandardLibrary);
        assert_eq!(rule_of("os"), NameRule::PythonStandardLibrary);
        assert_eq!(rule_of("sys"), NameRule::PythonStandardLibrary);
        assert_eq!(rule_of("py-compile"), NameRule::PythonStandardLibrary);
        assert_eq!(rule_of("con"), NameRule::WindowsReserved);
        assert_eq!(rule_of("pyo3"), NameRule::ProjectDependency);
        assert_eq!(rule_of("maturin"), NameRule::ProjectDependency);
    }

    #[test]
    fn messages_name_the_rule() {
        let message = |name: &str| ProjectName::parse(name).unwrap_err().to_string();
        assert!(message("1abc").contains("must start with a letter"));
        assert!(message("a b").contains("may contain only lowercase ASCII letters"));
        assert!(message("import").contains("is a Python keyword"));
        assert!(message("json").contains("Python's standard library"));
        assert!(message("self").contains("is a Rust keyword"));
        assert!(message("test").contains("Rust's built-in test library"));
        assert!(message("").contains("empty"));
    }

    #[test]
    fn suggestions_are_close_and_valid() {
        let cases = [
            // `abc` is a module of the standard library too.
            ("1abc", "abc_rs"),
            ("1pkg", "pkg"),
            ("a b", "a_b"),
            ("a/b", "a_b"),
            ("", "my_project"),
            ("123", "my_project"),
            ("import", "import_rs"),
            ("class", "class_rs"),
            ("json", "json_rs"),
            ("self", "self_rs"),
            ("test", "test_rs"),
            ("MyPkg", "mypkg"),
            ("_pkg-", "pkg"),
            ("a  --b", "a_b"),
            ("café", "caf"),
            ("my.pkg", "my_pkg"),
        ];
        for (name, expected) in cases {
            let suggestion = suggest(name);
            assert_eq!(suggestion, expected, "suggestion for {name:?}");
            assert!(
                ProjectName::parse(&suggestion).is_ok(),
                "{suggestion} is invalid"
            );
        }
    }

    #[test]
    fn suggestion_of_every_reserved_name_is_valid() {
        let reserved = PYTHON_KEYWORDS
            .iter()
            .chain(RUST_KEYWORDS)
            .chain(RUST_STANDARD_LIBRARY)
            .chain(PYTHON_STANDARD_LIBRARY)
            .chain(WINDOWS_RESERVED)
            .chain(PROJECT_DEPENDENCIES);
        for name in reserved {
            let suggestion = suggest(name);
            assert!(
                ProjectName::parse(&suggestion).is_ok(),
                "{name} → {suggestion}"
            );
        }
    }

    #[test]
    fn standard_library_table_is_sorted() {
        assert!(PYTHON_STANDARD_LIBRARY.is_sorted());
        assert_eq!(PYTHON_STANDARD_LIBRARY.len(), 305);
    }
}
