//! Reports the installation writes about itself: the TOM report (`tom`), the "technical and
//! organisational measures" document every seed typed by hand, here computed from the
//! configuration, the store and checks run while it is written.

pub mod tom;

pub use tom::*;
