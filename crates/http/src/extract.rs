//! Extractors that turn every kind of bad request into a problem, and establish the caller.

use crate::AppState;
use crate::problem::Problem;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};
use strongroom_core::Principal;

/// A JSON body; malformed, mistyped, oversize or non-JSON bodies become 4xx problems. Every
/// body of the API is a JSON object: an array is refused even where serde would read a struct
/// from one (`[null]` as a PATCH that changes nothing).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(json_problem(&JsonRejection::MissingJsonContentType(
                axum::extract::rejection::MissingJsonContentType::default(),
            )));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| json_problem(&JsonRejection::BytesRejection(e)))?;
        let bytes = integral_numbers_as_integers(&bytes);
        let value = axum::Json::<T>::from_bytes(&bytes).map_err(|e| json_problem(&e))?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Problem::new(
                crate::problem::Code::InvalidField,
                "the body must be a JSON object",
            ));
        }
        Ok(Self(value.0))
    }
}

/// JSON (and JSON Schema, which the OpenAPI document speaks) compares numbers by value: `13.0`
/// and `1.3e1` are the integer 13. serde reads them as floats and would refuse them where an
/// integer is expected, so every number written with a fraction or an exponent whose value is a
/// whole number (below 2^53, so exactly representable) is rewritten as that integer before
/// parsing. Strings and anything that is not a valid JSON number are left as they are, so a
/// malformed body stays malformed.
fn integral_numbers_as_integers(body: &Bytes) -> Bytes {
    let mut out = Vec::with_capacity(body.len());
    let mut changed = false;
    let mut rest: &[u8] = body;
    let mut in_string = false;
    while let Some((&b, tail)) = rest.split_first() {
        let starts_number = !in_string && (b == b'-' || b.is_ascii_digit());
        if !starts_number {
            out.push(b);
            rest = tail;
            if in_string && b == b'\\' {
                if let Some((&escaped, tail)) = rest.split_first() {
                    out.push(escaped);
                    rest = tail;
                }
            } else if b == b'"' {
                in_string = !in_string;
            }
            continue;
        }
        let len = rest
            .iter()
            .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .unwrap_or(rest.len());
        let (token, after) = rest.split_at_checked(len).unwrap_or((rest, &[]));
        match std::str::from_utf8(token).ok().and_then(whole_number) {
            Some(n) => {
                out.extend_from_slice(n.as_bytes());
                changed = true;
            }
            None => out.extend_from_slice(token),
        }
        rest = after;
    }
    if changed {
        Bytes::from(out)
    } else {
        body.clone()
    }
}

/// The integer a JSON number written with a fraction or an exponent stands for, if it is a whole
/// number an integer field can hold (`i64::MIN` to `u64::MAX`). Worked out on the decimal digits
/// themselves, never through a float, so `9007199254740993.0` is 9007199254740993 and
/// `1.00000000000000001` is not whole.
fn whole_number(t: &str) -> Option<String> {
    /// Beyond this exponent a whole number has more digits than any integer field holds.
    const MAX_EXP: i64 = 40;
    if !t.contains(['.', 'e', 'E']) || !is_json_number(t) {
        return None;
    }
    let (negative, unsigned) = match t.strip_prefix('-') {
        Some(u) => (true, u),
        None => (false, t),
    };
    let (mantissa, exp) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().ok()?),
        None => (unsigned, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let all_zero = digits.iter().all(|d| *d == b'0');
    if all_zero {
        return Some("0".to_owned());
    }
    if exp.abs() > MAX_EXP + i64::try_from(digits.len()).ok()? {
        return None;
    }
    // The decimal point sits after `point` digits; whole if no non-zero digit follows it.
    let point = i64::try_from(int.len()).ok()? + exp;
    let whole = digits
        .iter()
        .zip(0_i64..)
        .all(|(d, k)| k < point || *d == b'0');
    if !whole {
        return None;
    }
    let point = usize::try_from(point).ok()?;
    let mut out: String = digits
        .iter()
        .take(point)
        .map(|d| char::from(*d))
        .chain(std::iter::repeat_n('0', point.saturating_sub(digits.len())))
        .skip_while(|c| *c == '0')
        .collect();
    if out.len() > 20 {
        return None;
    }
    let magnitude = out.parse::<u128>().ok()?;
    let fits = if negative {
        magnitude <= u128::from(i64::MIN.unsigned_abs())
    } else {
        magnitude <= u128::from(u64::MAX)
    };
    if negative {
        out.insert(0, '-');
    }
    fits.then_some(out)
}

/// RFC 8259 `number`: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(t: &str) -> bool {
    /// Strips leading digits; `None` if there are none.
    fn digits(s: &str) -> Option<(&str, &str)> {
        let n = s.bytes().take_while(u8::is_ascii_digit).count();
        s.split_at_checked(n).filter(|(d, _)| !d.is_empty())
    }
    let unsigned = t.strip_prefix('-').unwrap_or(t);
    let Some((int, mut rest)) = digits(unsigned) else {
        return false;
    };
    if int.len() > 1 && int.starts_with('0') {
        return false;
    }
    if let Some(frac) = rest.strip_prefix('.') {
        let Some((_, after)) = digits(frac) else {
            return false;
        };
        rest = after;
    }
    if let Some(exp) = rest.strip_prefix(['e', 'E']) {
        let Some((_, after)) = digits(exp.strip_prefix(['+', '-']).unwrap_or(exp)) else {
            return false;
        };
        rest = after;
    }
    rest.is_empty()
}

