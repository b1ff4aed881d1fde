//! Links the `tix` binary at a fixed address (not position-independent).
//!
//! A position-independent binary has 54,000 pointers in its read-only data
//! that the loader patches at every start, writing to 1.4 MB of pages:
//! about a millisecond of every command, most of `tix --version`. Linked
//! at a fixed address, those pages are read from the file as they are.
//! The binary itself then always loads at the same address; the
//! libraries, stack and heap are still placed at random
//! (docs/benchmarks.md, "Start-up").

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.contains("linux") {
        println!("cargo:rustc-link-arg-bin=tix=-no-pie");
    }
}
