// Kisi's own JavaScript client (kisi-client) driving the kisitest fake:
// users, roles, groups, places, role assignments, group links, guests,
// event sets, pagination and errors, each call as the client makes it
// (camelCase converted by the client, PUT for updates, ids[] arrays).
//
// Environment: KISI_BASE_URL (the fake's URL), KISI_API_KEY (an owner key).
// Output: one JSON line per check {check, rank, ok, detail}; the exit code
// is 1 when a check ranked "certain" or "might" failed.
import Kisi from 'kisi-client';

const baseURL = process.env.KISI_BASE_URL.replace(/\/?$/, '/');
const kisi = new Kisi({ baseURL, timeout: 10000 });
kisi.setLoginSecret(process.env.KISI_API_KEY);

let failed = 0;
let calls = 0;
const client = new Proxy(kisi, {
  get(target, prop) {
    const v = target[prop];
    if (['get', 'post', 'put', 'delete'].includes(prop)) {
      return (...args) => {
        calls++;
        return v.apply(target, args);
      };
    }
    return v;
  }
});

// check runs fn; rank says how a difference would hurt a client of Kisi:
// "certain" (it breaks), "might" (it breaks in some use).
async function check(name, rank, fn) {
  try {
    const detail = await fn();
    console.log(JSON.stringify({ check: name, rank, ok: true, detail: detail ?? '' }));
  } catch (e) {
    failed++;
    const detail = e.status ? `KisiError ${e.status} ${e.code} ${JSON.stringify(e.reason)}` : String(e.stack || e);
    console.log(JSON.stringify({ check: name, rank, ok: false, detail }));
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

function eq(got, want, what) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g !== w) throw new Error(`${what}: got ${g}, want ${w}`);
}

// expectError runs fn and returns the KisiError it must throw.
async function expectError(fn, status) {
  try {
    await fn();
  } catch (e) {
    if (e.status === status) return e;
    throw e;
  }
  throw new Error(`no error, want ${status}`);
}

const run = Date.now().toString(36);
const state = {};

await check('create a managed user', 'certain', async () => {
  const u = await client.post('users', {
    user: { email: `ann-${run}@example.com`, name: 'Ann', sendEmails: false, confirm: true, metadata: { managedBy: 'test' } }
  });
  assert(Number.isInteger(u.id), 'id');
  eq(u.resourceType, 'User', 'resource type');
  eq(u.confirmed, true, 'confirmed');
  state.ann = u.id;
  const b = await client.post('users', { user: { email: `bob-${run}@example.com`, name: 'Bob', confirm: true } });
  eq(b.confirmed, false, 'a regular user stays unconfirmed');
  state.bob = b.id;
});

await check('find a user by email', 'certain', async () => {
  const res = await client.get('users', { email: `ANN-${run}@example.com` });
  eq(res.data.map(u => u.id), [state.ann], 'users');
  eq(res.pagination.count, 1, 'count');
});

await check('update a user with PUT', 'certain', async () => {
  const r = await client.put(`users/${state.ann}`, { user: { name: 'Ann B.', accessEnabled: false } });
  eq(r, '', '204 body');
  const u = await client.get(`users/${state.ann}`);
  eq([u.name, u.accessEnabled], ['Ann B.', false], 'user after PUT');
});

await check('duplicate email is a 422 on email', 'might', async () => {
  const e = await expectError(() => client.post('users', { user: { email: `ann-${run}@example.com` } }), 422);
  assert(Array.isArray(e.reason.email), `reason ${JSON.stringify(e.reason)}`);
});

await check('users by ids[]', 'might', async () => {
  const res = await client.get('users', { ids: [state.ann, state.bob] });
  eq(res.data.map(u => u.id).sort(), [state.ann, state.bob].sort(), 'users');
});

await check('roles', 'certain', async () => {
  const roles = await client.get('roles');
  assert(Array.isArray(roles), 'roles is not paginated');
  assert(roles.some(r => r.id === 'group_basic'), 'group_basic listed');
});

await check('a new place has its default group', 'might', async () => {
  const p = await client.post('places', { place: { name: `Annex ${run}`, address: '2 Main St', timeZone: 'Europe/Berlin' } });
  state.place = p.id;
  const res = await client.get('groups', { placeId: p.id });
  eq(res.data.map(g => g.name), ['Entire place'], 'groups of the place');
});

await check('groups: create, update with PUT', 'certain', async () => {
  const g = await client.post('groups', { group: { name: `Members ${run}`, placeId: state.place } });
  state.group = g.id;
  eq(await client.put(`groups/${g.id}`, { group: { description: 'desk members' } }), '', '204 body');
  const got = await client.get(`groups/${g.id}`);
  eq(got.description, 'desk members', 'description');
});

await check('users by place, sorted', 'might', async () => {
  await client.post('role_assignments', {
    roleAssignment: { roleId: 'group_basic', appliesToType: 'Group', appliesToId: state.group, assigneeType: 'User', assigneeId: state.bob }
  });
  const res = await client.get('users', { placeId: state.place, sort: '-name' });
  eq(res.data.map(u => u.id), [state.bob], 'users with access to the place');
});

