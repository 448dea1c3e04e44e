//! The evidence that two contacts are one person, and what it weighs.
//!
//! Each finding adds to the log-odds of "one person" (a prior of [`PRIOR`] for two
//! contacts that share a blocking key); the score is the logistic of the sum, in
//! 0..1. The weights follow what produces duplicates in a store fed by calls, texts
//! and web forms — and what does not:
//! - the same person split by channel: a phone-only contact from a call and an
//!   email-only one from a web form, with the same name ([`COMPLEMENTARY`]);
//! - an address the provider delivers to the same mailbox ([`EMAIL_EQUIVALENT`]);
//! - a national number stored under the wrong country code ([`NATIONAL`]);
//! - diminutives and typos of a name, which count for less than the same name;
//! - an organization in common (a work domain, a block of direct lines), which makes
//!   a name shared within it rarer.
//!
//! A name agreeing counts for more the rarer it is ([`rarity`]): in a million
//! contacts, two called John Smith are most likely two people — unless a mailbox or a
//! number's digits tie them, when a common name no longer counts against. A different
//! first name
//! with the same last name is the mark of family members sharing a household or an
//! office line, and weighs heavily against ([`DIFFERENT_FIRST`]) — so a shared number
//! or mailbox alone never makes a suggestion for two people of different first names.

use super::keys::{KeyType, Rarity};
use super::sketch::{Ident, Kind, Population, Sketch, NONE};

/// Log-odds of two contacts sharing a blocking key being one person, before evidence.
pub(super) const PRIOR: f64 = -3.0;
/// Same first and last name.
pub(super) const SAME_NAME: f64 = 2.0;
/// First and last name swapped (`Chen Sarah`).
const SWAPPED_NAME: f64 = 1.5;
/// First names that are diminutives of one name (Bob, Robert), same last name.
const DIMINUTIVE: f64 = 1.5;
/// One typo in the first or the last name (the other the same).
pub(super) const TYPO: f64 = 1.0;
/// An initial for the first name (`J Smith`, `John Smith`).
const INITIAL: f64 = 0.5;
/// One-word names that agree (`Sarah`, `Sarah Chen`); no rarity is known.
const ONE_WORD: f64 = 0.3;
/// Same last name, different first names: family members, colleagues.
const DIFFERENT_FIRST: f64 = -4.0;
/// Same first name, different last names.
const DIFFERENT_LAST: f64 = -2.5;
/// Nothing in common between the names.
const DIFFERENT_NAME: f64 = -6.0;
/// One-word names that differ.
const DIFFERENT_ONE_WORD: f64 = -2.0;
/// Generational suffixes that differ (Jr, Sr): parent and child.
const SUFFIX_CONFLICT: f64 = -4.0;
/// Emails that reach one mailbox (`sarah.chen@gmail.com`, `sarahchen+shop@gmail.com`).
pub(super) const EMAIL_EQUIVALENT: f64 = 6.0;
/// Phone numbers with the same national digits under different country codes.
pub(super) const NATIONAL: f64 = 3.5;
/// A work email domain in common, by how many contacts use the domain.
pub(super) const SAME_DOMAIN: [(u32, f64); 3] = [(100, 1.5), (1_000, 1.0), (u32::MAX, 0.5)];
/// Phone numbers in one block of 100 (a company's direct lines).
const SAME_PHONE_BLOCK: f64 = 1.0;
/// One has only phone numbers, the other only emails: a caller and a web form.
pub(super) const COMPLEMENTARY: f64 = 1.2;
/// Both have phone numbers, none alike: most people have one number.
const PHONES_DIFFER: f64 = -1.6;
/// Both have emails, none alike (and no work domain in common).
const EMAILS_DIFFER: f64 = -0.5;
/// Both have external ids, none alike: the other system keeps them apart.
const EXTERNALS_DIFFER: f64 = -2.5;

/// What a name in common is worth for its rarity, given how many other contacts
/// could carry it ([`namesakes`]): the log-odds of "a duplicate" against "a namesake"
/// when about one contact in thirty is a duplicate, `-2 - ln(namesakes)` — 0 at about
/// one namesake in seven, -2 at one — between -2.5 and 2.
pub(super) fn rarity(namesakes: f64) -> f64 {
    (-2.0 - namesakes.max(0.01).ln()).clamp(-2.5, 2.0)
}

/// How two names compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameMatch {
    Unknown,
    Same,
    Swapped,
    Diminutive,
    TypoFirst,
    TypoLast,
    Initial,
    OneWord,
    DifferentFirst,
    DifferentLast,
    Different,
    DifferentOneWord,
}

/// How two emails sets compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EmailMatch {
    None,
    /// Equivalent addresses at a provider (index into `PROVIDERS`, plus one).
    Equivalent(u8),
    Differ,
}

