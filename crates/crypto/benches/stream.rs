//! Streaming encryption against the bare AEAD. Being written.
fn main() {}
