// Accessibility: an axe-core scan of every console page (and of the states that add to a
// page: an error, a notice, an enrolment) finds no violation of impact serious or critical;
// and no id is used twice on a page (what ties a label to its field). A violation is reported
// with the rule, its help page and every element it concerns.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import AxeBuilder from '@axe-core/playwright';
import { startServer, launchBrowser, newPage, signIn, signInOk, submit } from '../lib/harness.mjs';
import {
  adminSession, ensureRecordings, coachReadsRecording, newParticipant, scheduleDeletion, supportRequest,
} from '../lib/scenario.mjs';
import { pkce, registerApp, startAppServer, authorizeUrl } from '../lib/oauth.mjs';

let server;
let browser;
let s;
let participantUser; // a participant with a recording the coach read and a deletion notice
let app; // the vendor's app (strongroom app add)
let appServer; // its redirect endpoint on a loopback port
const sessions = {}; // signed-in pages, made when first needed

before(async () => {
  server = await startServer({ env: { STRONGROOM_RETENTION__INTERVAL_SECS: '1' } });
  browser = await launchBrowser();
  s = await adminSession(server);
  await ensureRecordings(server, s.token);
  participantUser = await newParticipant(server, s, { email: 'pat@demo.example', name: 'Pat Participant' });
  await coachReadsRecording(server, s, participantUser);
  await scheduleDeletion(server, s, participantUser);
  await supportRequest(server, { minutes: 60, reason: 'Ticket 4711: uploads fail' });
  app = await registerApp(server, 'Vendor app', 'http://127.0.0.1/callback');
  appServer = await startAppServer();
}, { timeout: 120_000 });

after(async () => {
  await browser?.close();
  await appServer?.close();
  await server?.stop();
}, { timeout: 30_000 });

/** A page signed in as the participant or the administrator (one each, kept). */
async function signedIn(who) {
  if (!sessions[who]) {
    const ctx = await newPage(browser);
    await signInOk(ctx.page, server.base, who === 'admin' ? s.admin : participantUser);
    sessions[who] = ctx;
  }
  return sessions[who];
}

const BLOCKING = new Set(['serious', 'critical']);

/**
 * Scans the page as it is; fails with every serious or critical violation spelled out.
 * Lesser ones (moderate, minor) are listed as the test's diagnostics.
 */