/// What two contacts have in common and what sets them apart.
#[derive(Debug, Clone, Copy)]
pub(super) struct Evidence {
    name: NameMatch,
    /// Contacts sharing the agreeing name.
    name_count: u32,
    /// Other contacts that could carry it (see [`rarity`]).
    namesakes: f64,
    suffix_conflict: bool,
    email: EmailMatch,
    national: bool,
    phones_differ: bool,
    domain: Option<u32>,
    phone_block: bool,
    complementary: bool,
    externals_differ: bool,
}

/// Compares two contacts.
pub(super) fn compare(population: &Population, rarity_of: &[Rarity], a: u32, b: u32) -> Evidence {
    let sa = sketch(population, a);
    let sb = sketch(population, b);
    let (ia, ib) = (population.idents(&sa), population.idents(&sb));
    let name = names(population, &sa, &sb);
    let mut e = Evidence {
        name,
        name_count: u32::MAX,
        namesakes: f64::INFINITY,
        suffix_conflict: sa.suffix != 0 && sb.suffix != 0 && sa.suffix != sb.suffix,
        email: EmailMatch::None,
        national: false,
        phones_differ: false,
        domain: None,
        phone_block: false,
        complementary: false,
        externals_differ: false,
    };
    identifiers(population, ia, ib, &mut e);
    let ra = rarity_of.get(a as usize).copied().unwrap_or([u16::MAX; 4]);
    let rb = rarity_of.get(b as usize).copied().unwrap_or([u16::MAX; 4]);
    (e.name_count, e.namesakes) = namesakes(population, (&ra, &rb), (&sa, &sb), name, &e);
    e
}

/// How many contacts share the agreeing name (the smallest block of the pair for it:
/// within their organization when they have one in common), and how many others
/// beyond the pair could carry it by chance: those seen, plus those expected from how
/// common its first and last words are (independently) — two James Smiths are likely
/// two people even when no third one is stored.
fn namesakes(
    population: &Population,
    (ra, rb): (&Rarity, &Rarity),
    (sa, sb): (&Sketch, &Sketch),
    name: NameMatch,
    e: &Evidence,
) -> (u32, f64) {
    // A name with a typo has no block of its own (the typo blocks hold every
    // contact of the last name and first initial, not namesakes): only the words'
    // frequencies and, within an organization, its block count.
    let (global, in_org) = match name {
        NameMatch::Same | NameMatch::Swapped | NameMatch::Diminutive => {
            (Some(KeyType::Name), KeyType::OrgLast)
        }
        NameMatch::TypoFirst | NameMatch::Initial => (None, KeyType::OrgLast),
        NameMatch::TypoLast => (None, KeyType::OrgFirst),
        _ => return (u32::MAX, f64::INFINITY),
    };
    let shared = |kind: KeyType| {
        kind.slot()
            .map_or(u32::MAX, |slot| u32::from(ra[slot].max(rb[slot])))
    };
    // The counts of its words among the others: without the pair's own.
    let n = population.sketches.len().max(1) as f64;
    let others = |x: u32, y: u32| {
        let (cx, cy) = (population.names.count(x), population.names.count(y));
        let own = if x == y { 2 } else { 1 };
        f64::from(cx.max(cy).saturating_sub(own))
    };
    let mut expected = others(sa.first, sb.first) * others(sa.last, sb.last) / n;
    let mut seen = global.map_or(2, shared);
    let organization = e.domain.map(f64::from).or(e.phone_block.then_some(100.0));
    if let Some(size) = organization {
        seen = seen.min(shared(in_org));
        expected *= (size / n).min(1.0);
    }
    (seen, f64::from(seen.saturating_sub(2)) + expected)
}

fn sketch(population: &Population, seq: u32) -> Sketch {
    population
        .sketches
        .get(seq as usize)
        .copied()
        .unwrap_or_default()
}

fn names(population: &Population, a: &Sketch, b: &Sketch) -> NameMatch {
    if a.first == NONE || b.first == NONE {
        return NameMatch::Unknown;
    }
    let text = |id: u32| population.names.text(id);
    let same_first = a.first == b.first;
    let diminutive = !same_first && {
        let fb = population.formal(b.first);
        population
            .formal(a.first)
            .as_slice()
            .iter()
            .any(|f| fb.as_slice().contains(f))
    };
    if a.last == NONE || b.last == NONE {
        let agrees = same_first
            || diminutive
            || (a.last == NONE && a.first == b.last)
            || (b.last == NONE && b.first == a.last);
        return if agrees {
            NameMatch::OneWord
        } else {
            NameMatch::DifferentOneWord
        };
    }
    let same_last = a.last == b.last;
    let first_like = same_first || diminutive;
    match () {
        _ if same_first && same_last => NameMatch::Same,
        _ if diminutive && same_last => NameMatch::Diminutive,
        _ if a.first == b.last && a.last == b.first => NameMatch::Swapped,
        _ if same_last && typo(text(a.first), text(b.first)) => NameMatch::TypoFirst,
        _ if same_last && initial(text(a.first), text(b.first)) => NameMatch::Initial,
        _ if first_like && typo(text(a.last), text(b.last)) => NameMatch::TypoLast,
        _ if same_last => NameMatch::DifferentFirst,
        _ if first_like => NameMatch::DifferentLast,
        _ => NameMatch::Different,
    }
}

