import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { StoredObject } from '../../meta/types.ts';
import { pods } from './pod.ts';

const now = Date.parse('2024-05-01T12:00:00Z');
const ago = (seconds: number): string => new Date(now - seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function pod(extra: Partial<Pod> = {}): StoredObject {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', creationTimestamp: ago(600), resourceVersion: '5' },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] },
    ...extra,
  } as StoredObject;
}

function prepared(p: StoredObject): StoredObject {
  pods.defaults?.(p);
  pods.strategy?.prepareForCreate?.(p);
  return p;
}

function cell(p: StoredObject, column: string): unknown {
  const c = pods.columns.find((x) => x.name === column);
  assert.ok(c, `column ${column}`);
  return c.cell(p, now);
}

describe('pods definition', () => {
  it('describes the kind as upstream discovery does', () => {
    assert.equal(pods.plural, 'pods');
    assert.deepEqual(pods.shortNames, ['po']);
    assert.deepEqual(pods.categories, ['all']);
    assert.equal(pods.subresources?.status, true);
    const others = Object.fromEntries((pods.subresources?.others ?? []).map((o) => [o.name, o]));
    assert.equal(others['binding']?.kind, 'Binding');
    assert.equal(others['eviction']?.group, 'policy');
    assert.equal(others['eviction']?.kind, 'Eviction');
    assert.equal(others['exec']?.kind, 'PodExecOptions');
    assert.equal(others['log']?.kind, 'Pod');
    assert.deepEqual(Object.keys(others).sort(), ['attach', 'binding', 'ephemeralcontainers', 'eviction', 'exec', 'log', 'portforward', 'proxy']);
    assert.deepEqual(pods.columns.map((c) => c.name), ['Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates']);
    assert.deepEqual(pods.columns.map((c) => c.priority ?? 0), [0, 0, 0, 0, 1, 1, 1, 1]);
  });

  it('examples validate cleanly after defaulting', () => {
    for (const ex of pods.examples) {
      const p = prepared(structuredClone(ex) as StoredObject);
      assert.deepEqual(pods.validate?.(p, { namespace: 'default' }), []);
    }
  });
});

describe('pod defaults', () => {
  it('defaults requests to limits, enableServiceLinks and host ports', () => {
    const p = pod({
      spec: {
        hostNetwork: true,
        containers: [{ name: 'a', image: 'x:1', ports: [{ containerPort: 8080 }], resources: { limits: { cpu: '1' }, requests: { memory: '1Gi' } } }],
      },
    });
    pods.defaults?.(p);
    const spec = (p as unknown as Pod).spec;
    assert.deepEqual(spec?.containers[0]?.resources?.requests, { memory: '1Gi', cpu: '1' });
    assert.equal(spec?.enableServiceLinks, true);
    assert.equal(spec?.containers[0]?.ports?.[0]?.hostPort, 8080);
    assert.equal(spec?.restartPolicy, 'Always');
  });
});

describe('pod validation', () => {
  it('requires a valid name and namespace', () => {
    const p = prepared(pod());
    p.metadata.name = 'Not_Valid';
    const errs = pods.validate?.(p, { namespace: 'default' }) ?? [];
    assert.equal(errs.find((e) => e.field === 'metadata.name')?.type, 'FieldValueInvalid');
  });

  it('forbids ephemeral containers on create', () => {
    const p = pod();
    delete p.metadata.resourceVersion;
    (p as unknown as Pod).spec!.ephemeralContainers = [{ name: 'dbg', image: 'busybox:1' }];
    prepared(p);
    const errs = pods.validate?.(p, { namespace: 'default' }) ?? [];
    assert.equal(errs.find((e) => e.field === 'spec.ephemeralContainers')?.detail, 'cannot be set on create');
    // A stored pod may carry them (added through pods/ephemeralcontainers).
    p.metadata.resourceVersion = '7';
    assert.deepEqual(pods.validate?.(p, { namespace: 'default' }), []);
  });

  it('allows image changes on update but not other spec changes', () => {
    const old = prepared(pod());
    const imageOnly = structuredClone(old) as unknown as Pod;
    imageOnly.spec!.containers[0]!.image = 'nginx:1.28';
    assert.deepEqual(pods.validateUpdate?.(imageOnly as unknown as StoredObject, old, { namespace: 'default' }), []);

    const other = structuredClone(old) as unknown as Pod;
    other.spec!.containers[0]!.command = ['sh'];
    const errs = pods.validateUpdate?.(other as unknown as StoredObject, old, { namespace: 'default' }) ?? [];
    const e = errs.find((x) => x.field === 'spec');
    assert.equal(e?.type, 'FieldValueForbidden');
    assert.match(e?.detail ?? '', /^pod updates may not change fields other than `spec.containers\[\*\].image`/);
  });

  it('allows adding tolerations and lowering activeDeadlineSeconds only', () => {
    const old = prepared(pod());
    (old as unknown as Pod).spec!.activeDeadlineSeconds = 100;
    const next = structuredClone(old) as unknown as Pod;
    next.spec!.tolerations = [{ key: 'k', operator: 'Exists' }];
    next.spec!.activeDeadlineSeconds = 50;
    assert.deepEqual(pods.validateUpdate?.(next as unknown as StoredObject, old, { namespace: 'default' }), []);
    next.spec!.activeDeadlineSeconds = 200;
    const errs = pods.validateUpdate?.(next as unknown as StoredObject, old, { namespace: 'default' }) ?? [];
    assert.equal(errs.find((e) => e.field === 'spec.activeDeadlineSeconds')?.detail, 'must be less than or equal to previous value');
  });
});

