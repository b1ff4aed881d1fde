//! Loading `tix.toml`: any text is a config or a list of problems, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tix::config::Config;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Config::parse(text);
    }
});
