//! tix: a helpdesk ticket tool for the command line, stored in git.
//!
//! Each ticket is one TOML file under `tickets/`, and every change of a ticket
//! is one git commit. The crate is layered so that arrows point one way
//! (docs/architecture.md):
//!
//! - [`cli`]: the command line; each command parses, makes one call into
//!   [`desk`] and renders the result;
//! - [`desk`]: the use cases (open, change, list, queue, SLA check,
//!   automation, doctor, sync), each in one place, taking plain requests;
//! - [`domain`]: the helpdesk's rules, pure: lifecycle, changes, routing,
//!   automation rules, calendars, SLA, the three-way merge;
//! - [`config`]: the desk's `tix.toml`, read section by section;
//! - [`store`]: the only module that touches git and the file system;
//! - [`model`]: the ticket file, its event log and what is derived from it.
//!
//! `cli` calls `desk`; `desk` calls `domain`, `config` and `store`; all of
//! them may use `model`. Nothing calls upwards.

pub mod cli;
pub mod config;
pub mod desk;
pub mod domain;
pub mod model;
pub mod store;
