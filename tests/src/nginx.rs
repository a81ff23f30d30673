//! nginx in front of several relay processes, as a deployment runs it: Debian's nginx in the
//! foreground, everything it writes in a temporary folder, round robin over the relays' loopback
//! ports, with the proxying rules of `sync-server/deploy/nginx-relay.conf` (the file an
//! operator includes).

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// The nginx binary (`scripts/setup.sh` installs Debian's).
pub const NGINX: &str = "/usr/sbin/nginx";

/// The include snippet a deployment uses.
pub fn relay_snippet() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sync-server/deploy/nginx-relay.conf")
        .canonicalize()
        .expect("sync-server/deploy/nginx-relay.conf")
}

/// A running nginx; dropping it stops it (its master and worker).
pub struct Nginx {
    child: Child,
    /// `http://127.0.0.1:PORT`, what devices are given as their relay's address.
    pub url: String,
    pub port: u16,
    pub prefix: tempfile::TempDir,
}

impl Nginx {
    /// Round robin over relays listening on `upstream_ports` (127.0.0.1); back once it accepts
    /// connections.
    pub fn start(upstream_ports: &[u16]) -> Nginx {
        Self::start_with_worker_connections(upstream_ports, 256)
    }

    /// Same, with room for `worker_connections` connections in its one worker (devices' and
    /// upstream ones together: a load of N keep-alive devices needs more than 2 N). It must stay
    /// under the open-file limit nginx inherits.
    pub fn start_with_worker_connections(
        upstream_ports: &[u16],
        worker_connections: usize,
    ) -> Nginx {
        assert!(
            Path::new(NGINX).exists(),
            "{NGINX} is missing: run scripts/setup.sh (it installs Debian's nginx)"
        );
        let prefix = tempfile::tempdir().unwrap();
        // When the tests run as root, nginx's worker runs as an unprivileged user and makes its
        // temporary files in this folder.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(prefix.path(), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        let port = free_port();
        let p = prefix.path().display();
        let servers: String = upstream_ports
            .iter()
            .map(|u| format!("        server 127.0.0.1:{u};\n"))
            .collect();
        let conf = format!(
            "worker_processes 1;
daemon off;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{
    worker_connections {worker_connections};
}}
http {{
    access_log off;
    client_body_temp_path {p}/client_body_temp;
    proxy_temp_path {p}/proxy_temp;
    fastcgi_temp_path {p}/fastcgi_temp;
    uwsgi_temp_path {p}/uwsgi_temp;
    scgi_temp_path {p}/scgi_temp;
    upstream allervers_relays {{
{servers}        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        include {snippet};
    }}
}}
",
            snippet = relay_snippet().display()
        );
        let conf_path = prefix.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut child = Command::new(NGINX)
            .arg("-p")
            .arg(prefix.path())
            .arg("-e")
            .arg(prefix.path().join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "nginx exited ({status}): {}",
                    error_log(prefix.path()).trim()
                );
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "nginx does not accept connections after 10 s: {}",
                    error_log(prefix.path()).trim()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
            prefix,
        }
    }

    /// What nginx logged (warnings and errors: upstreams that failed...).
    pub fn error_log(&self) -> String {
        error_log(self.prefix.path())
    }
}

fn error_log(prefix: &Path) -> String {
    let mut log = String::new();
    if let Ok(mut f) = std::fs::File::open(prefix.join("error.log")) {
        let _ = f.read_to_string(&mut log);
    }
    log
}

impl Drop for Nginx {
    /// SIGTERM (a fast shutdown: the master stops its worker), then SIGKILL if the master is
    /// still there after 5 s. Killing the master alone would leave its worker serving.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
