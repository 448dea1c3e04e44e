//! What duplicate suggestions keep of each contact: a compact sketch — name tokens as
//! interned ids, identifiers as numbers and hashes — so an org of a million contacts
//! fits in tens of megabytes. Contacts are numbered (`seq`) in id order.

use std::collections::HashMap;
use std::sync::LazyLock;

use rlibphonenumber::PHONE_NUMBER_UTIL;

use super::data::{
    FREE_MAIL, NICKNAMES, PLACEHOLDER_NAMES, POST_NOMINALS, PROVIDERS, SUFFIXES, TITLES,
};
use crate::model::IdentifierType;
use crate::storage::ContactIdentifier;

/// The id of "nothing" in an [`Interner`] (no first name, no last name, no org).
pub(super) const NONE: u32 = 0;

/// Distinct strings numbered from 1, with how often each was interned. Each string
/// is kept once: the index is by hash, with the rare colliding strings apart.
pub(super) struct Interner {
    by_hash: HashMap<u64, u32>,
    collided: HashMap<Box<str>, u32>,
    texts: Vec<Box<str>>,
    counts: Vec<u32>,
}

impl Interner {
    fn new() -> Self {
        Interner {
            by_hash: HashMap::new(),
            collided: HashMap::new(),
            texts: vec!["".into()],
            counts: vec![0],
        }
    }

    fn intern(&mut self, text: &str) -> u32 {
        let hash = hash_str(text);
        let id = match self.by_hash.get(&hash) {
            Some(&id) if self.text(id) == text => id,
            Some(_) => match self.collided.get(text) {
                Some(&id) => id,
                None => {
                    let id = self.push(text);
                    self.collided.insert(text.into(), id);
                    id
                }
            },
            None => {
                let id = self.push(text);
                self.by_hash.insert(hash, id);
                id
            }
        };
        if let Some(c) = self.counts.get_mut(id as usize) {
            *c = c.saturating_add(1);
        }
        id
    }

    fn push(&mut self, text: &str) -> u32 {
        let id = u32::try_from(self.texts.len()).unwrap_or(u32::MAX);
        self.texts.push(text.into());
        self.counts.push(0);
        id
    }

    pub(super) fn text(&self, id: u32) -> &str {
        self.texts.get(id as usize).map_or("", |t| t)
    }

    pub(super) fn count(&self, id: u32) -> u32 {
        self.counts.get(id as usize).copied().unwrap_or(0)
    }
}

/// A contact, compactly.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Sketch {
    /// The first name token, or [`NONE`] for a contact without a name.
    pub first: u32,
    /// The last name token, or [`NONE`] for a one-word name.
    pub last: u32,
    /// A generational suffix (index into `SUFFIXES`, plus one), or 0.
    pub suffix: u8,
    /// The contact's identifiers: `idents[start..start + len]`.
    pub start: u32,
    pub len: u8,
}

/// The kinds of [`Ident`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `value`: hash of the provider-canonical address; `org`: a work domain's id;
    /// `aux`: the provider's index plus one when the provider rewrites addresses.
    Email,
    /// `value`: the E.164 digits; `aux`: how many; `cc`: how many are the country code.
    Phone,
    /// `value`: hash of the id.
    External,
}

/// One identifier of a sketch.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ident {
    pub value: u64,
    pub org: u32,
    pub kind: Kind,
    pub aux: u8,
    pub cc: u8,
}

impl Ident {
    /// The national significant number of a phone (digits after the country code), with
    /// its length.
    pub(super) fn national(&self) -> (u64, u8) {
        let len = self.aux.saturating_sub(self.cc);
        (self.value % 10u64.saturating_pow(u32::from(len)), len)
    }

    /// The block of 100 numbers a phone belongs to (a company's direct lines share
    /// one), for national numbers of 8 digits or more.
    pub(super) fn phone_block(&self) -> Option<u64> {
        (self.kind == Kind::Phone && self.national().1 >= 8).then_some(self.value / 100)
    }
}

/// The formal first names of a token: those listed for a diminutive, or the name
/// itself.
pub(super) enum Formals<'a> {
    Listed(&'a [u32]),
    Own([u32; 1]),
}

impl Formals<'_> {
    pub(super) fn as_slice(&self) -> &[u32] {
        match self {
            Formals::Listed(ids) => ids,
            Formals::Own(id) => id,
        }
    }
}

/// Every contact of an org, sketched, in id order.
pub(super) struct Population {
    pub sketches: Vec<Sketch>,
    pub idents: Vec<Ident>,
    pub names: Interner,
    pub domains: Interner,
    /// Formal first names of a diminutive (`bob` → `robert`), by token id; a name not
    /// listed is its own.
    formal: HashMap<u32, Vec<u32>>,
    free_mail: Vec<u32>,
    /// The work domain a block of phone numbers belongs to: the domain most seen on
    /// contacts that have both (see [`Population::finish`]).
    block_domain: HashMap<u64, u32>,
}