/// One typo apart: an insertion, deletion, substitution or transposition (two in
/// names of 8 letters or more), in names of at least 3 and 4 letters.
fn typo(a: &str, b: &str) -> bool {
    let (la, lb) = (a.chars().count(), b.chars().count());
    if la.min(lb) < 3 || la.max(lb) < 4 || la.abs_diff(lb) > 2 {
        return false;
    }
    let allowed = if la.min(lb) >= 8 { 2 } else { 1 };
    strsim::osa_distance(a, b) <= allowed
}

/// One of the first names is an initial, the other's first letter.
fn initial(a: &str, b: &str) -> bool {
    let first = |s: &str| s.chars().next();
    (a.chars().count() == 1 || b.chars().count() == 1) && first(a) == first(b)
}

fn identifiers(population: &Population, a: &[Ident], b: &[Ident], e: &mut Evidence) {
    let count = |ids: &[Ident], k: Kind| ids.iter().filter(|i| i.kind == k).count();
    let (ea, eb) = (count(a, Kind::Email), count(b, Kind::Email));
    let (pa, pb) = (count(a, Kind::Phone), count(b, Kind::Phone));
    let (xa, xb) = (count(a, Kind::External), count(b, Kind::External));
    let mut same_external = false;
    for x in a {
        for y in b.iter().filter(|y| y.kind == x.kind) {
            match x.kind {
                Kind::Email => {
                    if x.value == y.value {
                        e.email = EmailMatch::Equivalent(x.aux.max(y.aux));
                    }
                }
                Kind::Phone => {
                    if x.cc != y.cc && x.national() == y.national() {
                        e.national = true;
                    }
                    if x.phone_block().is_some() && x.phone_block() == y.phone_block() {
                        e.phone_block = true;
                    }
                }
                Kind::External => same_external |= x.value == y.value,
            }
        }
    }
    // Work domains, of emails and of the blocks phone numbers are tied to.
    let (mut da, mut db) = ([NONE; 8], [NONE; 8]);
    let (na, nb) = (
        population.domains(a, &mut da),
        population.domains(b, &mut db),
    );
    for d in da[..na].iter().filter(|d| db[..nb].contains(d)) {
        let used = population.domains.count(*d);
        e.domain = Some(e.domain.map_or(used, |c| c.min(used)));
    }
    if e.email == EmailMatch::None && ea > 0 && eb > 0 {
        e.email = EmailMatch::Differ;
    }
    e.phones_differ = pa > 0 && pb > 0 && !e.national;
    e.complementary =
        (pa > 0 && ea == 0 && eb > 0 && pb == 0) || (ea > 0 && pa == 0 && pb > 0 && eb == 0);
    e.externals_differ = xa > 0 && xb > 0 && !same_external;
}

/// One finding of [`Evidence`].
#[derive(Debug, Clone, Copy)]
enum Finding {
    Name(NameMatch, u32),
    SuffixConflict,
    EmailEquivalent(u8),
    EmailsDiffer,
    National,
    PhonesDiffer,
    Domain,
    PhoneBlock,
    Complementary,
    ExternalsDiffer,
}

impl Evidence {
    /// The log-odds of one person.
    pub(super) fn logit(&self) -> f64 {
        let mut sum = PRIOR;
        self.each(|w, _| sum += w);
        sum
    }

    /// The score in 0..1.
    pub(super) fn score(&self) -> f64 {
        1.0 / (1.0 + (-self.logit()).exp())
    }

    /// The reasons, in words, strongest first (evidence against last).
    pub(super) fn reasons(&self) -> Vec<String> {
        let mut found = Vec::new();
        self.each(|w, f| found.push((w, f)));
        found.sort_by(|x, y| y.0.total_cmp(&x.0));
        found.into_iter().map(|(_, f)| reason(f)).collect()
    }

