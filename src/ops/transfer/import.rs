//! The import pipeline: a second thread reads, parses, validates and normalizes lines
//! (pure CPU work), while the calling thread, which owns the connection, writes them.
//!
//! Each line is atomic: it is checked for collisions under the write lock before any
//! of it is written (a merge-mode line runs in a savepoint). A line the store already
//! holds ([`super::unchanged`]) is counted and skipped. Lines are committed in
//! large batches — at most [`LINES_PER_COMMIT`] lines and [`BYTES_PER_COMMIT`] bytes,
//! at least every [`TRANSACTION_TIME`] — and whenever the writer waits for input. Memory stays bounded: a few batches in flight, and at most
//! [`MAX_REPORTED_ERRORS`] line errors kept.

use std::io::{BufRead, Read};
use std::sync::mpsc::{self, TryRecvError};
use std::time::{Duration, Instant};

use serde_json::json;

use super::parse::{parse_line, LineContext, Parsed};
use super::unchanged::holds;
use super::{ImportError, ImportOptions, ImportProgress, ImportSummary, LineError, OnConflict};
use crate::error::{Error, ErrorCode, Result};
use crate::limits::{MAX_LINE_BYTES, MAX_REPORTED_ERRORS};
use crate::model::{
    new_id, new_prefixed_id, ActivityKind, ChangeKind, ContactDocument, IdentifierType,
};
use crate::ops::changes;
use crate::ops::merge::merge_in;
use crate::storage::{Db, OrgScope, Tx};
use crate::timestamp::Timestamp;

/// Bytes of input per batch handed to the writer: with a few batches in flight and one
/// line of at most [`MAX_LINE_BYTES`], an import holds a few tens of MiB at most.
const BATCH_BYTES: u64 = 4 * 1024 * 1024;
/// Oldest a partial batch gets before it is handed to the writer.
const BATCH_AGE: Duration = Duration::from_millis(100);
/// Lines per committed transaction.
const LINES_PER_COMMIT: usize = 20_000;
/// Bytes of input per committed transaction: what a transaction writes goes to the
/// WAL before any checkpoint can copy it out, so this bounds the WAL's growth past
/// the checkpointer's reset point (a few MiB of pages).
const BYTES_PER_COMMIT: u64 = 1024 * 1024;
/// Longest an import keeps the write lock at a time: other processes wait at most this
/// long for it, however slow the lines.
const TRANSACTION_TIME: Duration = Duration::from_millis(250);
/// Lines per message between the parsing thread and the writer.
const LINES_PER_BATCH: usize = 512;

/// A batch of parsed lines from the reading thread: line number, its length in bytes
/// and, for non-blank lines, the parsed document or why the line was rejected.
struct Batch {
    lines: Vec<(u64, u64, Option<Result<Parsed>>)>,
    bytes: u64,
}

