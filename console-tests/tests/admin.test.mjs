// The administration pages in the browser: creating a user (one-time password), editing the
// policies (an error at its line, then a valid version), filtering the privacy log by
// subject, and answering support requests (approve with fewer minutes, revoke, deny).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, signIn, signInOk, submit } from '../lib/harness.mjs';
import { adminSession, ensureRecordings, coachReadsRecording, supportRequest } from '../lib/scenario.mjs';

let server;
let browser;
let s;
let context;
let page;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  s = await adminSession(server);
  await ensureRecordings(server, s.token);
  ({ context, page } = await newPage(browser));
  await signInOk(page, server.base, s.admin);
}, { timeout: 120_000 });

after(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
}, { timeout: 30_000 });

test('an administrator creates a user; the one-time password is shown once and works', async () => {
  await page.goto(`${server.base}/console/admin/users`);
  await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
  const form = page.locator('form[action="/console/admin/users"][method="post"]');
  // By name, not by label: the search field above has the same id (f-email), so the label
  // "E-mail address" of this form points at the search field (the accessibility scan reports it).
  await form.locator('input[name="email"]').fill('newcomer@demo.example');
  await form.locator('input[name="name"]').fill('Nia Newcomer');
  await form.getByRole('checkbox', { name: 'participant' }).check();
  const res = await submit(page, form.getByRole('button', { name: 'Create' }));
  assert.equal(res.status(), 201);
  await page.getByRole('status').filter({ hasText: 'The user is created.' }).waitFor();
  const password = (await page.locator('#one-time-password').innerText()).trim();
  assert.ok(password.length >= 12, 'a one-time password is shown');

  // It works for an API login (and must be changed first).
  const token = await server.api.login({ tenant: 'demo', email: 'newcomer@demo.example', password });
  const me = await server.api.get('/me', token);
  assert.equal(me.email, 'newcomer@demo.example');
  assert.equal(me.name, 'Nia Newcomer');
  assert.deepEqual(me.roles, ['participant']);
  assert.equal(me.must_change_password, true);

  // Shown once: the user's page and the list do not show it again.
  await submit(page, page.getByRole('link', { name: 'User', exact: true }));
  assert.match(new URL(page.url()).pathname, new RegExp(`^/console/admin/users/${me.id}$`));
  assert.match(await page.locator('main').innerText(), /newcomer@demo\.example/);
  assert.equal((await page.content()).includes(password), false, 'the user page does not show the password');
  await page.goto(`${server.base}/console/admin/users`);
  assert.equal((await page.content()).includes(password), false, 'the list does not show it');

  // The search by e-mail finds them (the blind index).
  await page.getByRole('searchbox', { name: 'Find by e-mail address' }).fill('newcomer@demo.example');
  await submit(page, page.getByRole('button', { name: 'Find' }));
  const rows = page.locator('main table tbody tr');
  assert.equal(await rows.count(), 1);
  assert.match(await rows.innerText(), /Nia Newcomer/);
});

test('an administrator edits the policies: an error is shown at its line, then a valid text is saved', async () => {
  const before = await server.api.get('/policies', s.token);
  await page.goto(`${server.base}/console/admin/policies`);
  const area = page.locator('#f-policies');
  const current = await area.inputValue();
  assert.equal(current, before.policies, 'the editor holds the current policies');

  const head = current.replace(/\s+$/, '');
  const badLine = head.split('\n').length + 2;
  await area.fill(`${head}\n\npermit (principal, action resource);\n`);
  const refused = await submit(page, page.getByRole('button', { name: 'Validate and save' }));
  assert.equal(refused.status(), 422);
  const errors = await page.locator('ul.errors li').allInnerTexts();
  assert.ok(errors.length >= 1, 'the errors are listed');
  assert.ok(
    errors.some((e) => e.includes(`line ${badLine}:`)),
    `an error points at line ${badLine}: ${JSON.stringify(errors)}`,
  );
  assert.equal(await area.getAttribute('aria-invalid'), 'true');
  assert.match(await area.inputValue(), /permit \(principal, action resource\);/, 'the text typed stays in the editor');
  assert.equal((await server.api.get('/policies', s.token)).version, before.version, 'nothing was saved');

  const added = '@id("console-test") @role("any")\npermit (principal, action == Action::"readCollections", resource is Tenant);\n';
  await area.fill(`${head}\n\n${added}`);
  const saved = await submit(page, page.getByRole('button', { name: 'Validate and save' }));
  assert.equal(saved.status(), 200);
  assert.equal(new URL(page.url()).search, '?done=saved');
  await page.getByRole('status').filter({ hasText: 'The policies are valid and saved.' }).waitFor();
  const after = await server.api.get('/policies', s.token);
  assert.equal(after.version, before.version + 1, 'GET /policies has the new version');
  assert.ok(after.policies.includes('@id("console-test")'), 'with the text saved');
  assert.equal(after.policies.includes('\r'), false, 'line ends as typed, without CR');
});

