//! Collections and their fields, records (opened through the access check and logged; legal
//! hold, restore), equality search on a searchable field — the API's `/collections` and
//! `/records` services.

use crate::AppState;
use crate::console::centre::tri;
use crate::console::layout::{self, Field, Nav, csrf, when};
use crate::console::session::Signed;
use crate::console::{ConsoleForm, texts as t};
use crate::extract::ClientIp;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use strongroom_core::CoreError;
use strongroom_core::records::{FieldDef, FieldType};
use strongroom_domain::RecordId;

#[derive(Deserialize, Default)]
pub struct Q {
    done: Option<String>,
    collection: Option<String>,
    field: Option<String>,
    value: Option<String>,
}

pub async fn list(
    State(s): State<AppState>,
    u: Signed,
    ClientIp(ip): ClientIp,
    Query(query): Query<Q>,
) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let collections = tri!(
        s.services
            .list_collections(&u.p, Some(ip), (None, 500))
            .await
    );
    let found = match (&query.collection, &query.field, &query.value) {
        (Some(coll), Some(field), Some(value)) if !value.is_empty() => Some(
            tri!(
                s.services
                    .search_records(&u.p, Some(ip), coll, field, value, (None, 100))
                    .await
            )
            .records,
        ),
        _ => None,
    };
    let body = html! {
        (layout::notice(query.done.as_deref().map(|_| t::DONE_MESSAGE), false))
        @for c in &collections {
            h2 { (c.name) }
            p { (t::FIELDS_OF) ": "
                (c.fields.iter().map(|f| format!("{}: {}{}{}", f.name, f.kind.as_str(),
                    if f.personal { ", personal" } else { "" },
                    if f.searchable { ", searchable" } else { "" })).collect::<Vec<_>>().join("; ")) }
            @let searchable: Vec<&FieldDef> = c.fields.iter().filter(|f| f.searchable).collect();
            @if !searchable.is_empty() {
                form.inline method="get" action="/console/admin/collections" role="search" aria-label={ (t::SEARCH_RECORDS) ": " (c.name) } {
                    input type="hidden" name="collection" value=(c.name);
                    div.field {
                        label for={ "sf-" (c.name) } { (t::SEARCH_FIELD) }
                        select id={ "sf-" (c.name) } name="field" { @for f in &searchable { option value=(f.name) { (f.name) } } }
                    }
                    (Field::new(t::SEARCH_VALUE, "value", "text", "off").id(&format!("sv-{}", c.name)).render())
                    button type="submit" { (t::SEARCH_RECORDS) }
                }
            }
        }
        @if let Some(records) = &found {
            h2 { (t::SEARCH_RECORDS) }
            @if records.is_empty() { p role="status" { (t::NOTHING_YET) } }
            ul { @for r in records { li { a href={ "/console/admin/records/" (r.id.0) } { (r.collection) " " (r.id.0) } } } }
        }
        h2 { (t::OPEN_RECORD) }
        form.inline method="get" action="/console/admin/records" {
            (Field::new(t::RECORD_ID, "id", "text", "off").render())
            button type="submit" { (t::OPEN) }
        }
        h2 { (t::CREATE_COLLECTION) }
        form method="post" action="/console/admin/collections" {
            (csrf(&u.csrf))
            (Field::new(t::COLLECTION_NAME, "name", "text", "off").render())
            div.field {
                label for="f-fields" { (t::FIELDS_SPEC) }
                textarea id="f-fields" name="fields" rows="5" required {}
            }
            button type="submit" { (t::CREATE) }
        }
    };
    layout::page(t::COLLECTIONS_TITLE, &nav, body)
}

/// `name type [personal] [searchable] [required]`, one field per line.
fn parse_fields(spec: &str) -> Result<Vec<FieldDef>, CoreError> {
    spec.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next().unwrap_or_default().to_owned();
            let kind = match words.next() {
                Some("string") => FieldType::String,
                Some("integer") => FieldType::Integer,
                Some("number") => FieldType::Number,
                Some("boolean") => FieldType::Boolean,
                Some("date") => FieldType::Date,
                _ => {
                    return Err(CoreError::Invalid(format!(
                        "fields: {line:?}: give a type: string, integer, number, boolean or date"
                    )));
                }
            };
            let (mut personal, mut searchable, mut required) = (false, false, false);
            for w in words {
                match w {
                    "personal" => personal = true,
                    "searchable" => searchable = true,
                    "required" => required = true,
                    other => {
                        return Err(CoreError::Invalid(format!(
                            "fields: {line:?}: {other:?} is not personal, searchable or required"
                        )));
                    }
                }
            }
            Ok(FieldDef {
                name,
                kind,
                personal,
                searchable,
                required,
            })
        })
        .collect()
}

