//! A generated contact population for duplicate suggestions: seeded and deterministic,
//! shaped like a store fed by calls, texts and web forms, with planted duplicates
//! (one person, two contacts) and planted look-alikes (two people who resemble each
//! other). Used by tests/suggest.rs and benches/suggest.rs.
//!
//! - Names: first names from a list of common ones (skewed to the first) or a long tail of
//!   generated ones; last names likewise, so common full names (James Smith) recur
//!   and most do not.
//! - Identifiers: a personal phone (US; some London numbers) and an email at a free
//!   mail provider (first.last and the like), or, for people with an employer, a work
//!   email at the company's domain and a direct line in its block of numbers.
//! - Planted duplicates, a second contact created later for the same person: the
//!   identity split by channel (phone on one, email on the other, same name); an
//!   address the provider delivers to the same mailbox (Gmail's dots and +tags,
//!   googlemail.com); a diminutive of the first name at the same employer; a typo at
//!   the same employer; a London number stored under +1 (its national digits read as
//!   a US number); a typo with the identity split by channel.
//! - Planted look-alikes, each a person of their own: a family member (same last name,
//!   different first name) sharing a household domain, a family mailbox spelled two
//!   ways, or the national digits of a number; a parent and child (Sr and Jr) at one
//!   household domain; a colleague with the same last name.
#![allow(dead_code)]

use std::collections::{HashSet, VecDeque};

/// One generated contact.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The contact's id (a UUID, in creation order).
    pub id: String,
    /// The person it is: two contacts of one person are a duplicate.
    pub person: u64,
    /// `original`, `duplicate:<how>` or `lookalike:<how>`.
    pub case: String,
    /// Its import line (a contact document).
    pub line: String,
}

/// A deterministic generator of `persons` people (and their planted contacts).
pub struct Population {
    rng: Rng,
    persons: u64,
    next_person: u64,
    next_contact: u64,
    used: HashSet<String>,
    /// Second contacts, created after every first one.
    later: VecDeque<Draft>,
    companies: u64,
    company_sizes: Vec<u32>,
}

#[derive(Debug, Clone)]
struct Draft {
    person: u64,
    case: String,
    name: Option<String>,
    phones: Vec<String>,
    emails: Vec<String>,
}

/// Common first names, most frequent first.
const FIRST: &[&str] = &[
    "james",
    "mary",
    "robert",
    "patricia",
    "john",
    "jennifer",
    "michael",
    "linda",
    "david",
    "elizabeth",
    "william",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "christopher",
    "lisa",
    "daniel",
    "nancy",
    "matthew",
    "betty",
    "anthony",
    "margaret",
    "mark",
    "sandra",
    "donald",
    "ashley",
    "steven",
    "kimberly",
    "paul",
    "emily",
    "andrew",
    "donna",
    "joshua",
    "michelle",
    "kenneth",
    "carol",
    "kevin",
    "amanda",
    "brian",
    "melissa",
    "george",
    "deborah",
    "timothy",
    "stephanie",
    "ronald",
    "rebecca",
    "edward",
    "sharon",
    "jason",
    "laura",
    "jeffrey",
    "cynthia",
    "ryan",
    "kathleen",
    "jacob",
    "amy",
    "gary",
    "angela",
    "nicholas",
    "shirley",
    "eric",
    "anna",
    "jonathan",
    "brenda",
    "stephen",
    "pamela",
    "larry",
    "emma",
    "justin",
    "nicole",
    "scott",
    "helen",
    "brandon",
    "samantha",
    "benjamin",
    "katherine",
    "samuel",
    "christine",
    "gregory",
    "debra",
    "alexander",
    "rachel",
    "frank",
    "carolyn",
    "patrick",
    "janet",
    "raymond",
    "catherine",
    "jack",
    "maria",
    "dennis",
    "heather",
    "jerry",
    "diane",
];