/// Imports JSON Lines into the scope's org(s). See [`crate::Org::import`].
pub(crate) fn import(
    db: &Db,
    orgs: OrgScope<'_>,
    input: &mut (dyn BufRead + Send),
    options: &ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<ImportSummary, ImportError> {
    let cx = LineContext {
        org: match orgs {
            OrgScope::One(org) => Some(org),
            OrgScope::All => None,
        },
        region: db.settings().region,
        cap: db.settings().recent_messages_cap,
    };
    std::thread::scope(|threads| {
        let (sender, receiver) = mpsc::sync_channel::<Result<Batch>>(4);
        threads.spawn(move || read_lines(input, cx, &sender));
        let mut tally = Tally::default();
        match write_batches(db, receiver, options, cx.cap, progress, &mut tally) {
            Ok(()) => Ok(tally.running),
            Err(error) => Err(ImportError {
                summary: tally.into_committed(),
                error,
            }),
        }
    })
}

/// The reading thread: lines → parsed documents, in batches.
fn read_lines(
    input: &mut (dyn BufRead + Send),
    cx: LineContext<'_>,
    sender: &mpsc::SyncSender<Result<Batch>>,
) {
    let mut number = 0u64;
    let mut buf = Vec::with_capacity(4096);
    loop {
        let mut batch = Batch {
            lines: Vec::with_capacity(LINES_PER_BATCH),
            bytes: 0,
        };
        let started = Instant::now();
        // A batch goes to the writer when full, at the end of input, or — for input that
        // trickles in through a pipe — once it is a tenth of a second old.
        let mut end = false;
        while batch.lines.len() < LINES_PER_BATCH
            && batch.bytes < BATCH_BYTES
            && started.elapsed() < BATCH_AGE
        {
            buf.clear();
            let read = match Read::take(&mut *input, MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut buf)
            {
                Ok(n) => n,
                Err(e) => {
                    // The lines read before the failure are still imported.
                    let _ = sender.send(Ok(batch));
                    let _ = sender.send(Err(e.into()));
                    return;
                }
            };
            if read == 0 {
                end = true;
                break;
            }
            number += 1;
            let mut line_bytes = read as u64;
            let parsed = if buf.len() > MAX_LINE_BYTES && !buf.ends_with(b"\n") {
                line_bytes += skip_rest_of_line(input, &mut buf);
                Some(Err(Error::invalid("document", "line is too long")))
            } else {
                match std::str::from_utf8(&buf) {
                    Err(_) => Some(Err(Error::invalid("document", "is not UTF-8"))),
                    Ok(text) if text.trim().is_empty() => None,
                    Ok(text) => Some(parse_line(text, cx)),
                }
            };
            batch.bytes += line_bytes;
            batch.lines.push((number, line_bytes, parsed));
        }
        if sender.send(Ok(batch)).is_err() || end {
            return;
        }
    }
}

/// Reads past the rest of an over-long line; returns the bytes skipped.
fn skip_rest_of_line(input: &mut (dyn BufRead + Send), buf: &mut Vec<u8>) -> u64 {
    let mut skipped = 0;
    loop {
        buf.clear();
        match Read::take(&mut *input, 1 << 20).read_until(b'\n', buf) {
            Ok(0) | Err(_) => return skipped,
            Ok(n) => {
                skipped += n as u64;
                if buf.ends_with(b"\n") {
                    return skipped;
                }
            }
        }
    }
}

/// The counts of an import: as they run, and as of the last commit.
#[derive(Default)]
struct Tally {
    running: ImportSummary,
    /// `running` at the last commit, but for its errors: how many of them it had.
    committed: ImportSummary,
    committed_errors: usize,
}

impl Tally {
    /// The lines counted so far are committed.
    fn commit(&mut self) {
        let r = &self.running;
        self.committed = ImportSummary {
            lines: r.lines,
            imported: r.imported,
            merged: r.merged,
            unchanged: r.unchanged,
            rejected: r.rejected,
            errors: Vec::new(),
        };
        self.committed_errors = r.errors.len();
    }

    /// The summary of what was committed.
    fn into_committed(mut self) -> ImportSummary {
        self.running.errors.truncate(self.committed_errors);
        ImportSummary {
            errors: self.running.errors,
            ..self.committed
        }
    }

    fn reject(&mut self, line: u64, error: &Error) {
        self.running.rejected += 1;
        if self.running.errors.len() < MAX_REPORTED_ERRORS {
            self.running.errors.push(LineError {
                line,
                error: error.code().as_str().to_owned(),
                message: error.to_string(),
            });
        }
    }
}

/// The writing side: imports each line ([`import_line`]) and commits every
/// [`LINES_PER_COMMIT`] lines, every [`TRANSACTION_TIME`], and before waiting for the
/// reader. A storage failure ends the import, rolling back the open batch; an error
/// reading the input ends it after committing the lines before it. `tally` keeps
/// what was committed.
fn write_batches(
    db: &Db,
    receiver: mpsc::Receiver<Result<Batch>>,
    options: &ImportOptions,
    cap: usize,
    progress: &mut dyn FnMut(ImportProgress),
    tally: &mut Tally,
) -> Result<()> {
    let mut writer = db.batch_writer();
    let mut seen = ImportProgress::default();
    let (mut in_tx, mut bytes_in_tx) = (0usize, 0u64);
    loop {
        let batch = match receiver.try_recv() {
            Ok(batch) => batch,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                // The reader is behind (a slow pipe, a slow parse): commit before
                // waiting, so other processes are not kept out of the file meanwhile.
                writer.commit()?;
                tally.commit();
                (in_tx, bytes_in_tx) = (0, 0);
                match receiver.recv() {
                    Ok(batch) => batch,
                    Err(_) => break,
                }
            }
        };
        let batch = match batch {
            Ok(batch) => batch,
            Err(input_failed) => {
                writer.commit()?;
                tally.commit();
                return Err(input_failed);
            }
        };
        for (number, bytes, parsed) in batch.lines {
            tally.running.lines = number;
            let parsed = match parsed {
                None => continue,
                Some(Ok(p)) => p,
                Some(Err(e)) => {
                    tally.reject(number, &e);
                    continue;
                }
            };
            match import_line(&*writer.tx()?, parsed, options.on_conflict, cap) {
                Ok(Landed::Merged) => tally.running.merged += 1,
                Ok(Landed::Imported) => tally.running.imported += 1,
                Ok(Landed::Unchanged) => tally.running.unchanged += 1,
                Err(e) if e.code() != ErrorCode::BadRequest => return Err(e),
                Err(e) => tally.reject(number, &e),
            }
            in_tx += 1;
            bytes_in_tx += bytes;
            if in_tx >= LINES_PER_COMMIT
                || bytes_in_tx >= BYTES_PER_COMMIT
                || writer.held_for() >= TRANSACTION_TIME
            {
                writer.commit()?;
                tally.commit();
                (in_tx, bytes_in_tx) = (0, 0);
            }
        }
        seen.lines = tally.running.lines;
        seen.bytes += batch.bytes;
        progress(seen);
    }
    writer.commit()?;
    tally.commit();
    Ok(())
}

