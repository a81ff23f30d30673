//! Wire types shared by the relay and the core's sync engine. Empty until the relay milestone.
