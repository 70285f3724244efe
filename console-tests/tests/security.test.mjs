// The console's defences in a real browser: CSRF tokens, SameSite cookies against another
// site, the Content-Security-Policy against inline script, framing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, launchBrowser, newPage, signIn, signInOk, submit, poll } from '../lib/harness.mjs';

const CSRF_FAILED = 'This form has expired or did not come from this site. Go back, reload the page and send it again.';
const CROSS_SITE = 'A form from another site cannot act on your account.';

let server;
let browser;
let attacker; // another site: http://localhost:<port> (the console is on http://127.0.0.1)
let attackerBase;
const attackerPages = new Map();

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  attacker = http.createServer((req, res) => {
    const body = attackerPages.get(new URL(req.url, 'http://x').pathname);
    res.writeHead(body ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body ?? 'not found');
  });
  await new Promise((r) => attacker.listen(0, '127.0.0.1', r));
  attackerBase = `http://localhost:${attacker.address().port}`;
}, { timeout: 120_000 });

after(async () => {
  await browser?.close();
  await new Promise((r) => (attacker ? attacker.close(r) : r()));
  await server?.stop();
}, { timeout: 30_000 });

const esc = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

test('a form sent without its CSRF field is refused (403) and changes nothing', async () => {
  const u = server.user('demo', 'participant1');
  const { context, page } = await newPage(browser);
  await signInOk(page, server.base, u);
  await page.goto(`${server.base}/console/security`);
  const form = page.locator('form[action="/console/password"]');
  await form.getByLabel('Current password').fill(u.password);
  await form.getByLabel('New password').fill('a-new-Password-123');
  // Take the hidden field out, as a forged form would lack it.
  assert.equal(await form.locator('input[name="csrf"]').count(), 1, 'the form carries a CSRF field');
  await form.locator('input[name="csrf"]').evaluate((el) => el.remove());
  const res = await submit(page, form.getByRole('button', { name: 'Change password' }));
  assert.equal(res.status(), 403);
  await page.getByRole('alert').filter({ hasText: CSRF_FAILED }).waitFor();
  // The password is unchanged.
  await server.api.login(u);

  // A wrong token is refused the same way.
  await page.goto(`${server.base}/console/security`);
  await form.getByLabel('Current password').fill(u.password);
  await form.getByLabel('New password').fill('a-new-Password-123');
  await form.locator('input[name="csrf"]').evaluate((el) => { el.value = 'A'.repeat(43); });
  const wrong = await submit(page, form.getByRole('button', { name: 'Change password' }));
  assert.equal(wrong.status(), 403);
  await server.api.login(u);
  await context.close();
});

test('the sign-in form without its CSRF field is refused too', async () => {
  const u = server.user('demo', 'coach');
  const { context, page } = await newPage(browser);
  await page.goto(`${server.base}/console/login`);
  await page.fill('#f-tenant', u.tenant);
  await page.fill('#f-email', u.email);
  await page.fill('#f-password', u.password);
  await page.locator('form[action="/console/login"] input[name="csrf"]').evaluate((el) => el.remove());
  const res = await submit(page, page.getByRole('button', { name: 'Sign in' }));
  assert.equal(res.status(), 403);
  await page.getByRole('alert').filter({ hasText: CSRF_FAILED }).waitFor();
  assert.equal((await context.cookies()).some((c) => c.name === '__Host-strongroom'), false, 'no session');
  await context.close();
});