/// How a line landed.
enum Landed {
    Imported,
    Merged,
    /// The store held the line's content already; nothing was written.
    Unchanged,
}

/// Imports one line inside the open transaction. A BAD_REQUEST leaves nothing of the
/// line behind; any other error ends the import.
///
/// A plain line is checked first and then inserted without a savepoint: a savepoint
/// makes SQLite copy every page the line touches into a statement journal, which cost
/// a third of an import's time. A merge has more ways to fail, so it runs in one.
/// Whether the store holds the line already is asked only of a contact the line
/// meets (its id or its identifiers in use): a line of new data costs no more.
fn import_line(
    tx: &dyn Tx,
    mut parsed: Parsed,
    on_conflict: OnConflict,
    cap: usize,
) -> Result<Landed> {
    if on_conflict == OnConflict::Merge {
        if let Some(target) = merge_target(tx, &parsed.document)? {
            if already_merged(tx, &parsed, &target)? {
                return Ok(Landed::Unchanged);
            }
            let mut document = Some(parsed.document);
            tx.savepoint(&mut || match document.take() {
                Some(d) => insert_merging(tx, d, &target.contact, cap),
                None => Ok(()),
            })?;
            return Ok(Landed::Merged);
        }
    }
    if settle_id(tx, &mut parsed)? || check_collisions(tx, &parsed)? {
        return Ok(Landed::Unchanged);
    }
    // Checked above under the write lock: a constraint failure now would not be the
    // line's fault, and ends the import like any storage failure.
    let d = &parsed.document;
    tx.insert_document(d)?;
    let detail = json!({
        "identifiers_added": changes::keys(&d.identifiers),
        "memories": d.memories.len(),
        "calls": d.calls.len(),
        "sms_conversations": d.sms_conversations.len(),
    });
    changes::record(
        tx,
        &d.org_id,
        Timestamp::now(),
        ChangeKind::ContactImported,
        &d.id,
        None,
        &detail,
    )?;
    Ok(Landed::Imported)
}

