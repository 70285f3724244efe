//! Input parsed at the edge into types that cannot hold invalid values.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a value was rejected; the message is safe to show to the caller (it never echoes the value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ParseError {
    pub field: &'static str,
    pub reason: String,
}

impl ParseError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// An e-mail address, trimmed and lower-cased so that one mailbox has one spelling.
///
/// Written by hand rather than with a full RFC 5322 parser: we only need "one `@`, a plausible
/// local part and a dotted domain, no whitespace or control characters"; a stricter parser would
/// reject addresses that mail servers accept.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim().to_lowercase();
        let err = |r: &str| Err(ParseError::new("email", r));
        if s.is_empty() {
            return err("must not be empty");
        }
        if s.len() > Self::MAX_LEN {
            return err("must be at most 254 characters");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return err("must not contain spaces or control characters");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return err("must contain an @");
        };
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return err("needs a local part of 1 to 64 characters before a single @");
        }
        // The dot-atom of RFC 5322 (what mail can be sent to without quoting), and UTF-8.
        let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
        if !local
            .split('.')
            .all(|a| !a.is_empty() && a.chars().all(atext))
        {
            return err(
                "the part before the @ may hold letters, digits, dots (not first, last or twice in a row) and !#$%&'*+/=?^_`{|}~-",
            );
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| {
                l.is_empty()
                    || l.len() > 63
                    || l.starts_with('-')
                    || l.ends_with('-')
                    || !l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
        {
            return err("needs a domain such as example.com after the @");
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Personal data: never printed whole in logs or debug output.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Email::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A tenant's short name, used at login and in URLs: 2–63 of `a-z`, `0-9`, `-`, starting with a letter.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Debug)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let ok_len = (2..=63).contains(&raw.len());
        let ok_chars = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_start = raw.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
        if ok_len && ok_chars && ok_start && !raw.ends_with('-') {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new(
                "slug",
                "must be 2 to 63 characters of a-z, 0-9 and -, starting with a letter and not ending with -",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Slug::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The longest person, tenant or group name, in characters.
pub const NAME_MAX_CHARS: usize = 200;

fn parse_text(field: &'static str, raw: &str, max: usize) -> Result<String, ParseError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(ParseError::new(field, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(ParseError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(ParseError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(s.to_owned())
}

/// A person's display name. Personal data: redacted in `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        parse_text("name", raw, NAME_MAX_CHARS).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonName(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for PersonName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PersonName::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The display name of a tenant or group (not personal data).
#[derive(Clone, PartialEq, Eq, Serialize, Debug)]
#[serde(transparent)]
pub struct TenantName(String);

impl TenantName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        parse_text("name", raw, NAME_MAX_CHARS).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for TenantName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        TenantName::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A data-residency region such as `eu` or `us`: 2–16 of `a-z`, `0-9`, `-`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Debug)]
#[serde(transparent)]
pub struct Region(String);

impl Region {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if (2..=16).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new(
                "region",
                "must be 2 to 16 characters of a-z, 0-9 and - (e.g. eu)",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Region {
    fn default() -> Self {
        Self("eu".to_owned())
    }
}

/// The documented form of parsed text, as JSON Schema `pattern`s that accept exactly what the
/// parsers accept (checked by the tests below). Written with explicit classes only (`\uXXXX`,
/// `\xXX`), which read the same in ECMA-262, Python and Rust regex syntax.
pub mod pattern {
    /// What `str::trim` removes: Unicode `White_Space`.
    const WS: &str = r"[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";
    /// Neither a control character (`char::is_control`) nor whitespace.
    const VISIBLE: &str = r"[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";
    /// Not a control character.
    const NOT_CONTROL: &str = r"[^\x00-\x1F\x7F-\x9F]";

    /// Display text: 1 to `max` characters once trimmed, no control characters inside.
    pub fn text(max: usize) -> String {
        let inner = max.saturating_sub(2);
        format!("^{WS}*{VISIBLE}(?:{NOT_CONTROL}{{0,{inner}}}{VISIBLE})?{WS}*$")
    }

    /// An e-mail address: one `@`, a local part of 1 to 64, a domain of two or more dot-separated
    /// labels of 1 to 63 that neither start nor end with `-`; surrounding whitespace is trimmed.
    /// The documented form is ASCII (the parser also takes other letters).
    pub fn email() -> String {
        // Printable ASCII without `@`; for labels also without `.`, and at their ends without `-`.
        let local = r"[!-?A-~]";
        let label_end = r"[!-,/-?A-~]";
        let label_mid = r"[!-\-/-?A-~]";
        let label = format!("{label_end}(?:{label_mid}{{0,61}}{label_end})?");
        format!("^{WS}*{local}{{1,64}}@{label}(?:\\.{label})+{WS}*$")
    }
}

fn string_schema(
    pattern: String,
    max_length: Option<usize>,
    description: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(pattern))
        .max_length(max_length)
        .description(Some(description))
        .into()
}

impl utoipa::PartialSchema for Email {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_schema(
            pattern::email(),
            Some(Email::MAX_LEN),
            "An e-mail address; trimmed and lower-cased.",
        )
    }
}
impl utoipa::ToSchema for Email {}

impl utoipa::PartialSchema for PersonName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_schema(
            pattern::text(NAME_MAX_CHARS),
            None,
            "A person's name: 1 to 200 characters once trimmed, no control characters.",
        )
    }
}
impl utoipa::ToSchema for PersonName {}

impl utoipa::PartialSchema for TenantName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_schema(
            pattern::text(NAME_MAX_CHARS),
            None,
            "A name: 1 to 200 characters once trimmed, no control characters.",
        )
    }
}
impl utoipa::ToSchema for TenantName {}

