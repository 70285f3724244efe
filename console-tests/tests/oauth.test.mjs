// OAuth 2.1 (authorization code with PKCE) in the browser, with node as the vendor's app: the
// app is registered with the CLI, its redirect endpoint is a loopback server on a port of its
// own, Chromium walks from the authorization request through the sign-in and the consent page
// back to it, and the app exchanges the code at the token endpoint and calls the API. Then
// what is refused: a spent code (which ends its tokens), a wrong verifier, a redirect URI not
// registered (a Strongroom page; nothing reaches the app); consent once; "Connected apps" and
// Disconnect; and all of it without JavaScript.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, submit, follow } from '../lib/harness.mjs';
import { pkce, newState, registerApp, startAppServer, authorizeUrl, exchangeCode, tokenRequest } from '../lib/oauth.mjs';

const CONSENT_TITLE = 'Allow an app to use your account';
const BAD_REQUEST = 'This sign-in request cannot be answered: ';

let server;
let browser;
let app; // the CLI's answer: client_id, id
let client; // the app's redirect endpoint
let alice; // participant1's browser, signed in by the first test and kept
let first; // the first exchange: { code, redirectUri, verifier, access, refresh }

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  app = await registerApp(server, 'Vendor app', 'http://127.0.0.1/callback');
  client = await startAppServer();
}, { timeout: 120_000 });

after(async () => {
  await browser?.close();
  await client?.close();
  await server?.stop();
}, { timeout: 30_000 });

/** A fresh authorization request of the app: its PKCE pair, state and URL. */
function request({ redirectUri = client.callback } = {}) {
  const { verifier, challenge } = pkce();
  const state = newState();
  const url = authorizeUrl(server.base, { clientId: app.client_id, redirectUri, challenge, state });
  return { verifier, challenge, state, redirectUri, url };
}

/** The callbacks the app received (every request its server saw, in order). */
const callbacks = () => client.requests.filter((r) => r.path === '/callback');

/** Fills the sign-in form the browser was sent to and submits it. */
async function signInHere(page, u) {
  assert.equal(new URL(page.url()).pathname, '/console/login');
  await page.fill('#f-tenant', u.tenant);
  await page.fill('#f-email', u.email);
  await page.fill('#f-password', u.password);
  return submit(page, page.getByRole('button', { name: 'Sign in' }));
}

/** The browser is at the app's callback: the query it carried (and the app got the same). */
function atCallback(page, before) {
  const url = new URL(page.url());
  assert.equal(`${url.origin}${url.pathname}`, client.callback, `the browser is back at the app (${page.url()})`);
  const got = callbacks();
  assert.equal(got.length, before + 1, 'the app received one callback');
  assert.deepEqual(got.at(-1).query, Object.fromEntries(url.searchParams));
  return got.at(-1).query;
}

const me = (token) => server.api.call('GET', '/me', { token });

test('signed out: sign-in, the consent page names the app, Allow, back at the app with a code; the code gives the participant\'s tokens', async () => {
  const u = server.user('demo', 'participant1');
  const r = request();
  alice = await newPage(browser);
  const { page } = alice;

  await page.goto(r.url);
  const login = new URL(page.url());
  assert.equal(login.pathname, '/console/login', 'a signed-out visitor is sent to sign in first');
  assert.ok(login.searchParams.get('next')?.startsWith('/oauth/authorize?'), `and comes back: next=${login.searchParams.get('next')}`);

  const consent = await signInHere(page, u);
  assert.equal(consent.status(), 200);
  assert.equal(new URL(page.url()).pathname, '/oauth/authorize');
  await page.getByRole('heading', { level: 1, name: CONSENT_TITLE, exact: true }).waitFor();
  const main = page.locator('main');
  assert.equal(await main.locator('strong').first().innerText(), 'Vendor app', 'the page names the app');
  assert.match(await main.innerText(), /Vendor app wants to use your account/);
  assert.equal(await page.getByRole('button', { name: 'Do not allow' }).count(), 1);
  assert.equal(client.requests.length, 0, 'nothing reached the app before the person allowed it');

  await submit(page, page.getByRole('button', { name: 'Allow', exact: true }));
  const q = atCallback(page, 0);
  assert.equal(q.state, r.state, 'the same state');
  assert.ok(q.code, 'a code');
  assert.equal(q.error, undefined);

  const t = await exchangeCode(server.base, { code: q.code, clientId: app.client_id, redirectUri: r.redirectUri, verifier: r.verifier });
  assert.equal(t.status, 200, t.text);
  assert.equal(t.headers.get('cache-control'), 'no-store');
  assert.match(t.json.access_token, /^sra_/);
  assert.match(t.json.refresh_token, /^srr_/);
  const who = await me(t.json.access_token);
  assert.equal(who.status, 200, who.text);
  assert.equal(who.json.email, u.email, 'the token is the participant\'s');
  first = { code: q.code, redirectUri: r.redirectUri, verifier: r.verifier, access: t.json.access_token, refresh: t.json.refresh_token };
});

