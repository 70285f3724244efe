//! What authentication stores: sessions, password resets, the login history.

pub mod logins;
pub mod resets;
pub mod sessions;

pub use logins::LoginHistoryStore;
pub use resets::PasswordResetStore;
pub use sessions::SessionStore;
