//! The registers GDPR expects beside the data: processors (Art. 28, 30) breaches (Art. 33,
//! 34) and disclosure requests from authorities (seed 004). Every entry
//! belongs to its tenant; the operator's own (hosting, mail) are installation-wide and
//! read-only to tenants, and so are the processors the configuration implies (mail relay,
//! object stores), derived at read time with their host only. Every change is a privacy-log
//! entry of the tenant.

pub mod breaches;
pub mod disclosures;
pub mod processors;

pub use breaches::*;
pub use disclosures::*;
pub use processors::*;
