//! The relay reaches PostgreSQL over TLS when the database URL says `sslmode=require`, and checks
//! the server's certificate against the operator's CA (`--db-ca-file`): against a cluster that
//! refuses every connection without TLS, a plain URL and an unknown certificate are refused at
//! once with the reason, and the relay with the CA serves devices over TLS connections only.

use std::process::Command;
use std::time::{Duration, Instant};

use allervers_e2e::postgres::{psql, PostgresCluster};
use allervers_e2e::{create_space_at, device, free_port, relay_binary, RelayProcess};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// A CA of the test's own and a certificate it signed for 127.0.0.1: (CA, certificate, key) in
/// PEM.
fn certificates() -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "allervers test CA");
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    (ca.pem(), server.pem(), key.serialize_pem())
}

/// Turns TLS on in the cluster with this certificate, and refuses connections without it.
fn require_tls(cluster: &PostgresCluster, cert: &str, key: &str) {
    let data = cluster.dir.path().join("data");
    for (name, pem) in [("server.crt", cert), ("server.key", key)] {
        let path = data.join(name);
        std::fs::write(&path, pem).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            // The server's user owns the cluster's folder, and must own its key.
            let owner = std::fs::metadata(&data).unwrap();
            std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
    let conf = data.join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text += "\nssl = on\n";
    std::fs::write(&conf, text).unwrap();
    let hba = data.join("pg_hba.conf");
    let text = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(
        &hba,
        format!("hostnossl all all 0.0.0.0/0 reject\nhostnossl all all ::/0 reject\n{text}"),
    )
    .unwrap();
    cluster.stop_immediate();
    cluster.restart();
}

/// Starts a relay that must fail: its one-line error, and how long it took.
fn refused(database: &str, flags: &[&str]) -> (String, Duration) {
    let relay = relay_binary();
    let started = Instant::now();
    let out = Command::new(relay)
        .args(["--addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--database", database, "--db-wait", "30"])
        .args(flags)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    (stderr, started.elapsed())
}

#[test]
fn the_relay_reaches_postgres_over_verified_tls_only() {
    let cluster = PostgresCluster::start();
    let database = cluster.fresh_database("tls");
    let (ca, cert, key) = certificates();
    require_tls(&cluster, &cert, &key);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    let ca_flag = ["--db-ca-file", ca_file.to_str().unwrap()];
    let required = format!("{database}?sslmode=require");

    // Without TLS the server refuses; with TLS but without the CA, the relay refuses the
    // server's certificate. Neither is waited for: waiting would not change it.
    let (why, took) = refused(&database, &[]);
    assert!(why.contains("pg_hba.conf rejects"), "{why}");
    assert!(took < Duration::from_secs(10), "{took:?}: {why}");
    let (why, took) = refused(&required, &[]);
    assert!(why.contains("certificate"), "{why}");
    assert!(took < Duration::from_secs(10), "{took:?}: {why}");
    // A CA file with a URL that does not ask for TLS is a mistake, said as such.
    let (why, _) = refused(&database, &ca_flag);
    assert!(why.contains("sslmode=require"), "{why}");

    let relay = RelayProcess::start_postgres_with(&required, free_port(), &ca_flag);
    let a = device("Téléphone 1", "Amina");
    create_space_at(&relay.url, &a.store, "Maraude chiffrée");
    allervers_client::sync(
        &a.store,
        &allervers_client::HttpClient::default(),
        &mut |_| {},
    )
    .unwrap();
    let name = database.rsplit('/').next().unwrap();
    let (tls, plain) = (
        psql(
            &cluster.url,
            &format!(
                "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
                 WHERE a.datname = '{name}' AND s.ssl"
            ),
        ),
        psql(
            &cluster.url,
            &format!(
                "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
                 WHERE a.datname = '{name}' AND NOT s.ssl"
            ),
        ),
    );
    assert!(tls.parse::<u32>().unwrap() >= 1, "{tls}");
    assert_eq!(plain, "0");
}
