//! The right of access and portability: everything Strongroom holds about one person, as a
//! zip streamed while it is written (never held in memory whole).
//!
//! Layout: `README.txt` (what is where), `export.json` (profile, groups, login history, records
//! about the person with their fields opened, changes the person made, objects the person
//! created, privacy-log entries about the person), and `files/<record id>/<name>` with every
//! file of the person's records, decrypted. The person may export themselves; an
//! administrator may export anyone of the tenant. Each export is a privacy-log entry.
//!
//! The zip is written by the `zip` crate on a blocking thread into a bounded channel that the
//! HTTP answer drains, so memory stays at a few chunks whatever the size; files are decrypted
//! segment by segment on the way.

use crate::access::Action;
use crate::error::failed;
use crate::records::{HistoryInfo, RecordInfo};
use crate::tenancy::UserInfo;
use crate::{CoreError, Principal, Services};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::{Value, json};
use std::io::Write;
use std::net::IpAddr;
use strongroom_domain::UserId;
use strongroom_store::{FileRow, PrivacyQuery};
use tokio::sync::mpsc;

/// The privacy log's object type for exports.
pub const EXPORT_OBJECT: &str = "export";

/// Bytes the zip writer hands over at a time.
const CHUNK: usize = 64 * 1024;

/// Chunks in flight between the zip writer and the answer.
const CHUNKS_IN_FLIGHT: usize = 8;

const README: &str = "\
Strongroom export
=================

This archive holds everything Strongroom stores about one person, at the time of export.

