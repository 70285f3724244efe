//! A collection's schema: typed fields, value validation, and the legal retention period
//! with the end date it copies onto every record.

pub use strongroom_domain::Visibility;

use crate::CoreError;
use crate::error::failed;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use strongroom_domain::Timestamp;
use strongroom_store::Collection;

/// The most fields a collection may have.
pub const MAX_FIELDS: usize = 64;

/// The longest string value, in bytes.
pub const MAX_STRING_BYTES: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String,
    Integer,
    Number,
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
        }
    }
}

/// One field of a collection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// 1 to 63 characters: a-z first, then a-z, 0-9 or _.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,62}$")]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Encrypted under the data subject's key.
    #[serde(default)]
    pub personal: bool,
    /// Equality search through a blind index.
    #[serde(default)]
    pub searchable: bool,
    #[serde(default)]
    pub required: bool,
}

/// The query parameters of a search that page it (no searchable field takes these names).
pub const PAGING_PARAMETERS: [&str; 2] = ["limit", "after"];

pub(crate) fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[doc(hidden)] // public for the hot-path bench
pub fn parse_fields(json: &str) -> Result<Vec<FieldDef>, CoreError> {
    serde_json::from_str(json)
        .map_err(|_| CoreError::internal("stored collection fields do not parse", ""))
}

/// Checks one value against its field's type; the error names the field.
pub(crate) fn check_value(f: &FieldDef, v: &Value) -> Result<(), CoreError> {
    let ok = match (f.kind, v) {
        (FieldType::String, Value::String(s)) => {
            if s.len() > MAX_STRING_BYTES {
                return Err(CoreError::Invalid(format!(
                    "data.{}: at most {MAX_STRING_BYTES} bytes",
                    f.name
                )));
            }
            true
        }
        (FieldType::Integer, Value::Number(n)) => n.is_i64(),
        (FieldType::Number, Value::Number(_)) | (FieldType::Boolean, Value::Bool(_)) => true,
        (FieldType::Date, Value::String(s)) => {
            time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).is_ok()
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(CoreError::Invalid(format!(
            "data.{}: expected {}",
            f.name,
            match f.kind {
                FieldType::Date => "a date (YYYY-MM-DD)",
                FieldType::Integer => "an integer",
                FieldType::Number => "a number",
                FieldType::Boolean => "true or false",
                FieldType::String => "a string",
            }
        )))
    }
}

/// Validates a complete record's data against the collection (unknown, missing, mistyped).
pub(crate) fn validate_data(
    fields: &[FieldDef],
    data: &Map<String, Value>,
) -> Result<(), CoreError> {
    for key in data.keys() {
        if !fields.iter().any(|f| &f.name == key) {
            return Err(CoreError::Invalid(format!(
                "data.{key}: the collection has no such field"
            )));
        }
    }
    for f in fields {
        match data.get(&f.name) {
            None | Some(Value::Null) if f.required => {
                return Err(CoreError::Invalid(format!("data.{}: required", f.name)));
            }
            None | Some(Value::Null) => {}
            Some(v) => check_value(f, v)?,
        }
    }
    Ok(())
}

/// The canonical text of a value for the blind index.
pub(crate) fn canonical(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A collection's legal retention period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalRetention {
    /// The `date` field (not personal) that ends a record, e.g. a contract's end date.
    pub end_field: String,
    /// The period after the end date, in years ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub years: Option<u32>,
    /// ... or in days (exactly one of the two).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
}

/// Documented by hand: `years` (1 to 100) or `days` (1 to 36500), exactly one of the two, as
/// [`LegalRetention::check`] requires.
impl utoipa::PartialSchema for LegalRetention {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            AdditionalProperties, AllOfBuilder, ObjectBuilder, OneOfBuilder, SchemaType, Type,
        };
        let period = |max: u32, description: &str| {
            ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
                .minimum(Some(1))
                .maximum(Some(max))
                .description(Some(description))
        };
        let fields = ObjectBuilder::new()
            .property(
                "end_field",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[a-z][a-z0-9_]{0,62}$"))
                    .description(Some(
                        "The `date` field (not personal) that ends a record, e.g. a contract's end date.",
                    )),
            )
            .required("end_field")
            .property(
                "years",
                period(
                    MAX_RETENTION_YEARS,
                    "The period after the end date, in years ...",
                ),
            )
            .property(
                "days",
                period(
                    MAX_RETENTION_DAYS,
                    "... or in days (exactly one of the two).",
                ),
            )
            .additional_properties(Some(
                AdditionalProperties::<utoipa::openapi::Schema>::FreeForm(false),
            ));
        let only = |given: &str, absent: &str| {
            ObjectBuilder::new()
                .property(given, ObjectBuilder::new().schema_type(Type::Integer))
                .required(given)
                .property(absent, ObjectBuilder::new().schema_type(Type::Null))
        };
        AllOfBuilder::new()
            .item(fields)
            .item(
                OneOfBuilder::new()
                    .item(only("years", "days"))
                    .item(only("days", "years")),
            )
            .description(Some("A collection's legal retention period."))
            .into()
    }
}
impl utoipa::ToSchema for LegalRetention {}

