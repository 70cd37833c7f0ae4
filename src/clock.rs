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

/// Whether a file whose modification time is `modified_unix_ms` may have been written after
/// `instant_unix_ms`: its time is later, or earlier by less than the clock's slack.
pub(crate) fn may_follow(modified_unix_ms: u64, instant_unix_ms: u64) -> bool {
    modified_unix_ms + MTIME_SLACK_MS > instant_unix_ms
}

/// Sets `path`'s modification time, as `touch -d` does: for tests of what times decide.
#[cfg(test)]
pub(crate) fn set_modified(path: &Path, at: SystemTime) {
    fs_err::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(at)
        .unwrap();
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
        let at = UNIX_EPOCH + Duration::from_millis(instant);
        for (before, follows) in [
            (Duration::from_millis(5), true),
            (Duration::from_secs(3600), false),
        ] {
            set_modified(&file, at - before);
            let modified = modified_unix_ms(&file).unwrap();
            assert_eq!(may_follow(modified, instant), follows, "{before:?} before");
        }
        assert!(may_follow(instant + 1, instant));
    }
}
