//! The writer lock: one tix writer at a time per clone.
//!
//! Git's own ref update is compare-and-swap, which keeps commits safe; the
//! lock additionally orders the working-tree and index refresh after each
//! commit, so the files on disk always end at the newest content. The lock is
//! an advisory `flock` on `.git/tix/lock`, released by the kernel when a
//! process dies, so a killed tix never leaves the desk locked.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::Error;

/// How long a writer waits for another before giving up.
const WAIT: Duration = Duration::from_secs(60);

/// A held writer lock; released when dropped.
#[derive(Debug)]
pub(super) struct WriterLock {
    _file: File,
}

impl WriterLock {
    /// Waits for and takes the lock in `dir`.
    pub(super) fn acquire(dir: &Path) -> Result<Self, Error> {
        let (file, path) = open(dir, "lock")?;
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(TryLockError::WouldBlock) if start.elapsed() < WAIT => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => return Err(Error::Busy),
                Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
        }
    }
}

/// The automation lock: one `tix automate`/`tix autoclose` run at a time.
/// Unlike the writer lock it does not wait: a second run exits at once.
#[derive(Debug)]
pub struct AutomationLock {
    _file: File,
}

impl AutomationLock {
    /// Takes the lock in `dir`, or reports that another run holds it.
    pub(super) fn try_acquire(dir: &Path) -> Result<Self, Error> {
        let (file, path) = open(dir, "automation.lock")?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(Error::AutomationBusy),
            Err(TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }
}

/// Opens (creating) the lock file `name` in `dir`.
fn open(dir: &Path, name: &str) -> Result<(File, std::path::PathBuf), Error> {
    let path = dir.join(name);
    let file = super::layout::in_dir(dir, || {
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
    })
    .map_err(|e| Error::io(&path, e))?;
    Ok((file, path))
}

/// A note that this tix process is about to take one of git's own lock
/// files (`index.lock`, `refs/heads/<branch>.lock`). git's locks are plain
/// files, so a tix killed while holding one leaves it behind and every
/// later writer, tix or git, is refused. The note lets the next tix writer
/// tell such a leftover from the lock of a live git (see [`clear_stale`]).
/// Emptied when dropped: the file stays, so that each change rewrites it
/// rather than creating and deleting a file (two changes to the directory,
/// which cost most when the file system is busy).
#[derive(Debug)]
pub(super) struct GitLockClaim {
    note: File,
}

impl GitLockClaim {
    /// Records under `private` (`.git/tix/`) that this process takes `lock`.
    pub(super) fn record(private: &Path, kind: &str, lock: &Path) -> Result<Self, Error> {
        use std::io::Write as _;
        let path = private.join(format!("{kind}-lock-owner"));
        let text = format!("{}\n{}\n", std::process::id(), lock.display());
        let mut note = super::layout::in_dir(private, || {
            OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .open(&path)
        })
        .map_err(|e| Error::io(&path, e))?;
        note.write_all(text.as_bytes())
            .map_err(|e| Error::io(&path, e))?;
        Ok(Self { note })
    }
}

impl Drop for GitLockClaim {
    fn drop(&mut self) {
        let _ = self.note.set_len(0);
    }
}

/// Removes a git lock file that a killed tix left behind, as recorded by a
/// [`GitLockClaim`] of `kind`. Only a lock whose recorded owner no longer
/// runs, and that was created within a second of the record, is removed: a
/// lock a live git holds is never touched. Call it with the writer lock held,
/// so that no other tix is between its record and its lock.
pub(super) fn clear_stale(private: &Path, kind: &str) {
    let note = private.join(format!("{kind}-lock-owner"));
    let Ok(text) = std::fs::read_to_string(&note) else {
        return;
    };
    // Empty: no tix holds a git lock.
    if text.is_empty() {
        return;
    }
    let mut lines = text.lines();
    let pid = lines.next().and_then(|l| l.trim().parse::<u32>().ok());
    // Without /proc (not Linux) liveness is unknown: assume alive.
    let alive =
        |pid: u32| !Path::new("/proc/self").exists() || Path::new(&format!("/proc/{pid}")).exists();
    if pid.is_some_and(alive) {
        return;
    }
    if let Some(lock) = lines.next().map(PathBuf::from) {
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        if let (Some(locked), Some(recorded)) = (modified(&lock), modified(&note)) {
            let apart = locked
                .duration_since(recorded)
                .or_else(|_| recorded.duration_since(locked));
            if apart.is_ok_and(|d| d < Duration::from_secs(1)) {
                let _ = std::fs::remove_file(&lock);
            }
        }
    }
    let _ = std::fs::remove_file(&note);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_emptied_when_dropped_and_an_empty_one_clears_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("tix");
        let lock = dir.path().join("index.lock");
        let note = private.join("index-lock-owner");
        let claim = GitLockClaim::record(&private, "index", &lock).unwrap();
        std::fs::write(&lock, "").unwrap();
        let text = std::fs::read_to_string(&note).unwrap();
        assert_eq!(
            text,
            format!("{}\n{}\n", std::process::id(), lock.display())
        );
        drop(claim);
        assert_eq!(std::fs::read_to_string(&note).unwrap(), "");
        // A lock with an empty note is another git's: it stays.
        clear_stale(&private, "index");
        assert!(lock.exists());
        // A note left by a process that is gone clears its lock.
        std::fs::write(&note, format!("{}\n{}\n", u32::MAX - 1, lock.display())).unwrap();
        std::fs::write(&lock, "").unwrap();
        clear_stale(&private, "index");
        assert!(!lock.exists());
        assert!(!note.exists());
    }
}
