//! The properties the fuzz targets check, one module a target: plain functions of the
//! input bytes, so that the fuzz targets (`../fuzz_targets/`) and the main crate's
//! `tests/fuzz_corpus.rs` (which replays the committed corpus in CI, without
//! cargo-fuzz) run the very same code. Each panics when its property fails.

pub mod http_body;
pub mod import_line;
pub mod normalize;
pub mod phone_uri;
