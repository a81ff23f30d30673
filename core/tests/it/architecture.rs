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
