/**
 * A ServiceAccount token used from inside a real runc container (issue 9). A busybox pod with the default
 * ServiceAccount reads the projected token, namespace and CA at /var/run/secrets/kubernetes.io/serviceaccount and,
 * every two seconds, lists the pods of its namespace at the API server — with busybox's wget (an ordinary client
 * with busybox's own TLS, which sends no signature_algorithms extension) and with busybox's ssl_client over nc (the
 * raw HTTP response, so that a refusal's Status body is seen too). Neither verifies the server's certificate (busybox
 * cannot; the test checks that the mounted ca.crt is the cluster CA). Its output comes back through `kubectl logs`.
 * Without a RoleBinding the call is 403 with upstream's Status; once a Role allowing `list pods` is bound to
 * `system:serviceaccount:<ns>:default`, the same call is 200 with a PodList naming the pod.
 *
 * The pod is on the host network and calls the node's address (the downward API's status.hostIP, 127.0.0.1 here) at
 * the API server's port: the test server listens on loopback only, and the `kubernetes` Service's endpoint is that
 * loopback address, which a pod network cannot reach.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Pod, PodList } from 'kubernetes-types/core/v1.js';
import type { Status } from 'kubernetes-types/meta/v1.js';
import { startAgentCluster } from './agent-helpers.ts';
import type { AgentCluster } from './agent-helpers.ts';
import { busyboxImage, containerToolsMissing, startRegistry } from './helpers/registry.ts';
import type { TestRegistry } from './helpers/registry.ts';
import { apiCallLog, removeCgroups, waitFor } from './helpers/runc-test.ts';
import type { ApiCall } from './helpers/runc-test.ts';

const skip = containerToolsMissing();

/** The pod's script: one numbered block per round, each with wget's output and ssl_client's raw response. */
const LISTER = `
D=/var/run/secrets/kubernetes.io/serviceaccount
echo "ca.crt sha256 $(sha256sum < $D/ca.crt | cut -d' ' -f1)"
i=0
while :; do
  i=$((i+1))
  NS=$(cat $D/namespace)
  T=$(cat $D/token)
  P=/api/v1/namespaces/$NS/pods
  echo "=== $i wget"
  wget -q -O- --header "Authorization: Bearer $T" "https://$HOST_IP:$API_PORT$P" 2>&1 | grep -v '^wget: note: TLS certificate validation not implemented'
  echo
  echo "=== $i raw"
  printf 'GET %s HTTP/1.1\\r\\nHost: %s\\r\\nAuthorization: Bearer %s\\r\\nAccept: application/json\\r\\nConnection: close\\r\\n\\r\\n' "$P" "$HOST_IP:$API_PORT" "$T" > /tmp/req
  rm -f /tmp/resp
  nc "$HOST_IP" "$API_PORT" -e sh -c 'exec 3<&0; exec ssl_client -s 3 -n kubernetes.default.svc </tmp/req >/tmp/resp'
  cat /tmp/resp
  echo
  echo "=== $i end"
  sleep 2
done
`;