/// The longest legal retention periods.
const MAX_RETENTION_YEARS: u32 = 100;
const MAX_RETENTION_DAYS: u32 = 36_500;

impl LegalRetention {
    /// The collection's period, if it has one.
    pub fn of(c: &Collection) -> Result<Option<Self>, CoreError> {
        c.retention
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(failed("a stored legal retention does not parse"))
    }

    /// The stored form (`collections.retention`).
    pub(crate) fn stored(r: Option<&Self>) -> Result<Option<String>, CoreError> {
        r.map(serde_json::to_string)
            .transpose()
            .map_err(failed("a legal retention does not serialise"))
    }

    /// Checks the period against the collection's fields.
    pub fn check(&self, fields: &[crate::records::FieldDef]) -> Result<(), CoreError> {
        let Some(f) = fields.iter().find(|f| f.name == self.end_field) else {
            return Err(CoreError::Invalid(format!(
                "retention.end_field: the collection has no field {:?}",
                self.end_field
            )));
        };
        if f.kind != FieldType::Date || f.personal {
            return Err(CoreError::Invalid(format!(
                "retention.end_field: {:?} must be a date field that is not personal (the retention engine reads it without the subject's key)",
                self.end_field
            )));
        }
        match (self.years, self.days) {
            (Some(y), None) if (1..=MAX_RETENTION_YEARS).contains(&y) => Ok(()),
            (None, Some(d)) if (1..=MAX_RETENTION_DAYS).contains(&d) => Ok(()),
            (Some(_), None) => Err(CoreError::Invalid("retention.years: 1 to 100".into())),
            (None, Some(_)) => Err(CoreError::Invalid("retention.days: 1 to 36500".into())),
            _ => Err(CoreError::Invalid(
                "retention: give either years or days".into(),
            )),
        }
    }

    /// The first end date that is still kept at `now` (`YYYY-MM-DD`): records that ended
    /// before it are purged.
    pub fn cutoff(&self, now: Timestamp) -> Result<String, CoreError> {
        let today = now.date();
        let date = match (self.years, self.days) {
            (Some(y), _) => {
                let year = today.year()
                    - i32::try_from(y)
                        .map_err(failed("a retention period in years is out of range"))?;
                // 29 February of a year without one: the 28th.
                today
                    .replace_year(year)
                    .or_else(|_| today.replace_day(28).and_then(|d| d.replace_year(year)))
                    .map_err(failed("a retention date is out of range"))?
            }
            (None, Some(d)) => today - time::Duration::days(i64::from(d)),
            (None, None) => {
                return Err(CoreError::internal(
                    "a legal retention with neither years nor days",
                    "absent",
                ));
            }
        };
        Ok(date_text(date))
    }
}

fn date_text(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The end date a record of `c` with this (plaintext or stored) data carries.
pub(crate) fn ends_on(
    c: &Collection,
    data: &Map<String, Value>,
) -> Result<Option<String>, CoreError> {
    Ok(LegalRetention::of(c)?.and_then(|r| {
        data.get(&r.end_field)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: FieldType) -> FieldDef {
        FieldDef {
            name: name.into(),
            kind,
            personal: false,
            searchable: false,
            required: false,
        }
    }

    #[test]
    fn validation_names_the_field_and_the_type() {
        let fields = vec![
            FieldDef {
                required: true,
                ..field("title", FieldType::String)
            },
            field("score", FieldType::Integer),
            field("day", FieldType::Date),
        ];
        let ok: Map<String, Value> =
            serde_json::from_str(r#"{"title":"a","score":3,"day":"2026-01-31"}"#).unwrap();
        validate_data(&fields, &ok).unwrap();
        for (data, needle) in [
            (r#"{"score":3}"#, "data.title: required"),
            (
                r#"{"title":"a","score":3.5}"#,
                "data.score: expected an integer",
            ),
            (
                r#"{"title":"a","day":"31-01-2026"}"#,
                "data.day: expected a date",
            ),
            (
                r#"{"title":"a","nope":1}"#,
                "data.nope: the collection has no such field",
            ),
            (r#"{"title":7}"#, "data.title: expected a string"),
        ] {
            let data: Map<String, Value> = serde_json::from_str(data).unwrap();
            let e = validate_data(&fields, &data).unwrap_err().to_string();
            assert!(e.contains(needle), "{e} lacks {needle}");
        }
    }

    #[test]
    fn names_are_restricted() {
        assert!(valid_name("recordings"));
        assert!(valid_name("a1_b"));
        assert!(!valid_name("1a"));
        assert!(!valid_name("A"));
        assert!(!valid_name(""));
        assert!(!valid_name("a-b"));
        assert!(!valid_name(&"a".repeat(64)));
    }

    #[test]
    fn field_type_names_round_trip() {
        for t in [
            FieldType::String,
            FieldType::Integer,
            FieldType::Number,
            FieldType::Boolean,
            FieldType::Date,
        ] {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
    }
}