await check('role assignment with a window', 'certain', async () => {
  const from = '2030-03-01T09:00:00Z';
  const until = '2030-03-01T17:00:00Z';
  const ra = await client.post('role_assignments', {
    roleAssignment: { roleId: 'group_basic', appliesToType: 'Group', appliesToId: state.group, assigneeType: 'User', assigneeId: state.ann, validFrom: from, validUntil: until }
  });
  state.ra = ra.id;
  eq([ra.validFrom, ra.validUntil].map(t => Date.parse(t)), [Date.parse(from), Date.parse(until)], 'window');
  eq(ra.assignee.id, state.ann, 'assignee');
  assert(!('guest' in ra) && !('assigneeTeam' in ra), `optional objects are left out, not null: ${Object.keys(ra)}`);
});

await check('role assignment: update with PUT, list sorted', 'certain', async () => {
  eq(await client.put(`role_assignments/${state.ra}`, { roleAssignment: { notify: true } }), '', '204 body');
  const res = await client.get('role_assignments', { appliesToType: 'Group', appliesToId: state.group, sort: 'user.name' });
  eq(res.data.map(r => r.user.name), ['Ann B.', 'Bob'], 'sorted by user name');
  eq(res.pagination.count, 2, 'count');
});

await check('a second role in one group is refused', 'might', async () => {
  const e = await expectError(() => client.post('role_assignments', {
    roleAssignment: { roleId: 'group_basic', appliesToType: 'Group', appliesToId: state.group, assigneeType: 'User', assigneeId: state.ann }
  }), 422);
  assert(typeof e.reason === 'object', 'errors object');
});

await check('guests and their roles', 'might', async () => {
  const g = await client.post('guests', { guest: { name: 'Visitor', email: `v-${run}@example.com` } });
  const ra = await client.post('role_assignments', {
    roleAssignment: { roleId: 'group_basic', appliesToType: 'Group', appliesToId: state.group, assigneeType: 'Guest', assigneeId: g.id }
  });
  eq([ra.assignee.name, ra.guest.name], ['Visitor', 'Visitor'], 'guest assignee');
  eq(await client.delete(`guests/${g.id}`), '', '204 body');
});

await check('group links: create, list, delete', 'certain', async () => {
  const l = await client.post('group_links', {
    groupLink: { groupId: state.group, name: `Guest link ${run}`, email: `g-${run}@example.com`, validUntil: '2030-03-02T00:00:00Z' }
  });
  assert(typeof l.secret === 'string' && l.secret.length > 0, 'secret on create');
  const res = await client.get('group_links', { groupId: state.group });
  eq(res.data.map(x => x.id), [l.id], 'links of the group');
  eq(await client.delete(`group_links/${l.id}`), '', '204 body');
});

await check('pagination: X-Collection-Range', 'certain', async () => {
  for (let i = 0; i < 12; i++) {
    await client.post('groups', { group: { name: `Page ${run} ${i}` } });
  }
  const all = await client.get('groups', { query: `Page ${run}`, limit: 5, offset: 10 });
  eq([all.pagination.offset, all.pagination.limit, all.pagination.count, all.data.length], [10, 5, 12, 2], 'last page');
  const none = await client.get('groups', { query: `nothing ${run}` });
  eq([none.pagination.count, none.data.length], [0, 0], 'empty list');
});

await check('event sets: create, poll, page with the cursor', 'certain', async () => {
  const now = new Date();
  const from = new Date(now.getTime() - 24 * 3600 * 1000);
  const interval = `${from.toISOString().replace(/\.\d+Z$/, 'Z')}/${new Date(now.getTime() + 60000).toISOString().replace(/\.\d+Z$/, 'Z')}`;
  let set = await client.post('event_sets', { eventSet: { interval } });
  for (let i = 0; set.status === 'in_progress' && i < 20; i++) {
    set = await client.get(`event_sets/${set.id}`, { limit: 5 });
  }
  eq(set.status, 'finished', 'status');
  let seen = set.events.length;
  const uuids = new Set(set.events.map(e => e.uuid));
  while (set.cursor) {
    set = await client.get(`event_sets/${set.id}`, { limit: 5, cursor: set.cursor });
    seen += set.events.length;
    set.events.forEach(e => uuids.add(e.uuid));
  }
  assert(seen > 5, `events read: ${seen}`);
  eq(uuids.size, seen, 'no event twice');
  const e = await expectError(() => client.post('event_sets', { eventSet: { interval: '2020-01-01T00:00:00Z/2020-04-01T00:00:01Z' } }), 422);
  assert(Array.isArray(e.reason.interval), 'interval error');
  return `${seen} events`;
});

await check('errors: 404, 422, 401', 'certain', async () => {
  const nf = await expectError(() => client.get('groups/999999999'), 404);
  assert(typeof nf.code === 'string' && nf.code.length === 6, `code ${nf.code}`);
  const inv = await expectError(() => client.post('groups', { group: { name: '' } }), 422);
  assert(Array.isArray(inv.reason.name), `reason ${JSON.stringify(inv.reason)}`);
  const other = new Kisi({ baseURL, timeout: 10000 });
  other.setLoginSecret('not-a-key');
  await expectError(() => other.get('groups'), 401);
});

await check('cleanup: delete users', 'might', async () => {
  eq(await client.delete(`users/${state.ann}`), '', '204 body');
  eq(await client.delete(`users/${state.bob}`), '', '204 body');
  await expectError(() => client.get(`users/${state.ann}`), 404);
});

console.log(JSON.stringify({ calls, failed }));
process.exit(failed > 0 ? 1 : 0);