impl Population {
    pub(super) fn new() -> Self {
        let mut names = Interner::new();
        let mut formal: HashMap<u32, Vec<u32>> = HashMap::new();
        for (name, diminutives) in NICKNAMES {
            let id = names.intern(name);
            formal.entry(id).or_default().push(id);
            for d in *diminutives {
                let d = names.intern(d);
                let formals = formal.entry(d).or_default();
                if !formals.contains(&id) {
                    formals.push(id);
                }
            }
        }
        let mut domains = Interner::new();
        let free_mail = FREE_MAIL.iter().map(|d| domains.intern(d)).collect();
        Population {
            sketches: Vec::new(),
            idents: Vec::new(),
            names,
            domains,
            formal,
            free_mail,
            block_domain: HashMap::new(),
        }
    }

    /// Once every contact is in: ties each block of phone numbers to the work domain
    /// its numbers are most often seen with on one contact (a company's direct lines
    /// and its email domain), so that a contact known by a direct line and one known
    /// by a work email are seen to share the organization.
    pub(super) fn finish(&mut self) {
        let mut seen: HashMap<(u64, u32), u32> = HashMap::new();
        for s in &self.sketches {
            let idents = self.idents(s);
            for phone in idents.iter().filter_map(Ident::phone_block) {
                for email in idents
                    .iter()
                    .filter(|i| i.kind == Kind::Email && i.org != NONE)
                {
                    *seen.entry((phone, email.org)).or_default() += 1;
                }
            }
        }
        let mut best: HashMap<u64, (u32, u32)> = HashMap::new();
        for ((block, domain), count) in seen {
            let slot = best.entry(block).or_insert((count, domain));
            if (count, std::cmp::Reverse(domain)) > (slot.0, std::cmp::Reverse(slot.1)) {
                *slot = (count, domain);
            }
        }
        self.block_domain = best.into_iter().map(|(b, (_, d))| (b, d)).collect();
    }

    /// The work domains of a contact's identifiers: those of its emails and those its
    /// phone numbers' blocks are tied to, in `out` (up to its length); how many.
    pub(super) fn domains(&self, idents: &[Ident], out: &mut [u32]) -> usize {
        let mut n = 0;
        for i in idents {
            let domain = match i.kind {
                Kind::Email if i.org != NONE => Some(i.org),
                Kind::Phone => i
                    .phone_block()
                    .and_then(|b| self.block_domain.get(&b).copied()),
                _ => None,
            };
            if let Some(d) = domain {
                if n < out.len() && !out[..n].contains(&d) {
                    out[n] = d;
                    n += 1;
                }
            }
        }
        n
    }

    /// The formal first names a first-name token stands for.
    pub(super) fn formal(&self, first: u32) -> Formals<'_> {
        match self.formal.get(&first) {
            Some(listed) => Formals::Listed(listed),
            None => Formals::Own([first]),
        }
    }

    pub(super) fn idents(&self, s: &Sketch) -> &[Ident] {
        let start = s.start as usize;
        self.idents
            .get(start..start + usize::from(s.len))
            .unwrap_or(&[])
    }

    /// Makes room for this many more contacts and identifiers, exactly: the vectors
    /// grow a page at a time instead of doubling (a large allocation grows in place).
    pub(super) fn reserve(&mut self, contacts: usize, identifiers: usize) {
        self.sketches.reserve_exact(contacts);
        self.idents.reserve_exact(identifiers);
    }

    /// Adds a contact: its name and identifiers.
    pub(super) fn add(&mut self, name: Option<&str>, identifiers: &[ContactIdentifier]) {
        let mut sketch = Sketch {
            start: u32::try_from(self.idents.len()).unwrap_or(u32::MAX),
            ..Sketch::default()
        };
        if let Some(parsed) = name.and_then(parse_name) {
            sketch.first = self.names.intern(&parsed.first);
            if let Some(last) = &parsed.last {
                sketch.last = self.names.intern(last);
            }
            sketch.suffix = parsed.suffix;
        }
        for i in identifiers.iter().take(usize::from(u8::MAX)) {
            if let Some(ident) = self.ident(i) {
                self.idents.push(ident);
                sketch.len += 1;
            }
        }
        self.sketches.push(sketch);
    }

    fn ident(&mut self, i: &ContactIdentifier) -> Option<Ident> {
        match i.kind {
            IdentifierType::Email => {
                let (local, domain) = i.value.rsplit_once('@')?;
                let (canonical, provider) = canonical_email(local, domain);
                let domain_id = self.domains.intern(domain);
                let org = if self.free_mail.contains(&domain_id) {
                    NONE
                } else {
                    domain_id
                };
                Some(Ident {
                    value: hash_str(&canonical),
                    org,
                    kind: Kind::Email,
                    aux: provider,
                    cc: 0,
                })
            }
            IdentifierType::PhoneNumber => {
                let digits = i.value.strip_prefix('+')?;
                let value: u64 = digits.parse().ok()?;
                Some(Ident {
                    value,
                    org: NONE,
                    kind: Kind::Phone,
                    aux: u8::try_from(digits.len()).ok()?,
                    cc: country_code_len(digits),
                })
            }
            IdentifierType::ExternalId => Some(Ident {
                value: hash_str(&i.value),
                org: NONE,
                kind: Kind::External,
                aux: 0,
                cc: 0,
            }),
        }
    }
}