async function scan(page, name, t) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => BLOCKING.has(v.impact));
  for (const v of results.violations.filter((x) => !BLOCKING.has(x.impact))) {
    t?.diagnostic(`${name}: [${v.impact}] ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  }
  const report = bad
    .map((v) => {
      const nodes = v.nodes
        .map((n) => `      ${n.target.join(' ')}\n        ${n.html}\n        ${n.failureSummary?.replace(/\n/g, ' ')}`)
        .join('\n');
      return `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${nodes}`;
    })
    .join('\n');
  assert.equal(bad.length, 0, `${name} (${page.url()}): ${bad.length} serious/critical axe violation(s)\n${report}`);
  assert.ok(results.passes.length > 0, 'axe ran rules on the page');
  await uniqueIds(page, name);
}

/**
 * Every id once per page. axe 4.x no longer checks this (its duplicate-id rules are retired),
 * but a `<label for>` names the first element with its id: a second field with the same id
 * has no label for assistive technology, and a click on its label focuses the other field.
 */
async function uniqueIds(page, name) {
  const dups = await page.evaluate(() => {
    const seen = new Map();
    for (const el of document.querySelectorAll('[id]')) {
      const list = seen.get(el.id) ?? [];
      list.push(el.outerHTML.slice(0, 160));
      seen.set(el.id, list);
    }
    return [...seen].filter(([, l]) => l.length > 1);
  });
  const report = dups.map(([id, els]) => `  id="${id}" ×${els.length}:\n${els.map((e) => `      ${e}`).join('\n')}`).join('\n');
  assert.equal(dups.length, 0, `${name} (${page.url()}): ids used more than once, so a label names another field\n${report}`);
}

async function visit(who, path, heading) {
  const ctx = await signedIn(who);
  const res = await ctx.page.goto(`${server.base}${path}`);
  assert.equal(res.status(), 200, `${path} answers 200`);
  if (heading) await ctx.page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor();
  return ctx.page;
}

test('a11y: the scan reports a violation planted in a page (the check is not blind)', async () => {
  const { context, page } = await newPage(browser);
  await page.goto(`${server.base}/console/login`);
  await page.evaluate(() => {
    const img = document.createElement('img');
    img.src = '/console/assets/none.png';
    document.querySelector('main').append(img);
  });
  const results = await new AxeBuilder({ page }).analyze();
  const alt = results.violations.find((v) => v.id === 'image-alt');
  assert.ok(alt && BLOCKING.has(alt.impact), 'an image without alt text is a critical violation');
  await context.close();
});

// Signed out.
test('a11y: sign-in', async (t) => {
  const { context, page } = await newPage(browser);
  await page.goto(`${server.base}/console/login`);
  await scan(page, 'sign-in', t);
  await context.close();
});

test('a11y: sign-in with an error and the code field', async (t) => {
  const { context, page } = await newPage(browser);
  const res = await signIn(page, server.base, { tenant: 'demo', email: 'nobody@demo.example', password: 'wrong-password' }, { totp: '123456' });
  assert.equal(res.status(), 401, 'the sign-in page with its error');
  await page.getByRole('alert').waitFor();
  assert.ok(await page.locator('#f-totp').isVisible(), 'and the code field shown');
  await scan(page, 'sign-in with an error', t);
  await context.close();
});

test('a11y: forgot password', async (t) => {
  const { context, page } = await newPage(browser);
  await page.goto(`${server.base}/console/forgot`);
  await scan(page, 'forgot', t);
  await context.close();
});

test('a11y: reset password', async (t) => {
  const { context, page } = await newPage(browser);
  await page.goto(`${server.base}/console/reset?token=srp_example`);
  await scan(page, 'reset', t);
  await context.close();
});

// A participant.
test('a11y: privacy centre (with a deletion notice)', async (t) => {
  const page = await visit('participant', '/console/', 'My privacy centre');
  assert.equal(await page.getByRole('button', { name: /Keep my data/ }).count(), 1, 'the notice is shown');
  await scan(page, 'privacy centre', t);
});

test('a11y: who viewed my data', async (t) => {
  const page = await visit('participant', '/console/privacy-log', 'Who viewed my data');
  assert.ok((await page.locator('main tbody tr').count()) > 0, 'entries are listed');
  await scan(page, 'who viewed my data', t);
});

test('a11y: my logins', async (t) => {
  await scan(await visit('participant', '/console/logins', 'My logins'), 'logins', t);
});

test('a11y: password and second factor', async (t) => {
  await scan(await visit('participant', '/console/security', 'Password and second factor'), 'security', t);
});

test('a11y: second factor enrolment (QR code and secret)', async (t) => {
  const page = await visit('participant', '/console/security', 'Password and second factor');
  const form = page.locator('form[action="/console/second-factor/start"]');
  await form.getByLabel('Current password').fill(participantUser.password);
  await submit(page, form.getByRole('button', { name: 'Set up an authenticator app' }));
  await page.locator('img.qr').waitFor();
  await scan(page, 'second factor enrolment', t);
});

test('a11y: forget me', async (t) => {
  await scan(await visit('participant', '/console/forget', 'Forget me'), 'forget me', t);
});

// OAuth: the consent page, a refused request, the connected apps.
const authorizePath = (redirectUri) =>
  authorizeUrl('', { clientId: app.client_id, redirectUri, challenge: pkce().challenge, state: 'a11y-state' });

test('a11y: OAuth consent page', async (t) => {
  const page = await visit('participant', authorizePath(appServer.callback), 'Allow an app to use your account');
  assert.equal(await page.getByRole('button', { name: 'Allow', exact: true }).count(), 1);
  await scan(page, 'oauth consent', t);
});

test('a11y: OAuth request refused (unregistered redirect URI)', async (t) => {
  const { page } = await signedIn('participant');
  const res = await page.goto(`${server.base}${authorizePath('https://evil.example/callback')}`);
  assert.equal(res.status(), 400);
  await page.getByRole('alert').waitFor();
  await scan(page, 'oauth refused', t);
});

test('a11y: connected apps (an app listed)', async (t) => {
  const consent = await visit('participant', authorizePath(appServer.callback), 'Allow an app to use your account');
  await submit(consent, consent.getByRole('button', { name: 'Allow', exact: true }));
  assert.ok(consent.url().startsWith(`${appServer.callback}?`), `back at the app: ${consent.url()}`);
  const page = await visit('participant', '/console/apps', 'Connected apps');
  assert.equal(await page.locator('main tbody tr').count(), 1, 'the app is listed');
  await scan(page, 'connected apps', t);
});

// The administrator.
test('a11y: administration', async (t) => {
  await scan(await visit('admin', '/console/admin/', 'Administration'), 'admin index', t);
});

test('a11y: users', async (t) => {
  const page = await visit('admin', '/console/admin/users', 'Users');
  assert.ok((await page.locator('main tbody tr').count()) > 0);
  await scan(page, 'users', t);
});

test('a11y: a user', async (t) => {
  await scan(await visit('admin', `/console/admin/users/${participantUser.id}`, 'User'), 'a user', t);
});

test('a11y: policies', async (t) => {
  await scan(await visit('admin', '/console/admin/policies', 'Access policies'), 'policies', t);
});

test('a11y: policies with an error', async (t) => {
  const page = await visit('admin', '/console/admin/policies', 'Access policies');
  await page.locator('#f-policies').fill('permit (principal, action resource);\n');
  await submit(page, page.getByRole('button', { name: 'Validate and save' }));
  await page.locator('ul.errors li').first().waitFor();
  await scan(page, 'policies with an error', t);
});

test('a11y: privacy log', async (t) => {
  const page = await visit('admin', '/console/admin/privacy-log', 'Privacy log');
  assert.ok((await page.locator('main tbody tr').count()) > 0);
  await scan(page, 'privacy log', t);
});

test('a11y: support access (a pending request)', async (t) => {
  const page = await visit('admin', '/console/admin/support', 'Support access');
  assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 1);
  await scan(page, 'support', t);
});

// The tenant's other administration pages.
for (const [path, heading, name] of [
  ['/console/admin/groups', 'Groups', 'groups'],
  ['/console/admin/collections', 'Collections and records', 'collections'],
  ['/console/admin/retention', 'Retention rules', 'retention'],
  ['/console/admin/clients', 'Integration clients and apps', 'clients'],
  ['/console/admin/registers', 'Registers', 'registers'],
  ['/console/admin/report', 'Technical and organisational measures', 'TOM report'],
]) {
  test(`a11y: ${name}`, async (t) => {
    await scan(await visit('admin', path, heading), name, t);
  });
}
