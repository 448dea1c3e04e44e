//! The `phone_uri` fuzz target: the property in `../properties/phone_uri.rs` (shared with
//! `tests/fuzz_corpus.rs`, which replays the committed corpus in CI).
#![no_main]

#[path = "../properties/mod.rs"]
#[allow(dead_code)]
mod properties;

libfuzzer_sys::fuzz_target!(|data: &[u8]| properties::phone_uri::check(data));
