//! The integration suite as one test binary (linking one binary instead of ten is most of an
//! incremental test run): backups (`backup`), the API (`api`), the
//! key hierarchy (`keys`), the privacy log (`privacy`), records, files and policies
//! (`records`), the cross-tenant matrix (`isolation`), export and forget (`rights`), scheduled
//! backups, the target's lock and replication (`schedule`), the retention life cycle (`retention`), deletion and holds (`deletion`), and the repository's
//! tidy checks (`tidy`). Every module runs its tests on SQLite and PostgreSQL
//! (`both_backends!`).

mod api;
mod apps;
mod backup;
mod clients;
mod console;
mod deletion;
mod isolation;
mod keys;
mod privacy;
mod records;
mod registers;
mod reports;
mod retention;
mod rights;
mod schedule;
mod support;
mod tidy;
mod tls;
mod totp;
