// Sign-in in the browser: the same answer for a wrong password and an unknown e-mail, the
// lockout on the third wrong password and its way out (forgot → mail → reset), the second
// factor, and the way back to the page asked for.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newPage, signIn, signInOk, submit, enrolTotp, totp, stepOf, poll, hotp,
} from '../lib/harness.mjs';

const WRONG = 'The e-mail address or the password is wrong.';
const BLOCKED =
  'This account is blocked after too many wrong passwords: its password no longer works, not even the right one. To reopen it, choose a new password with \u201cForgot your password?\u201d.';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
}, { timeout: 120_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
}, { timeout: 30_000 });

async function alertOf(page) {
  return (await page.locator('main [role="alert"]').innerText()).trim();
}

test('the TOTP helper computes RFC 6238 codes', () => {
  // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", truncated to 6 digits.
  const key = Buffer.from('12345678901234567890');
  assert.equal(hotp(key, Math.floor(59 / 30), 8), '94287082');
  assert.equal(hotp(key, Math.floor(1111111109 / 30), 8), '07081804');
  assert.equal(hotp(key, Math.floor(2000000000 / 30), 8), '69279037');
  // The same secret in base32, 6 digits.
  assert.equal(totp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', Math.floor(1234567890 / 30)), '005924');
});

test('a wrong password and an unknown e-mail get the same answer', async () => {
  const u = server.user('demo', 'participant2');
  const { context, page } = await newPage(browser);

  const wrong = await signIn(page, server.base, { ...u, password: `${u.password}x` });
  assert.equal(wrong.status(), 401);
  assert.equal(new URL(page.url()).pathname, '/console/login');
  const wrongText = await alertOf(page);
  assert.equal(wrongText, WRONG);

  const unknown = await signIn(page, server.base, { ...u, email: 'nobody-here@demo.example' });
  assert.equal(unknown.status(), 401);
  assert.equal(await alertOf(page), wrongText, 'same message for an unknown e-mail');
  assert.equal(await page.locator('#f-email').inputValue(), 'nobody-here@demo.example', 'the e-mail stays filled in');
  assert.equal(await page.locator('#f-password').inputValue(), '', 'the password does not');

  // The right password still works: one wrong attempt does not block.
  const ok = await signIn(page, server.base, u);
  assert.equal(ok.status(), 200);
  assert.equal(new URL(page.url()).pathname, '/console/');
  await context.close();
});

test('the third wrong password in a row blocks the account; a reset by mail reopens it', async () => {
  const u = server.user('other', 'participant1');
  const { context, page } = await newPage(browser);
  const bad = { ...u, password: 'not-the-password-1' };
  for (const n of [1, 2]) {
    const r = await signIn(page, server.base, bad);
    assert.equal(r.status(), 401, `attempt ${n}`);
    assert.equal(await alertOf(page), WRONG, `attempt ${n}`);
  }
  const third = await signIn(page, server.base, bad);
  assert.equal(third.status(), 423, 'the third wrong password blocks');
  assert.equal(await alertOf(page), BLOCKED);
  assert.match(await alertOf(page), /Forgot your password\?/, 'it tells how to reopen the account');

  // Even the right password is refused now, in the console and in the API.
  const right = await signIn(page, server.base, u);
  assert.equal(right.status(), 423);
  assert.equal(await alertOf(page), BLOCKED);
  const api = await server.api.call('POST', '/auth/login', { body: { tenant: u.tenant, email: u.email, password: u.password } });
  assert.equal(api.status, 423);

  // The way out the message names: "Forgot your password?" → the mail → a new password.
  await submit(page, page.getByRole('link', { name: 'Forgot your password?' }));
  assert.equal(new URL(page.url()).pathname, '/console/forgot');
  await page.getByLabel('Organisation (tenant)').fill(u.tenant);
  await page.getByLabel('E-mail address').fill(u.email);
  await submit(page, page.getByRole('button', { name: 'Send me a reset link' }));
  await page.getByRole('status').filter({ hasText: 'If the address belongs to an account' }).waitFor();
  const mail = await poll('the reset mail in the outbox', async () => {
    const m = (await server.mails(u.email)).find((x) => /reset/i.test(x.subject));
    return m;
  });
  const token = mail.body.match(/\bsrp_[A-Za-z0-9_-]+/)?.[0];
  assert.ok(token, 'the mail carries a reset token');
  await page.getByLabel('Reset code from the mail').fill(token);
  const fresh = 'reopened-Account-2026';
  await page.getByLabel('New password').fill(fresh);
  const reset = await submit(page, page.getByRole('button', { name: 'Choose a new password' }));
  assert.equal(reset.status(), 200);
  await page.getByText('Your password is changed and the account is open again.').waitFor();

  const back = await signIn(page, server.base, { ...u, password: fresh });
  assert.equal(back.status(), 200);
  assert.equal(new URL(page.url()).pathname, '/console/');
  await context.close();
});

test('a user with a second factor is asked for the code and signs in with it', async () => {
  const u = server.user('other', 'coach');
  const token = await server.api.login(u);
  const { secret } = await enrolTotp(server.api, token);
  // The API now wants the code too.
  const noCode = await server.api.call('POST', '/auth/login', { body: { tenant: u.tenant, email: u.email, password: u.password } });
  assert.equal(noCode.status, 401);
  assert.equal(noCode.json.code, 'totp_required');

  const { context, page } = await newPage(browser);
  const first = await signIn(page, server.base, u);
  assert.equal(first.status(), 401);
  assert.equal(new URL(page.url()).pathname, '/console/login');
  assert.equal(
    await alertOf(page),
    'This account has a second factor: enter the code from your authenticator app, with your password again.',
  );
  // The code field is now shown outright (not folded away in a <details>).
  const field = page.locator('#f-totp');
  assert.ok(await field.isVisible(), 'the code field is visible');
  assert.equal(await page.locator('details #f-totp').count(), 0);

  // A wrong code is a wrong credential.
  await page.fill('#f-password', u.password);
  const code = totp(secret, stepOf());
  await field.fill(code === '000000' ? '111111' : '000000');
  const wrong = await submit(page, page.getByRole('button', { name: 'Sign in' }));
  assert.equal(wrong.status(), 401);
  assert.equal(await alertOf(page), WRONG);

  await page.fill('#f-password', u.password);
  await page.fill('#f-totp', code);
  const ok = await submit(page, page.getByRole('button', { name: 'Sign in' }));
  assert.equal(ok.status(), 200);
  assert.equal(new URL(page.url()).pathname, '/console/');
  await page.getByRole('heading', { level: 1, name: 'My privacy centre' }).waitFor();
  assert.match(await page.locator('header form.signout').innerText(), /Signed in as/);
  await context.close();
});

test('a signed-out visitor is sent to the sign-in and comes back to the page asked for', async () => {
  const u = server.user('demo', 'coach');
  const { context, page } = await newPage(browser);
  await page.goto(`${server.base}/console/logins`);
  const url = new URL(page.url());
  assert.equal(url.pathname, '/console/login');
  assert.equal(url.searchParams.get('next'), '/console/logins');
  await page.fill('#f-tenant', u.tenant);
  await page.fill('#f-email', u.email);
  await page.fill('#f-password', u.password);
  await submit(page, page.getByRole('button', { name: 'Sign in' }));
  assert.equal(new URL(page.url()).pathname, '/console/logins');
  await page.getByRole('heading', { level: 1, name: 'My logins' }).waitFor();
  // The sign-in just made is listed.
  assert.ok((await page.locator('main tbody tr').count()) >= 1);
  // The session cookie is what the contract says.
  const cookie = (await context.cookies()).find((c) => c.name === '__Host-strongroom');
  assert.ok(cookie, 'a __Host-strongroom cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.path, '/');
  await context.close();
});
