//! The toolchain's own `bin/` directory, when it is certain which toolchain rustup would run.
//!
//! Every `cargo` or `rustc` started by name goes through rustup's proxy, which reads its settings
//! and picks a toolchain before it starts the real binary: about 12 ms per start on this machine
//! (docs/performance.md), and a build through maturin starts several. Under `cargo pyo3`, cargo's
//! proxy has already picked: it sets `RUSTUP_TOOLCHAIN` (which beats every directory override),
//! and cargo sets `CARGO` to the binary it runs. When `CARGO` is that toolchain's `cargo`, the
//! proxies would start exactly the binaries beside it, so those are started directly.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The variables rustup's proxies pass on to what they start.
const RUSTUP_TOOLCHAIN: &str = "RUSTUP_TOOLCHAIN";
const RUSTUP_HOME: &str = "RUSTUP_HOME";

/// The toolchain's `bin/` directory from this process's environment, looked up once.
pub(crate) fn toolchain_bin() -> Option<&'static Path> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let var = |name: &str| std::env::var_os(name);
        toolchain_bin_from(
            var(crate::env::CARGO),
            var(RUSTUP_TOOLCHAIN),
            var(RUSTUP_HOME),
        )
    })
    .as_deref()
}

/// `program` (`cargo` or `rustc`) as the toolchain's own binary when it is certain, else by name.
pub(crate) fn program(program: &str) -> PathBuf {
    match toolchain_bin() {
        Some(bin) => bin.join(program),
        None => PathBuf::from(program),
    }
}

/// The decision, from the three variables: `cargo`'s directory when it is the `bin/` of the
/// toolchain `toolchain` names (a name under `home`'s `toolchains/`, or a path) and holds both
/// `cargo` and `rustc`.
fn toolchain_bin_from(
    cargo: Option<OsString>,
    toolchain: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let cargo = PathBuf::from(cargo?);
    let toolchain = PathBuf::from(toolchain?);
    let toolchain_dir = if toolchain.is_absolute() {
        toolchain
    } else {
        // A name never has a separator; anything else is not a toolchain rustup would look up.
        if toolchain.components().count() != 1 {
            return None;
        }
        PathBuf::from(home?).join("toolchains").join(toolchain)
    };
    let bin = fs_err::canonicalize(toolchain_dir.join("bin")).ok()?;
    let cargo_dir = fs_err::canonicalize(cargo.parent()?).ok()?;
    let complete = ["cargo", "rustc"]
        .iter()
        .all(|name| bin.join(name).is_file());
    (cargo_dir == bin && complete).then_some(bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rustup home with one toolchain `name` whose `bin/` holds `binaries`.
    fn home_with(name: &str, binaries: &[&str]) -> (tempfile::TempDir, PathBuf) {
        let home = tempfile::tempdir().unwrap();
        let bin = home.path().join("toolchains").join(name).join("bin");
        fs_err::create_dir_all(&bin).unwrap();
        for binary in binaries {
            fs_err::write(bin.join(binary), "").unwrap();
        }
        (home, bin)
    }

    fn os(path: impl AsRef<Path>) -> Option<OsString> {
        Some(path.as_ref().as_os_str().to_owned())
    }

    #[test]
    fn the_named_toolchains_cargo_gives_its_bin() {
        let (home, bin) = home_with("stable-x86_64-unknown-linux-gnu", &["cargo", "rustc"]);
        let found = toolchain_bin_from(
            os(bin.join("cargo")),
            os("stable-x86_64-unknown-linux-gnu"),
            os(home.path()),
        );
        assert_eq!(found, Some(fs_err::canonicalize(&bin).unwrap()));
    }

    #[test]
    fn a_toolchain_named_by_path_gives_its_bin() {
        let (_home, bin) = home_with("custom", &["cargo", "rustc"]);
        let toolchain = bin.parent().unwrap();
        let found = toolchain_bin_from(os(bin.join("cargo")), os(toolchain), None);
        assert_eq!(found, Some(fs_err::canonicalize(&bin).unwrap()));
    }

    #[test]
    fn a_cargo_of_another_toolchain_is_not_trusted() {
        let (home, bin) = home_with("stable", &["cargo", "rustc"]);
        let nightly = home.path().join("toolchains/nightly/bin");
        fs_err::create_dir_all(&nightly).unwrap();
        let found = toolchain_bin_from(os(nightly.join("cargo")), os("stable"), os(home.path()));
        assert_eq!(found, None);
        // The proxy in `~/.cargo/bin` is not the toolchain's binary either.
        let proxy = home.path().join("cargo-bin/cargo");
        let found = toolchain_bin_from(os(proxy), os("stable"), os(home.path()));
        assert_eq!(found, None);
        drop(bin);
    }

    #[test]
    fn a_toolchain_without_rustc_is_not_trusted() {
        let (home, bin) = home_with("stable", &["cargo"]);
        let found = toolchain_bin_from(os(bin.join("cargo")), os("stable"), os(home.path()));
        assert_eq!(found, None);
    }

    #[test]
    fn without_rustups_choice_the_proxies_decide() {
        let (home, bin) = home_with("stable", &["cargo", "rustc"]);
        let cargo = || os(bin.join("cargo"));
        assert_eq!(toolchain_bin_from(cargo(), None, os(home.path())), None);
        assert_eq!(toolchain_bin_from(cargo(), os("stable"), None), None);
        assert_eq!(
            toolchain_bin_from(None, os("stable"), os(home.path())),
            None
        );
        // A relative path is neither a name nor a toolchain directory rustup would accept.
        assert_eq!(
            toolchain_bin_from(cargo(), os("toolchains/stable"), os(home.path())),
            None
        );
    }
}
