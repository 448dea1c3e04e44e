//! The store's invariants, as both engines check them (`contactstore check`): each has
//! a name and a meaning here; each engine lists the records (org, id) breaking it with a
//! statement of its own, in this order.

use crate::limits::MAX_CHECK_DETAILS;
use crate::model::CheckOutcome;

/// Name and meaning of each invariant, in the order the report lists them.
pub(crate) const INVARIANTS: [(&str, &str); 10] = [
    (
        "identifiers_have_contacts",
        "every identifier's contact exists",
    ),
    ("memories_have_contacts", "every memory's contact exists"),
    ("entities_have_memories", "every entity's memory exists"),
    (
        "activities_have_contacts",
        "every call's and SMS conversation's contact exists",
    ),
    (
        "merged_ids_have_no_contact",
        "no contact of a merged-away id remains",
    ),
    (
        "redirects_reach_a_contact",
        "every redirect reaches a live contact in one step",
    ),
    (
        "merges_have_redirects",
        "every journaled merge not undone has its redirect",
    ),
    (
        "undone_merges_keep_no_snapshot",
        "an undone merge keeps no snapshot of the restored contact",
    ),
    (
        "redirects_have_merges",
        "every redirect has its journaled merge, not undone",
    ),
    (
        "one_primary_per_type",
        "at most one primary identifier per type per contact",
    ),
];

/// The problems a check found so far: counted, the first few kept.
pub(crate) struct Found {
    count: u64,
    details: Vec<String>,
}

impl Found {
    pub(crate) fn new() -> Self {
        Found {
            count: 0,
            details: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, detail: String) {
        self.count += 1;
        if self.details.len() < MAX_CHECK_DETAILS {
            self.details.push(detail);
        }
    }

    pub(crate) fn outcome(self, check: &str, description: &str) -> CheckOutcome {
        CheckOutcome {
            check: check.to_owned(),
            description: description.to_owned(),
            ok: self.count == 0,
            problems: self.count,
            details: self.details,
        }
    }
}
