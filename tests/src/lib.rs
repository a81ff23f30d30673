//! End-to-end scenarios across several stores; the tests live in `tests/tests/`.
