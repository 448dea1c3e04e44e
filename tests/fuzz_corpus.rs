//! The fuzz targets' properties (`fuzz/properties/`), replayed on the corpus committed
//! in `fuzz/corpus/` — the inputs the fuzzers kept for their coverage, the seeds, and
//! each input that once made a target fail. CI runs this instead of the fuzzers
//! themselves (which need cargo-fuzz and a build of their own: see the README's
//! Reliability section), so every input ever found interesting is checked on every
//! change.

#[path = "../fuzz/properties/mod.rs"]
mod properties;

use std::path::Path;

/// Runs `check` on every file of the target's corpus; returns how many.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() > 5, "{target}: only {} inputs", files.len());
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{target}: {} fails", file.display());
    }
    println!("fuzz corpus: {target}: {} inputs replayed", files.len());
    files.len()
}

#[test]
fn the_normalize_corpus_holds() {
    replay("normalize", properties::normalize::check);
}

#[test]
fn the_phone_uri_corpus_holds() {
    replay("phone_uri", properties::phone_uri::check);
}

#[test]
fn the_http_body_corpus_holds() {
    replay("http_body", properties::http_body::check);
}

#[test]
fn the_import_line_corpus_holds() {
    replay("import_line", properties::import_line::check);
}
