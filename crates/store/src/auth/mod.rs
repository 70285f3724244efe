//! What authentication stores: sessions, password resets, the login history, the second
//! factor.

pub mod logins;
pub mod resets;
pub mod sessions;
pub mod totp;

pub use logins::LoginHistoryStore;
pub use resets::PasswordResetStore;
pub use sessions::SessionStore;
pub use totp::TotpStore;
