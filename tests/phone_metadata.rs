//! Every valid number of every country (issue 19). libphonenumber's own example
//! numbers — for every region its metadata supports and every number type with an
//! example, each valid by definition — normalize to their E.164 from every spelling:
//! the E.164 and the international format under each of several default regions, and
//! the national format under its own region. And each is resolvable and findable
//! through the command line.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::TempDb;
use contactstore::{normalize, PhoneRegion};
use rlibphonenumber::{PhoneNumberFormat, PhoneNumberType, PHONE_NUMBER_UTIL};
use serde_json::Value;

/// Number types that carry example numbers in the metadata.
const TYPES: [PhoneNumberType; 10] = [
    PhoneNumberType::FixedLine,
    PhoneNumberType::Mobile,
    PhoneNumberType::TollFree,
    PhoneNumberType::PremiumRate,
    PhoneNumberType::SharedCost,
    PhoneNumberType::VoIP,
    PhoneNumberType::PersonalNumber,
    PhoneNumberType::Pager,
    PhoneNumberType::UAN,
    PhoneNumberType::VoiceMail,
];

/// Default regions the E.164 and international spellings are parsed under.
const DEFAULT_REGIONS: [&str; 5] = ["US", "GB", "IN", "DE", "BR"];

#[derive(Debug, Clone)]
struct Example {
    region: &'static str,
    kind: PhoneNumberType,
    e164: String,
    international: String,
    national: String,
}

fn examples() -> Vec<Example> {
    let mut out = Vec::new();
    for region in PhoneRegion::SUPPORTED {
        let code = rlibphonenumber::enums::Region::from_code(region).unwrap();
        for kind in TYPES {
            let Ok(number) = PHONE_NUMBER_UTIL.get_example_number_for_type_and_region(code, kind)
            else {
                continue;
            };
            let format = |f| PHONE_NUMBER_UTIL.format(&number, f).into_owned();
            out.push(Example {
                region,
                kind,
                e164: format(PhoneNumberFormat::E164),
                international: format(PhoneNumberFormat::International),
                national: format(PhoneNumberFormat::National),
            });
        }
    }
    out
}

#[test]
fn every_example_number_normalizes_to_its_e164_from_every_spelling() {
    let examples = examples();
    let regions: std::collections::BTreeSet<&str> = examples.iter().map(|e| e.region).collect();
    assert!(regions.len() > 240, "{} regions", regions.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for default in DEFAULT_REGIONS {
        let default: PhoneRegion = default.parse().unwrap();
        for e in &examples {
            let own: PhoneRegion = e.region.parse().unwrap();
            for (spelling, region) in [
                (&e.e164, default),
                (&e.international, default),
                (&e.national, own),
            ] {
                checked += 1;
                match normalize::phone(spelling, region, "phone_number") {
                    Ok(v) if v == e.e164 => {}
                    other => failures.push(format!(
                        "{} {:?} {spelling:?} under {region}: {other:?}, expected {}",
                        e.region, e.kind, e.e164
                    )),
                }
            }
        }
    }
    println!(
        "phone metadata: {} example numbers of {} regions, {checked} spellings checked under \
         {} default regions: {} failures",
        examples.len(),
        regions.len(),
        DEFAULT_REGIONS.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn cli(db: &Path, args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_contactstore"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("CONTACTSTORE_DB")
        .env_remove("CONTACTSTORE_ORG")
        .env_remove("CONTACTSTORE_REGION")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), value)
}

/// Through the command line: each region's national spellings are imported under that
/// region (each line resolves its number), then every number is found by its E.164
/// and resolved again by its international spelling under region US — reaching the
/// contact its national spelling created.
#[test]
fn every_example_number_is_resolvable_and_findable_through_the_cli() {
    let db = TempDb::new();
    let mut by_region: BTreeMap<&str, Vec<Example>> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for e in examples() {
        // Types may share an example number (fixed line and mobile are one in some
        // regions): each number once.
        if seen.insert(e.e164.clone()) {
            by_region.entry(e.region).or_default().push(e);
        }
    }
    for (region, examples) in &by_region {
        let lines: String = examples
            .iter()
            .map(|e| {
                format!(
                    "{}\n",
                    serde_json::json!({"identifiers": [
                        {"identifier_type": "phone_number", "identifier_value": e.national}
                    ]})
                )
            })
            .collect();
        let file = db.dir.path().join(format!("{region}.jsonl"));
        std::fs::write(&file, lines).unwrap();
        let (code, v) = cli(
            &db.path,
            &["--region", region, "import", file.to_str().unwrap()],
        );
        assert_eq!(code, 0, "{region}: {v}");
        assert_eq!(v["data"]["imported"], examples.len(), "{region}: {v}");
    }
    let all: Vec<Example> = by_region.into_values().flatten().collect();
    let failures = std::sync::Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2);
    std::thread::scope(|s| {
        for part in all.chunks(all.len().div_ceil(threads)) {
            let (db, failures) = (&db, &failures);
            s.spawn(move || {
                for e in part {
                    let (code, found) = cli(&db.path, &["find", "--phone", &e.e164]);
                    let id = found["data"]["id"].clone();
                    let value = &found["data"]["identifiers"][0]["identifier_value"];
                    if code != 0 || id.is_null() || value != &Value::from(e.e164.clone()) {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("find {}: {found}", e.e164));
                        continue;
                    }
                    let (code, resolved) = cli(&db.path, &["resolve", "--phone", &e.international]);
                    let contact = &resolved["data"]["contact"]["id"];
                    if code != 0 || contact != &id || resolved["data"]["created"] != false {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("resolve {:?}: {resolved}", e.international));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    println!(
        "phone metadata through the CLI: {} numbers imported in their national spelling, \
         found by E.164 and resolved by international spelling: {} failures",
        all.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The phone numbers the HTTP fuzzing draws from (`tests/http/phone_numbers.txt`, for
/// the document's `phone-number` format): the international spelling of every
/// region's fixed-line and mobile examples, and the national spelling of the US ones
/// (the shim's default region). Kept in step with the metadata: with
/// `CONTACTSTORE_BLESS=1` this test rewrites the file instead of comparing.
#[test]
fn the_fuzzing_phone_numbers_are_the_metadata_examples() {
    let mut lines = std::collections::BTreeSet::new();
    for e in examples() {
        if matches!(e.kind, PhoneNumberType::FixedLine | PhoneNumberType::Mobile) {
            lines.insert(e.international.clone());
            if e.region == "US" {
                lines.insert(e.national.clone());
            }
        }
    }
    let expected: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/http/phone_numbers.txt");
    if std::env::var_os("CONTACTSTORE_BLESS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == expected,
        "{} is out of date: run this test with CONTACTSTORE_BLESS=1",
        path.display()
    );
    for line in on_disk.lines() {
        normalize::phone(line, PhoneRegion::default(), "phone_number").unwrap();
    }
}