describe('pod strategy', () => {
  it('create resets status to Pending with the QoS class', () => {
    const p = pod({
      status: { phase: 'Running', podIP: '1.2.3.4' },
      spec: { containers: [{ name: 'a', image: 'x:1', resources: { limits: { cpu: '1', memory: '1Gi' } } }] },
    });
    prepared(p);
    assert.deepEqual(p['status'], { phase: 'Pending', qosClass: 'Guaranteed' });
  });

  it('create marks scheduling-gated pods', () => {
    const p = prepared(pod({ spec: { schedulingGates: [{ name: 'wait' }], containers: [{ name: 'a', image: 'x:1' }] } }));
    const cond = (p as unknown as Pod).status?.conditions?.[0];
    assert.equal(cond?.reason, 'SchedulingGated');
    assert.equal(cell(p, 'Status'), 'SchedulingGated');
  });

  it('update keeps status; status update keeps spec and owner references', () => {
    const old = prepared(pod());
    old.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1' }];
    const upd = structuredClone(old);
    upd['status'] = { phase: 'Failed' };
    pods.strategy?.prepareForUpdate?.(upd, old);
    assert.equal((upd as unknown as Pod).status?.phase, 'Pending');

    const st = structuredClone(old) as unknown as Pod;
    st.spec!.containers[0]!.image = 'changed:1';
    (st as { status?: Pod['status'] }).status = { phase: 'Running' };
    st.metadata!.ownerReferences = [];
    pods.strategy?.prepareForStatusUpdate?.(st as unknown as StoredObject, old);
    assert.equal(st.spec?.containers[0]?.image, 'nginx:1.27');
    assert.equal(st.status?.phase, 'Running');
    assert.equal(st.status?.qosClass, 'BestEffort');
    assert.equal(st.metadata?.ownerReferences?.[0]?.name, 'rs');
    assert.equal(pods.strategy?.generation, undefined);
  });
});

