//! Where things live in a desk. The only place that knows these paths,
//! and how a file goes into a directory that may not be there yet.

use crate::model::TicketId;

/// The directory holding every ticket file.
pub const TICKETS_DIR: &str = "tickets";

/// The desk configuration at the root.
pub const CONFIG_FILE: &str = "tix.toml";

/// Routes ticket files to the tix merge driver.
pub const ATTRIBUTES_FILE: &str = ".gitattributes";

/// Keeps the empty `tickets/` directory in git.
pub const KEEP_FILE: &str = "tickets/.gitkeep";

/// The mail templates the team edits (`templates/NAME.txt`).
pub const TEMPLATES_DIR: &str = "templates";

/// Returns `templates/<name>.txt`.
pub fn template_path(name: &str) -> String {
    format!("{TEMPLATES_DIR}/{name}.txt")
}

/// Directory under `.git/` for tix's private files (lock, journal, cache).
pub const PRIVATE_DIR: &str = "tix";

/// Returns `tickets/<ab>/<id>.toml`.
pub fn ticket_path(id: &TicketId) -> String {
    format!("{TICKETS_DIR}/{}/{id}.toml", id.shard())
}

/// Returns `tickets/<ab>/<id>/<name>`: a file stored with a ticket (an
/// attachment, a received mail). `name` is one safe path component.
pub fn attachment_path(id: &TicketId, name: &str) -> String {
    format!("{TICKETS_DIR}/{}/{id}/{name}", id.shard())
}

/// Returns the id a ticket path stands for, when the path has the layout's
/// shape (`tickets/<ab>/<id>.toml`). It does not check that the shard matches.
pub fn id_from_path(path: &str) -> Option<TicketId> {
    let rest = path.strip_prefix(TICKETS_DIR)?.strip_prefix('/')?;
    let (_shard, file) = rest.split_once('/')?;
    file.strip_suffix(".toml")?.parse().ok()
}

/// Runs `make` (which makes an entry in `dir`); when `dir` is missing,
/// makes it (and its parents) and runs `make` again. Trying first saves a
/// `mkdir` call on every write, where the directory is nearly always there.
pub(super) fn in_dir<T>(
    dir: &std::path::Path,
    mut make: impl FnMut() -> std::io::Result<T>,
) -> std::io::Result<T> {
    match make() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            make()
        }
        made => made,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_sharded_by_the_first_two_characters() {
        let id: TicketId = "k3x9p2".parse().unwrap();
        assert_eq!(ticket_path(&id), "tickets/k3/k3x9p2.toml");
        assert_eq!(id_from_path("tickets/k3/k3x9p2.toml"), Some(id));
        assert_eq!(id_from_path("tickets/k3/notes.md"), None);
    }
}
