//! tix: a helpdesk ticket tool for the command line, stored in git.
//!
//! Each ticket is one TOML file under `tickets/`, and every change of a ticket
//! is one git commit. The crate is split so that the domain (what a ticket is
//! and how it may change) never touches git, the clock or the terminal:
//!
//! - [`model`]: the ticket file, its event log and what is derived from it;
//! - [`lifecycle`]: statuses, categories and the transition table;
//! - [`change`]: applies one agent or customer action to a ticket;
//! - [`config`]: the desk's `tix.toml`;
//! - [`view`]: the JSON shape of a ticket that scripts rely on;
//! - [`store`]: the only module that touches git and the file system;
//! - [`desk`]: ties a store, its config and the domain together;
//! - [`cli`]: the command line, one file per subcommand.

pub mod automation;
pub mod calendar;
pub mod change;
pub mod cli;
pub mod clock;
pub mod config;
pub mod desk;
pub mod entry;
pub mod hooks;
pub mod lifecycle;
pub mod merge;
pub mod model;
pub mod routing;
pub mod rules;
pub mod sla;
pub mod store;
pub mod view;
