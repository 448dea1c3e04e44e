//! suggest-merges (contract §9): pairs of contacts that are probably one person, each
//! with a score and the evidence found, highest first. Never writes.
//!
//! 1. **Read** the org once, in id order and a page at a time, into compact sketches
//!    ([`sketch`]): name words as interned ids, identifiers as numbers and hashes.
//!    One read transaction, so the numbering of contacts stays true to the end.
//! 2. **Block** ([`keys`]): per key type, every contact's keys sorted together;
//!    contacts sharing a key form a block. How large each contact's name blocks are
//!    says how rare its name is.
//! 3. **Compare** ([`evidence`]) the pairs of each block — skipping blocks too large
//!    for any of their pairs to reach `min_score`, and any above
//!    [`MAX_SUGGESTION_BLOCK`] — and keep the best `limit` pairs.
//! 4. The older contact of a pair (by `created_at`, then id) is the primary: merging
//!    keeps the identity that was there first.
//!
//! Memory grows with the org — about 100 bytes a contact, 100 MiB for a million
//! (BENCHMARKS.md) — never with the number of pairs: only the best `limit` are kept.

mod data;
mod evidence;
mod keys;
mod sketch;

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashSet};

use serde::{Deserialize, Serialize};

use self::evidence::{COMPLEMENTARY, PRIOR, SAME_DOMAIN, SAME_NAME, TYPO};
use self::keys::{KeyType, Rarity};
use self::sketch::Population;
use crate::error::Result;
use crate::limits::{self, DEFAULT_SUGGESTIONS, MAX_SUGGESTION_BLOCK, SUGGESTION_READ_PAGE};
use crate::storage::{Db, NamedContact, Tx};

/// What `suggest_merges` lists.
///
/// ```
/// use contactstore::SuggestOptions;
/// let options: SuggestOptions = serde_json::from_str(r#"{"limit": 10}"#).unwrap();
/// assert_eq!(options, SuggestOptions::default().limit(10));
/// assert_eq!(options.min_score, 0.5);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SuggestOptions {
    /// Most suggestions listed, 1 to 1000 (default 50).
    pub limit: usize,
    /// Lowest score listed, 0 to 1 (default 0.5).
    pub min_score: f64,
}

impl Default for SuggestOptions {
    fn default() -> Self {
        SuggestOptions {
            limit: DEFAULT_SUGGESTIONS,
            min_score: 0.5,
        }
    }
}

impl SuggestOptions {
    /// At most this many suggestions.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Only suggestions scoring at least this.
    pub fn min_score(mut self, min_score: f64) -> Self {
        self.min_score = min_score;
        self
    }
}

/// The suggestions, highest score first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct MergeSuggestions {
    /// Pairs that are probably one person.
    pub suggestions: Vec<MergeSuggestion>,
}

/// Two contacts that are probably one person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "serve", derive(utoipa::ToSchema))]
pub struct MergeSuggestion {
    /// The older contact (by `created_at`, then id): the one to keep.
    pub primary_id: String,
    /// The contact to merge into it.
    pub duplicate_id: String,
    /// How likely the two are one person, 0 to 1 (three decimals).
    pub score: f64,
    /// The evidence, in words, strongest first; evidence against starts with
    /// `against:`.
    pub reasons: Vec<String>,
}

/// Suggests merges in one org: see the module's documentation and
/// [`crate::Org::suggest_merges`].
pub(crate) fn suggest(db: &Db, org: &str, options: &SuggestOptions) -> Result<MergeSuggestions> {
    let limit = limits::suggestion_limit(options.limit)?;
    let min_score = limits::score(options.min_score, "min_score")?;
    db.read(|tx| {
        let population = read(tx, org)?;
        let rarity = rarity(&population);
        let best = candidates(&population, &rarity, limit, min_score);
        let contacts = contacts_of(tx, org, &best)?;
        Ok(MergeSuggestions {
            suggestions: best
                .iter()
                .filter_map(|r| suggestion(&population, &rarity, &contacts, r))
                .collect(),
        })
    })
}

/// Every contact of the org, sketched, in id order.
fn read(tx: &dyn Tx, org: &str) -> Result<Population> {
    let mut population = Population::new();
    let mut after = String::new();
    loop {
        let page = tx.named_contacts_after(org, &after, SUGGESTION_READ_PAGE)?;
        let Some(last) = page.last() else { break };
        let identifiers = tx.identifiers_of_id_range(org, &after, &last.id)?;
        population.reserve(page.len(), identifiers.len());
        let mut rest = identifiers.as_slice();
        for contact in &page {
            let start = rest.partition_point(|i| i.contact_id.as_str() < contact.id.as_str());
            let end = start + rest[start..].partition_point(|i| i.contact_id == contact.id);
            population.add(contact.name.as_deref(), &rest[start..end]);
            rest = &rest[end..];
        }
        after.clone_from(&last.id);
    }
    population.finish();
    Ok(population)
}

/// Each contact's name blocks: how many contacts share its name, per name key type.
fn rarity(population: &Population) -> Vec<Rarity> {
    let mut rarity = vec![[u16::MAX; 4]; population.sketches.len()];
    for kind in KeyType::ALL {
        let Some(slot) = kind.slot() else { continue };
        let blocks = keys::blocks(population, kind);
        for run in blocks.runs() {
            let k = u16::try_from(run.len()).unwrap_or(u16::MAX);
            for seq in run.seqs() {
                if let Some(r) = rarity.get_mut(seq as usize) {
                    r[slot] = r[slot].min(k);
                }
            }
        }
    }
    rarity
}

