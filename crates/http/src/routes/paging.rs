//! Paged lists (API.md "Lists"): `?limit=` (default 100, 1 to 500) and `?after=<cursor>` (the
//! last id of the previous page); a following page is announced in `Link: <…>; rel="next"`.

use crate::problem::{Code, Problem};
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

const DEFAULT: u32 = 100;
const MAX: u32 = 500;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size: 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The cursor of the `Link: rel="next"` of the previous page.
    after: Option<uuid::Uuid>,
}

impl PageParams {
    pub fn limit(&self) -> Result<u32, Problem> {
        limit(self.limit)
    }

    pub fn after(&self) -> Option<uuid::Uuid> {
        self.after
    }
}

/// A page size as asked for: 1 to 500, 100 if not given.
pub fn limit(asked: Option<u32>) -> Result<u32, Problem> {
    let limit = asked.unwrap_or(DEFAULT);
    if (1..=MAX).contains(&limit) {
        Ok(limit)
    } else {
        Err(Problem::new(
            Code::InvalidInput,
            format!("limit: 1 to {MAX}"),
        ))
    }
}

/// Answers `items` (fetched with one more than `limit`) as one page of `path` (which may carry
/// the list's filters as a query), with the link to the next page when there is one; `tail`
/// follows the page (entries no cursor pages).
pub fn page<T: Serialize, C: std::fmt::Display>(
    path: &str,
    limit: u32,
    mut items: Vec<T>,
    tail: Vec<T>,
    id: impl Fn(&T) -> C,
) -> Response {
    let mut headers = HeaderMap::new();
    if items.len() > limit as usize {
        items.truncate(limit as usize);
        if let Some(last) = items.last()
            && let Ok(v) = HeaderValue::from_str(&format!(
                "<{path}{}after={}&limit={limit}>; rel=\"next\"",
                if path.contains('?') { '&' } else { '?' },
                id(last)
            ))
        {
            headers.insert(header::LINK, v);
        }
    }
    items.extend(tail);
    (headers, Json(items)).into_response()
}
