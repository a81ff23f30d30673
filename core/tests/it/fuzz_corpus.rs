//! The fuzz corpora (`fuzz/corpus/<target>/`) replayed through the same entry points as the
//! fuzz targets, so that every input a fuzzing run kept (and every crash it found, once fixed and
//! added) is checked by the normal test suite.

use std::path::PathBuf;

use allervers_core::fuzzing;

/// A fuzz entry point: any bytes in, nothing out.
type Entry = fn(&[u8]);

const TARGETS: [(&str, Entry); 6] = [
    ("envelope", fuzzing::envelope),
    ("page", fuzzing::page),
    ("bundle", fuzzing::bundle),
    ("invite", fuzzing::invite),
    ("relay_bodies", fuzzing::relay_bodies),
    ("changes", fuzzing::changes),
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
    for target in [
        "envelope",
        "page",
        "bundle",
        "invite",
        "relay_bodies",
        "changes",
    ] {
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
            _ => {}
        }
    }
}