#[derive(Deserialize)]
pub struct CollectionForm {
    name: String,
    fields: String,
}

pub async fn create(
    State(s): State<AppState>,
    u: Signed,
    ClientIp(ip): ClientIp,
    ConsoleForm(f): ConsoleForm<CollectionForm>,
) -> Response {
    let fields = tri!(parse_fields(&f.fields));
    tri!(
        s.services
            .create_collection(&u.p, Some(ip), f.name.trim(), fields, None)
            .await
    );
    Redirect::to("/console/admin/collections?done=created").into_response()
}

#[derive(Deserialize)]
pub struct OpenQuery {
    id: String,
}

pub async fn open(Query(q): Query<OpenQuery>) -> Response {
    match q.id.trim().parse::<uuid::Uuid>() {
        Ok(id) => Redirect::to(&format!("/console/admin/records/{id}")).into_response(),
        Err(_) => layout::error_page(CoreError::Invalid("id: a record id (a UUID)".into())),
    }
}

pub async fn show(
    State(s): State<AppState>,
    u: Signed,
    ClientIp(ip): ClientIp,
    Path(id): Path<uuid::Uuid>,
    Query(q): Query<Q>,
) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let id = RecordId::from(id);
    let record = tri!(s.services.get_record(&u.p, Some(ip), id).await);
    let history = s
        .services
        .record_history(&u.p, Some(ip), id, (0, 500))
        .await
        .ok();
    let data = serde_json::to_string_pretty(&record.data).unwrap_or_default();
    let base = format!("/console/admin/records/{}", id.0);
    let body = html! {
        (layout::notice(q.done.as_deref().map(|_| t::DONE_MESSAGE), false))
        p { (t::RECORD_EXPLAIN) }
        dl {
            dt { (t::COLLECTION) } dd { (record.collection) }
            dt { (t::SUBJECT) } dd { (record.subject_id.0) }
            dt { (t::VERSION) } dd { (record.version) }
            dt { (t::CREATED) } dd { (when(record.created_at)) }
        }
        pre { code { (data) } }
        @if let Some(h) = &history {
            h2 { (t::HISTORY) }
            ol { @for e in h { li { (serde_json::to_string(e).unwrap_or_default()) } } }
        }
        form method="post" action={ (base) "/hold" } {
            (csrf(&u.csrf))
            input type="hidden" name="hold" value="true";
            button.secondary type="submit" { (t::LEGAL_HOLD_ON) }
        }
        form method="post" action={ (base) "/hold" } {
            (csrf(&u.csrf))
            input type="hidden" name="hold" value="false";
            button.secondary type="submit" { (t::LEGAL_HOLD_OFF) }
        }
        form method="post" action={ (base) "/restore" } {
            (csrf(&u.csrf))
            button.secondary type="submit" { (t::RESTORE) }
        }
    };
    layout::page(t::RECORD_TITLE, &nav, body)
}

#[derive(Deserialize)]
pub struct HoldForm {
    hold: bool,
}

pub async fn hold(
    State(s): State<AppState>,
    u: Signed,
    ClientIp(ip): ClientIp,
    Path(id): Path<uuid::Uuid>,
    ConsoleForm(f): ConsoleForm<HoldForm>,
) -> Response {
    tri!(
        s.services
            .set_legal_hold(&u.p, Some(ip), RecordId::from(id), f.hold)
            .await
    );
    Redirect::to(&format!("/console/admin/records/{id}?done=hold")).into_response()
}

pub async fn restore(
    State(s): State<AppState>,
    u: Signed,
    ClientIp(ip): ClientIp,
    Path(id): Path<uuid::Uuid>,
) -> Response {
    tri!(
        s.services
            .restore_record(&u.p, Some(ip), RecordId::from(id))
            .await
    );
    Redirect::to(&format!("/console/admin/records/{id}?done=restored")).into_response()
}