/// `application/json` or another `application/*+json` type, as `axum::Json` requires.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(essence) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
    else {
        return false;
    };
    let essence = essence.trim().to_ascii_lowercase();
    essence
        .strip_prefix("application/")
        .is_some_and(|sub| sub == "json" || sub.ends_with("+json"))
}

fn json_problem(r: &JsonRejection) -> Problem {
    match r {
        JsonRejection::JsonSyntaxError(e) => Problem::new(
            crate::problem::Code::MalformedJson,
            format!("the body is not valid JSON: {}", source_text(e)),
        ),
        JsonRejection::JsonDataError(e) => {
            Problem::new(crate::problem::Code::InvalidField, source_text(e))
        }
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            crate::problem::Code::UnsupportedMediaType,
            "send the body as JSON with 'Content-Type: application/json'",
        ),
        JsonRejection::BytesRejection(e)
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            Problem::new(
                crate::problem::Code::PayloadTooLarge,
                format!(
                    "the body is larger than the limit of {} bytes",
                    crate::JSON_BODY_LIMIT
                ),
            )
        }
        other => Problem::new(crate::problem::Code::InvalidInput, other.body_text()),
    }
}

/// serde's own message (e.g. "missing field `email` at line 1 column 2"), without axum's prefix.
fn source_text(e: &dyn std::error::Error) -> String {
    let mut inner: &dyn std::error::Error = e;
    while let Some(s) = inner.source() {
        inner = s;
    }
    inner.to_string()
}

/// A query string; an unparseable one is a 400 problem saying which parameter is wrong.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|e| Problem::new(crate::problem::Code::InvalidInput, source_text(&e)))
    }
}

/// A path parameter; one that does not parse (e.g. a malformed id) names nothing that exists.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => Err(Problem::new(
                crate::problem::Code::NotFound,
                "no such resource",
            )),
            Err(other) => Err(Problem::new(
                crate::problem::Code::InvalidInput,
                other.body_text(),
            )),
        }
    }
}

/// The authenticated caller, from `Authorization: Bearer <access token>`. A caller who must
/// still change their initial password is refused here (`password_change_required`).
pub struct Caller(pub Principal);

/// The authenticated caller, also one who must still change their initial password or enrol
/// a second factor the tenant requires: only for `GET /me` (and its own views), the password
/// change, the factor's enrolment and logout. Never an integration client.
pub struct Unsettled(pub Principal);

/// The authenticated caller for calls about their own account (`/me/export`, `DELETE /me`,
/// deletion notices, removing their factor): a person, never an integration client.
pub struct Person(pub Principal);

fn bearer(parts: &Parts) -> Result<&str, Problem> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| {
            Problem::new(
                crate::problem::Code::Unauthenticated,
                "send 'Authorization: Bearer <access_token>'",
            )
        })
}

/// The three bearer extractors differ only in which `Services::authenticate…` they call.
macro_rules! bearer_extractor {
    ($($extractor:ident => $authenticate:ident),* $(,)?) => {$(
        impl FromRequestParts<AppState> for $extractor {
            type Rejection = Problem;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                let token = bearer(parts)?;
                state
                    .services
                    .$authenticate(token)
                    .await
                    .map($extractor)
                    .map_err(Problem::from)
            }
        }
    )*};
}

bearer_extractor! {
    Caller => authenticate,
    Unsettled => authenticate_unsettled,
    Person => authenticate_person,
}

/// The client's address: the TCP peer, or behind a trusted proxy the address it appended
/// last to `X-Forwarded-For`.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.behind_proxy {
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                .next_back();
            if let Some(ip) = forwarded {
                return Ok(Self(ip));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        Ok(Self(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(s: &str) -> String {
        String::from_utf8(integral_numbers_as_integers(&Bytes::from(s.to_owned())).to_vec())
            .unwrap()
    }

    #[test]
    fn whole_numbers_become_integers_and_nothing_else_changes() {
        assert_eq!(
            rewrite(r#"{"a":13.0,"b":[1.5,-2.0,1e2,0.0,-0.0,3E+1,7],"c":"13.0"}"#),
            r#"{"a":13,"b":[1.5,-2,100,0,0,30,7],"c":"13.0"}"#
        );
        // Escaped quotes do not end a string; values no integer field holds stay as written.
        assert_eq!(
            rewrite(
                r#"{"s":"x\"1.0","n":1e300,"m":18446744073709551616.0,"k":-9223372036854775809.0}"#
            ),
            r#"{"s":"x\"1.0","n":1e300,"m":18446744073709551616.0,"k":-9223372036854775809.0}"#
        );
        // Exact at every size an integer field holds, with no rounding through a float.
        assert_eq!(
            rewrite(
                "[9007199254740992.0,9007199254740993.0,18446744073709551615.0,-9223372036854775808.0,1.8e19,0.0e-999]"
            ),
            "[9007199254740992,9007199254740993,18446744073709551615,-9223372036854775808,18000000000000000000,0]"
        );
        // What is not a JSON number stays as it was, so it is still refused.
        assert_eq!(
            rewrite("[1.00000000000000001,2.50e1,25e-1,120e-1,0.5e1]"),
            "[1.00000000000000001,25,25e-1,12,5]"
        );
        for bad in [
            "01.0",
            "1.",
            ".5",
            "1.0e",
            "--1.0",
            "1.0.0",
            "+1.0",
            "[1.0 2.0]",
            "x1.0",
        ] {
            assert!(serde_json::from_str::<serde_json::Value>(bad).is_err());
            assert!(
                serde_json::from_str::<serde_json::Value>(&rewrite(bad)).is_err(),
                "{bad:?} became valid"
            );
        }
    }
}
