//! The fuzz corpora (`fuzz/corpus/<target>/`) replayed through the same entry points as the
//! fuzz targets, so that every input a fuzzing run kept (and every crash it found, once fixed and
//! added) is checked by the normal test suite.

use std::path::PathBuf;

use allervers_core::fuzzing;

/// A fuzz entry point: any bytes in, nothing out.
type Entry = fn(&[u8]);

const TARGETS: [(&str, Entry); 7] = [
    ("envelope", fuzzing::envelope),
    ("page", fuzzing::page),
    ("bundle", fuzzing::bundle),
    ("invite", fuzzing::invite),
    ("relay_bodies", fuzzing::relay_bodies),
    ("changes", fuzzing::changes),
    ("signed", fuzzing::signed),
];

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fuzz")
        .join("corpus")
}

#[test]
fn every_corpus_input_is_decoded_without_panic() {
    for (target, run) in TARGETS {
        let dir = corpus_dir().join(target);
        assert!(dir.is_dir(), "no corpus folder {}", dir.display());
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("read corpus folder")
            .map(|entry| entry.expect("corpus entry").path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "the corpus of {target} is empty");
        for file in files {
            let bytes = std::fs::read(&file).expect("read corpus file");
            run(&bytes);
        }
    }
}

/// Writes valid inputs made with the real code into each corpus (`seed-*` files), to start a
/// fuzzing run from: `cargo test -p allervers-core --test it fuzz_corpus::write_seeds --
/// --ignored`.
#[test]
#[ignore = "writes the seed inputs into fuzz/corpus"]
fn write_seeds() {
    for (target, name, bytes) in fuzzing::seeds().expect("seed inputs") {
        let dir = corpus_dir().join(target);
        std::fs::create_dir_all(&dir).expect("corpus folder");
        std::fs::write(dir.join(name), bytes).expect("write seed");
    }
}

/// Every seed input is valid: it opens, applies or decodes (so the fuzzer starts past the
/// checks it could not pass by chance).
#[test]
fn seed_inputs_are_accepted() {
    use allervers_protocol::{decode, Envelope, Page};
    let seeds = fuzzing::seeds().expect("seed inputs");
    for (target, _) in TARGETS {
        assert!(
            seeds.iter().any(|(t, _, _)| *t == target),
            "no seed for {target}"
        );
    }
    for (target, name, bytes) in &seeds {
        match *target {
            "envelope" if name.starts_with("seed-envelope") => {
                assert!(decode::<Envelope>(bytes).is_ok(), "{name}")
            }
            "page" => assert!(decode::<Page>(bytes).is_ok(), "{name}"),
            "invite" => {
                let code = std::str::from_utf8(bytes).expect("utf-8");
                assert!(
                    allervers_core::Invite::from_code(code).is_ok()
                        || allervers_core::RecoveryCode::from_code(code).is_ok(),
                    "{name}"
                )
            }
            "bundle" => assert!(
                allervers_core::bundle::open(bytes, "phrase de passe du fuzzing").is_ok(),
                "{name}"
            ),
            // Every signature decodes, and the whole batch applies to a store like the
            // target's: nothing held or quarantined; but for the refused seeds' last change,
            // quarantined by the roster rule (`fuzzing::seeds` checks the reason).
            "signed" => {
                let batch = fuzzing::signed_batch(bytes);
                assert!(!batch.is_empty(), "{name}");
                for change in &batch {
                    assert!(
                        allervers_core::identity::ChangeSignature::decode(&change.signature)
                            .is_some(),
                        "{name}"
                    );
                }
                let summary = fuzzing::signed_applied(bytes).expect(name);
                let refused = usize::from(name.starts_with("seed-refused-"));
                assert_eq!(
                    (summary.new_changes, summary.held, summary.quarantined),
                    (batch.len() - refused, 0, refused),
                    "{name}: {summary:?}"
                );
            }
            _ => {}
        }
    }
}

/// The `signed` target's store checks what the target is for: a seed with one signature
/// altered has that change quarantined, a worker's grants taken off its roster change has it
/// quarantined (and its records held: its keys were not learnt), and without its roster change
/// the worker's records are held.
#[test]
fn signed_inputs_meet_the_signature_and_grant_checks() {
    use allervers_core::identity::ChangeSignature;
    let seeds = fuzzing::seeds().expect("seed inputs");
    let (_, _, seed) = seeds
        .iter()
        .find(|(t, name, _)| *t == "signed" && name == "seed-worker-all")
        .expect("the worker's seed");
    let batch = fuzzing::signed_batch(seed);
    assert!(batch.len() >= 2, "a roster change and records");
    let frame = |batch: &[allervers_core::SignedChange]| {
        let mut out = Vec::new();
        for c in batch {
            out.extend_from_slice(c.record.as_bytes());
            for part in [&c.signature, &c.bytes] {
                out.extend_from_slice(&u16::try_from(part.len()).unwrap().to_le_bytes());
                out.extend_from_slice(part);
            }
        }
        out
    };
    assert_eq!(frame(&batch), *seed);
    let outcome = |batch: &[allervers_core::SignedChange]| {
        let s = fuzzing::signed_applied(&frame(batch)).expect("import");
        (s.new_changes, s.held, s.quarantined)
    };
    let n = batch.len();

    let mut forged = batch.clone();
    let mut signature = ChangeSignature::decode(&forged[n - 1].signature).unwrap();
    signature.signature[0] ^= 1;
    forged[n - 1].signature = signature.encode();
    assert_eq!(outcome(&forged), (n - 1, 0, 1));

    let mut ungranted = batch.clone();
    let mut signature = ChangeSignature::decode(&ungranted[0].signature).unwrap();
    assert_eq!(
        signature.credentials.len(),
        2,
        "founder -> coordinator -> worker"
    );
    signature.credentials.clear();
    ungranted[0].signature = signature.encode();
    assert_eq!(outcome(&ungranted), (0, n - 1, 1));

    assert_eq!(outcome(&batch[1..]), (0, n - 1, 0));
}
