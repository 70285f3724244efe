//! What happens to data over time: soft deletion, legal holds and purges (`deletion`), the
//! licence life cycle with its notices (`licence`), the tenant's retention rules (`rules`), and
//! the end of a tenant (`tenant_end`). Each runs on the durable jobs of `crate::jobs`.

pub mod deletion;
pub mod licence;
pub mod rules;
pub mod tenant_end;

pub use licence::*;
pub use rules::*;
