// The "test client" of the OAuth tests: the vendor's app registered with the CLI, a PKCE pair,
// the app's redirect endpoint (a loopback HTTP server on a port of its own, as RFC 8252 lets a
// native app pick), the authorization URL, and the token endpoint's exchange.

import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';

const b64url = (buf) => buf.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** A PKCE pair (RFC 7636): a 43-character verifier from 32 random bytes, its S256 challenge. */
export function pkce() {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier, 'ascii').digest());
  return { verifier, challenge };
}

/** A random `state` for one authorization request. */
export const newState = () => b64url(randomBytes(12));

/**
 * `strongroom app add` on the server's data folder: the vendor's app with the loopback
 * redirect URI `http://127.0.0.1/callback` (any port at the authorization). Returns the CLI's
 * JSON (`id`, `client_id`, `name`, `redirect_uris`).
 */
export async function registerApp(server, name = 'Vendor app', redirectUri = 'http://127.0.0.1/callback') {
  const out = await server.cli(['app', 'add', '--name', name, '--redirect-uri', redirectUri]);
  const app = JSON.parse(out.trim().split('\n').pop());
  if (!app.client_id) throw new Error(`strongroom app add printed no client_id: ${out}`);
  return app;
}

/**
 * The app's redirect endpoint: an HTTP server on a free loopback port that answers every
 * request with a small page and records it (path and query). `callback` is the URI to send.
 */
export async function startAppServer() {
  const requests = [];
  const srv = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    requests.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams) });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    // An icon of its own, so that the browser asks this server for nothing but the callback.
    res.end('<!doctype html><html lang="en"><link rel="icon" href="data:,"><title>Vendor app</title><main><h1>Back in the app</h1></main></html>');
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${srv.address().port}`;
  return {
    base,
    callback: `${base}/callback`,
    requests,
    close: () => new Promise((r) => srv.close(r)),
  };
}

/** `/oauth/authorize?…` of `base` for an app, a redirect URI, a PKCE challenge and a state. */
export function authorizeUrl(base, { clientId, redirectUri, challenge, state, method = 'S256' }) {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: method,
  });
  if (state !== undefined) q.set('state', state);
  return `${base}/oauth/authorize?${q}`;
}

/** `POST /oauth/token` with a form; the status and the JSON answer. */
export async function tokenRequest(base, fields) {
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** The authorization code grant with PKCE (a public client: `client_id`, no secret). */
export function exchangeCode(base, { code, clientId, redirectUri, verifier }) {
  return tokenRequest(base, {
    grant_type: 'authorization_code',
    code,
    client_id: clientId,
    redirect_uri: redirectUri,
    code_verifier: verifier,
  });
}
