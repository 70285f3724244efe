#!/usr/bin/env node
// Screenshots of the console's main pages for the documentation: starts a demo server (as the
// tests do, STRONGROOM_BIN or the cargo target's debug build), sets up the tests' scenario
// through the API, and writes docs/console/*.png at 1280×800.
// Run: node console-tests/screenshots.mjs   (after `npm ci` in console-tests)

import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, newPage, signInOk, submit } from './lib/harness.mjs';
import {
  adminSession, ensureRecordings, coachReadsRecording, newParticipant, scheduleDeletion, supportRequest,
} from './lib/scenario.mjs';
import { pkce, registerApp, startAppServer, authorizeUrl } from './lib/oauth.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'docs', 'console');

const server = await startServer({ env: { STRONGROOM_RETENTION__INTERVAL_SECS: '1' } });
let browser;
let appServer;
try {
  await mkdir(out, { recursive: true });
  browser = await launchBrowser();
  const s = await adminSession(server);
  await ensureRecordings(server, s.token);
  const p = await newParticipant(server, s, { email: 'pia.jansen@demo.example', name: 'Pia Jansen' });
  await coachReadsRecording(server, s, p, 'First session: presentation');
  await coachReadsRecording(server, s, p, 'Second session: feedback round');
  await scheduleDeletion(server, s, p);
  await supportRequest(server, { minutes: 60, reason: 'Ticket 4711: a participant cannot upload her recording' });
  const app = await registerApp(server, 'Vendor app', 'http://127.0.0.1/callback');
  appServer = await startAppServer();

  const shot = async (page, name) => {
    const file = join(out, `${name}.png`);
    await page.screenshot({ path: file });
    console.log(`wrote ${file}`);
  };

  // Signed out: the sign-in page.
  {
    const { context, page } = await newPage(browser);
    await page.goto(`${server.base}/console/login`);
    await shot(page, 'sign-in');
    await context.close();
  }

  // The participant: privacy centre (with the deletion notice), who viewed my data, the
  // second factor's enrolment, an app's consent page and the connected apps.
  {
    const { context, page } = await newPage(browser);
    await signInOk(page, server.base, p);
    await shot(page, 'privacy-centre');
    await page.goto(`${server.base}/console/privacy-log`);
    await shot(page, 'who-viewed-my-data');
    await page.goto(`${server.base}/console/security`);
    const form = page.locator('form[action="/console/second-factor/start"]');
    await form.getByLabel('Current password').fill(p.password);
    await submit(page, form.getByRole('button', { name: 'Set up an authenticator app' }));
    await page.locator('img.qr').waitFor();
    await shot(page, 'second-factor');
    // The vendor's app asks for her account (OAuth consent); allowed, it is a connected app.
    await page.goto(authorizeUrl(server.base, {
      clientId: app.client_id, redirectUri: appServer.callback, challenge: pkce().challenge, state: 'screenshot',
    }));
    await page.getByRole('button', { name: 'Allow', exact: true }).waitFor();
    await shot(page, 'oauth-consent');
    await submit(page, page.getByRole('button', { name: 'Allow', exact: true }));
    if (!page.url().startsWith(`${appServer.callback}?`)) throw new Error(`not back at the app: ${page.url()}`);
    await page.goto(`${server.base}/console/apps`);
    await page.locator('main tbody tr').first().waitFor();
    await shot(page, 'connected-apps');
    await context.close();
  }

  // The administrator: users, policies with an error, the privacy log, support access.
  {
    const { context, page } = await newPage(browser);
    await signInOk(page, server.base, s.admin);
    await page.goto(`${server.base}/console/admin/users`);
    await shot(page, 'users');
    await page.goto(`${server.base}/console/admin/policies`);
    const area = page.locator('#f-policies');
    const text = await area.inputValue();
    // A new policy at the top with a typo on its third line: `action resource`, no comma.
    const lines = text.split('\n');
    const broken = [
      '// Coaches may also read the feedback of their own groups.',
      '@id("coach-feedback") @role("coach")',
      'permit (principal, action resource is Record)',
      'when { principal.roles.contains("coach") };',
      '',
    ];
    lines.splice(0, 0, ...broken);
    await area.fill(lines.join('\n'));
    await submit(page, page.getByRole('button', { name: 'Validate and save' }));
    await page.locator('ul.errors li').first().waitFor();
    await shot(page, 'policies-error');
    // The privacy log filtered by the participant: the coach's reads among the entries.
    await page.goto(`${server.base}/console/admin/privacy-log`);
    await page.getByLabel('About (user id)').fill(p.id);
    await submit(page, page.getByRole('button', { name: 'Filter' }));
    await shot(page, 'privacy-log');
    await page.goto(`${server.base}/console/admin/support`);
    await shot(page, 'support-access');
    await context.close();
  }
} finally {
  await browser?.close();
  await appServer?.close();
  await server.stop();
}
