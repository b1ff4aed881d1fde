//! The `tix` binary: parses the command line and hands it to the library.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tix::cli::run(std::env::args_os())
}
