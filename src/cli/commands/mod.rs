//! One module per subcommand: an `Args` struct (its doc is the help text)
//! and a `run` function.

pub(crate) mod assign;
pub(crate) mod autoclose;
pub(crate) mod automate;
pub(crate) mod close;
pub(crate) mod completions;
pub(crate) mod doctor;
pub(crate) mod edit;
pub(crate) mod export;
pub(crate) mod generate;
pub(crate) mod hooks;
pub(crate) mod import;
pub(crate) mod ingest;
pub(crate) mod init;
pub(crate) mod link;
pub(crate) mod list;
pub(crate) mod log;
pub(crate) mod macros;
pub(crate) mod merge;
pub(crate) mod merge_driver;
pub(crate) mod new;
pub(crate) mod next;
pub(crate) mod note;
pub(crate) mod open;
pub(crate) mod outbox;
pub(crate) mod postpone;
pub(crate) mod queue;
pub(crate) mod rate;
pub(crate) mod reopen;
pub(crate) mod reply;
pub(crate) mod report;
pub(crate) mod resolve;
pub(crate) mod show;
pub(crate) mod sla;
pub(crate) mod status;
pub(crate) mod sync;
