//! Blocking: the keys that bring candidate pairs together, so that only contacts
//! sharing one are ever compared — never all pairs.
//!
//! Each key type stands for one way a duplicate comes about: an address the provider
//! delivers to the same mailbox, a number stored under the wrong country code, the
//! same (or a diminutive) name, a name within one organization (an email domain that
//! is not free mail, a block of 100 direct lines), or a name with one typo.

use super::sketch::{Kind, Population, Sketch, NONE};

/// The kinds of blocking key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyType {
    /// The provider-canonical address of an email at a provider with rules (Gmail's
    /// dots and `+tags`, …): exact addresses are unique, equivalent ones meet here.
    Email,
    /// The national significant number of a phone: the same digits under two country
    /// codes (a national number parsed with the wrong default region).
    National,
    /// Formal first name and last name.
    Name,
    /// An organization and a last name.
    OrgLast,
    /// An organization and a formal first name (a typo in the last name).
    OrgFirst,
    /// Last name and first initial, or first name and last initial (a typo in the
    /// other word).
    Typo,
}

impl KeyType {
    pub(super) const ALL: [KeyType; 6] = [
        KeyType::Email,
        KeyType::National,
        KeyType::Name,
        KeyType::OrgLast,
        KeyType::OrgFirst,
        KeyType::Typo,
    ];

    /// The slot of a name-bearing key type in a contact's [`Rarity`]: how many contacts
    /// share its key tells how rare the name is.
    pub(super) fn slot(self) -> Option<usize> {
        match self {
            KeyType::Name => Some(0),
            KeyType::OrgLast => Some(1),
            KeyType::OrgFirst => Some(2),
            KeyType::Typo => Some(3),
            KeyType::Email | KeyType::National => None,
        }
    }
}

/// Per contact and name-bearing key type, the size of the smallest block of that type
/// the contact is in (`u16::MAX` when none): how many contacts share its name, within
/// the org or within an organization.
pub(super) type Rarity = [u16; 4];

/// The keys of one type of a sketch, deduplicated, into `out`.
pub(super) fn keys(population: &Population, s: &Sketch, kind: KeyType, out: &mut Vec<u64>) {
    out.clear();
    let idents = population.idents(s);
    match kind {
        KeyType::Email => {
            for i in idents.iter().filter(|i| i.kind == Kind::Email && i.aux > 0) {
                out.push(mix(1, i.value));
            }
        }
        KeyType::National => {
            for i in idents.iter().filter(|i| i.kind == Kind::Phone) {
                let (national, len) = i.national();
                if len >= 6 {
                    out.push(mix(mix(2, national), u64::from(len)));
                }
            }
        }
        KeyType::Name if s.first != NONE && s.last != NONE => {
            for formal in population.formal(s.first).as_slice() {
                out.push(mix(mix(3, u64::from(*formal)), u64::from(s.last)));
            }
        }
        KeyType::OrgLast if s.last != NONE => {
            for org in orgs(population, s) {
                out.push(mix(mix(4, org), u64::from(s.last)));
            }
        }
        KeyType::OrgFirst if s.first != NONE => {
            for org in orgs(population, s) {
                for formal in population.formal(s.first).as_slice() {
                    out.push(mix(mix(5, org), u64::from(*formal)));
                }
            }
        }
        KeyType::Typo if s.first != NONE && s.last != NONE => {
            let initial = |id: u32| {
                population
                    .names
                    .text(id)
                    .chars()
                    .next()
                    .map_or(0, u64::from)
            };
            out.push(mix(mix(6, u64::from(s.last)), initial(s.first)));
            out.push(mix(mix(7, u64::from(s.first)), initial(s.last)));
        }
        _ => {}
    }
    out.sort_unstable();
    out.dedup();
}

/// The organizations a contact belongs to, as keys: the work domains of its emails
/// and of its phone numbers' blocks, and the blocks themselves.
pub(super) fn orgs(population: &Population, s: &Sketch) -> Vec<u64> {
    let idents = population.idents(s);
    let mut domains = [NONE; 8];
    let n = population.domains(idents, &mut domains);
    let mut out: Vec<u64> = domains[..n].iter().map(|d| mix(8, u64::from(*d))).collect();
    out.extend(
        idents
            .iter()
            .filter_map(|i| i.phone_block())
            .map(|b| mix(9, b)),
    );
    out
}

/// Combines two values into a key (splitmix64's finalizer over their mix).
pub(super) fn mix(a: u64, b: u64) -> u64 {
    let mut z = a
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .rotate_left(31)
        .wrapping_add(b);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The blocks of one key type: every contact's keys, sorted, so that contacts sharing
/// a key are neighbours. Each entry packs a key and a contact: the key's high bits
/// above the bits the contact's seq needs (a million contacts leave 44 bits of key,
/// so that two keys of an org collide about once in tens of thousands of runs — and a
/// collision only puts two blocks together).
pub(super) struct Blocks {
    entries: Vec<u64>,
    seq_bits: u32,
}

pub(super) fn blocks(population: &Population, kind: KeyType) -> Blocks {
    let n = population.sketches.len() as u64;
    let seq_bits = (64 - n.leading_zeros()).max(1);
    let mask = (1u64 << seq_bits) - 1;
    let mut buffer = Vec::new();
    // Counted first, so the vector is allocated once at its size: growing it by
    // doubling would hold up to twice (and, while copying, three times) as much.
    let count: usize = population
        .sketches
        .iter()
        .map(|s| {
            keys(population, s, kind, &mut buffer);
            buffer.len()
        })
        .sum();
    let mut entries = Vec::with_capacity(count);
    for (seq, s) in population.sketches.iter().enumerate() {
        keys(population, s, kind, &mut buffer);
        entries.extend(buffer.iter().map(|k| (k & !mask) | seq as u64));
    }
    entries.sort_unstable();
    Blocks { entries, seq_bits }
}

impl Blocks {
    /// The blocks, each one's members in ascending seq order.
    pub(super) fn runs(&self) -> impl Iterator<Item = Run<'_>> + '_ {
        let mask = (1u64 << self.seq_bits) - 1;
        self.entries
            .chunk_by(move |a, b| a & !mask == b & !mask)
            .map(move |entries| Run { entries, mask })
    }
}

/// The members of one block.
pub(super) struct Run<'b> {
    entries: &'b [u64],
    mask: u64,
}

impl Run<'_> {
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The members' seqs.
    pub(super) fn seqs(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries.iter().map(|e| (e & self.mask) as u32)
    }

    /// The members' seqs after the `i`th.
    pub(super) fn seqs_after(&self, i: usize) -> impl Iterator<Item = u32> + '_ {
        self.entries
            .get(i + 1..)
            .unwrap_or(&[])
            .iter()
            .map(|e| (e & self.mask) as u32)
    }
}