test('an administrator filters the privacy log by subject', async () => {
  const participant = server.user('demo', 'participant1');
  const { participantId } = await coachReadsRecording(server, s, participant);
  const other = await server.api.login(server.user('demo', 'participant2'));
  await server.api.get('/me', other);

  await page.goto(`${server.base}/console/admin/privacy-log`);
  const about = async () => page.locator('main table tbody tr td:nth-child(4)').allInnerTexts();
  const all = await about();
  assert.ok(all.some((x) => x !== participantId), 'unfiltered, the log has entries about others too');

  await page.getByLabel('About (user id)').fill(participantId);
  await submit(page, page.getByRole('button', { name: 'Filter' }));
  assert.equal(new URL(page.url()).searchParams.get('subject_id'), participantId);
  const shown = await about();
  assert.ok(shown.length >= 2, `the participant's entries are listed (${shown.length})`);
  assert.deepEqual([...new Set(shown)], [participantId], 'only entries about that subject');
  const viaApi = await server.api.get(`/privacy-log?subject_id=${participantId}`, s.token);
  assert.equal(shown.length, Math.min(viaApi.length, 50), 'as many as the API lists');
  const rows = await page.locator('main table tbody tr').allInnerTexts();
  assert.ok(rows.some((r) => r.includes(s.coachName) && r.includes('read')), "the coach's read is among them");
  assert.equal(await page.getByLabel('About (user id)').inputValue(), participantId, 'the filter stays filled in');
});

test('an administrator approves a support request for fewer minutes, then revokes it', async () => {
  const { token: suToken, request } = await supportRequest(server, { minutes: 60, reason: 'Ticket 4711: uploads fail' });
  assert.equal(request.status, 'pending');

  await page.goto(`${server.base}/console/admin/support`);
  const row = page.locator('main tbody tr').filter({ hasText: 'Ticket 4711: uploads fail' });
  assert.equal(await row.count(), 1);
  assert.match(await row.innerText(), /Sam Support/);
  assert.match(await row.innerText(), /pending/);
  await row.getByLabel('Minutes').fill('30');
  await submit(page, row.getByRole('button', { name: 'Approve' }));
  assert.equal(new URL(page.url()).pathname, '/console/admin/support');

  const approved = (await server.api.get('/support/requests', s.token)).find((r) => r.id === request.id);
  assert.equal(approved.status, 'approved');
  const minutes = (Date.parse(approved.ends_at) - Date.parse(approved.starts_at)) / 60_000;
  assert.equal(Math.round(minutes), 30, 'approved for the 30 minutes given, not the 60 asked');
  assert.match(await row.innerText(), /approved/);

  // The grant works: the superuser opens a support session in the tenant.
  const session = await server.api.expect(200, 'POST', `/support/requests/${request.id}/session`, { token: suToken });
  assert.equal((await server.api.call('GET', '/users', { token: session.access_token })).status, 200);

  await submit(page, row.getByRole('button', { name: 'Revoke' }));
  const revoked = (await server.api.get('/support/requests', s.token)).find((r) => r.id === request.id);
  assert.equal(revoked.status, 'revoked');
  assert.match(await row.innerText(), /revoked/);
  assert.equal(await row.getByRole('button').count(), 0, 'nothing left to answer');
  // Its session died with it.
  const dead = await server.api.call('GET', '/users', { token: session.access_token });
  assert.equal(dead.status, 401, `the support session no longer works (${dead.status})`);
});

test('an administrator denies a support request', async () => {
  const { request } = await supportRequest(server, { minutes: 15, reason: 'Ticket 4712: just looking' });
  await page.goto(`${server.base}/console/admin/support`);
  const row = page.locator('main tbody tr').filter({ hasText: 'Ticket 4712: just looking' });
  await submit(page, row.getByRole('button', { name: 'Deny' }));
  const denied = (await server.api.get('/support/requests', s.token)).find((r) => r.id === request.id);
  assert.equal(denied.status, 'denied');
  assert.match(await row.innerText(), /denied/);
});