/// Whether the contact `id` of the line's org is the line's document.
fn stored_as_is(tx: &dyn Tx, parsed: &Parsed, id: &str) -> Result<bool> {
    Ok(tx
        .document(&parsed.document.org_id, id)?
        .is_some_and(|stored| holds(&stored, parsed)))
}

/// Keeps a line's contact id when it is free; refuses one this org uses (the contact
/// exists, or was merged away and redirects) — unless that contact is the line's
/// document already (true: unchanged); replaces one another org uses.
fn settle_id(tx: &dyn Tx, parsed: &mut Parsed) -> Result<bool> {
    if !parsed.id_given {
        return Ok(false); // a fresh UUID v7
    }
    let d = &parsed.document;
    match tx.org_using_contact_id(&d.id)? {
        Some(o) if o == d.org_id => {
            if stored_as_is(tx, parsed, &parsed.document.id)? {
                return Ok(true);
            }
            Err(Error::invalid(
                "id",
                "belongs to a contact that already exists",
            ))
        }
        Some(_) => {
            // Not this line's id to keep: the line is one without an id from now on.
            parsed.document.set_contact_id(&new_id());
            parsed.id_given = false;
            Ok(false)
        }
        None if tx.redirect_of(&d.org_id, &d.id)?.is_some() => Err(Error::invalid(
            "id",
            "belongs to a contact that was merged away",
        )),
        None => Ok(false),
    }
}

/// Refuses a line that would collide with data already in the file (earlier lines of
/// the same import included): an identifier another contact owns, or a record id in
/// use. Run under the write lock, so that inserting cannot then fail on a constraint.
/// True when a line without an id is the document of the one contact owning all its
/// identifiers (unchanged).
fn check_collisions(tx: &dyn Tx, parsed: &Parsed) -> Result<bool> {
    let d = &parsed.document;
    let org = d.org_id.as_str();
    let mut first_owned = None;
    let mut owned = 0;
    let mut owners: Vec<String> = Vec::new();
    for i in &d.identifiers {
        if let Some(owner) = tx.identifier_owner(org, i.identifier_type, &i.identifier_value)? {
            first_owned.get_or_insert(i.identifier_type);
            owned += 1;
            if !owners.contains(&owner.contact_id) {
                owners.push(owner.contact_id);
            }
        }
    }
    if let Some(kind) = first_owned {
        let all_of_one = owners.len() == 1 && owned == d.identifiers.len();
        if !parsed.id_given && all_of_one && stored_as_is(tx, parsed, &owners[0])? {
            return Ok(true);
        }
        return Err(Error::IdentifierTaken {
            field: kind.as_str(),
        });
    }
    let in_use = |field| Error::invalid(field, "belongs to a record that already exists");
    // Ids the parser made up are new: only the line's own ids are looked up.
    let given = |id: &String| !parsed.filled.ids.contains(id);
    for m in d.memories.iter().filter(|m| given(&m.id)) {
        if tx.memory_id_taken(org, &m.id)? {
            return Err(in_use("memory id"));
        }
    }
    for kind in ActivityKind::ALL {
        for a in d.activities(kind).iter().filter(|a| given(&a.id)) {
            if tx.activity_id_taken(org, kind, &a.id)? {
                return Err(in_use(kind.id_field()));
            }
        }
    }
    Ok(false)
}

/// The existing contact a merge-mode line merges into, and whether it owns all of the
/// line's identifiers.
struct MergeTarget {
    contact: String,
    owns_all: bool,
}