test('the same code again is refused (invalid_grant), and the tokens of its first exchange stop working', async () => {
  assert.ok(first, 'the first test exchanged a code');
  const again = await exchangeCode(server.base, { code: first.code, clientId: app.client_id, redirectUri: first.redirectUri, verifier: first.verifier });
  assert.equal(again.status, 400, again.text);
  assert.equal(again.json.error, 'invalid_grant');
  assert.equal((await me(first.access)).status, 401, 'the access token from the first exchange is revoked');
  const refresh = await tokenRequest(server.base, { grant_type: 'refresh_token', refresh_token: first.refresh });
  assert.equal(refresh.json?.error, 'invalid_grant', `so is its refresh token: ${refresh.text}`);
});

test('consent is given once: the next authorization goes straight back with a code; a wrong verifier spends it for nothing', async () => {
  const { page } = alice;
  const r = request();
  const n = callbacks().length;
  const seen = [];
  const onResponse = (res) => seen.push(new URL(res.url()).pathname);
  page.on('response', onResponse);
  await page.goto(r.url);
  page.off('response', onResponse);
  const q = atCallback(page, n);
  assert.equal(q.state, r.state);
  assert.ok(q.code);
  assert.deepEqual(seen.filter((p) => p !== '/favicon.ico'), ['/oauth/authorize', '/callback'], 'no sign-in and no consent page on the way');

  const wrong = pkce().verifier;
  assert.notEqual(wrong, r.verifier);
  const bad = await exchangeCode(server.base, { code: q.code, clientId: app.client_id, redirectUri: r.redirectUri, verifier: wrong });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.json.error, 'invalid_grant');
  const late = await exchangeCode(server.base, { code: q.code, clientId: app.client_id, redirectUri: r.redirectUri, verifier: r.verifier });
  assert.equal(late.json.error, 'invalid_grant', 'the right verifier comes too late: the code is spent');

  // A code is bound to its redirect URI: the same loopback path on another port is refused.
  const r2 = request();
  await page.goto(r2.url);
  const q2 = atCallback(page, n + 1);
  const other = await exchangeCode(server.base, {
    code: q2.code, clientId: app.client_id, redirectUri: 'http://127.0.0.1:1/callback', verifier: r2.verifier,
  });
  assert.equal(other.json.error, 'invalid_grant', other.text);
});

test('a redirect URI that is not registered gets a Strongroom error page (400); nothing reaches the app', async () => {
  const port = new URL(client.base).port;
  const bad = [
    'https://evil.example/callback',
    `http://127.0.0.1:${port}/elsewhere`,
    `http://localhost:${port}/callback`,
  ];
  const n = client.requests.length;
  // Signed in with consent given (a registered URI would go straight back with a code), and
  // signed out.
  const stranger = await newPage(browser);
  for (const [who, page] of [['signed in', alice.page], ['signed out', stranger.page]]) {
    for (const redirectUri of bad) {
      const r = request({ redirectUri });
      const res = await page.goto(r.url);
      const url = new URL(page.url());
      assert.equal(res.status(), 400, `${who}, ${redirectUri}`);
      assert.equal(`${url.origin}${url.pathname}`, `${server.base}/oauth/authorize`, `${who}, ${redirectUri}: the browser stays on Strongroom`);
      assert.equal(res.headers().location, undefined);
      const alert = (await page.locator('main [role="alert"]').innerText()).trim();
      assert.ok(alert.startsWith(BAD_REQUEST) && alert.includes('redirect_uri'), `${who}, ${redirectUri}: "${alert}"`);
    }
  }
  // An app that does not exist: the same.
  const res = await stranger.page.goto(authorizeUrl(server.base, {
    clientId: 'sri_AAAAAAAAAAAAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAA', redirectUri: client.callback, challenge: pkce().challenge, state: 'x',
  }));
  assert.equal(res.status(), 400);
  assert.equal(new URL(stranger.page.url()).origin, server.base);
  assert.deepEqual(client.requests.slice(n), [], 'the app\'s server received nothing');
  await stranger.context.close();
});

test('without PKCE the browser goes back to the app with invalid_request and its state', async () => {
  const n = callbacks().length;
  const url = new URL(request().url);
  url.searchParams.delete('code_challenge');
  url.searchParams.delete('code_challenge_method');
  const state = url.searchParams.get('state');
  await alice.page.goto(url.toString());
  const q = atCallback(alice.page, n);
  assert.equal(q.error, 'invalid_request');
  assert.equal(q.state, state);
  assert.equal(q.code, undefined);
});