/// Whether free text may span lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    /// One line (a name, a reason): no control characters.
    Line,
    /// Paragraphs (a breach's nature): line breaks and tabs allowed.
    Block,
}

/// Free text as a field takes it: trimmed, 1 to `max` characters, and for a `Line` no control
/// characters.
pub fn free_text(
    field: &'static str,
    v: &str,
    max: usize,
    kind: TextKind,
) -> Result<String, ParseError> {
    let v = v.trim();
    let controls = kind == TextKind::Line && v.chars().any(char::is_control);
    if v.is_empty() || v.chars().count() > max || controls {
        let rule = match kind {
            TextKind::Line => ", no control characters",
            TextKind::Block => "",
        };
        return Err(ParseError::new(
            field,
            format!("1 to {max} characters{rule}"),
        ));
    }
    Ok(v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "a b@example.com",
            "ann@localhost",
            "ann@-x.com",
            "a@@b.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn email_debug_is_redacted() {
        let e = Email::parse("ann@example.com").unwrap();
        assert!(!format!("{e:?}").contains("ann"));
    }

    #[test]
    fn slug_rules() {
        assert!(Slug::parse("demo").is_ok());
        assert!(Slug::parse("acme-2").is_ok());
        for bad in ["", "a", "Demo", "2acme", "acme-", "ac me", &"a".repeat(64)] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn names_reject_control_characters_and_blank() {
        assert!(PersonName::parse("  ").is_err());
        assert!(PersonName::parse("a\u{0}b").is_err());
        assert_eq!(PersonName::parse(" Ann ").unwrap().as_str(), "Ann");
    }

    /// The documented patterns accept exactly what the parsers accept.
    #[test]
    fn patterns_agree_with_the_parsers() {
        let text = regex::Regex::new(&pattern::text(NAME_MAX_CHARS)).unwrap();
        let long = "é".repeat(NAME_MAX_CHARS);
        let too_long = "é".repeat(NAME_MAX_CHARS + 1);
        for s in [
            "Ann",
            "a",
            " Ann ",
            "\tAnn\n",
            "\u{3000}Ann\u{85}",
            "Ann Bee",
            "Ann\u{a0}Bee",
            "",
            " ",
            "\u{a0}",
            "a\u{0}b",
            "a\u{9f}b",
            "a\tb",
            "\u{1c}a",
            "a\u{7f}",
            "\u{200b}",
            "名前",
            &long,
            &too_long,
            &format!(" {long} "),
        ] {
            assert_eq!(text.is_match(s), PersonName::parse(s).is_ok(), "name {s:?}");
            assert_eq!(text.is_match(s), TenantName::parse(s).is_ok(), "{s:?}");
        }
        let email = regex::Regex::new(&pattern::email()).unwrap();
        let local64 = "a".repeat(64);
        let label63 = "b".repeat(63);
        for s in [
            "ann@example.com",
            " Ann@Example.COM\t",
            "a.b+c@x-y.example",
            "a@b.c",
            "a@b.c.d",
            "?nak`}=@5t.o.io",
            &format!("{local64}@example.com"),
            &format!("a{local64}@example.com"),
            &format!("a@{label63}.com"),
            &format!("a@b{label63}.com"),
            "",
            "ann",
            "ann@",
            "@example.com",
            "a b@example.com",
            "ann@localhost",
            "ann@-x.com",
            "ann@x-.com",
            "a@@b.com",
            "a@b..c",
            "a@.b.c",
            "a@b.c.",
            "a\u{0}@b.c",
            "a@b\u{7f}.c",
        ] {
            assert_eq!(email.is_match(s), Email::parse(s).is_ok(), "email {s:?}");
        }
    }
}
