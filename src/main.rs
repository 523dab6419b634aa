//! The `zoom-onboard` binary.
fn main() {}
