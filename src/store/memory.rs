//! The memory calls of [`Org`].

use super::Org;
use crate::error::Result;
use crate::model::{
    EntityUpdate, JsonObject, Memory, MemoryContext, MemoryRecord, MemoryScope, Message, OpenItem,
    OpenedMemory,
};
use crate::ops::memory::{self, Change, MemoryAt};

impl Org<'_> {
    fn write_memory(
        &self,
        contact_id: &str,
        scope: &MemoryScope,
        change: Box<Change<'_>>,
    ) -> Result<Memory> {
        let at = MemoryAt::Scope { contact_id, scope };
        memory::write(&self.store.db, &self.org_id, at, change).map(|(m, _)| m)
    }

    fn write_memory_by_id(&self, memory_id: &str, change: Box<Change<'_>>) -> Result<Memory> {
        memory::write(
            &self.store.db,
            &self.org_id,
            MemoryAt::Id(memory_id),
            change,
        )
        .map(|(m, _)| m)
    }

    fn record(&self, memory: Memory) -> MemoryRecord {
        MemoryRecord::new(&self.org_id, memory)
    }

    /// The memory of `scope` for the contact, created empty if it is missing.
    ///
    /// The contact id may be one that was merged away (it is followed, like
    /// [`Org::get`]). Every memory write below works the same way: one transaction,
    /// the memory created if missing, and the memory's and the contact's `updated_at`
    /// bumped only if something changed. Each returns the memory afterwards.
    ///
    /// ```
    /// use contactstore::{ContactStore, MemoryScope, Message, ResolveRequest, Role, Channel, Timestamp};
    /// let store = ContactStore::open_in_memory()?;
    /// let org = store.org("acme")?;
    /// let id = org.resolve(&ResolveRequest::phone("+14155550192"))?.contact.id;
    /// let scope = MemoryScope::persona("persona-12345678");
    /// org.set_summary(&id, &scope, "Asked about order #8821.")?;
    /// let memory = org.add_messages(&id, &scope, &[Message {
    ///     role: Role::User, content: "Has my order shipped?".into(),
    ///     channel: Channel::Sms, timestamp: Timestamp::parse("2025-07-23T09:10:00Z")?,
    /// }])?;
    /// assert_eq!(memory.recent_messages.len(), 1);
    /// assert_eq!(memory.summary, "Asked about order #8821.");
    /// # Ok::<(), contactstore::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::MissingScope`](crate::Error::MissingScope) without a persona id or agent
    /// number; [`Error::InvalidField`](crate::Error::InvalidField) with invalid ones; [`Error::NotFound`](crate::Error::NotFound) for an unknown contact; [`Error::Storage`](crate::Error::Storage).
    pub fn ensure_memory(&self, contact_id: &str, scope: &MemoryScope) -> Result<Memory> {
        self.write_memory(contact_id, scope, memory::ensure())
    }

    /// Replaces the summary. See [`Org::ensure_memory`].
    ///
    /// # Errors
    /// As [`Org::ensure_memory`], and [`Error::InvalidField`](crate::Error::InvalidField) for text over [`MAX_TEXT_CHARS`](crate::limits::MAX_TEXT_CHARS) characters.
    pub fn set_summary(
        &self,
        contact_id: &str,
        scope: &MemoryScope,
        summary: &str,
    ) -> Result<Memory> {
        let change = memory::set_summary(summary.to_owned())?;
        self.write_memory(contact_id, scope, change)
    }

    /// Patches the facts: each key is set, and a key set to null is removed.
    ///
    /// # Errors
    /// As [`Org::ensure_memory`], and [`Error::InvalidField`](crate::Error::InvalidField) when the facts would
    /// exceed 64 KiB.
    pub fn patch_facts(
        &self,
        contact_id: &str,
        scope: &MemoryScope,
        patch: &JsonObject,
    ) -> Result<Memory> {
        let change = memory::patch_facts(patch, true)?;
        self.write_memory(contact_id, scope, change)
    }

    /// Appends messages. Messages are kept in timestamp order and only the newest N
    /// are kept ([`Settings::recent_messages_cap`](crate::Settings::recent_messages_cap), default 50): the oldest are dropped.
    ///
    /// # Errors
    /// As [`Org::ensure_memory`], and [`Error::InvalidField`](crate::Error::InvalidField) for content over [`MAX_TEXT_CHARS`](crate::limits::MAX_TEXT_CHARS) characters.
    pub fn add_messages(
        &self,
        contact_id: &str,
        scope: &MemoryScope,
        messages: &[Message],
    ) -> Result<Memory> {
        let cap = self.store.settings().recent_messages_cap;
        let change = memory::add_messages(messages.to_vec(), cap)?;
        self.write_memory(contact_id, scope, change)
    }

    /// Adds an open item (kept in `created_at` order; an identical open item is not
    /// added twice).
    ///
    /// # Errors
    /// As [`Org::ensure_memory`], and [`Error::InvalidField`](crate::Error::InvalidField) for an empty type or
    /// over-long text.
    pub fn add_open_item(
        &self,
        contact_id: &str,
        scope: &MemoryScope,
        item: &OpenItem,
    ) -> Result<Memory> {
        let change = memory::add_open_item(item)?;
        self.write_memory(contact_id, scope, change)
    }

    /// Closes the open items with this type and description (removes them from
    /// `open_items`). Closing what is not open changes nothing.
    ///
    /// # Errors
    /// [`Error::InvalidField`](crate::Error::InvalidField) naming `type` or
    /// `description` for what no open item could carry; as [`Org::ensure_memory`].
    pub fn close_open_items(
        &self,
        contact_id: &str,
        scope: &MemoryScope,
        item_type: &str,
        description: &str,
    ) -> Result<Memory> {
        let change = memory::close_open_items(item_type, description)?;
        self.write_memory(contact_id, scope, change)
    }

    /// Creates or updates the entity (`entity_type`, `entity_id`) of the memory: facts
    /// patched (null removes), and status, `last_discussed_at` and notes set when given.
    ///
    /// # Errors
    /// As [`Org::ensure_memory`], and [`Error::InvalidField`](crate::Error::InvalidField) for empty or over-long
    /// keys and text.
    pub fn upsert_entity(
        &self,
        contact_id: &str,
        scope: &MemoryScope,
        update: &EntityUpdate,
    ) -> Result<Memory> {
        let change = memory::upsert_entity(update, &self.org_id)?;
        self.write_memory(contact_id, scope, change)
    }

    // The hosted API's memory calls ------------------------------------------------

    /// The memory of `scope` for the contact, created if missing, as the hosted API's
    /// `POST /v1/memory/contact` returns it: the memory record and whether this call
    /// created it.
    ///
    /// ```
    /// use contactstore::{ContactStore, MemoryScope, ResolveRequest};
    /// let store = ContactStore::open_in_memory()?;
    /// let org = store.org("acme")?;
    /// let id = org.resolve(&ResolveRequest::phone("+14155550192"))?.contact.id;
    /// let first = org.open_memory(&id, &MemoryScope::persona("persona-1"))?;
    /// let again = org.open_memory(&id, &MemoryScope::persona("persona-1"))?;
    /// assert!(first.created && !again.created);
    /// assert_eq!(first.memory.id, again.memory.id);
    /// assert_eq!(first.memory.summary, None); // nothing known yet
    /// # Ok::<(), contactstore::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Org::ensure_memory`].
    pub fn open_memory(&self, contact_id: &str, scope: &MemoryScope) -> Result<OpenedMemory> {
        let at = MemoryAt::Scope { contact_id, scope };
        let (memory, created) = memory::write(&self.store.db, &self.org_id, at, memory::ensure())?;
        Ok(OpenedMemory {
            memory: self.record(memory),
            created,
        })
    }

    /// The memory record with this id (`GET /v1/memory/contact/{memory_id}`).
    ///
    /// # Errors
    /// [`Error::MemoryNotFound`](crate::Error::MemoryNotFound) for an unknown id, another
    /// org's memory, or one a merge combined into another; [`Error::Storage`](crate::Error::Storage).
    pub fn memory(&self, memory_id: &str) -> Result<MemoryRecord> {
        memory::read(&self.store.db, &self.org_id, memory_id).map(|m| self.record(m))
    }

    /// What an agent is given at the start of a conversation with the contact
    /// (`GET /v1/memory/context`): recent messages, summary, facts, entities and open
    /// items of the scope's memory. Never writes: a contact without that memory yet
    /// gets an empty context. `contact_id` in the answer is the contact reached: the
    /// survivor's, for a merged-away id.
    ///
    /// # Errors
    /// [`Error::MissingScope`](crate::Error::MissingScope) without a persona id or agent
    /// number; [`Error::NotFound`](crate::Error::NotFound) for an unknown contact;
    /// [`Error::Storage`](crate::Error::Storage).
    pub fn memory_context(&self, contact_id: &str, scope: &MemoryScope) -> Result<MemoryContext> {
        let (contact_id, found) =
            memory::read_scope(&self.store.db, &self.org_id, contact_id, scope)?;
        Ok(MemoryContext::new(&contact_id, found))
    }

    /// Merges facts into the memory with this id, the hosted API's way
    /// (`PATCH /v1/memory/contact/{memory_id}/facts`): keys are set or overwritten,
    /// none is deleted — a key set to null is stored as null. (The library's own
    /// [`Org::patch_facts`] removes a key set to null.)
    ///
    /// # Errors
    /// [`Error::MemoryNotFound`](crate::Error::MemoryNotFound); [`Error::InvalidField`](crate::Error::InvalidField)
    /// when the facts would exceed 64 KiB or nest too deeply; [`Error::Storage`](crate::Error::Storage).
    pub fn merge_facts(&self, memory_id: &str, facts: &JsonObject) -> Result<MemoryRecord> {
        let change = memory::patch_facts(facts, false)?;
        self.write_memory_by_id(memory_id, change)
            .map(|m| self.record(m))
    }

    /// Replaces the summary of the memory with this id
    /// (`PATCH /v1/memory/contact/{memory_id}/summary`); `summary_updated_at` moves.
    ///
    /// # Errors
    /// [`Error::MemoryNotFound`](crate::Error::MemoryNotFound); [`Error::InvalidField`](crate::Error::InvalidField)
    /// for text over [`MAX_TEXT_CHARS`](crate::limits::MAX_TEXT_CHARS) characters; [`Error::Storage`](crate::Error::Storage).
    pub fn replace_summary(&self, memory_id: &str, summary: &str) -> Result<MemoryRecord> {
        let change = memory::set_summary(summary.to_owned())?;
        self.write_memory_by_id(memory_id, change)
            .map(|m| self.record(m))
    }

    /// The recent messages of the memory with this id, oldest first
    /// (`GET /v1/memory/contact/{memory_id}/messages`).
    ///
    /// # Errors
    /// As [`Org::memory`].
    pub fn recent_messages(&self, memory_id: &str) -> Result<Vec<Message>> {
        memory::read(&self.store.db, &self.org_id, memory_id).map(|m| m.recent_messages)
    }

    /// Wipes the contact's memory of `scope` (`POST /v1/memory/reset`): its summary,
    /// facts, messages, open items and entities, and the history that held their
    /// earlier values — irreversibly (the file keeps no copy: see [`Org::erase`]). The
    /// memory record stays, with one `reset` history entry. Returns whether the
    /// contact had that memory; other scopes and the contact are untouched.
    ///
    /// # Errors
    /// [`Error::MissingScope`](crate::Error::MissingScope) without a persona id or agent
    /// number; [`Error::NotFound`](crate::Error::NotFound) for an unknown contact;
    /// [`Error::Storage`](crate::Error::Storage).
    pub fn reset_memory(&self, contact_id: &str, scope: &MemoryScope) -> Result<bool> {
        memory::reset_scope(&self.store.db, &self.org_id, contact_id, scope)
    }

    // Writes by memory id ------------------------------------------------------------

    /// [`Org::add_messages`] to the memory with this id.
    ///
    /// # Errors
    /// [`Error::MemoryNotFound`](crate::Error::MemoryNotFound), and as [`Org::add_messages`].
    pub fn add_messages_by_id(
        &self,
        memory_id: &str,
        messages: &[Message],
    ) -> Result<MemoryRecord> {
        let cap = self.store.settings().recent_messages_cap;
        let change = memory::add_messages(messages.to_vec(), cap)?;
        self.write_memory_by_id(memory_id, change)
            .map(|m| self.record(m))
    }

    /// [`Org::add_open_item`] to the memory with this id.
    ///
    /// # Errors
    /// [`Error::MemoryNotFound`](crate::Error::MemoryNotFound), and as [`Org::add_open_item`].
    pub fn add_open_item_by_id(&self, memory_id: &str, item: &OpenItem) -> Result<MemoryRecord> {
        let change = memory::add_open_item(item)?;
        self.write_memory_by_id(memory_id, change)
            .map(|m| self.record(m))
    }

    /// [`Org::close_open_items`] of the memory with this id.
    ///
    /// # Errors
    /// As [`Org::close_open_items`]; [`Error::MemoryNotFound`](crate::Error::MemoryNotFound); [`Error::Storage`](crate::Error::Storage).
    pub fn close_open_items_by_id(
        &self,
        memory_id: &str,
        item_type: &str,
        description: &str,
    ) -> Result<MemoryRecord> {
        let change = memory::close_open_items(item_type, description)?;
        self.write_memory_by_id(memory_id, change)
            .map(|m| self.record(m))
    }

    /// [`Org::upsert_entity`] of the memory with this id.
    ///
    /// # Errors
    /// [`Error::MemoryNotFound`](crate::Error::MemoryNotFound), and as [`Org::upsert_entity`].
    pub fn upsert_entity_by_id(
        &self,
        memory_id: &str,
        update: &EntityUpdate,
    ) -> Result<MemoryRecord> {
        let change = memory::upsert_entity(update, &self.org_id)?;
        self.write_memory_by_id(memory_id, change)
            .map(|m| self.record(m))
    }
}
