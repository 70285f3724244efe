//! The one error type of the domain services. The HTTP layer maps each variant to a problem
//! with a stable code; nothing here carries a secret or personal data.

use strongroom_store::StoreError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum CoreError {
    /// The input is malformed or breaks a rule; the message says which field and why.
    #[error("{0}")]
    Invalid(String),
    /// A review leaves someone undecided (every privileged account needs a decision).
    #[error("{0}")]
    ReviewIncomplete(String),
    /// The new password is too short, too long or too common.
    #[error("{0}")]
    WeakPassword(String),
    /// Wrong e-mail or password (deliberately not saying which).
    #[error("the e-mail address or password is not correct")]
    InvalidCredentials,
    /// Too many wrong passwords: only a password reset reopens the account.
    #[error(
        "this account is blocked after too many wrong passwords; use 'forgot password' to reset it"
    )]
    AccountBlocked,
    /// The password was right, and the account has a second factor: send `totp` too.
    #[error("this account has a second factor: send the current code (or a recovery code) as totp")]
    TotpRequired,
    /// No valid access token was presented.
    #[error("a valid access token is required")]
    Unauthenticated,
    /// A refresh or reset token is unknown, spent or expired.
    #[error("the token is invalid, expired or already used")]
    InvalidToken,
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The account still has its initial password.
    #[error("the password must be changed before anything else (PUT /api/v1/me/password)")]
    PasswordChangeRequired,
    /// The tenant requires a second factor of the caller's roles, and they have none yet.
    #[error(
        "your roles require a second factor: enrol one first (POST /api/v1/me/totp, then POST /api/v1/me/totp/confirm)"
    )]
    TotpEnrolmentRequired,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// It existed, and retention or erasure deleted it (for callers who may know it existed).
    #[error("{0}")]
    Gone(String),
    /// The upload is larger than the configured limit.
    #[error("{0}")]
    TooLarge(String),
    /// The requested byte range is outside the file.
    #[error("{0}")]
    RangeNotSatisfiable(String),
    #[error("too many attempts from this address; retry in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// Something failed inside; what and why were logged where it happened (only
    /// [`CoreError::internal`] makes one), never shown.
    #[error("internal error")]
    Internal(Logged),
}

/// Proof that an internal failure was logged: only [`CoreError::internal`] makes one, so no
/// `Internal` answer can leave without its cause in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Logged(&'static str);

impl Logged {
    /// What failed (a fixed description, never data).
    pub fn what(self) -> &'static str {
        self.0
    }
}

impl CoreError {
    /// An internal failure: logs what failed and its cause, and answers 500 without either.
    /// `cause` is an error's own text (a parser's position, a backend's message, a crypto
    /// failure), never a value of the data: callers pass errors, not inputs.
    pub fn internal(what: &'static str, cause: impl std::fmt::Display) -> Self {
        tracing::error!(what, cause = %cause, "internal failure");
        CoreError::Internal(Logged(what))
    }
}

/// `map_err` shorthand for [`CoreError::internal`].
pub(crate) fn failed<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> CoreError {
    move |e| CoreError::internal(what, e)
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => CoreError::Conflict(format!("{what} already exists")),
            StoreError::NotFound(what) => CoreError::NotFound(what),
            StoreError::Backend(msg) => CoreError::internal("store failure", msg),
        }
    }
}

impl From<strongroom_blobs::BlobError> for CoreError {
    fn from(e: strongroom_blobs::BlobError) -> Self {
        match e {
            strongroom_blobs::BlobError::NotFound => CoreError::NotFound("file"),
            strongroom_blobs::BlobError::Backend(msg) => {
                CoreError::internal("blob store failure", msg)
            }
        }
    }
}

impl From<strongroom_domain::ParseError> for CoreError {
    fn from(e: strongroom_domain::ParseError) -> Self {
        CoreError::Invalid(e.to_string())
    }
}

impl CoreError {
    /// A record or file deleted for good: 410, saying why.
    pub fn gone(what: &str, t: &strongroom_store::Tombstone) -> Self {
        CoreError::Gone(format!(
            "this {what} was deleted for good: {}",
            t.reason.explain()
        ))
    }
}