/// A name split into what tells people apart.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct ParsedName {
    pub first: String,
    pub last: Option<String>,
    pub suffix: u8,
}

/// Splits a name: case and common Latin diacritics folded, apostrophes and hyphens
/// joined (`O'Neil-Smith` → `oneilsmith`), `Last, First` turned around, titles,
/// degrees and placeholders (`Unknown`, `Wireless Caller`) dropped, a generational
/// suffix kept apart. The first word is the first name, the last word the last name.
pub(super) fn parse_name(name: &str) -> Option<ParsedName> {
    let trimmed = name.trim();
    if trimmed.is_empty()
        || PLACEHOLDER_NAMES
            .iter()
            .any(|p| trimmed.eq_ignore_ascii_case(p))
    {
        return None;
    }
    let mut words = words_of(trimmed);
    // "Chen, Sarah" is Sarah Chen (but "Sarah Chen, Jr." is not turned around).
    if let Some((before, after)) = trimmed.split_once(',') {
        let after_words = words_of(after);
        let is_suffix = after_words
            .iter()
            .all(|w| SUFFIXES.contains(&w.as_str()) || POST_NOMINALS.contains(&w.as_str()));
        if !after_words.is_empty() && !is_suffix && !after.contains(',') {
            words = after_words;
            words.extend(words_of(before));
        }
    }
    words.retain(|w| !w.bytes().all(|b| b.is_ascii_digit()));
    while words.len() > 1 && TITLES.contains(&words[0].as_str()) {
        words.remove(0);
    }
    let mut suffix = 0;
    while words.len() > 1 {
        let Some(last) = words.last() else { break };
        if let Some(i) = SUFFIXES.iter().position(|s| s == last) {
            suffix = u8::try_from(i + 1).unwrap_or(0);
        } else if !POST_NOMINALS.contains(&last.as_str()) {
            break;
        }
        words.pop();
    }
    let mut words = words.into_iter();
    let first = words.next()?;
    Some(ParsedName {
        first,
        last: words.next_back(),
        suffix,
    })
}