/// Common last names, most frequent first.
const LAST: &[&str] = &[
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "thompson",
    "white",
    "harris",
    "sanchez",
    "clark",
    "ramirez",
    "lewis",
    "robinson",
    "walker",
    "young",
    "allen",
    "king",
    "wright",
    "scott",
    "torres",
    "nguyen",
    "hill",
    "flores",
    "green",
    "adams",
    "nelson",
    "baker",
    "hall",
    "rivera",
    "campbell",
    "mitchell",
    "carter",
    "roberts",
    "chen",
    "wang",
    "kim",
    "patel",
    "singh",
    "cohen",
    "murphy",
    "kelly",
    "sullivan",
    "price",
];

/// Formal first names and a diminutive people go by.
const DIMINUTIVES: &[(&str, &str)] = &[
    ("robert", "bob"),
    ("william", "bill"),
    ("james", "jim"),
    ("john", "jack"),
    ("michael", "mike"),
    ("richard", "rick"),
    ("elizabeth", "liz"),
    ("margaret", "maggie"),
    ("katherine", "kate"),
    ("thomas", "tom"),
    ("joseph", "joe"),
    ("daniel", "dan"),
    ("christopher", "chris"),
    ("jennifer", "jen"),
    ("patricia", "pat"),
    ("stephen", "steve"),
    ("anthony", "tony"),
    ("edward", "ed"),
    ("samuel", "sam"),
    ("benjamin", "ben"),
    ("jonathan", "jon"),
    ("nicholas", "nick"),
    ("alexander", "alex"),
    ("timothy", "tim"),
    ("matthew", "matt"),
    ("andrew", "andy"),
    ("rebecca", "becky"),
    ("pamela", "pam"),
    ("kenneth", "ken"),
    ("donald", "don"),
    ("ronald", "ron"),
    ("gregory", "greg"),
    ("jeffrey", "jeff"),
    ("deborah", "debbie"),
    ("susan", "sue"),
];

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ra", "ten", "vor", "sel", "dun", "bri", "ash", "mor", "quin", "tal", "wex",
    "zan", "el", "or", "ith", "ber", "gal", "hol", "nor", "pen", "ros", "sta", "ver", "win", "yor",
    "da", "fen", "gri", "lin",
];
const ENDINGS: &[&str] = &["son", "ski", "ton", "ley", "man", "ez", "berg", ""];

const FREE_MAIL: &[(&str, u32)] = &[
    ("gmail.com", 40),
    ("yahoo.com", 18),
    ("hotmail.com", 10),
    ("outlook.com", 10),
    ("icloud.com", 8),
    ("aol.com", 6),
    ("comcast.net", 8),
];

/// US area codes of personal numbers, and of offices (apart, so that an office block
/// never holds a personal number).
const PERSONAL_AREAS: [u32; 16] = [
    201, 202, 203, 205, 206, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224,
];
const OFFICE_AREAS: [u32; 16] = [
    303, 305, 310, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321, 323, 330, 334,
];

impl Population {
    /// A population of `persons` people from `seed`.
    pub fn new(seed: u64, persons: u64) -> Self {
        // Companies of Zipf-distributed size: about one in three people has an employer.
        let companies = (persons / 60).clamp(10, 12_000);
        Population {
            rng: Rng(seed ^ 0x5eed_0fc0_ffee),
            persons,
            next_person: 0,
            next_contact: 0,
            used: HashSet::new(),
            later: VecDeque::new(),
            companies,
            company_sizes: vec![0; companies as usize],
        }
    }