test('a page of another site cannot use the session: navigations arrive signed out, forms are refused', async () => {
  const u = server.user('demo', 'participant2');
  const { context, page } = await newPage(browser);
  await signInOk(page, server.base, u);
  assert.equal(new URL(page.url()).pathname, '/console/');
  const csrf = await page.locator('input[name="csrf"]').first().inputValue();

  attackerPages.set(
    '/link',
    `<!doctype html><title>elsewhere</title><a id="go" href="${server.base}/console/security">your security settings</a>`,
  );
  // A forged "forget me" with the right password and even the right CSRF token (as if leaked):
  // only the browser's SameSite cookies and the server's cross-site check stand in the way.
  attackerPages.set(
    '/forge',
    `<!doctype html><title>win a prize</title>
     <form method="post" action="${server.base}/console/forget">
       <input type="hidden" name="csrf" value="${esc(csrf)}">
       <input type="hidden" name="password" value="${esc(u.password)}">
       <input type="hidden" name="confirm" value="FORGET ME">
       <button id="go">Claim</button>
     </form>`,
  );

  // A link from the other site: the Strict session cookie stays behind, so the console
  // answers as to a signed-out visitor.
  await page.goto(`${attackerBase}/link`);
  await submit(page, page.locator('#go'));
  const landed = new URL(page.url());
  assert.equal(landed.origin, server.base);
  assert.equal(landed.pathname, '/console/login', 'sent to the sign-in: no session came along');
  assert.equal(landed.searchParams.get('next'), '/console/security');

  // The same browser, on the console itself, is still signed in.
  await page.goto(`${server.base}/console/security`);
  assert.equal(new URL(page.url()).pathname, '/console/security');

  // The forged form is refused, and the person is not forgotten.
  await page.goto(`${attackerBase}/forge`);
  const res = await submit(page, page.locator('#go'));
  assert.equal(res.status(), 403);
  await page.getByRole('alert').filter({ hasText: CROSS_SITE }).waitFor();
  await server.api.login(u);
  await page.goto(`${server.base}/console/`);
  assert.equal(new URL(page.url()).pathname, '/console/', 'the session still works');
  await context.close();
});

test('the console cannot be framed by another site', async () => {
  attackerPages.set('/frame', `<!doctype html><title>frame</title><iframe id="f" src="${server.base}/console/login"></iframe>`);
  const { context, page } = await newPage(browser);
  const framed = page.waitForResponse((r) => r.url().startsWith(`${server.base}/console/login`));
  await page.goto(`${attackerBase}/frame`);
  const res = await framed;
  assert.match(res.headers()['content-security-policy'] ?? '', /frame-ancestors 'none'/);
  assert.equal(res.headers()['x-frame-options'], 'DENY');
  const frame = page.frames().find((f) => f !== page.mainFrame());
  assert.ok(frame, 'the iframe exists');
  // Blocked: the frame shows the browser's error page, not the sign-in form.
  const signInInFrame = await frame.locator('#f-password').count().catch(() => 0);
  assert.equal(signInInFrame, 0, 'the sign-in form is not shown inside another site');
  await context.close();
});

test('the Content-Security-Policy refuses inline script; the console\'s own script runs', async () => {
  const u = server.user('demo', 'coach');
  const { context, page } = await newPage(browser);
  const res = await signInOk(page, server.base, u);
  const csp = res.headers()['content-security-policy'] ?? '';
  const scriptSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src'));
  assert.equal(scriptSrc, "script-src 'self'");
  assert.equal(csp.includes('unsafe-inline'), false);

  // The vendored htmx (a script from the console's own origin) is allowed and ran.
  await page.waitForFunction(() => typeof window.htmx === 'object');

  const violations = [];
  await page.exposeFunction('reportViolation', (v) => violations.push(v));
  await page.evaluate(() => {
    document.addEventListener('securitypolicyviolation', (e) =>
      window.reportViolation({ directive: e.violatedDirective, blocked: e.blockedURI }));
  });
  let threw = null;
  try {
    await page.addScriptTag({ content: 'window.__inlineRan = true;' });
  } catch (e) {
    threw = e;
  }
  assert.ok(threw, 'adding an inline script fails');
  // An inline event handler is refused too.
  await page.evaluate(() => {
    const b = document.createElement('button');
    b.id = 'inline-handler';
    b.setAttribute('onclick', 'window.__handlerRan = true');
    document.body.append(b);
  });
  await page.locator('#inline-handler').click();
  const ran = await page.evaluate(() => ({ script: window.__inlineRan === true, handler: window.__handlerRan === true }));
  assert.deepEqual(ran, { script: false, handler: false }, 'neither inline script ran');
  // The script and the handler each fire a securitypolicyviolation event.
  await poll('two securitypolicyviolation events', () => violations.length >= 2, { timeout: 5000 });
  assert.ok(violations.every((v) => v.directive.startsWith('script-src')), JSON.stringify(violations));
  await context.close();
});
