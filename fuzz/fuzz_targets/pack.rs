//! tix's pack reader on any pack and pack index, and its tree parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first two bytes say how long the index part is.
    let Some((len, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let split = usize::from(u16::from_le_bytes(*len)).min(rest.len());
    let (idx, pack) = rest.split_at(split);
    tix::store::fuzzing::pack(idx, pack);
    tix::store::fuzzing::tree(rest);
});
