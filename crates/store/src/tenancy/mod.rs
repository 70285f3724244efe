//! Tenants, their users and groups.

pub mod groups;
pub mod tenants;
pub mod users;

pub use groups::GroupStore;
pub use tenants::TenantStore;
pub use users::UserStore;