    /// Calls `f` with each finding and its weight.
    fn each(&self, mut f: impl FnMut(f64, Finding)) {
        // A common name counts against only a pair that nothing else ties: two
        // contacts reaching one mailbox, or one number's digits, are not namesakes
        // met by chance, and a name they agree on only adds.
        let tied = matches!(self.email, EmailMatch::Equivalent(_)) || self.national;
        let rare = if tied {
            rarity(self.namesakes).max(0.0)
        } else {
            rarity(self.namesakes)
        };
        let name = match self.name {
            NameMatch::Unknown => None,
            NameMatch::Same => Some(SAME_NAME + rare),
            NameMatch::Swapped => Some(SWAPPED_NAME + rare),
            NameMatch::Diminutive => Some(DIMINUTIVE + rare),
            NameMatch::TypoFirst | NameMatch::TypoLast => Some(TYPO + rare),
            NameMatch::Initial => Some(INITIAL + rare),
            NameMatch::OneWord => Some(ONE_WORD),
            NameMatch::DifferentFirst => Some(DIFFERENT_FIRST),
            NameMatch::DifferentLast => Some(DIFFERENT_LAST),
            NameMatch::Different => Some(DIFFERENT_NAME),
            NameMatch::DifferentOneWord => Some(DIFFERENT_ONE_WORD),
        };
        if let Some(w) = name {
            f(w, Finding::Name(self.name, self.name_count));
        }
        if self.suffix_conflict {
            f(SUFFIX_CONFLICT, Finding::SuffixConflict);
        }
        match self.email {
            EmailMatch::Equivalent(provider) => {
                f(EMAIL_EQUIVALENT, Finding::EmailEquivalent(provider))
            }
            EmailMatch::Differ if self.domain.is_none() => f(EMAILS_DIFFER, Finding::EmailsDiffer),
            EmailMatch::Differ | EmailMatch::None => {}
        }
        if self.national {
            f(NATIONAL, Finding::National);
        } else if self.phones_differ {
            f(PHONES_DIFFER, Finding::PhonesDiffer);
        }
        if let Some(used) = self.domain {
            f(domain_weight(used), Finding::Domain);
        } else if self.phone_block {
            f(SAME_PHONE_BLOCK, Finding::PhoneBlock);
        }
        if self.complementary {
            f(COMPLEMENTARY, Finding::Complementary);
        }
        if self.externals_differ {
            f(EXTERNALS_DIFFER, Finding::ExternalsDiffer);
        }
    }
}

/// The weight of a work domain in common that `used` addresses of the org are at.
fn domain_weight(used: u32) -> f64 {
    SAME_DOMAIN
        .iter()
        .find(|(most, _)| used <= *most)
        .map_or(0.0, |(_, w)| *w)
}

/// A finding in words. Reasons never quote a name, number or address.
fn reason(finding: Finding) -> String {
    let name = |what: &str, count: u32| match count {
        0..=2 => format!("{what} (no other contact has it)"),
        u32::MAX => what.to_owned(),
        n => format!("{what} ({n} contacts have it)"),
    };
    match finding {
        Finding::Name(m, count) => match m {
            NameMatch::Same => name("same name", count),
            NameMatch::Swapped => name("same name with first and last swapped", count),
            NameMatch::Diminutive => {
                name("first names are forms of one name, same last name", count)
            }
            NameMatch::TypoFirst => name("first names one typo apart, same last name", count),
            NameMatch::TypoLast => name("last names one typo apart, same first name", count),
            NameMatch::Initial => name("an initial for the first name, same last name", count),
            NameMatch::OneWord => "a one-word name that agrees with the other name".into(),
            NameMatch::DifferentFirst => {
                "against: same last name, different first names (family, colleagues)".into()
            }
            NameMatch::DifferentLast => "against: same first name, different last names".into(),
            NameMatch::Different | NameMatch::DifferentOneWord => "against: different names".into(),
            NameMatch::Unknown => "no name to compare".into(),
        },
        Finding::SuffixConflict => "against: different generational suffixes (Jr, Sr)".into(),
        Finding::EmailEquivalent(provider) => {
            let domain = super::data::PROVIDERS
                .get(usize::from(provider).wrapping_sub(1))
                .and_then(|p| p.domains.first())
                .copied()
                .unwrap_or("the provider");
            format!("emails reach one mailbox at {domain} (the provider ignores dots or +tags)")
        }
        Finding::EmailsDiffer => "against: different emails".into(),
        Finding::National => {
            "phone numbers have the same national digits under different country codes".into()
        }
        Finding::PhonesDiffer => "against: different phone numbers".into(),
        Finding::Domain => {
            "the same work domain (of an email, or of a phone number's block)".into()
        }
        Finding::PhoneBlock => "phone numbers in one block of 100 (an organization's lines)".into(),
        Finding::Complementary => {
            "a phone number on one, an email on the other, nothing in conflict".into()
        }
        Finding::ExternalsDiffer => "against: different external ids".into(),
    }
}
