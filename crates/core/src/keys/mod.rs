//! The key hierarchy at run time: root keys from the key file, tenant keys unwrapped on first
//! use, subject keys for each use (`keyring`), rotation, and the key backup's contents (`backup`).

pub mod backup;
pub mod keyring;

pub use backup::*;
pub use keyring::*;
