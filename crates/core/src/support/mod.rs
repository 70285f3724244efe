//! Vendor support only under the customer's grant (seed 000's "Superusers", seed 004's
//! "granted explicitly by the customer and provisioned temporarily").
//!
//! Superusers are users of the reserved tenant `operator` (`superusers`), with the role
//! `superuser`, which the tenant requires a second factor of from the first login, and no
//! right in any customer tenant: the base layer forbids a superuser everything but asking for
//! access. A request (`requests`) names a tenant, a reason, a duration and a kind; the
//! tenant's administrators are mailed and approve (optionally shorter), deny or later revoke
//! it; unanswered it expires. An approved grant is exchanged for a session (`session`) whose
//! caller the policies see as a `Support` principal carrying the grant: `read` sees what an
//! administrator sees and writes nothing (the base layer), and every access is in the
//! tenant's privacy log with the superuser as actor and `via` `support:<request id>`.

pub mod break_glass;
pub mod requests;
pub mod reviews;
pub mod session;
pub mod superusers;

pub use break_glass::*;
pub use requests::*;
pub use reviews::*;
pub use session::*;
pub use superusers::*;

pub use crate::tenancy::OPERATOR_SLUG;
