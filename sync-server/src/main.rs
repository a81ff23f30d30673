//! The allervers relay. Not implemented yet (relay milestone): it exits with a message.
fn main() {
    eprintln!("allervers-relay: not implemented yet (see the relay issue)");
    std::process::exit(2);
}