/// The highest-scoring pairs, best first.
fn candidates(
    population: &Population,
    rarity: &[Rarity],
    limit: usize,
    min_score: f64,
) -> Vec<Ranked> {
    let mut best = Best::new(limit);
    for kind in KeyType::ALL {
        let blocks = keys::blocks(population, kind);
        for run in blocks.runs() {
            if run.len() < 2
                || run.len() > MAX_SUGGESTION_BLOCK
                || !worth(kind, run.len(), min_score)
            {
                continue;
            }
            for (i, a) in run.seqs().enumerate() {
                for b in run.seqs_after(i) {
                    if best.has(a, b) {
                        continue;
                    }
                    let score = evidence::compare(population, rarity, a, b).score();
                    if score >= min_score {
                        best.offer(Ranked { score, a, b });
                    }
                }
            }
        }
    }
    best.into_sorted()
}

/// Whether any pair of a block of `k` contacts of this key type could score
/// `min_score`: the most its evidence can add, beyond what other key types' blocks
/// find (a pair with an equivalent email, a national number or an organization in
/// common is in those blocks too). The name's rarity is that of the block (for a
/// diminutive of several names, an estimate).
fn worth(kind: KeyType, k: usize, min_score: f64) -> bool {
    // Namesakes are at least the others of the block.
    let rare = evidence::rarity(k.saturating_sub(2) as f64);
    let most = match kind {
        KeyType::Email | KeyType::National => return true,
        KeyType::Name => SAME_NAME + rare + COMPLEMENTARY,
        KeyType::OrgLast | KeyType::OrgFirst => SAME_NAME + rare + SAME_DOMAIN[0].1 + COMPLEMENTARY,
        KeyType::Typo => TYPO + rare + COMPLEMENTARY,
    };
    1.0 / (1.0 + (-(PRIOR + most)).exp()) >= min_score
}

/// A pair (seqs `a < b`) and its score.
#[derive(Debug, Clone, Copy)]
struct Ranked {
    score: f64,
    a: u32,
    b: u32,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    /// Better is greater: a higher score, then the pair of lower seqs (so the pairs
    /// kept, and their order, do not depend on the order they were found in).
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| (other.a, other.b).cmp(&(self.a, self.b)))
    }
}

/// The best `limit` pairs seen, each once.
struct Best {
    limit: usize,
    heap: BinaryHeap<Reverse<Ranked>>,
    kept: HashSet<(u32, u32)>,
}

impl Best {
    fn new(limit: usize) -> Self {
        Best {
            limit,
            heap: BinaryHeap::with_capacity(limit + 1),
            kept: HashSet::with_capacity(limit + 1),
        }
    }

    fn has(&self, a: u32, b: u32) -> bool {
        self.kept.contains(&(a, b))
    }

    fn offer(&mut self, pair: Ranked) {
        if self.heap.len() >= self.limit {
            match self.heap.peek() {
                Some(Reverse(worst)) if pair > *worst => {
                    let worst = *worst;
                    self.heap.pop();
                    self.kept.remove(&(worst.a, worst.b));
                }
                _ => return,
            }
        }
        self.kept.insert((pair.a, pair.b));
        self.heap.push(Reverse(pair));
    }

    fn into_sorted(self) -> Vec<Ranked> {
        // Ascending order of `Reverse` is descending order of the pairs.
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|Reverse(r)| r)
            .collect()
    }
}

/// The ids and creation times of the contacts of the pairs, by seq: the org read
/// again in id order, in the same snapshot.
fn contacts_of(tx: &dyn Tx, org: &str, pairs: &[Ranked]) -> Result<Vec<(u32, NamedContact)>> {
    let mut wanted: Vec<u32> = pairs.iter().flat_map(|r| [r.a, r.b]).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut found = Vec::with_capacity(wanted.len());
    let mut next = wanted.iter().peekable();
    let mut seq: u32 = 0;
    let mut after = String::new();
    while next.peek().is_some() {
        let page = tx.named_contacts_after(org, &after, SUGGESTION_READ_PAGE)?;
        let Some(last) = page.last() else { break };
        after.clone_from(&last.id);
        for contact in page {
            if next.peek() == Some(&&seq) {
                next.next();
                found.push((seq, contact));
            }
            seq = seq.saturating_add(1);
        }
    }
    Ok(found)
}

fn suggestion(
    population: &Population,
    rarity: &[Rarity],
    contacts: &[(u32, NamedContact)],
    pair: &Ranked,
) -> Option<MergeSuggestion> {
    let find = |seq: u32| {
        contacts
            .binary_search_by_key(&seq, |(s, _)| *s)
            .ok()
            .and_then(|i| contacts.get(i))
            .map(|(_, c)| c)
    };
    let (a, b) = (find(pair.a)?, find(pair.b)?);
    // Seqs follow ids, so `a` has the lower id.
    let (primary, duplicate) = if b.created_at < a.created_at {
        (b, a)
    } else {
        (a, b)
    };
    Some(MergeSuggestion {
        primary_id: primary.id.clone(),
        duplicate_id: duplicate.id.clone(),
        score: (pair.score * 1000.0).round() / 1000.0,
        reasons: evidence::compare(population, rarity, pair.a, pair.b).reasons(),
    })
}
