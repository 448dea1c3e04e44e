//! What both engines do with a contact's memories once read: give each memory the
//! entities read for all of them in one statement.

use std::collections::HashMap;

use crate::model::{Entity, EntityDocument, Memory, MemoryDocument};

/// A memory or memory document that entities are attached to.
pub(crate) trait HasEntities {
    type Entity;
    fn id(&self) -> &str;
    fn entities(&mut self) -> &mut Vec<Self::Entity>;
}

impl HasEntities for Memory {
    type Entity = Entity;
    fn id(&self) -> &str {
        &self.id
    }
    fn entities(&mut self) -> &mut Vec<Entity> {
        &mut self.entities
    }
}

impl HasEntities for MemoryDocument {
    type Entity = EntityDocument;
    fn id(&self) -> &str {
        &self.id
    }
    fn entities(&mut self) -> &mut Vec<EntityDocument> {
        &mut self.entities
    }
}

/// Where each memory of a list is, by id.
pub(crate) struct ByMemoryId(HashMap<String, usize>);

impl ByMemoryId {
    pub(crate) fn of<M: HasEntities>(memories: &[M]) -> Self {
        ByMemoryId(
            memories
                .iter()
                .enumerate()
                .map(|(i, m)| (m.id().to_owned(), i))
                .collect(),
        )
    }

    /// Gives `entity` to the memory `memory_id` of `memories` (the list this was made
    /// of); an entity of a memory not in it is dropped.
    pub(crate) fn attach<M: HasEntities>(
        &self,
        memories: &mut [M],
        memory_id: &str,
        entity: M::Entity,
    ) {
        if let Some(&i) = self.0.get(memory_id) {
            memories[i].entities().push(entity);
        }
    }
}
