import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { RequestAuthenticator, authenticateBootstrapToken, parseTokenFile } from './authenticator.ts';
import { ServiceAccountTokens } from './service-account-token.ts';
import { generateKeyPair, privateKeyPem, publicKeyPem } from '../tls/pki.ts';
import { impersonate } from './impersonation.ts';
import type { Authorizer } from './user.ts';

function req(headers: Record<string, string>, raw: string[] = []): IncomingMessage {
  return { headers, rawHeaders: raw, socket: {}, url: '/' } as unknown as IncomingMessage;
}

test('token file: quoted groups, comments, malformed lines refused', () => {
  const t = parseTokenFile('# comment\nabc,alice,u1,"a,b"\n\nxyz,bob,u2\n');
  assert.deepEqual(t.get('abc'), { name: 'alice', uid: 'u1', groups: ['a', 'b'] });
  assert.deepEqual(t.get('xyz'), { name: 'bob', uid: 'u2', groups: [] });
  assert.throws(() => parseTokenFile('only,two\n'), /line 1: expected at least 3 columns/);
});

test('bearer tokens: known → user with system:authenticated; unknown → 401; none → anonymous', async () => {
  const a = new RequestAuthenticator({ tokens: parseTokenFile('abc,alice,u1,devs\n') });
  assert.deepEqual(await a.authenticate(req({ authorization: 'Bearer abc' })), { name: 'alice', uid: 'u1', groups: ['devs', 'system:authenticated'] });
  assert.equal(await a.authenticate(req({ authorization: 'Bearer nope' })), null);
  assert.equal(await a.authenticate(req({ authorization: 'Basic eDp5' })), null);
  assert.deepEqual(await a.authenticate(req({})), { name: 'system:anonymous', groups: ['system:unauthenticated'] });
  assert.equal(await new RequestAuthenticator({ anonymous: false }).authenticate(req({})), null);
});

test('bootstrap tokens: secret must match, be unexpired and usable for authentication', async () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const secret = (data: Record<string, string>) => ({ type: 'bootstrap.kubernetes.io/token', data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) });
  const good = secret({ 'token-id': 'abcdef', 'token-secret': '0123456789abcdef', 'usage-bootstrap-authentication': 'true', 'auth-extra-groups': 'system:bootstrappers:workers' });
  const lookup = async (ns: string, name: string) => (ns === 'kube-system' && name === 'bootstrap-token-abcdef' ? good : null);
  assert.deepEqual(await authenticateBootstrapToken('abcdef.0123456789abcdef', lookup), { name: 'system:bootstrap:abcdef', groups: ['system:bootstrappers', 'system:bootstrappers:workers'] });
  assert.equal(await authenticateBootstrapToken('abcdef.0123456789abcdeX', lookup), null);
  assert.equal(await authenticateBootstrapToken('zzzzzz.0123456789abcdef', lookup), null);
  const expired = secret({ 'token-id': 'abcdef', 'token-secret': '0123456789abcdef', 'usage-bootstrap-authentication': 'true', expiration: '2000-01-01T00:00:00Z' });
  assert.equal(await authenticateBootstrapToken('abcdef.0123456789abcdef', async () => expired), null);
});

test('ServiceAccount tokens: issued, validated, and refused when the account or bound pod is gone or the key differs', async () => {
  const keys = await generateKeyPair();
  const sa = new ServiceAccountTokens({ privateKeyPem: await privateKeyPem(keys.privateKey), publicKeyPem: await publicKeyPem(keys.publicKey) });
  const objects = new Map<string, { metadata: { uid: string } }>([['serviceaccounts/ns/robot', { metadata: { uid: 'sa-1' } }], ['pods/ns/p', { metadata: { uid: 'pod-1' } }]]);
  const lookup = async (_g: string, r: string, ns: string, n: string) => objects.get(`${r}/${ns}/${n}`) ?? null;
  const { token } = await sa.issue({ namespace: 'ns', serviceAccount: { name: 'robot', uid: 'sa-1' }, boundObject: { kind: 'Pod', name: 'p', uid: 'pod-1' } });
  const user = await sa.authenticate(token, lookup);
  assert.equal(user?.name, 'system:serviceaccount:ns:robot');
  assert.deepEqual(user?.groups, ['system:serviceaccounts', 'system:serviceaccounts:ns']);
  assert.deepEqual(user?.extra?.['authentication.kubernetes.io/pod-name'], ['p']);
  assert.equal(await sa.authenticate(token, lookup, { audiences: ['other'] }), null, 'wrong audience');
  objects.delete('pods/ns/p');
  assert.equal(await sa.authenticate(token, lookup), null, 'bound pod deleted');
  const { token: t2 } = await sa.issue({ namespace: 'ns', serviceAccount: { name: 'robot', uid: 'sa-1' }, expirationSeconds: 600 }, { now: Date.now() - 3600_000 });
  assert.equal(await sa.authenticate(t2, lookup), null, 'expired');
  const other = await generateKeyPair();
  const foreign = new ServiceAccountTokens({ privateKeyPem: await privateKeyPem(other.privateKey), publicKeyPem: await publicKeyPem(other.publicKey) });
  const { token: t3 } = await foreign.issue({ namespace: 'ns', serviceAccount: { name: 'robot', uid: 'sa-1' } });
  assert.equal(await sa.authenticate(t3, lookup), null, 'wrongly signed');
  assert.equal(await sa.authenticate('not.a.jwt', lookup), null);
});

test('impersonation: every value is authorized with the impersonate verb', () => {
  const seen: string[] = [];
  const z: Authorizer = { authorize: (a) => { seen.push(`${a.resource}/${a.name}`); return { decision: a.name === 'root' ? 'noopinion' : 'allow', reason: '' }; } };
  const actor = { name: 'alice', groups: [] };
  const ok = impersonate(req({}, ['Impersonate-User', 'bob', 'Impersonate-Group', 'g1', 'Impersonate-Extra-Scopes', 's']), actor, z);
  assert.deepEqual(ok, { kind: 'ok', user: { name: 'bob', groups: ['g1', 'system:authenticated'], extra: { scopes: ['s'] } } });
  assert.deepEqual(seen, ['users/bob', 'groups/g1', 'userextras/s']);
  const denied = impersonate(req({}, ['Impersonate-User', 'root']), actor, z);
  assert.equal(denied.kind, 'denied');
  assert.equal(impersonate(req({}, ['Impersonate-Group', 'g']), actor, z).kind, 'invalid');
  assert.equal(impersonate(req({}, []), actor, z).kind, 'none');
});
