//! The `tix` binary: parses the command line and hands it to the library.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // `COMPLETE=bash tix`: the shell asks for completions (docs/guide.md).
    clap_complete::CompleteEnv::with_factory(tix::cli::completing_command).complete();
    tix::cli::run(std::env::args_os())
}