export.json
  profile        the account: e-mail, name, roles, status, licence, dates
  groups         the groups the person belongs to, and their role in each
  login_history  every login attempt on the account, with the client address
  records        every record about the person, with all fields opened; `files` lists the
                 files attached to each, stored in this archive under files/<record id>/<name>
  changes_made   every change the person made to any record (what, when; not other
                 people's values)
  objects_owned  every record the person created (about themselves or someone else)
  privacy_log    every logged read, change or refusal concerning the person's data: who,
                 in which role, what, when (\"Deleted GDPR\" for people since forgotten)

files/
  the attached documents and recordings, decrypted, byte for byte as uploaded.

Times are RFC 3339 in UTC. Ids are UUIDs.
";

/// The export of one person: the zip as a stream of chunks.
pub struct Export {
    pub user: UserId,
    pub body: BoxStream<'static, Result<Bytes, std::io::Error>>,
}

/// A `Write` that hands full chunks to the async side (blocking while it is behind).
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::other("the export's reader went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

fn rfc3339(t: strongroom_domain::Timestamp) -> Value {
    t.format(&time::format_description::well_known::Rfc3339)
        .map_or(Value::Null, Value::String)
}

fn profile(u: &UserInfo) -> Value {
    json!({
        "id": u.id,
        "email": u.email.as_ref().map(|e| e.as_str().to_owned()),
        "name": u.name.as_ref().map(|n| n.as_str().to_owned()),
        "roles": u.roles.0.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "status": u.status,
        "license_expires_at": u.license_expires_at.map(rfc3339),
        "created_at": rfc3339(u.created_at),
        "updated_at": rfc3339(u.updated_at),
    })
}

fn write_zip(
    out: ChannelWriter,
    document: &[u8],
    streams: Vec<(String, BoxStream<'static, Result<Bytes, std::io::Error>>)>,
    handle: &tokio::runtime::Handle,
    at: zip::DateTime,
) -> Result<(), Box<dyn std::error::Error>> {
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(at)
        .large_file(true);
    let mut zip = zip::ZipWriter::new_stream(out);
    zip.start_file("README.txt", options)?;
    zip.write_all(README.as_bytes())?;
    zip.start_file("export.json", options)?;
    zip.write_all(document)?;
    for (path, mut stream) in streams {
        zip.start_file(path, options)?;
        while let Some(chunk) = handle.block_on(stream.next()) {
            zip.write_all(&chunk?)?;
        }
    }
    let mut out = zip.finish()?.into_inner();
    out.flush()?;
    Ok(())
}

/// A zip entry time (UTC; the format has no zone and counts from 1980).
fn zip_time(t: strongroom_domain::Timestamp) -> zip::DateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    u16::try_from(t.year())
        .ok()
        .and_then(|year| {
            zip::DateTime::from_date_and_time(
                year,
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
            )
            .ok()
        })
        .unwrap_or_default()
}

impl Services {
    /// `GET /me/export` (`user` = the caller) and `GET /users/{id}/export` (administrators).
    #[allow(
        clippy::too_many_lines,
        reason = "gathers the sections of one document in order; split, it would only pass them around"
    )]
    pub async fn export_user(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
        user: UserId,
    ) -> Result<Export, CoreError> {
        if user != p.user_id {
            // A refused export is logged like any refused look at someone's data.
            self.authorize_logged(p, Action::ExportUser, Some(user), "export")
                .await?;
        }
        // A forgotten person is no user any more (404, as `GET /users/{id}` answers): there is
        // nothing of theirs to export.
        let u = self.live_user(p, user).await?;
        let keys = self
            .tenant_keys_for(p.tenant_id, std::slice::from_ref(&u))
            .await?;
        let info = Self::open_user(&keys, u)?;
        let groups = self.store.memberships(p.tenant_id, user).await?;
        let logins = self.logins_of(p.tenant_id, user, None, u32::MAX).await?;

        // Records about the person, opened under their one key, with their files.
        let views = self.store.records_of_subject(p.tenant_id, user).await?;
        let subject_key = match views.first() {
            Some(v) => self.subject_key_of(v).await?,
            None => None,
        };
        let mut files_of: std::collections::HashMap<_, Vec<FileRow>> =
            std::collections::HashMap::new();
        for f in self.store.files_of_subject(p.tenant_id, user).await? {
            files_of.entry(f.record_id).or_default().push(f);
        }
        let mut records: Vec<(RecordInfo, Vec<FileRow>)> = Vec::new();
        for view in views {
            let fields = crate::records::parse_fields(&view.collection.fields)?;
            let (data, _) = Self::open_data(
                p.tenant_id,
                &view.collection,
                &fields,
                view.record.id,
                subject_key.as_ref(),
                &view.record.data,
            )?;
            let files = files_of.remove(&view.record.id).unwrap_or_default();
            records.push((Self::info(&view, data, Vec::new()), files));
        }
        let changes: Vec<HistoryInfo> = self
            .store
            .history_by_actor(p.tenant_id, user)
            .await?
            .into_iter()
            .map(|h| HistoryInfo {
                version: h.version,
                at: h.at,
                actor_id: h.actor_id,
                actor: info.name.as_ref().map_or_else(
                    || crate::tenancy::DELETED_NAME.to_owned(),
                    |n| n.as_str().to_owned(),
                ),
                action: h.action,
                fields: h.fields,
                before: None,
            })
            .collect();
        let owned: Vec<Value> = self
            .store
            .records_by_author(p.tenant_id, user)
            .await?
            .into_iter()
            .map(|v| {
                json!({
                    "id": v.record.id,
                    "collection": v.collection.name,
                    "subject_id": v.record.subject_id,
                    "created_at": rfc3339(v.record.created_at),
                })
            })
            .collect();
        let log = self
            .privacy_views(
                p.tenant_id,
                &PrivacyQuery {
                    subject: Some(user.0),
                    actor: None,
                    from: None,
                    to: None,
                    before: None,
                    limit: u32::MAX,
                },
                false,
            )
            .await?;

        let mut records_json = Vec::with_capacity(records.len());
        for (r, files) in &records {
            let mut v = serde_json::to_value(r).map_err(failed("a record does not serialise"))?;
            if let Value::Object(m) = &mut v {
                m.insert(
                    "files".into(),
                    files
                        .iter()
                        .map(|f| {
                            json!({
                                "name": f.name,
                                "content_type": f.content_type,
                                "size": f.size,
                                "created_at": rfc3339(f.created_at),
                                "path": format!("files/{}/{}", r.id.0, f.name),
                            })
                        })
                        .collect(),
                );
            }
            records_json.push(v);
        }
        let document = json!({
            "format": "strongroom-export-v1",
            "exported_at": rfc3339(self.clock.now()),
            "profile": profile(&info),
            "groups": groups.iter().map(|(g, r)| json!({"id": g, "role": r})).collect::<Vec<_>>(),
            "login_history": logins.iter().map(|l| json!({
                "at": rfc3339(l.at), "client": l.ip, "outcome": l.outcome,
            })).collect::<Vec<_>>(),
            "records": records_json,
            "changes_made": changes,
            "objects_owned": owned,
            "privacy_log": log.iter().map(|e| json!({
                "seq": e.seq, "at": rfc3339(e.at), "actor_id": e.actor_id, "actor": e.actor,
                "via": e.via, "object": e.object, "action": e.action, "fields": e.fields,
                "decision": e.decision.as_str(),
            })).collect::<Vec<_>>(),
        });
        let document = serde_json::to_vec_pretty(&document)
            .map_err(failed("the export document does not serialise"))?;

        // The files' plaintext streams, opened now (each checks its first segment).
        let mut streams = Vec::new();
        if let Some(key) = &subject_key {
            for (r, files) in &records {
                for f in files {
                    let stream = self
                        .open_file_stream(p.tenant_id, key, f, 0..f.size)
                        .await?;
                    streams.push((format!("files/{}/{}", r.id.0, f.name), stream));
                }
            }
        }
        drop(subject_key);

        let actor = Self::actor(p);
        self.log_access(
            &actor,
            client,
            if user == p.user_id {
                "subject"
            } else {
                "administrator"
            },
            Some(user),
            (EXPORT_OBJECT, Some(user.0)),
            "export",
            vec!["all".into()],
            strongroom_domain::Decision::Allow,
        )
        .await?;

        let (tx, mut rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        let handle = tokio::runtime::Handle::current();
        // Every entry carries the time of the export (not the zip format's 1980 default).
        let at = zip_time(self.clock.now());
        tokio::task::spawn_blocking(move || {
            let out = ChannelWriter {
                tx: tx.clone(),
                buf: Vec::with_capacity(CHUNK),
            };
            if let Err(e) = write_zip(out, &document, streams, &handle, at) {
                tracing::warn!(error = %e, "export stopped");
                let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
            }
        });
        let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed();
        Ok(Export { user, body })
    }
}