describe('pod table cells', () => {
  it('prints a running pod', () => {
    const p = pod({
      spec: { nodeName: 'node-1', containers: [{ name: 'a', image: 'x:1' }, { name: 'b', image: 'y:1' }] },
      status: {
        phase: 'Running', podIPs: [{ ip: '10.0.0.5' }],
        containerStatuses: [
          { name: 'a', image: 'x:1', imageID: '', ready: true, restartCount: 3, state: { running: {} }, lastState: { terminated: { exitCode: 1, finishedAt: ago(300) } } },
          { name: 'b', image: 'y:1', imageID: '', ready: false, restartCount: 0, state: { running: {} } },
        ],
      },
    });
    assert.equal(cell(p, 'Ready'), '1/2');
    assert.equal(cell(p, 'Status'), 'Running');
    assert.equal(cell(p, 'Restarts'), '3 (5m ago)');
    assert.equal(cell(p, 'Age'), '10m');
    assert.equal(cell(p, 'IP'), '10.0.0.5');
    assert.equal(cell(p, 'Node'), 'node-1');
    assert.equal(cell(p, 'Nominated Node'), '<none>');
    assert.equal(cell(p, 'Readiness Gates'), '<none>');
  });

  it('prints waiting reasons, init progress and completion', () => {
    const crash = pod({
      status: { phase: 'Running', containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount: 7, state: { waiting: { reason: 'CrashLoopBackOff' } } }] },
    });
    assert.equal(cell(crash, 'Status'), 'CrashLoopBackOff');
    assert.equal(cell(crash, 'Restarts'), '7');

    const init = pod({
      spec: { initContainers: [{ name: 'i1', image: 'x' }, { name: 'i2', image: 'x' }], containers: [{ name: 'app', image: 'x' }] },
      status: {
        phase: 'Pending',
        initContainerStatuses: [
          { name: 'i1', image: 'x', imageID: '', ready: true, restartCount: 0, state: { terminated: { exitCode: 0 } } },
          { name: 'i2', image: 'x', imageID: '', ready: false, restartCount: 0, state: { running: {} } },
        ],
      },
    });
    assert.equal(cell(init, 'Status'), 'Init:1/2');
    assert.equal(cell(init, 'Ready'), '0/1');

    const initFailed = pod({
      spec: { initContainers: [{ name: 'i1', image: 'x' }], containers: [{ name: 'app', image: 'x' }] },
      status: { phase: 'Pending', initContainerStatuses: [{ name: 'i1', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 2 } } }] },
    });
    assert.equal(cell(initFailed, 'Status'), 'Init:ExitCode:2');

    const done = pod({
      status: { phase: 'Succeeded', containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
    });
    assert.equal(cell(done, 'Status'), 'Completed');
  });

  it('counts running sidecars as containers', () => {
    const p = pod({
      spec: { initContainers: [{ name: 'side', image: 'x', restartPolicy: 'Always' }], containers: [{ name: 'app', image: 'x' }] },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Initialized', status: 'True' }],
        initContainerStatuses: [{ name: 'side', image: 'x', imageID: '', ready: true, started: true, restartCount: 1, state: { running: {} } }],
        containerStatuses: [{ name: 'app', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: {} } }],
      },
    });
    assert.equal(cell(p, 'Ready'), '2/2');
    assert.equal(cell(p, 'Status'), 'Running');
    assert.equal(cell(p, 'Restarts'), '1');
  });

  it('prints Terminating for deleted pods and readiness gates', () => {
    const p = pod({
      spec: { readinessGates: [{ conditionType: 'example.com/ready' }], containers: [{ name: 'app', image: 'x' }] },
      status: { phase: 'Running', conditions: [{ type: 'example.com/ready', status: 'True' }] },
    });
    p.metadata.deletionTimestamp = ago(5);
    assert.equal(cell(p, 'Status'), 'Terminating');
    assert.equal(cell(p, 'Readiness Gates'), '1/1');
  });
});

describe('pod field selectors', () => {
  it('extracts upstream fields', () => {
    const p = pod({ spec: { nodeName: 'n1', containers: [] }, status: { phase: 'Running', podIPs: [{ ip: '10.1.1.1' }] } });
    const fs = pods.fieldSelectors ?? {};
    assert.equal(fs['spec.nodeName']?.(p), 'n1');
    assert.equal(fs['status.phase']?.(p), 'Running');
    assert.equal(fs['status.podIP']?.(p), '10.1.1.1');
    assert.equal(fs['spec.hostNetwork']?.(p), 'false');
    assert.deepEqual(Object.keys(fs).sort(), [
      'spec.hostNetwork', 'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName',
      'status.nominatedNodeName', 'status.phase', 'status.podIP',
    ]);
  });
});

void describe('pod graceful deletion period', () => {
  const grace = pods.strategy!.gracePeriod!;
  const pod = (spec: Record<string, unknown>, phase?: string): StoredObject =>
    ({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }], ...spec }, status: phase ? { phase } : {} }) as StoredObject;
  void it('uses the requested period, else terminationGracePeriodSeconds', () => {
    assert.equal(grace(pod({ nodeName: 'n', terminationGracePeriodSeconds: 45 }), undefined), 45);
    assert.equal(grace(pod({ nodeName: 'n', terminationGracePeriodSeconds: 45 }), 5), 5);
  });
  void it('deletes unscheduled and terminated pods at once', () => {
    assert.equal(grace(pod({ terminationGracePeriodSeconds: 45 }), 10), 0);
    assert.equal(grace(pod({ nodeName: 'n', terminationGracePeriodSeconds: 45 }, 'Succeeded'), undefined), 0);
    assert.equal(grace(pod({ nodeName: 'n', terminationGracePeriodSeconds: 45 }, 'Failed'), 30), 0);
  });
});