test('a person who consented before signs in and the browser goes on to the app (the sign-in page lets its form lead there)', async () => {
  const u = server.user('demo', 'participant1');
  const { context, page } = await newPage(browser);
  const r = request();
  const n = callbacks().length;
  await page.goto(r.url);
  await signInHere(page, u);
  const q = atCallback(page, n);
  assert.equal(q.state, r.state);
  const t = await exchangeCode(server.base, { code: q.code, clientId: app.client_id, redirectUri: r.redirectUri, verifier: r.verifier });
  assert.equal(t.status, 200, t.text);
  await context.close();
});

test('"Do not allow": back at the app with access_denied, and no app is connected', async () => {
  const u = server.user('demo', 'participant2');
  const { context, page } = await newPage(browser);
  const r = request();
  const n = callbacks().length;
  await page.goto(r.url);
  await signInHere(page, u);
  await page.getByRole('heading', { level: 1, name: CONSENT_TITLE, exact: true }).waitFor();
  await submit(page, page.getByRole('button', { name: 'Do not allow' }));
  const q = atCallback(page, n);
  assert.equal(q.error, 'access_denied');
  assert.equal(q.state, r.state);
  assert.equal(q.code, undefined);
  await page.goto(`${server.base}/console/apps`);
  await page.getByText('No app is connected to your account.').waitFor();
  await context.close();
});

test('"Connected apps" lists the app; Disconnect ends its tokens; the next authorization asks consent again', async () => {
  const { page } = alice;
  // Tokens of the app for the participant, as it holds them now.
  const r = request();
  const n = callbacks().length;
  await page.goto(r.url);
  const q = atCallback(page, n);
  const t = await exchangeCode(server.base, { code: q.code, clientId: app.client_id, redirectUri: r.redirectUri, verifier: r.verifier });
  assert.equal(t.status, 200, t.text);
  assert.equal((await me(t.json.access_token)).status, 200);

  await page.goto(`${server.base}/console/`);
  await follow(page, page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connected apps' }), '/console/apps', 'Connected apps');
  const rows = page.locator('main table tbody tr');
  assert.equal(await rows.count(), 1, 'one connected app');
  const cells = await rows.first().locator('td').allInnerTexts();
  assert.equal(cells[0], 'Vendor app');
  assert.ok(cells[1].trim().length > 0, 'since when');

  const res = await submit(page, rows.first().getByRole('button', { name: 'Disconnect: Vendor app' }));
  assert.equal(res.status(), 200);
  const after = new URL(page.url());
  assert.equal(after.pathname, '/console/apps');
  await page.getByText('The app is disconnected; its sessions have ended.').waitFor();
  await page.getByText('No app is connected to your account.').waitFor();

  assert.equal((await me(t.json.access_token)).status, 401, 'the app\'s access token no longer works');
  const refresh = await tokenRequest(server.base, { grant_type: 'refresh_token', refresh_token: t.json.refresh_token });
  assert.equal(refresh.json?.error, 'invalid_grant', `nor its refresh token: ${refresh.text}`);

  const again = request();
  const m = callbacks().length;
  const consent = await page.goto(again.url);
  assert.equal(consent.status(), 200);
  assert.equal(new URL(page.url()).pathname, '/oauth/authorize');
  await page.getByRole('heading', { level: 1, name: CONSENT_TITLE, exact: true }).waitFor();
  assert.equal(callbacks().length, m, 'no code without consent');
  await alice.context.close();
});

test('without JavaScript: sign-in, consent, back at the app, Connected apps and Disconnect all work', async () => {
  const u = server.user('demo', 'participant2');
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, javaScriptEnabled: false });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const r = request();
  const n = callbacks().length;
  await page.goto(r.url);
  await signInHere(page, u);
  await page.getByRole('heading', { level: 1, name: CONSENT_TITLE, exact: true }).waitFor();
  await submit(page, page.getByRole('button', { name: 'Allow', exact: true }));
  const q = atCallback(page, n);
  assert.equal(q.state, r.state);
  const t = await exchangeCode(server.base, { code: q.code, clientId: app.client_id, redirectUri: r.redirectUri, verifier: r.verifier });
  assert.equal(t.status, 200, t.text);

  await page.goto(`${server.base}/console/`);
  await submit(page, page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Connected apps' }));
  assert.equal(new URL(page.url()).pathname, '/console/apps');
  await submit(page, page.getByRole('button', { name: 'Disconnect: Vendor app' }));
  await page.getByText('The app is disconnected; its sessions have ended.').waitFor();
  assert.equal((await me(t.json.access_token)).status, 401);
  await context.close();
});
