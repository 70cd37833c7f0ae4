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

/// How far a file's modification time may lag the wall clock: the kernel stamps files from a
/// clock that advances once a tick (up to 10 ms), so a file written just after [`now_unix_ms`]
/// was read can carry an earlier time. A file counted as written after an instant when it was
/// not costs a rebuild; one counted as older when it was not is a stale build.
const MTIME_SLACK_MS: u64 = 20;

/// Whether `path` may have been written after `instant_unix_ms`: its modification time is later,
/// or earlier by less than the clock's slack. `None` when it has no modification time.
pub(crate) fn written_since(path: &Path, instant_unix_ms: u64) -> Option<bool> {
    Some(modified_unix_ms(path)? + MTIME_SLACK_MS > instant_unix_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_file_stamped_a_tick_before_an_instant_may_have_been_written_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lib.rs");
        fs_err::write(&file, "").unwrap();
        let instant = now_unix_ms();
        let stamp = |before: Duration| {
            let at = UNIX_EPOCH + Duration::from_millis(instant) - before;
            fs_err::File::options()
                .write(true)
                .open(&file)
                .unwrap()
                .set_modified(at)
                .unwrap();
        };
        stamp(Duration::from_millis(5));
        assert_eq!(written_since(&file, instant), Some(true));
        stamp(Duration::from_secs(3600));
        assert_eq!(written_since(&file, instant), Some(false));
        assert_eq!(written_since(&dir.path().join("missing"), instant), None);
    }
}
