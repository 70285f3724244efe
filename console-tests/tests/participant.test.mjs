// A participant's privacy centre in the browser: who viewed my data, the export, keeping a
// scheduled deletion, forgetting myself.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startServer, launchBrowser, newPage, signIn, signInOk, submit, follow } from '../lib/harness.mjs';
import { adminSession, ensureRecordings, coachReadsRecording, newParticipant, scheduleDeletion } from '../lib/scenario.mjs';

let server;
let browser;
let s;
let recording; // the recording the coach read (first test)

before(async () => {
  // Retention runs every second, so a licence set to have expired is acted on at once.
  server = await startServer({ env: { STRONGROOM_RETENTION__INTERVAL_SECS: '1' } });
  browser = await launchBrowser();
  s = await adminSession(server);
  await ensureRecordings(server, s.token);
}, { timeout: 120_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
}, { timeout: 30_000 });

test('a participant sees in "Who viewed my data" that their coach read their recording', async () => {
  const participant = server.user('demo', 'participant1');
  recording = await coachReadsRecording(server, s, participant, 'Session one');
  const { recordId } = recording;

  const { context, page } = await newPage(browser);
  await signInOk(page, server.base, participant);
  assert.equal(new URL(page.url()).pathname, '/console/', 'signed in, on the privacy centre');
  await follow(page, page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Who viewed my data' }), '/console/privacy-log', 'Who viewed my data');

  const rows = page.locator('main table tbody tr');
  const coachRow = rows.filter({ hasText: s.coachName }).filter({ hasText: `record/${recordId}` });
  assert.equal(await coachRow.count(), 1, `one row names ${s.coachName} and record/${recordId}`);
  const cells = await coachRow.locator('td').allInnerTexts();
  // When, Who, In the role of, What, Did, Fields, Decision.
  assert.equal(cells[1], s.coachName);
  assert.equal(cells[2], 'coach');
  assert.equal(cells[3], `record/${recordId}`);
  assert.equal(cells[4], 'read');
  assert.match(cells[5], /\btitle\b/);
  assert.equal(cells[6], 'allow');
  await context.close();
});

test('a participant downloads their export: a zip', async () => {
  const participant = server.user('demo', 'participant1');
  const { context, page } = await newPage(browser);
  await signInOk(page, server.base, participant);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download everything about me (zip)' }).click(),
  ]);
  const path = await download.path();
  const bytes = await readFile(path);
  assert.ok(bytes.length > 100, `a download of ${bytes.length} bytes`);
  assert.equal(bytes.subarray(0, 2).toString('latin1'), 'PK', 'a zip file starts with PK');
  assert.equal(bytes.readUInt16LE(2), 0x0403, 'a local file header (PK\\x03\\x04)');
  // Entries are stored uncompressed: export.json is readable in the bytes, with the
  // participant's recording and the coach who viewed it.
  assert.ok(bytes.includes(Buffer.from('export.json')), 'an export.json entry');
  assert.ok(recording, 'the first test made the recording');
  assert.ok(bytes.includes(Buffer.from(recording.recordId)), 'the recording is in the export');
  assert.ok(bytes.includes(Buffer.from(s.coachName)), 'the coach who viewed it is in the export');
  await context.close();
});

test('a participant keeps their recordings from a scheduled deletion', async () => {
  const p = await newParticipant(server, s, { email: 'keeper@demo.example', name: 'Kim Keeper' });
  const { notice, token } = await scheduleDeletion(server, s, p);
  assert.equal(notice.what, 'recordings');
  assert.equal(notice.kept_at ?? null, null);

  const { context, page } = await newPage(browser);
  await signInOk(page, server.base, p);
  const section = page.locator('section[aria-labelledby="notices"]');
  const row = section.locator('tbody tr').filter({ hasText: 'recordings' });
  assert.equal(await row.count(), 1, 'the notice is listed');
  assert.match(await row.locator('td').nth(2).innerText(), /Keep my data/);
  await submit(page, row.getByRole('button', { name: /Keep my data/ }));

  assert.equal(new URL(page.url()).pathname, '/console/');
  await page.getByRole('status').filter({ hasText: 'Your data will be kept: the deletion is cancelled.' }).waitFor();
  const kept = section.locator('tbody tr').filter({ hasText: 'recordings' });
  assert.equal((await kept.locator('td').nth(2).innerText()).trim(), 'Kept');
  assert.equal(await kept.getByRole('button').count(), 0, 'no Keep button any more');

  const after = await server.api.get('/me/deletion-notices', token);
  assert.equal(after.length, 1);
  assert.ok(after[0].kept_at, 'GET /me/deletion-notices has kept_at');
  assert.equal(after[0].id, notice.id);
  await context.close();
});

test('a participant forgets themselves; their login fails afterwards', async () => {
  const p = await newParticipant(server, s, { email: 'leaver@demo.example', name: 'Lee Leaver' });
  // Their password works before.
  await server.api.login(p);

  const { context, page } = await newPage(browser);
  await signInOk(page, server.base, p);
  await page.goto(`${server.base}/console/forget`);
  await page.getByLabel('Current password').fill(p.password);
  await page.getByLabel('Type FORGET ME to confirm').fill('FORGET ME');
  const res = await submit(page, page.getByRole('button', { name: 'Forget me now' }));
  assert.equal(res.status(), 200);
  await page.getByText('You are forgotten. Your data key is destroyed and your sessions have ended.').waitFor();

  const login = await server.api.call('POST', '/auth/login', {
    body: { tenant: p.tenant, email: p.email, password: p.password },
  });
  assert.equal(login.status, 401, `the API login fails after forget me: ${login.text}`);
  // The session cookie is gone too: the console sends the browser to the sign-in.
  await page.goto(`${server.base}/console/`);
  assert.equal(new URL(page.url()).pathname, '/console/login');
  await context.close();
});

test('forget me is refused without the exact confirmation', async () => {
  const p = await newParticipant(server, s, { email: 'stayer@demo.example', name: 'Sid Stayer' });
  const { context, page } = await newPage(browser);
  await signInOk(page, server.base, p);
  await page.goto(`${server.base}/console/forget`);
  await page.getByLabel('Current password').fill(p.password);
  await page.getByLabel('Type FORGET ME to confirm').fill('forget me');
  const res = await submit(page, page.getByRole('button', { name: 'Forget me now' }));
  assert.equal(res.status(), 422);
  await page.getByRole('alert').filter({ hasText: 'Type FORGET ME exactly to confirm.' }).waitFor();
  await server.api.login(p); // still there
  await context.close();
});
