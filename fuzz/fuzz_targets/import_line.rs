//! The JSON Lines import on arbitrary input, through `Org::import` on one in-memory
//! store kept across runs (so lines also meet earlier contacts): no panic, the import
//! as a whole never fails on its input, and every rejected line is a BAD_REQUEST.
#![no_main]

use contactstore::{ContactStore, ImportOptions, OnConflict};
use libfuzzer_sys::fuzz_target;

thread_local! {
    static STORE: ContactStore = ContactStore::open_in_memory().expect("in-memory store");
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, mut input)) = data.split_first() else {
        return;
    };
    let options = if selector & 1 == 0 {
        ImportOptions::default()
    } else {
        ImportOptions::default().on_conflict(OnConflict::Merge)
    };
    STORE.with(|store| {
        let summary = if selector & 2 == 0 {
            let org = store.org("fuzz").expect("a valid org id");
            org.import(&mut input, &options, &mut |_| {})
        } else {
            store.all_orgs().import(&mut input, &options, &mut |_| {})
        }
        .expect("only storage failures stop an import");
        assert_eq!(
            summary.imported + summary.merged + summary.rejected,
            summary.lines - blank_lines(data),
            "{summary:?}"
        );
        for error in &summary.errors {
            assert_eq!(error.error, "BAD_REQUEST", "{error:?}");
        }
    });
});

/// Lines of the input that hold only whitespace (the import skips them).
fn blank_lines(data: &[u8]) -> u64 {
    let input = &data[1..];
    if input.is_empty() {
        return 0;
    }
    let body = input.strip_suffix(b"\n").unwrap_or(input);
    body.split(|&b| b == b'\n')
        .filter(|line| std::str::from_utf8(line).is_ok_and(|text| text.trim().is_empty()))
        .count() as u64
}
