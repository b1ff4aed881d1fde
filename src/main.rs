//! The `tix` binary: parses the command line and hands it to the library.

fn main() -> std::process::ExitCode {
    tix::cli::run(std::env::args_os())
}
