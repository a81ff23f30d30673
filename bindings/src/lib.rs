//! uniffi bindings over `allervers-core`. Empty until the bindings milestone: the crate is a
//! workspace member now so that the layout of the workspace is fixed from the start.
