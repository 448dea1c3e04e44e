//! The JSON Lines import on arbitrary input, through `Org::import` (or the all-orgs
//! handle) on a fresh in-memory store: no panic, the import as a whole never fails on
//! its input, every line is counted once and every rejected line is a BAD_REQUEST, and
//! the store passes its own check afterwards. Importing the same input a second time
//! (default mode) writes nothing: every line that landed is `unchanged`, every line
//! that was rejected is rejected again, and the export is the same.

use contactstore::{ContactStore, ImportOptions, ImportSummary, OnConflict};

/// The property, on one input.
pub fn check(data: &[u8]) {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let merge = selector & 1 == 1;
    let options = if merge {
        ImportOptions::default().on_conflict(OnConflict::Merge)
    } else {
        ImportOptions::default()
    };
    let store = ContactStore::open_in_memory().expect("in-memory store");
    let all_orgs = selector & 2 == 2;
    let blank = blank_lines(input);
    let import = |mut input: &[u8]| -> ImportSummary {
        let summary = if all_orgs {
            store.all_orgs().import(&mut input, &options, &mut |_| {})
        } else {
            let org = store.org("fuzz").expect("a valid org id");
            org.import(&mut input, &options, &mut |_| {})
        }
        .expect("only storage failures stop an import");
        assert_eq!(
            summary.imported + summary.merged + summary.unchanged + summary.rejected,
            summary.lines - blank,
            "{summary:?}"
        );
        for error in &summary.errors {
            assert_eq!(error.error, "BAD_REQUEST", "{error:?}");
        }
        let report = store.check().expect("the check runs");
        assert!(
            report.healthy,
            "{:?}",
            report.failures().collect::<Vec<_>>()
        );
        summary
    };
    let export = || {
        let mut out = Vec::new();
        store.all_orgs().export(&mut out).expect("export");
        out
    };
    let first = import(input);
    if merge {
        import(input);
        return;
    }
    let before = export();
    let second = import(input);
    assert_eq!(
        (
            second.imported,
            second.merged,
            second.unchanged,
            second.rejected
        ),
        (0, 0, first.imported + first.unchanged, first.rejected),
        "{first:?} then {second:?}"
    );
    assert!(before == export(), "a second run changed the store");
}

/// Lines of the input that hold only whitespace (the import skips them).
fn blank_lines(input: &[u8]) -> u64 {
    if input.is_empty() {
        return 0;
    }
    let body = input.strip_suffix(b"\n").unwrap_or(input);
    body.split(|&b| b == b'\n')
        .filter(|line| std::str::from_utf8(line).is_ok_and(|text| text.trim().is_empty()))
        .count() as u64
}
