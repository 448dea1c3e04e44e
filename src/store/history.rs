//! The history calls (contract §10): the change log, merge preview and unmerge, for
//! one org ([`Org`]) and across orgs ([`AllOrgs`]).

use super::{AllOrgs, Org};
use crate::error::Result;
use crate::model::ChangePage;
use crate::ops::changes;
use crate::ops::merge::{self, Merged};
use crate::ops::unmerge::{self, Unmerged};
use crate::storage::OrgScope;

impl Org<'_> {
    /// The org's change log after `since` (exclusive; 0 for the beginning), oldest
    /// first, at most `limit` events (default 1,000, at most 10,000). Resume with the
    /// page's `next`: a consumer that does so misses nothing and sees nothing twice.
    ///
    /// ```
    /// use contactstore::{ChangeKind, ContactStore, ResolveRequest};
    /// let store = ContactStore::open_in_memory()?;
    /// let org = store.org("acme")?;
    /// org.resolve(&ResolveRequest::phone("+14155550192"))?;
    /// let page = org.changes(0, None)?;
    /// assert_eq!(page.changes[0].kind, ChangeKind::ContactCreated);
    /// assert_eq!(org.changes(page.next, None)?.changes.len(), 0);
    /// # Ok::<(), contactstore::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ChangesCompacted`](crate::Error::ChangesCompacted) when `since` is older
    /// than what retention kept; [`Error::InvalidField`](crate::Error::InvalidField)
    /// naming `limit`; [`Error::Storage`](crate::Error::Storage).
    pub fn changes(&self, since: u64, limit: Option<usize>) -> Result<ChangePage> {
        changes::page(&self.store.db, OrgScope::One(&self.org_id), since, limit)
    }

    /// Exactly what [`Org::merge`] would return for these two contacts — the merged
    /// contact with its identifiers and memories, and the moved counts — with nothing
    /// written: the merge runs in a transaction that is rolled back.
    ///
    /// ```
    /// use contactstore::{ContactStore, ResolveRequest};
    /// let store = ContactStore::open_in_memory()?;
    /// let org = store.org("acme")?;
    /// let a = org.resolve(&ResolveRequest::phone("+14155550192"))?.contact.id;
    /// let b = org.resolve(&ResolveRequest::email("sarah@example.com"))?.contact.id;
    /// let preview = org.merge_preview(&a, &b)?;
    /// assert_eq!(preview.identifiers.len(), 2);
    /// assert!(org.get(&b).is_ok(), "nothing was merged");
    /// # Ok::<(), contactstore::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Org::merge`].
    pub fn merge_preview(&self, primary_id: &str, duplicate_id: &str) -> Result<Merged> {
        merge::preview(
            &self.store.db,
            OrgScope::One(&self.org_id),
            primary_id,
            duplicate_id,
        )
    }

    /// Undoes the merge that took `merged_id` away, from the snapshot the merge kept:
    /// the contact comes back with what was its own, the survivor keeps the rest and
    /// everything written since (the README's "History and undo" says what happens to
    /// a memory both had). With nothing written since the merge, both contacts are
    /// exactly as before it.
    ///
    /// ```
    /// use contactstore::{ContactStore, ResolveRequest};
    /// let store = ContactStore::open_in_memory()?;
    /// let org = store.org("acme")?;
    /// let a = org.resolve(&ResolveRequest::phone("+14155550192"))?.contact.id;
    /// let b = org.resolve(&ResolveRequest::email("sarah@example.com"))?.contact.id;
    /// org.merge(&a, &b)?;
    /// let split = org.unmerge(&b)?;
    /// assert_eq!(split.restored.contact.id, b);
    /// assert_eq!(split.primary.identifiers.len(), 1);
    /// # Ok::<(), contactstore::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) when the id was never merged away in
    /// this org (or its merge is undone already); [`Error::Refused`](crate::Error::Refused)
    /// saying why the merge cannot be undone (made before snapshots were kept, an
    /// identifier now of a third contact, an id in use again);
    /// [`Error::Storage`](crate::Error::Storage). On any error nothing changes.
    pub fn unmerge(&self, merged_id: &str) -> Result<Unmerged> {
        unmerge::unmerge(&self.store.db, &self.org_id, merged_id)
    }
}

impl AllOrgs<'_> {
    /// Every org's change log after `since`, oldest first. Otherwise as
    /// [`Org::changes`].
    ///
    /// # Errors
    /// As [`Org::changes`].
    pub fn changes(&self, since: u64, limit: Option<usize>) -> Result<ChangePage> {
        changes::page(&self.store.db, OrgScope::All, since, limit)
    }

    /// A merge preview across orgs. Otherwise as [`Org::merge_preview`].
    ///
    /// # Errors
    /// As [`AllOrgs::merge`].
    pub fn merge_preview(&self, primary_id: &str, duplicate_id: &str) -> Result<Merged> {
        merge::preview(&self.store.db, OrgScope::All, primary_id, duplicate_id)
    }

    /// Deletes change-log events past retention ([`ChangeLog`](crate::ChangeLog)), at
    /// most 10,000 per call; returns how many. Writes do this by themselves every ten
    /// minutes or so; this is for a maintenance job, or a test.
    ///
    /// # Errors
    /// [`Error::Storage`](crate::Error::Storage).
    pub fn compact_changes(&self) -> Result<u64> {
        self.store.db.compact_changes()
    }
}