describe('a ServiceAccount token used from inside a runc container', { skip, timeout: 600_000 }, () => {
  let reg: TestRegistry;
  let c: AgentCluster;
  let work: string;
  const ns = `sa-runc-${process.pid}`;
  const user = `system:serviceaccount:${ns}:default`;
  const cgroupParent = `skiff-sa-${process.pid}`;
  const subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}.0/24`;
  let image = '';

  const kubectlOk = async (args: string[], input?: string): Promise<string> => {
    const r = await c.kubectl(args, { ...(input !== undefined ? { input } : {}), timeoutMs: 60_000 });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const calls = async (): Promise<ApiCall[]> => apiCallLog(await kubectlOk(['logs', '-n', ns, 'lister']));
  /** Waits for a round after round `afterRound` that satisfies `ok`, and returns it. */
  const nextCall = (afterRound: number, ok: (call: ApiCall) => boolean, what: string): Promise<ApiCall> => {
    let seen: ApiCall[] = [];
    return waitFor(async () => {
      seen = (await calls()).filter((x) => x.round > afterRound);
      return seen.find(ok);
    }, { timeoutMs: 90_000, what: () => `${what}; rounds so far: ${JSON.stringify(seen.slice(-2)).slice(0, 2000)}` });
  };

  before(async () => {
    reg = await startRegistry();
    await reg.push('test/busybox', 'v1', busyboxImage());
    image = `${reg.host}/test/busybox:v1`;
    work = fs.mkdtempSync(join(tmpdir(), 'skiff-sa-runc-'));
    c = await startAgentCluster({ runtime: 'runc', dataDir: join(work, 'data'), podCIDR: subnet, cgroupParent, killPodsOnStop: true, statusCheckMs: 1000 });
  });

  after(async () => {
    if (c) {
      await c.kubectl(['delete', 'namespace', ns, '--wait=true'], { timeoutMs: 90_000 }).catch(() => undefined);
      await c.stop();
    }
    await reg?.stop();
    removeCgroups(cgroupParent);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('is refused with 403 without a RoleBinding and lists pods once a Role allowing it is bound', async () => {
    await kubectlOk(['create', 'namespace', ns]);
    await waitFor(async () => (await c.kubectl(['get', 'serviceaccount', 'default', '-n', ns])).code === 0, { what: `the default ServiceAccount of ${ns}` });
    const port = new URL(c.server.url).port;
    await kubectlOk(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'lister', namespace: ns },
      spec: {
        hostNetwork: true, terminationGracePeriodSeconds: 1,
        containers: [{
          name: 'c', image, command: ['sh', '-c', LISTER],
          env: [{ name: 'API_PORT', value: port }, { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }],
        }],
      },
    }));
    const pod = await waitFor(async () => {
      const p = JSON.parse(await kubectlOk(['get', 'pod', 'lister', '-n', ns, '-o', 'json'])) as Pod;
      return p.status?.phase === 'Running' ? p : undefined;
    }, { timeoutMs: 120_000, what: 'the lister pod running' });
    assert.equal(pod.spec?.serviceAccountName, 'default');
    const mounted = pod.spec?.containers[0]?.volumeMounts?.find((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount');
    assert.ok(mounted, 'the ServiceAccount admission plugin mounted the token volume');

    // The mounted ca.crt is the cluster CA.
    const caPem = fs.readFileSync(join(c.server.dataDir, 'tls', 'ca.crt'));
    const logs = await waitFor(async () => {
      const l = await kubectlOk(['logs', '-n', ns, 'lister']);
      return /^ca\.crt sha256 /m.test(l) ? l : undefined;
    }, { what: 'the pod printing its CA digest' });
    assert.equal(/^ca\.crt sha256 (\S+)$/m.exec(logs)?.[1], createHash('sha256').update(caPem).digest('hex'));

    // No RoleBinding: the token is accepted (not 401) and the request is forbidden with upstream's Status.
    // (The first round decides: a TLS failure shows as status 0 with busybox's error, a rejected token as 401.)
    const denied = await nextCall(0, () => true, 'a first complete round');
    assert.equal(denied.raw.status, 403, `403, not ${denied.raw.status} (401 would mean the token was not accepted): ${denied.raw.body} ${denied.wget}`);
    const status = JSON.parse(denied.raw.body) as Status;
    assert.deepEqual(
      { kind: status.kind, status: status.status, reason: status.reason, code: status.code, message: status.message },
      { kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403, message: `pods is forbidden: User "${user}" cannot list resource "pods" in API group "" in the namespace "${ns}"` },
    );
    assert.match(denied.wget, /server returned error: HTTP\/1\.1 403 Forbidden/);

    // A Role allowing `list pods`, bound to the account: the same call now lists the pods.
    await kubectlOk(['create', 'role', 'pod-lister', '-n', ns, '--verb=list', '--resource=pods']);
    await kubectlOk(['create', 'rolebinding', 'pod-lister', '-n', ns, '--role=pod-lister', `--serviceaccount=${ns}:default`]);
    const allowed = await nextCall(denied.round, (x) => x.raw.status === 200 && x.wget.startsWith('{'), 'a 200 round after the RoleBinding');
    for (const [how, body] of [['ssl_client', allowed.raw.body], ['wget', allowed.wget]] as const) {
      const list = JSON.parse(body) as PodList;
      assert.equal(list.kind, 'PodList', how);
      assert.deepEqual(list.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`), [`${ns}/lister`], how);
    }

    // Without the binding again, RBAC refuses the next call.
    await kubectlOk(['delete', 'rolebinding', 'pod-lister', '-n', ns]);
    const again = await nextCall(allowed.round, (x) => x.raw.status === 403, 'a 403 round after the RoleBinding was deleted');
    assert.equal((JSON.parse(again.raw.body) as Status).reason, 'Forbidden');
  });
});
