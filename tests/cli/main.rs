#![allow(clippy::unwrap_used)]
//! The one integration test binary: every module drives the real `tix`
//! binary against real temporary git repositories.

mod automation;
mod collab;
mod core;
mod desk_config;
mod docs;
mod sla;
mod world;
