//! The writer lock: one tix writer at a time per clone.
//!
//! Git's own ref update is compare-and-swap, which keeps commits safe; the
//! lock additionally orders the working-tree and index refresh after each
//! commit, so the files on disk always end at the newest content. The lock is
//! an advisory `flock` on `.git/tix/lock`, released by the kernel when a
//! process dies, so a killed tix never leaves the desk locked.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
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
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    Ok((file, path))
}
