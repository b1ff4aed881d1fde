//! The rules of the helpdesk, pure: what may happen to a ticket and what
//! follows from its event log.
//!
//! Nothing here reads git, files, the clock or the environment, and nothing
//! prints: time ("now"), identity and configuration come in as arguments,
//! so every rule is a function of its inputs and is unit-tested with fixed
//! ones (docs/architecture.md).

pub mod calendar;
pub mod change;
pub mod entry;
pub mod fields;
pub mod filter;
pub mod hooks;
pub mod import;
pub mod lifecycle;
pub mod link;
pub mod mail;
pub mod merge;
pub mod report;
pub mod routing;
pub mod rules;
pub mod sla;
pub mod triggers;
pub mod view;
