// The harness of the console's browser tests: a demo server in a fresh folder on a free port,
// its credentials, an API client, the operator's CLI on the same folder, Chromium, TOTP codes,
// the mail outbox, and bounded polls. Nothing here sleeps for a fixed time to synchronise:
// every wait is for a condition (a line on stdout, an API state, a file), with a deadline.

import { spawn, execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/** The server binary: STRONGROOM_BIN, else the cargo target folder's debug build. */
export const BIN =
  process.env.STRONGROOM_BIN ??
  join(process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache', 'strongroom-target'), 'debug', 'strongroom');

/** Debian's Chromium (no browser download works on these machines). */
export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const SERVER_START_MS = 60_000;

/**
 * The environment of a server or CLI run: this process's environment without any
 * `STRONGROOM_*` variable (the embedded demo, nothing else), plus `extra`.
 */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('STRONGROOM_')) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Polls `fn` until it returns a truthy value (returned), or throws after `timeout` ms. */
export async function poll(what, fn, { timeout = 15_000, interval = 100 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * Starts `strongroom serve --demo` in a fresh temporary folder on a free loopback port.
 * `env` adds settings (STRONGROOM_*, `__` for nesting). Resolves once the server printed its
 * `listening on` line and the credentials file is there.
 */
export async function startServer({ env = {} } = {}) {
  if (!existsSync(BIN)) {
    throw new Error(`no server binary at ${BIN} (cargo build -p strongroom --bin strongroom, or set STRONGROOM_BIN)`);
  }
  const work = await mkdtemp(join(tmpdir(), 'strongroom-console-'));
  const dataDir = join(work, 'data');
  // Every test request comes from 127.0.0.1: the per-address login throttle (20 a minute by
  // default) would otherwise mix up the tests' own sign-ins with what they check.
  const serverEnv = cleanEnv({
    STRONGROOM_AUTH__IP_ATTEMPTS_PER_MINUTE: '600',
    STRONGROOM_AUTH__IP_BURST: '600',
    ...env,
  });
  const child = spawn(BIN, ['serve', '--demo', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], {
    env: serverEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    log.push(chunk);
    if (log.length > 2000) log.splice(0, log.length - 2000);
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`the server printed no "listening on" line within ${SERVER_START_MS} ms`)), SERVER_START_MS);
    function fail(e) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${e.message}\nserver log (tail):\n${log.join('').slice(-4000)}`));
    }
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/^listening on (http:\/\/127\.0\.0\.1:\d+)$/m);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code, signal) => fail(new Error(`the server exited (${code ?? signal}) before listening`)));
    child.on('error', fail);
  });
  child.stdout.resume();

  const credsFile = join(dataDir, 'demo-credentials.json');
  const creds = JSON.parse(await poll('demo-credentials.json', () => readFile(credsFile, 'utf8').catch(() => null)));
  const api = apiClient(base);

  const server = {
    base,
    work,
    dataDir,
    creds,
    api,
    log: () => log.join(''),
    /** A demo user by tenant and role (`participant` → the first, `participant2` → the second). */
    user(tenant, who) {
      const t = creds.tenants.find((x) => x.slug === tenant);
      if (!t) throw new Error(`no demo tenant ${tenant}`);
      const role = who.replace(/\d+$/, '');
      const nth = Number(who.match(/\d+$/)?.[0] ?? 1);
      const u = t.users.filter((x) => x.roles.includes(role))[nth - 1];
      if (!u) throw new Error(`no demo ${who} in ${tenant}`);
      return { tenant, email: u.email, password: u.password, roles: u.roles };
    },
    /** Runs the CLI on this server's data folder (development passphrase beside it). */
    cli(args) {
      return new Promise((resolve, reject) => {
        execFile(BIN, ['--data-dir', dataDir, ...args], { env: cleanEnv(), timeout: 60_000 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`strongroom ${args.join(' ')} failed: ${err.message}\n${stderr}`));
          else resolve(stdout);
        });
      });
    },
    /** The mails in the outbox to `to` (raw text, decoded body), oldest first. */
    async mails(to) {
      const dir = join(dataDir, 'outbox');
      const names = existsSync(dir) ? (await readdir(dir)).filter((n) => n.endsWith('.eml')).sort() : [];
      const mails = [];
      for (const n of names) {
        const raw = await readFile(join(dir, n), 'utf8');
        const m = parseMail(raw);
        if (!to || m.to.toLowerCase().includes(to.toLowerCase())) mails.push(m);
      }
      return mails;
    },
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (process.env.CONSOLE_TESTS_KEEP) {
        await writeFile(join(work, 'server.log'), log.join(''));
        console.error(`kept ${work}`);
      } else {
        await rm(work, { recursive: true, force: true });
      }
    },
  };
  return server;
}

/** A minimal mail parser: headers, and the body decoded from quoted-printable or base64. */
export function parseMail(raw) {
  const [head, ...rest] = raw.replace(/\r\n/g, '\n').split('\n\n');
  const headers = {};
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = rest.join('\n\n');
  const enc = (headers['content-transfer-encoding'] ?? '').toLowerCase();
  if (enc === 'base64') body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (enc === 'quoted-printable') {
    body = Buffer.from(
      body.replace(/=\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  }
  return { headers, to: headers.to ?? '', subject: headers.subject ?? '', body };
}

/** The HTTP API under `/api/v1` of `base`, with `fetch`. */
export function apiClient(base) {
  async function call(method, path, { token, body, headers = {} } = {}) {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    let payload;
    if (body !== undefined) {
      h['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(base + '/api/v1' + path, { method, headers: h, body: payload, redirect: 'manual' });
    const bytes = Buffer.from(await res.arrayBuffer());
    const type = res.headers.get('content-type') ?? '';
    const json = type.includes('json') && bytes.length ? JSON.parse(bytes.toString('utf8')) : undefined;
    return { status: res.status, headers: res.headers, json, text: bytes.toString('utf8'), bytes };
  }
  /** `call`, and throws unless the answer has `status`. */
  async function expect(status, method, path, opts) {
    const r = await call(method, path, opts);
    if (r.status !== status) {
      throw new Error(`${method} ${path}: expected ${status}, got ${r.status}: ${r.text.slice(0, 500)}`);
    }
    return r.json;
  }
  return {
    call,
    expect,
    get: (path, token) => expect(200, 'GET', path, { token }),
    /** An access token for a user ({tenant,email,password}), with an optional TOTP code. */
    async login(u, totpCode) {
      const body = { tenant: u.tenant, email: u.email, password: u.password };
      if (totpCode) body.totp = totpCode;
      return (await expect(200, 'POST', '/auth/login', { body })).access_token;
    },
  };
}

// ── TOTP (RFC 6238: HMAC-SHA1, 30 s, 6 digits) ─────────────────────────────────────────────

function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of s.toUpperCase().replace(/[=\s]/g, '')) {
    const i = alphabet.indexOf(c);
    if (i < 0) throw new Error(`not base32: ${c}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The HOTP value of `key` (bytes) at `counter`, `digits` long. */
export function hotp(key, counter, digits = 6) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = createHmac('sha1', key).update(msg).digest();
  const off = h[h.length - 1] & 0x0f;
  const bin = h.readUInt32BE(off) & 0x7fffffff;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/** The TOTP step of a time (seconds since the epoch). */
export const stepOf = (unixSecs = Date.now() / 1000) => Math.floor(unixSecs / 30);

/** The code of a base32 secret for a step (default: now). */
export function totp(secretBase32, step = stepOf()) {
  return hotp(base32Decode(secretBase32), step);
}

/**
 * Enrols a second factor through the API (`POST /me/totp`, `POST /me/totp/confirm`), confirming
 * with the previous step's code (the server accepts one step either side) so that the current
 * step's code stays unused for the sign-in that follows (a code is good once).
 */
export async function enrolTotp(api, token) {
  const { secret } = await api.expect(200, 'POST', '/me/totp', { token });
  const { recovery_codes } = await api.expect(200, 'POST', '/me/totp/confirm', {
    token,
    body: { code: totp(secret, stepOf() - 1) },
  });
  return { secret, recovery_codes };
}

// ── Browser ─────────────────────────────────────────────────────────────────────────────────

export function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Clicks what submits a form (or follows a link) and waits for the page it leads to. */
export async function submit(page, locator) {
  const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
  return res;
}

/**
 * Follows a link of the console's navigation (htmx-boosted: the page is swapped in and the
 * address pushed, not a full load) and waits until the address is `path` and the page's
 * heading is `heading`.
 */
export async function follow(page, link, path, heading) {
  await link.click();
  await page.waitForURL((u) => u.pathname === path);
  await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor();
}

/** Fills the console's sign-in form and submits it; resolves with the answer. */
export async function signIn(page, base, u, { totp: code, next } = {}) {
  await page.goto(`${base}/console/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  await page.fill('#f-tenant', u.tenant);
  await page.fill('#f-email', u.email);
  await page.fill('#f-password', u.password);
  if (code) {
    const field = page.locator('#f-totp');
    if (!(await field.isVisible())) await page.locator('details > summary').click();
    await field.fill(code);
  }
  return submit(page, page.getByRole('button', { name: 'Sign in' }));
}

/**
 * Signs in and checks that it worked: the browser leaves the sign-in page for a console page
 * with a session cookie. Otherwise throws at once with the status and what the page said, so
 * that every test that needs a session fails fast and tells why.
 */
export async function signInOk(page, base, u, opts) {
  const res = await signIn(page, base, u, opts);
  const url = new URL(page.url());
  const cookies = await page.context().cookies(base);
  if (url.pathname === '/console/login' || res.status() >= 400 || !cookies.some((c) => c.name === '__Host-strongroom')) {
    const said = (await page.locator('main').innerText().catch(() => '')).replace(/\s+/g, ' ').trim();
    throw new Error(`signing in as ${u.email} (${u.tenant}) failed: ${res.status()} at ${url.pathname}: "${said}"`);
  }
  return res;
}

/** Playwright's own wait for a locator, shorter than its 30 s default: pages here are local. */
const ACTION_TIMEOUT_MS = 10_000;

/** A fresh browser context (its own cookies) with a page, 1280×800. */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS * 2);
  const page = await context.newPage();
  return { context, page };
}
