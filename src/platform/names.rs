//! The file and symbol names of extension modules on every platform: plain data, read whatever
//! the platform this runs on (a wheel built for macOS or Windows is read on Linux too). Depends
//! on nothing else in the crate, so `tests/it/platforms.rs` compiles it, with `wheel.rs`, to read
//! real wheels of every platform.

/// The module stem of an extension module's file name, `None` when the name is not one an
/// interpreter imports: `rpds.cpython-311-darwin.so` → `rpds`. The forms are CPython's
/// `importlib.machinery.EXTENSION_SUFFIXES` on each platform:
/// - Linux: `.cpython-311-x86_64-linux-gnu.so`, `.abi3.so`, `.so`;
/// - macOS: `.cpython-311-darwin.so`, `.abi3.so`, `.so`;
/// - Windows: `.cp311-win_amd64.pyd`, `.pyd` (an abi3 extension is a plain `.pyd` there);
/// - PyPy and GraalPy tag theirs the same way (`.pypy310-pp73-x86_64-linux-gnu.so`).
///
/// A bundled shared library (`pkg.libs/libfoo-1a2b.so`, `libssl.so.3`) has no importable stem.
pub(crate) fn extension_stem(file_name: &str) -> Option<&str> {
    let (rest, windows) = match file_name.strip_suffix(".pyd") {
        Some(rest) => (rest, true),
        None => (file_name.strip_suffix(".so")?, false),
    };
    let (stem, tag) = match rest.split_once('.') {
        Some((stem, tag)) => (stem, Some(tag)),
        None => (rest, None),
    };
    let tag_is_known = match tag {
        None => true,
        Some(tag) if windows => tag.starts_with("cp") && tag.contains("-win") && !tag.contains('.'),
        Some(tag) => {
            tag == "abi3"
                || (["cpython-", "pypy", "graalpy"]
                    .iter()
                    .any(|prefix| tag.starts_with(prefix))
                    && !tag.contains('.'))
        }
    };
    (tag_is_known && is_identifier(stem)).then_some(stem)
}

/// A Python identifier, as a module name must be for its init function to exist:
/// `PyInit_<name>`, or `PyInitU_<punycode>` for a non-ASCII name (PEP 489). Close to Python's
/// `str.isidentifier()`, which asks for Unicode XID characters.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| first == '_' || first.is_alphabetic())
        && characters.all(|character| character == '_' || character.is_alphanumeric())
}

/// How an extension exports its init function, by file format: ELF and PE carry the C name
/// (`PyInit_rpds`), Mach-O prefixes every C symbol with `_` (`_PyInit_rpds`).
pub(crate) fn c_symbol_name(symbol: &str, mach_o: bool) -> Option<&str> {
    if mach_o {
        symbol.strip_prefix('_')
    } else {
        Some(symbol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_stems_of_every_platform() {
        for (file, stem) in [
            ("hello.cpython-311-x86_64-linux-gnu.so", Some("hello")),
            ("rpds.cpython-311-darwin.so", Some("rpds")),
            ("_core.abi3.so", Some("_core")),
            ("top.so", Some("top")),
            ("rpds.cp311-win_amd64.pyd", Some("rpds")),
            ("_core.cp312-win_arm64.pyd", Some("_core")),
            ("_core.pyd", Some("_core")),
            ("m.pypy310-pp73-x86_64-linux-gnu.so", Some("m")),
            // Bundled libraries: auditwheel's `libfoo-1a2b3c.so`, versioned sonames.
            ("libfoo-1a2b3c4d.so", None),
            ("libssl.so.3", None),
            ("libz.1.so", None),
            ("_core.abi3.pyd", None),
            ("hello.dylib", None),
            ("hello.py", None),
            ("café.cpython-311-darwin.so", Some("café")),
            ("a'+str(1)+'.so", None),
        ] {
            assert_eq!(extension_stem(file), stem, "{file}");
        }
    }

    #[test]
    fn mach_o_symbols_carry_an_underscore() {
        assert_eq!(c_symbol_name("_PyInit_rpds", true), Some("PyInit_rpds"));
        assert_eq!(c_symbol_name("PyInit_rpds", true), None);
        assert_eq!(c_symbol_name("PyInit_rpds", false), Some("PyInit_rpds"));
    }
}