    fn contact(&mut self, d: Draft) -> Generated {
        let id = format!("0190a000-0000-7000-8000-{:012x}", self.next_contact);
        // One contact a second from 2024-07-01, so the first of a person is older.
        let created = 1_719_792_000_000i64 + 1_000 * self.next_contact as i64;
        self.next_contact += 1;
        let mut identifiers = Vec::new();
        for p in &d.phones {
            identifiers.push(format!(
                r#"{{"identifier_type":"phone_number","identifier_value":"{p}"}}"#
            ));
        }
        for e in &d.emails {
            identifiers.push(format!(
                r#"{{"identifier_type":"email","identifier_value":"{e}"}}"#
            ));
        }
        let name = match &d.name {
            Some(n) => format!(r#""{n}""#),
            None => "null".into(),
        };
        let line = format!(
            r#"{{"id":"{id}","name":{name},"created_at":"{}","updated_at":"{}","metadata":{{"person":{}}},"identifiers":[{}]}}"#,
            timestamp(created),
            timestamp(created),
            d.person,
            identifiers.join(",")
        );
        Generated {
            id,
            person: d.person,
            case: d.case,
            line,
        }
    }

    fn unique(&mut self, candidate: String) -> Option<String> {
        self.used.insert(candidate.clone()).then_some(candidate)
    }

    /// A new person's address: unique, and at Gmail unique as the mailbox it reaches
    /// (two people never share `janesmith` and `jane.smith` there).
    fn claim_email(&mut self, address: String) -> Option<String> {
        let mailbox = match address.split_once('@') {
            Some((local, "gmail.com" | "googlemail.com")) => {
                let local = local.split('+').next().unwrap_or(local).replace('.', "");
                format!("mailbox:{local}@gmail.com")
            }
            _ => format!("mailbox:{address}"),
        };
        if self.used.contains(&mailbox) || self.used.contains(&address) {
            return None;
        }
        self.used.insert(mailbox);
        self.unique(address)
    }

    fn first_name(&mut self) -> String {
        if self.rng.chance(0.75) {
            FIRST[self.rng.skewed(FIRST.len(), 1.5)].to_owned()
        } else {
            self.word(2, false)
        }
    }

    fn last_name(&mut self) -> String {
        let roll = self.rng.unit();
        if roll < 0.30 {
            LAST[self.rng.skewed(LAST.len(), 1.2)].to_owned()
        } else if roll < 0.65 {
            self.word(2, true)
        } else {
            self.word(3, true)
        }
    }

    fn word(&mut self, syllables: usize, ending: bool) -> String {
        let mut w = String::new();
        for _ in 0..syllables {
            w.push_str(SYLLABLES[self.rng.below(SYLLABLES.len() as u64) as usize]);
        }
        if ending {
            w.push_str(ENDINGS[self.rng.below(ENDINGS.len() as u64) as usize]);
        }
        w
    }

    /// A personal US number, unique.
    fn personal_phone(&mut self) -> String {
        loop {
            let area = PERSONAL_AREAS[self.rng.below(16) as usize];
            let exchange = 200 + self.rng.below(800);
            let line = self.rng.below(10_000);
            if let Some(p) = self.unique(format!("+1{area}{exchange}{line:04}")) {
                return p;
            }
        }
    }

    /// A London number: +44 20 7xxx xxxx or 8xxx xxxx, unique with its US reading.
    fn london_phone(&mut self) -> (String, String) {
        loop {
            let digits = format!(
                "20{}{}{:04}",
                7 + self.rng.below(2),
                200 + self.rng.below(800),
                self.rng.below(10_000)
            );
            let uk = format!("+44{digits}");
            let us = format!("+1{digits}");
            if !self.used.contains(&uk) && !self.used.contains(&us) {
                self.used.insert(uk.clone());
                self.used.insert(us.clone());
                return (uk, us);
            }
        }
    }

    fn free_email(&mut self, first: &str, last: &str) -> String {
        let total: u32 = FREE_MAIL.iter().map(|(_, w)| w).sum();
        let mut pick = self.rng.below(u64::from(total)) as u32;
        let mut domain = FREE_MAIL[0].0;
        for (d, w) in FREE_MAIL {
            if pick < *w {
                domain = d;
                break;
            }
            pick -= w;
        }
        self.email_at(first, last, domain)
    }

    fn email_at(&mut self, first: &str, last: &str, domain: &str) -> String {
        let f = first.chars().next().unwrap_or('x');
        let styles = [
            format!("{first}.{last}"),
            format!("{first}{last}"),
            format!("{f}{last}"),
            format!("{first}_{last}"),
            format!("{first}.{last}{}", 10 + self.rng.below(90)),
            format!("{first}{}", 100 + self.rng.below(900)),
        ];
        let mut local = styles[self.rng.below(styles.len() as u64) as usize].clone();
        loop {
            if let Some(e) = self.claim_email(format!("{local}@{domain}")) {
                return e;
            }
            local.push_str(&self.rng.below(10).to_string());
        }
    }

    fn company(&mut self) -> u64 {
        self.rng.skewed(self.companies as usize, 3.0) as u64
    }

    fn company_domain(company: u64) -> String {
        format!("company{company}.example")
    }

    /// A direct line in the company's blocks of 100 numbers, unique.
    fn office_phone(&mut self, company: u64) -> String {
        let area = OFFICE_AREAS[(company % 16) as usize];
        loop {
            let slot = self.company_sizes[company as usize];
            self.company_sizes[company as usize] += 1;
            // A company of more than 10,000 lines takes further exchanges.
            let exchange = 200 + (company / 16 + 37 * u64::from(slot / 10_000)) % 800;
            let line = slot % 10_000;
            if let Some(p) = self.unique(format!("+1{area}{exchange}{line:04}")) {
                return p;
            }
        }
    }

    fn name(first: &str, last: &str) -> String {
        format!("{} {}", capital(first), capital(last))
    }

    /// The next person's first contact, planting a second contact or a look-alike.
    fn person(&mut self) -> Vec<Generated> {
        let person = self.next_person;
        self.next_person += 1;
        let first = self.first_name();
        let last = self.last_name();
        let employed = self.rng.chance(0.3);
        let london = !employed && self.rng.chance(0.03);
        let company = self.company();
        let (phone, london_us) = if employed {
            (self.office_phone(company), None)
        } else if london {
            let (uk, us) = self.london_phone();
            (uk, Some(us))
        } else {
            (self.personal_phone(), None)
        };
        let email = if employed {
            self.email_at(&first, &last, &Self::company_domain(company))
        } else {
            self.free_email(&first, &last)
        };
        let named = self.rng.chance(0.94);
        let mut original = Draft {
            person,
            case: "original".into(),
            name: named.then(|| Self::name(&first, &last)),
            phones: Vec::new(),
            emails: Vec::new(),
        };
        let roll = self.rng.unit();
        let mut out = Vec::new();
        if roll < 0.07 && named {
            self.plant_duplicate(
                &mut original,
                (&first, &last),
                (&phone, &email),
                employed.then_some(company),
                london_us,
            );
        } else {
            match self.rng.below(4) {
                0 => original.phones.push(phone.clone()),
                1 => original.emails.push(email.clone()),
                _ => {
                    original.phones.push(phone.clone());
                    original.emails.push(email.clone());
                }
            }
            if roll < 0.10 && named {
                let lookalike =
                    self.plant_lookalike(&mut original, &first, &last, employed.then_some(company));
                out.push(self.contact(original.clone()));
                if let Some(l) = lookalike {
                    out.push(self.contact(l));
                }
                return out;
            }
        }
        out.push(self.contact(original));
        out
    }

    /// A second contact of the same person, created later.
    fn plant_duplicate(
        &mut self,
        original: &mut Draft,
        (first, last): (&str, &str),
        (phone, email): (&str, &str),
        company: Option<u64>,
        london_us: Option<String>,
    ) {
        let person = original.person;
        let mut second = Draft {
            person,
            case: String::new(),
            name: original.name.clone(),
            phones: Vec::new(),
            emails: Vec::new(),
        };
        let diminutive = DIMINUTIVES
            .iter()
            .find(|(f, _)| *f == first)
            .map(|(_, d)| *d);
        if let Some(us) = london_us {
            // A London number written without its country code, read as a US number.
            second.case = "duplicate:wrong_region".into();
            original.phones.push(phone.to_owned());
            if self.rng.chance(0.5) {
                original.emails.push(email.to_owned());
            }
            second.phones.push(us);
            if self.rng.chance(0.3) {
                second.name = Some(Self::name(first, &typo(&mut self.rng, last)));
            }
        } else if let Some(company) = company.filter(|_| self.rng.chance(0.7)) {
            // At work, under a diminutive or with a typo: known by the direct line on
            // one contact and the work email on the other, or by two addresses at the
            // company's domain (an alias).
            let (f2, l2) = match diminutive.filter(|_| self.rng.chance(0.6)) {
                Some(d) => {
                    second.case = "duplicate:diminutive_at_work".into();
                    (d.to_owned(), last.to_owned())
                }
                None if self.rng.chance(0.6) => {
                    second.case = "duplicate:typo_at_work".into();
                    (typo(&mut self.rng, first), last.to_owned())
                }
                None => {
                    second.case = "duplicate:typo_at_work".into();
                    (first.to_owned(), typo(&mut self.rng, last))
                }
            };
            second.name = Some(Self::name(&f2, &l2));
            original.emails.push(email.to_owned());
            if self.rng.chance(0.6) {
                second.phones.push(phone.to_owned());
            } else {
                if self.rng.chance(0.5) {
                    original.phones.push(phone.to_owned());
                }
                let alias = self.email_at(&f2, &l2, &Self::company_domain(company));
                second.emails.push(alias);
            }
        } else if email.ends_with("@gmail.com") && self.rng.chance(0.6) {
            second.case = "duplicate:provider_email".into();
            original.emails.push(email.to_owned());
            if self.rng.chance(0.5) {
                original.phones.push(phone.to_owned());
            }
            let variant = self.gmail_variant(email);
            second.emails.push(variant);
            match self.rng.below(3) {
                0 => second.name = None,
                1 => {
                    if let Some(d) = diminutive {
                        second.name = Some(Self::name(d, last));
                    }
                }
                _ => {}
            }
        } else if self.rng.chance(0.85) {
            // The caller and the web form: same name, one channel each.
            second.case = "duplicate:split_by_channel".into();
            original.phones.push(phone.to_owned());
            second.emails.push(email.to_owned());
        } else {
            second.case = "duplicate:typo_split_by_channel".into();
            original.phones.push(phone.to_owned());
            second.emails.push(email.to_owned());
            second.name = Some(Self::name(&typo(&mut self.rng, first), last));
        }
        // Either channel may have come first.
        if self.rng.chance(0.5) {
            std::mem::swap(&mut original.phones, &mut second.phones);
            std::mem::swap(&mut original.emails, &mut second.emails);
        }
        original.case = "original".into();
        self.later.push_back(second);
    }

    /// A Gmail address the provider delivers to the same mailbox, unique.
    fn gmail_variant(&mut self, email: &str) -> String {
        let (local, _) = email.split_once('@').unwrap_or((email, ""));
        loop {
            let variant = match self.rng.below(4) {
                0 => format!("{}@gmail.com", local.replace('.', "")),
                1 => format!(
                    "{local}+{}@gmail.com",
                    ["shop", "news", "work", "x"][self.rng.below(4) as usize]
                ),
                2 => format!("{local}@googlemail.com"),
                _ => {
                    let plain = local.replace('.', "");
                    let at = 1 + self.rng.below(plain.len().max(2) as u64 - 1) as usize;
                    let at = at.min(plain.len());
                    format!("{}.{}@gmail.com", &plain[..at], &plain[at..])
                }
            };
            if variant != email {
                if let Some(v) = self.unique(variant) {
                    return v;
                }
            }
        }
    }

    /// Another person who resembles this one.
    fn plant_lookalike(
        &mut self,
        original: &mut Draft,
        first: &str,
        last: &str,
        company: Option<u64>,
    ) -> Option<Draft> {
        let person = self.persons + self.next_person; // a person of their own
        let mut other_first = self.first_name();
        while other_first == first {
            other_first = self.first_name();
        }
        let mut l = Draft {
            person,
            case: String::new(),
            name: Some(Self::name(&other_first, last)),
            phones: Vec::new(),
            emails: Vec::new(),
        };
        match (company, self.rng.below(4)) {
            (Some(company), _) => {
                l.case = "lookalike:colleague_same_last_name".into();
                let e = self.email_at(&other_first, last, &Self::company_domain(company));
                l.emails.push(e);
            }
            (None, 0) => {
                l.case = "lookalike:family_household_domain".into();
                let domain = format!("{last}{}.example", self.rng.below(1000));
                let a = self.email_at(first, last, &domain);
                original.emails = vec![a];
                let b = self.email_at(&other_first, last, &domain);
                l.emails.push(b);
            }
            (None, 1) => {
                l.case = "lookalike:family_mailbox".into();
                let local = format!("the{last}s{}", self.rng.below(1000));
                let a = self.claim_email(format!("{local}@gmail.com"))?;
                original.emails = vec![a];
                let b = self.gmail_variant(&format!("{local}@gmail.com"));
                l.emails.push(b);
            }
            (None, 2) => {
                l.case = "lookalike:family_national_digits".into();
                let (uk, us) = self.london_phone();
                original.phones = vec![uk];
                l.phones.push(us);
            }
            (None, _) => {
                l.case = "lookalike:parent_and_child".into();
                let domain = format!("{last}{}.example", self.rng.below(1000));
                original.name = Some(format!("{} Sr.", Self::name(first, last)));
                let a = self.email_at(first, last, &domain);
                original.emails = vec![a];
                l.name = Some(format!("{} Jr.", Self::name(first, last)));
                let b = self.email_at(&format!("{first}jr"), last, &domain);
                l.emails.push(b);
            }
        }
        Some(l)
    }
}

impl Iterator for Population {
    type Item = Vec<Generated>;

