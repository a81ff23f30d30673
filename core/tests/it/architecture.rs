//! Architecture invariants checked on the crate itself.

/// The core knows nothing of HTTP, TLS, async runtimes, web servers or the FFI: none of them is
/// among its (normal, transitive) dependencies.
#[test]
fn core_depends_on_no_network_runtime_server_or_ffi_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "tree",
            "-p",
            "allervers-core",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--locked",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"automerge"),
        "the tree was read: {crates:?}"
    );
    for banned in [
        "ureq", "rustls", "hyper", "reqwest", "tokio", "axum", "uniffi", "http", "h2",
    ] {
        assert!(
            !crates.contains(&banned),
            "allervers-core depends on {banned}"
        );
    }
}

/// SQL lives in the store's modules only (`core/src/store/`): no other file of core prepares,
/// executes or queries a statement.
#[test]
fn no_sql_outside_the_store_modules() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path != src.join("store") {
                    dirs.push(path);
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for needle in [
                ".prepare(",
                ".prepare_cached(",
                ".execute(",
                ".execute_batch(",
                ".query_row(",
            ] {
                if text.contains(needle) {
                    offenders.push(format!("{} uses {needle}", path.display()));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}
