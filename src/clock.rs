//! Wall-clock instants as the receipt and the digest record them: milliseconds since the Unix
//! epoch, now and as a file's modification time.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

/// The modification time of a file in milliseconds since the Unix epoch.
pub(crate) fn modified_unix_ms(path: &Path) -> Option<u64> {
    let modified = fs_err::metadata(path).ok()?.modified().ok()?;
    Some(modified.duration_since(UNIX_EPOCH).ok()?.as_millis() as u64)
}