    /// The contacts of the next person (one, or two with a look-alike); then, once
    /// every person has one, the planted second contacts one at a time.
    fn next(&mut self) -> Option<Vec<Generated>> {
        if self.next_person < self.persons {
            return Some(self.person());
        }
        let d = self.later.pop_front()?;
        Some(vec![self.contact(d)])
    }
}

/// One typo in a word of four letters or more: a letter replaced, dropped, doubled,
/// or two swapped.
fn typo(rng: &mut Rng, word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() < 4 {
        chars.push('e');
        return chars.into_iter().collect();
    }
    let at = 1 + rng.below(chars.len() as u64 - 2) as usize;
    match rng.below(4) {
        0 => {
            let c = (b'a' + rng.below(26) as u8) as char;
            chars[at] = if chars[at] == c { 'y' } else { c };
        }
        1 => {
            chars.remove(at);
        }
        2 => {
            let c = chars[at];
            chars.insert(at, c);
        }
        _ => {
            if chars[at] == chars[at + 1] {
                chars[at] = 'o';
            } else {
                chars.swap(at, at + 1);
            }
        }
    }
    chars.into_iter().collect()
}

fn capital(word: &str) -> String {
    let mut c = word.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `2024-07-01T00:00:00.000Z` and the like, for milliseconds since the epoch.
fn timestamp(ms: i64) -> String {
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        ms % 1000
    )
}

/// splitmix64: small, seeded, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An index in `0..n`, skewed towards 0: `n · u^p` for a uniform `u` (p = 1.5
    /// makes the first of 100 names 4.6% of draws, about what the most common US
    /// first name is among common ones).
    fn skewed(&mut self, n: usize, p: f64) -> usize {
        let k = n as f64 * self.unit().powf(p);
        (k as usize).min(n.max(1) - 1)
    }
}
