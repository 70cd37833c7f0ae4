//! What a proven build prints, and the facts it reads off the wheel for the receipt.

use std::path::{Path, PathBuf};

use crate::output::{self, short_hash};
use crate::project::Project;
use crate::receipt::Receipt;

pub(super) fn summarize(receipt: &Receipt, project: &Project, uv_in_play: bool) {
    let Some(first) = receipt.extensions.first() else {
        return;
    };
    let location: PathBuf = first
        .loaded_path
        .as_deref()
        .and_then(|path| path.strip_prefix(&project.project_dir).ok())
        .map(Path::to_path_buf)
        .or_else(|| first.loaded_path.clone())
        .unwrap_or_default();
    output::result(
        "Proven",
        format_args!(
            "`{}` {} loads `{}` (sha256 {}) in {:.2}s",
            project.module_name,
            receipt.distribution_version,
            location.display(),
            short_hash(&first.wheel_sha256),
            receipt.timings_ms.total as f64 / 1000.0
        ),
    );
    if uv_in_play && !output::settings().quiet {
        output::hint(format_args!(
            "`uv run` and `uv sync` reinstall `{}` from uv's own build; keep this proven build with \
             `cargo pyo3 run -- …`, `uv run --no-sync …` or `UV_NO_SYNC=1`",
            project.dist_name
        ));
    }
}

/// `maturin (1.16.0)` → `1.16.0`.
pub(super) fn maturin_version(generator: &str) -> Option<String> {
    generator
        .strip_prefix("maturin (")?
        .strip_suffix(')')
        .map(str::to_owned)
}
