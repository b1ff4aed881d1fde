//! Mail on disk, outside the desk: a Maildir's messages and an mbox file
//! (read as a stream), for `tix ingest`.

use std::path::{Path, PathBuf};

use super::Error;

/// The messages waiting in a Maildir's `new/`, oldest first.
pub fn maildir_new(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let new_dir = dir.join("new");
    if !new_dir.is_dir() || !dir.join("cur").is_dir() {
        return Err(Error::Mailbox(format!(
            "{} is not a Maildir (it needs new/ and cur/)",
            dir.display()
        )));
    }
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&new_dir)
        .map_err(|e| Error::Mailbox(format!("cannot read {}: {e}", new_dir.display())))?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| {
            let modified = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (modified, e.path())
        })
        .collect();
    files.sort();
    Ok(files.into_iter().map(|(_, path)| path).collect())
}

/// Reads a whole file.
pub fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Moves a message of `new/` to `cur/`, marked seen (`:2,S`).
pub fn mark_seen(dir: &Path, message: &Path) -> Result<(), Error> {
    let name = message
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let base = name.split(":2,").next().unwrap_or(&name);
    let target = dir.join("cur").join(format!("{base}:2,S"));
    std::fs::rename(message, &target).map_err(|e| Error::io(message, e))
}

/// The messages of an mbox file, one at a time.
pub fn mbox(path: &Path) -> Result<impl Iterator<Item = Result<Vec<u8>, String>>, Error> {
    let opened = std::fs::File::open(path)
        .map_err(|e| Error::Mailbox(format!("cannot read {}: {e}", path.display())))?;
    if opened.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(Error::Mailbox(format!(
            "{} is a directory, not an mbox file",
            path.display()
        )));
    }
    let reader = std::io::BufReader::new(opened);
    Ok(
        mail_parser::mailbox::mbox::MessageIterator::new(reader).map(|message| {
            message
                .map(|m| m.unwrap_contents())
                .map_err(|e| e.to_string())
        }),
    )
}
