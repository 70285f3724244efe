//! A small HTTP client for the API, with the answer's status, headers and JSON at hand.

use serde_json::Value;

#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
    pub json: Value,
}

impl Resp {
    /// The path of the next page, from `Link: <…>; rel="next"` (RFC 8288); `None` on the last.
    pub fn next_page(&self) -> Option<String> {
        let link = self.headers.get("link")?.to_str().ok()?;
        let (target, rel) = link.split_once(';')?;
        (rel.trim() == "rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    }

    /// Asserts a problem+json answer with this status and code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.body
        );
        assert_eq!(self.json["code"], code, "{}", self.body);
        assert_eq!(self.json["status"], status, "{}", self.body);
        assert!(
            self.json["title"].is_string()
                && self.json["type"].is_string()
                && self.json["detail"].is_string(),
            "{}",
            self.body
        );
    }
}

impl Client {
    pub fn new(base: &str) -> Self {
        strongroom::tls::install_provider();
        Self {
            base: base.to_owned(),
            http: reqwest::Client::new(),
            token: None,
        }
    }

    pub fn with_token(&self, token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let r = req.send().await.expect("request sent");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = r.text().await.expect("body read");
        let json = serde_json::from_str(&body).unwrap_or(Value::Null);
        Resp {
            status,
            content_type,
            headers,
            body,
            json,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn raw(&self) -> &reqwest::Client {
        &self.http
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.http.get(self.url(path))).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(self.http.delete(self.url(path))).await
    }
    /// `POST /oauth/token` with a form body (`application/x-www-form-urlencoded`), as OAuth
    /// clients send it; `basic` authenticates the client by HTTP Basic instead of the form.
    pub async fn oauth_token(&self, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> Resp {
        let body = form
            .iter()
            .map(|(k, v)| format!("{k}={}", percent(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut req = self
            .http
            .post(self.url("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        self.send(req).await
    }

    /// A client holding an integration client's token (client credentials, all its scopes).
    pub async fn as_integration(&self, client_id: &str, secret: &str) -> Client {
        let r = self
            .oauth_token(
                &[("grant_type", "client_credentials")],
                Some((client_id, secret)),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        Client {
            token: None,
            ..self.clone()
        }
        .with_token(r.json["access_token"].as_str().unwrap())
    }

    /// DELETE with a JSON body (`DELETE /me/totp {"code"}`).
    pub async fn delete_json(&self, path: &str, body: &Value) -> Resp {
        self.send(self.http.delete(self.url(path)).json(body)).await
    }
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(self.http.post(self.url(path)).json(body)).await
    }
    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(self.http.put(self.url(path)).json(body)).await
    }
    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send(self.http.patch(self.url(path)).json(body)).await
    }

    /// Uploads raw bytes (a file) with a content type.
    pub async fn put_bytes(&self, path: &str, content_type: &str, bytes: Vec<u8>) -> Resp {
        self.send(
            self.http
                .put(self.url(path))
                .header("content-type", content_type)
                .body(bytes),
        )
        .await
    }

    /// Downloads raw bytes, optionally a `Range`; (status, headers, body). A body that breaks
    /// off (a stream ended with an error) is an `Err` with what arrived.
    pub async fn get_bytes(
        &self,
        path: &str,
        range: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Result<Vec<u8>, String>) {
        let mut req = self.http.get(self.url(path));
        if let Some(r) = range {
            req = req.header("range", r);
        }
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        // A response that breaks off before its head is complete counts as status 0.
        let r = match req.send().await {
            Ok(r) => r,
            Err(e) => return (0, reqwest::header::HeaderMap::new(), Err(e.to_string())),
        };
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r
            .bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| e.to_string());
        (status, headers, body)
    }

    pub async fn login(&self, tenant: &str, email: &str, password: &str) -> Resp {
        self.post(
            "/api/v1/auth/login",
            &serde_json::json!({"tenant": tenant, "email": email, "password": password}),
        )
        .await
    }

    /// Logs in and returns a client carrying the access token, and the refresh token.
    pub async fn logged_in(&self, tenant: &str, email: &str, password: &str) -> (Client, String) {
        let r = self.login(tenant, email, password).await;
        assert_eq!(r.status, 200, "login: {}", r.body);
        (
            self.with_token(r.json["access_token"].as_str().unwrap()),
            r.json["refresh_token"].as_str().unwrap().to_owned(),
        )
    }
}

/// Form-encodes a value (RFC 3986 unreserved characters stay as they are).
fn percent(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
