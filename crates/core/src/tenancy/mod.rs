//! Tenants, their users and groups, the caller's own account, and the demo tenants.

pub mod demo;
pub mod me;
pub mod tenants;
pub mod users;

pub use demo::*;
pub use me::*;
pub use tenants::*;
pub use users::*;
