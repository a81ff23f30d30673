//! Attacks on the role dashboards that fail: each test proves a guarantee that holds.