/// The lowercase, folded words of a text.
fn words_of(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if matches!(c, '\'' | '\u{2019}' | '-') {
            continue;
        }
        if c.is_alphanumeric() {
            for lower in c.to_lowercase() {
                push_folded(&mut word, lower);
            }
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Appends a lowercase letter without its diacritic, for the Latin letters names
/// usually carry (`é` → `e`, `ß` → `ss`, `ø` → `o`); others as they are.
fn push_folded(out: &mut String, c: char) {
    let plain = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'ç' | 'ć' | 'č' | 'ĉ' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => "e",
        'ğ' | 'ģ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => "i",
        'ķ' => "k",
        'ł' | 'ľ' | 'ļ' | 'ĺ' => "l",
        'ñ' | 'ń' | 'ň' | 'ņ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => "o",
        'ř' | 'ŕ' => "r",
        'ś' | 'š' | 'ş' | 'ș' => "s",
        'ť' | 'ţ' | 'ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => "u",
        'ý' | 'ÿ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'þ' => "th",
        other => {
            out.push(other);
            return;
        }
    };
    out.push_str(plain);
}

/// The address a provider delivers to (`Sarah.Chen+shop@googlemail.com` →
/// `sarahchen@gmail.com`), and the provider's index plus one (0 when the domain has no
/// rules and the address is its own canonical form).
pub(super) fn canonical_email(local: &str, domain: &str) -> (String, u8) {
    let Some((index, provider)) = PROVIDERS
        .iter()
        .enumerate()
        .find(|(_, p)| p.domains.contains(&domain))
    else {
        return (format!("{local}@{domain}"), 0);
    };
    let mut local = local;
    if provider.plus_tags {
        local = local.split('+').next().unwrap_or(local);
    }
    let local: String = if provider.ignores_dots {
        local.chars().filter(|c| *c != '.').collect()
    } else {
        local.to_owned()
    };
    let canonical_domain = provider.domains.first().copied().unwrap_or(domain);
    (
        format!("{local}@{canonical_domain}"),
        u8::try_from(index + 1).unwrap_or(0),
    )
}

/// FNV-1a, 64 bits: a stable hash for identifiers and keys (a collision only ever adds
/// a candidate pair, which the comparison then judges).
pub(super) fn hash_str(text: &str) -> u64 {
    hash_bytes(0xcbf2_9ce4_8422_2325, text.as_bytes())
}

pub(super) fn hash_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Country calling codes, from libphonenumber's metadata: E.164 codes are prefix-free,
/// so the one that matches a number's leading digits is its code.
static CALLING_CODES: LazyLock<Vec<bool>> = LazyLock::new(|| {
    let mut codes = vec![false; 1000];
    for code in PHONE_NUMBER_UTIL.get_supported_calling_codes() {
        if let Some(slot) = usize::try_from(code).ok().and_then(|c| codes.get_mut(c)) {
            *slot = true;
        }
    }
    codes
});

/// How many leading digits of an E.164 number (without `+`) are its country code (0
/// when none is known).
fn country_code_len(digits: &str) -> u8 {
    (1..=3u8)
        .find(|len| {
            digits
                .get(..usize::from(*len))
                .and_then(|p| p.parse::<usize>().ok())
                .is_some_and(|code| CALLING_CODES.get(code).copied().unwrap_or(false))
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(first: &str, last: Option<&str>, suffix: u8) -> Option<ParsedName> {
        Some(ParsedName {
            first: first.into(),
            last: last.map(Into::into),
            suffix,
        })
    }

    #[test]
    fn names_are_split_into_what_tells_people_apart() {
        for (name, expected) in [
            ("Sarah Chen", parsed("sarah", Some("chen"), 0)),
            ("  SARAH   CHEN ", parsed("sarah", Some("chen"), 0)),
            ("Chen, Sarah", parsed("sarah", Some("chen"), 0)),
            ("Dr. Sarah J. Chen, PhD", parsed("sarah", Some("chen"), 0)),
            ("John Smith Jr.", parsed("john", Some("smith"), 1)),
            ("John Smith, Sr", parsed("john", Some("smith"), 2)),
            ("Zoë Brontë", parsed("zoe", Some("bronte"), 0)),
            ("Seán O'Neil-Smith", parsed("sean", Some("oneilsmith"), 0)),
            ("Łukasz Wałęsa", parsed("lukasz", Some("walesa"), 0)),
            ("Sarah", parsed("sarah", None, 0)),
            ("Mr Smith", parsed("smith", None, 0)),
            ("Unknown", None),
            ("WIRELESS CALLER", None),
            ("4155550192", None),
            ("", None),
            ("李 小龍", parsed("李", Some("小龍"), 0)),
        ] {
            assert_eq!(parse_name(name), expected, "{name}");
        }
    }

    #[test]
    fn provider_addresses_reach_one_mailbox() {
        for (address, expected, provider) in [
            ("sarah.chen+shop@gmail.com", "sarahchen@gmail.com", true),
            ("s.a.r.a.h.chen@googlemail.com", "sarahchen@gmail.com", true),
            ("sarah.chen+x@outlook.com", "sarah.chen@outlook.com", true),
            ("sarah+news@me.com", "sarah@icloud.com", true),
            ("sarah.chen+x@acme.com", "sarah.chen+x@acme.com", false),
            ("sarah.chen@yahoo.com", "sarah.chen@yahoo.com", false),
        ] {
            let (local, domain) = address.rsplit_once('@').unwrap();
            let (canonical, index) = canonical_email(local, domain);
            assert_eq!(canonical, expected, "{address}");
            assert_eq!(index > 0, provider, "{address}");
        }
    }

    #[test]
    fn country_codes_are_found_by_their_prefix() {
        for (digits, len) in [
            ("14155550192", 1),
            ("442079460958", 2),
            ("353861234567", 3),
            ("79161234567", 1),
            ("8801812345678", 3),
        ] {
            assert_eq!(country_code_len(digits), len, "{digits}");
        }
    }

    #[test]
    fn diminutives_reach_their_formal_names() {
        let mut population = Population::new();
        let bob = population.names.intern("bob");
        let robert = population.names.intern("robert");
        let chris = population.names.intern("chris");
        let zed = population.names.intern("zed");
        assert_eq!(population.formal(bob).as_slice(), [robert]);
        assert!(population.formal(robert).as_slice().contains(&robert));
        assert!(population.formal(chris).as_slice().len() >= 3);
        assert_eq!(population.formal(zed).as_slice(), [zed]);
    }
}
