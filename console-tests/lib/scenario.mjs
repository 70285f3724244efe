// The scenario the tests and the screenshots share, set up through the API: a `recordings`
// collection, a recording about a participant that their coach reads, extra participants,
// a scheduled deletion, a superuser with a support request.

import { enrolTotp, poll, stepOf, totp } from './harness.mjs';

/** The demo administrator's token and the demo group's id. */
export async function adminSession(server) {
  const api = server.api;
  const admin = server.user('demo', 'administrator');
  const token = await api.login(admin);
  const coach = server.user('demo', 'coach');
  const coachToken = await api.login(coach);
  const me = await api.get('/me', coachToken);
  const groupId = me.groups[0]?.id;
  if (!groupId) throw new Error('the demo coach coaches no group');
  return { admin, token, coach, coachToken, coachId: me.id, coachName: me.name, groupId };
}

/** Creates the `recordings` collection (a personal text field `title`), once. */
export async function ensureRecordings(server, adminToken) {
  const r = await server.api.call('POST', '/collections', {
    token: adminToken,
    body: {
      name: 'recordings',
      fields: [{ name: 'title', type: 'string', personal: true, searchable: false }],
    },
  });
  if (r.status !== 201 && r.status !== 409) {
    throw new Error(`POST /collections: ${r.status} ${r.text}`);
  }
}

/**
 * A recording about `participant` in the coach's group (the participant records it: the
 * training template lets participants create their own records, not administrators), then
 * read by the coach through `GET /records/{id}`. Returns the record's id.
 */
export async function coachReadsRecording(server, s, participant, title = 'Session one') {
  const api = server.api;
  const pToken = await api.login(participant);
  const me = await api.get('/me', pToken);
  const { id } = await api.expect(201, 'POST', '/collections/recordings/records', {
    token: pToken,
    body: { subject_id: me.id, group_id: s.groupId, data: { title } },
  });
  const read = await api.get(`/records/${id}`, s.coachToken);
  if (read.data.title !== title) throw new Error('the coach read another record');
  return { recordId: id, participantId: me.id, participantToken: pToken };
}

/**
 * A new participant of the demo group, with their own password already chosen (so the
 * console does not send them to the first-password page first).
 */
export async function newParticipant(server, s, { email, name }) {
  const api = server.api;
  const { id, initial_password } = await api.expect(201, 'POST', '/users', {
    token: s.token,
    body: { email, name, roles: ['participant'] },
  });
  const first = await api.login({ tenant: 'demo', email, password: initial_password });
  const password = `console-${Math.random().toString(36).slice(2)}-Secret`;
  await api.expect(200, 'PUT', '/me/password', {
    token: first,
    body: { current_password: initial_password, new_password: password },
  });
  await api.call('PUT', `/groups/${s.groupId}/members/${id}`, {
    token: s.token,
    body: { role: 'participant' },
  }).then((r) => {
    if (r.status !== 204) throw new Error(`PUT member: ${r.status} ${r.text}`);
  });
  return { tenant: 'demo', email, password, name, id };
}

/**
 * Makes retention schedule the deletion of `user`'s recordings: their licence expired 40
 * days ago, so the notice (31 days after expiry) is due and the deletion (45 days) is still
 * ahead. Needs a server run with a short `STRONGROOM_RETENTION__INTERVAL_SECS`; waits until
 * the notice is there (`GET /me/deletion-notices`) and returns it.
 */
export async function scheduleDeletion(server, s, user) {
  const api = server.api;
  const expired = new Date(Date.now() - 40 * 24 * 3600 * 1000).toISOString();
  await api.expect(200, 'PATCH', `/users/${user.id}`, {
    token: s.token,
    body: { license_expires_at: expired },
  });
  const token = await api.login(user);
  const notices = await poll(
    'retention to write a deletion notice',
    async () => {
      const n = await api.get('/me/deletion-notices', token);
      return n.length > 0 && n;
    },
    { timeout: 30_000, interval: 250 },
  );
  return { notice: notices[0], token };
}

/**
 * A superuser (`strongroom superuser add`) who settles their account through the API
 * (own password, second factor: the operator tenant requires one) and asks the demo tenant
 * for support access. Returns the request and the superuser's token.
 */
export async function supportRequest(server, { minutes = 60, reason = 'Ticket 4711: a participant cannot upload' } = {}) {
  const api = server.api;
  const email = `support-${Date.now()}@operator.example`;
  const out = JSON.parse(await server.cli(['superuser', 'add', '--email', email, '--name', 'Sam Support']));
  const first = await api.login({ tenant: 'operator', email, password: out.initial_password });
  const password = `support-${Math.random().toString(36).slice(2)}-Secret`;
  const changed = await api.expect(200, 'PUT', '/me/password', {
    token: first,
    body: { current_password: out.initial_password, new_password: password },
  });
  const { secret } = await enrolTotp(api, changed.access_token);
  const su = { tenant: 'operator', email, password, secret, id: out.superuser_id };
  const token = await api.login(su, totp(secret, stepOf()));
  const request = await api.expect(201, 'POST', '/support/requests', {
    token,
    body: { tenant: 'demo', reason, minutes, kind: 'read' },
  });
  return { superuser: su, token, request };
}
