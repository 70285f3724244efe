//! Outgoing mail through lettre: a file outbox (one `.eml` per message) by default, SMTP when
//! configured. Subscribers (tests, metrics) learn of every message sent.

use crate::CoreError;
use crate::error::failed;
use lettre::message::{Mailbox, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use strongroom_domain::Email;
use tokio::sync::broadcast;

enum Transport {
    Outbox {
        dir: PathBuf,
        transport: AsyncFileTransport<Tokio1Executor>,
    },
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// What was sent: where to find it (outbox) and its subject. Holds no address.
#[derive(Clone, Debug)]
pub struct Sent {
    pub subject: String,
    /// The `.eml` file, for the outbox transport.
    pub file: Option<PathBuf>,
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    events: broadcast::Sender<Sent>,
}

impl Mailer {
    /// Writes each message to `dir/<id>.eml`.
    pub fn outbox(dir: PathBuf, from: &str) -> Result<Self, CoreError> {
        std::fs::create_dir_all(&dir).map_err(|e| {
            CoreError::Invalid(format!("cannot create mail outbox {}: {e}", dir.display()))
        })?;
        let transport = AsyncFileTransport::<Tokio1Executor>::new(&dir);
        Self::with(Transport::Outbox { dir, transport }, from)
    }

    /// Sends through an SMTP server named by a URL such as `smtp://host:25`,
    /// `smtp://user:pass@host:587?tls=required` or `smtps://host:465`.
    pub fn smtp(url: &str, from: &str) -> Result<Self, CoreError> {
        let t = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| {
                CoreError::Invalid(format!("mail.smtp_url is not a usable SMTP URL: {e}"))
            })?
            .build();
        Self::with(Transport::Smtp(t), from)
    }

    fn with(transport: Transport, from: &str) -> Result<Self, CoreError> {
        let from: Mailbox = from.parse().map_err(|e| {
            CoreError::Invalid(format!(
                "mail.from is not a mailbox such as 'Strongroom <no-reply@example.com>': {e}"
            ))
        })?;
        Ok(Self {
            transport,
            from,
            events: broadcast::channel(64).0,
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Sent> {
        self.events.subscribe()
    }

    /// Sends a plain-text message (lettre picks the transfer encoding; lines of up to 76
    /// characters, such as a token on its own line, are never folded).
    pub async fn send(&self, to: &Email, subject: &str, body: String) -> Result<(), CoreError> {
        let to: Mailbox = to
            .as_str()
            .parse()
            .map_err(failed("a checked e-mail address is not a mailbox"))?;
        let msg = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .singlepart(SinglePart::plain(body))
            .map_err(|e| CoreError::internal("building mail failed", e))?;
        let file = match &self.transport {
            Transport::Outbox { dir, transport } => {
                let id = transport
                    .send(msg)
                    .await
                    .map_err(|e| CoreError::internal("writing mail to outbox failed", e))?;
                Some(dir.join(format!("{id}.eml")))
            }
            Transport::Smtp(t) => {
                t.send(msg)
                    .await
                    .map_err(|e| CoreError::internal("SMTP delivery failed", e))?;
                None
            }
        };
        tracing::info!(subject, "mail sent");
        let _ = self.events.send(Sent {
            subject: subject.to_owned(),
            file,
        });
        Ok(())
    }
}

/// A moment as mails show it: RFC 3339 in UTC, to the second (`2026-12-04T17:37:08Z`).
pub fn when(t: strongroom_domain::Timestamp) -> String {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use lettre::message::Mailbox;
    use strongroom_domain::Email;

    /// Every address the domain accepts can be mailed: a retention notice or a reset mail
    /// never fails on an address that was accepted when the user was created.
    #[test]
    fn every_accepted_address_is_a_mailbox() {
        for raw in [
            "a@b.example",
            "first.last+tag@sub.example.org",
            "o'brien@example.ie",
            "ünïcödé@exämple.de",
            "a(b@example.com",
            "a<b>@example.com",
            "a,b@example.com",
            "\"quoted\"@example.com",
            "a..b@example.com",
            ".a@example.com",
            "a@exa_mple.com",
            "a@[127.0.0.1]",
            "a\\b@example.com",
            "0@0.0",
        ] {
            if let Ok(e) = Email::parse(raw) {
                assert!(
                    e.as_str().parse::<Mailbox>().is_ok(),
                    "{raw} accepted but not a mailbox"
                );
            }
        }
        assert!(Email::parse("first.last+tag@sub.example.org").is_ok());
        assert!(Email::parse("a(b@example.com").is_err());
    }
}