/// For `--on-conflict merge`: the existing contact the line must merge into, if any.
fn merge_target(tx: &dyn Tx, d: &ContactDocument) -> Result<Option<MergeTarget>> {
    let org = d.org_id.as_str();
    let mut wanted: Vec<(IdentifierType, String)> = d
        .identifiers
        .iter()
        .map(|i| (i.identifier_type, i.identifier_value.clone()))
        .collect();
    wanted.sort_by_key(|(k, _)| std::cmp::Reverse(k.strength()));
    let mut owners: Vec<String> = Vec::new();
    let mut owned = 0;
    for (kind, value) in &wanted {
        if let Some(owner) = tx.identifier_owner(org, *kind, value)? {
            owners.push(owner.contact_id);
            owned += 1;
        }
    }
    if tx.contact(org, &d.id)?.is_some() {
        owners.push(d.id.clone());
    }
    owners.dedup();
    match owners.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(MergeTarget {
            contact: one.clone(),
            owns_all: owned == wanted.len(),
        })),
        _ => Err(Error::invalid(
            "identifiers",
            "belong to several existing contacts",
        )),
    }
}

/// For `--on-conflict merge`: whether the store holds the line already — as the
/// target's document itself, or merged into the target by an earlier run (the line's
/// id redirects there, and the target owns all its identifiers). Merging it again
/// would fold the same record in twice: summaries joined again, calls added again.
fn already_merged(tx: &dyn Tx, parsed: &Parsed, target: &MergeTarget) -> Result<bool> {
    let d = &parsed.document;
    if parsed.id_given && target.contact == d.id {
        return stored_as_is(tx, parsed, &d.id);
    }
    if !target.owns_all {
        return Ok(false);
    }
    if parsed.id_given {
        return Ok(tx.redirect_of(&d.org_id, &d.id)?.as_deref() == Some(&*target.contact));
    }
    stored_as_is(tx, parsed, &target.contact)
}

/// Imports a line under new ids without the identifiers others already have, and
/// merges it into `target` with the merge rules. The temporary contact leaves no trace:
/// the journal names the document's id, which (when it was not in use) redirects to
/// `target` like a merged-away id.
fn insert_merging(tx: &dyn Tx, mut d: ContactDocument, target: &str, cap: usize) -> Result<()> {
    let org = d.org_id.clone();
    let document_id = d.id.clone();
    give_fresh_ids(&mut d);
    let mut kept = Vec::with_capacity(d.identifiers.len());
    for i in d.identifiers.drain(..) {
        if tx
            .identifier_owner(&org, i.identifier_type, &i.identifier_value)?
            .is_none()
        {
            kept.push(i);
        }
    }
    d.identifiers = kept;
    tx.insert_document(&d)?;
    let merged = merge_in(tx, OrgScope::One(&org), target, &d.id, cap)?;
    // The document's id may name a live contact (the target itself, or another org's):
    // then the journal and the redirect keep the temporary id, which nobody knows, so
    // that every journaled merge still has its redirect.
    if tx.org_using_contact_id(&document_id)?.is_none() {
        tx.delete_redirect(&org, &d.id)?;
        tx.rename_journaled_duplicate(&org, &d.id, &document_id)?;
        tx.insert_redirect(&org, &document_id, target, merged.contact.updated_at)?;
    }
    Ok(())
}

/// New ids for the contact and everything it owns, so that it can be inserted beside
/// the data it came from and merged into it.
fn give_fresh_ids(d: &mut ContactDocument) {
    d.set_contact_id(&new_id());
    for i in &mut d.identifiers {
        i.id = new_prefixed_id("ident");
    }
    for m in &mut d.memories {
        m.id = new_prefixed_id("mem");
    }
    for a in d.calls.iter_mut().chain(&mut d.sms_conversations) {
        a.id = new_prefixed_id(a.kind.id_prefix());
    }
}
