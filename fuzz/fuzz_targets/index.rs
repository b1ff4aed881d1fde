//! tix's reader of git's index file, on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tix::store::fuzzing::index(data);
});
