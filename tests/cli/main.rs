#![allow(clippy::unwrap_used)]
//! The one integration test binary: every module drives the real `tix`
//! binary against real temporary git repositories.

mod common;

mod commits;
mod doctor;
mod errors;
mod export;
mod help;
mod hostile;
mod ids;
mod import;
mod init;
mod interface;
mod lifecycle;
mod links;
mod list;
mod mail_collab;
mod mail_corpus;
mod mail_notices;
mod mail_send;
mod mail_tls;
mod new;
mod pager;
mod rate;
mod reliability;
mod report;
mod show;
mod snapshots;
mod triggers;
mod views;
mod worktree;

mod automation;
mod collab;
mod core;
mod desk_config;
mod docs;
mod sla;
