import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PodSpec, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { FieldError } from '../../meta/field-errors.ts';
import { computeQOSClass, defaultPodSpec, defaultPodTemplateSpec, validatePodSpec, validatePodTemplateSpec } from './pod-spec.ts';

function defaulted(spec: PodSpec): PodSpec {
  const s = structuredClone(spec);
  defaultPodSpec(s);
  return s;
}

function find(errs: FieldError[], field: string): FieldError | undefined {
  return errs.find((e) => e.field === field);
}

const minimal: PodSpec = { containers: [{ name: 'app', image: 'nginx:1.27' }] };

describe('defaultPodSpec', () => {
  it('fills the SetDefaults_PodSpec fields', () => {
    const s = defaulted(minimal);
    assert.equal(s.dnsPolicy, 'ClusterFirst');
    assert.equal(s.restartPolicy, 'Always');
    assert.equal(s.terminationGracePeriodSeconds, 30);
    assert.equal(s.schedulerName, 'default-scheduler');
    assert.deepEqual(s.securityContext, {});
    // enableServiceLinks is a Pod-only default upstream (SetDefaults_Pod), not a template one.
    assert.equal(s.enableServiceLinks, undefined);
  });

  it('keeps values that are set', () => {
    const s = defaulted({ ...minimal, restartPolicy: 'Never', terminationGracePeriodSeconds: 0, dnsPolicy: 'Default' });
    assert.equal(s.restartPolicy, 'Never');
    assert.equal(s.terminationGracePeriodSeconds, 0);
    assert.equal(s.dnsPolicy, 'Default');
  });

  it('defaults containers: pull policy by tag, termination message, port protocol', () => {
    const s = defaulted({
      containers: [
        { name: 'a', image: 'nginx', ports: [{ containerPort: 80 }] },
        { name: 'b', image: 'nginx:latest' },
        { name: 'c', image: 'registry:5000/nginx:1.2' },
        { name: 'd', image: 'nginx@sha256:abcd' },
        { name: 'e', image: 'registry:5000/nginx' },
      ],
    });
    assert.deepEqual(s.containers.map((c) => c.imagePullPolicy), ['Always', 'Always', 'IfNotPresent', 'IfNotPresent', 'Always']);
    assert.equal(s.containers[0]?.terminationMessagePath, '/dev/termination-log');
    assert.equal(s.containers[0]?.terminationMessagePolicy, 'File');
    assert.equal(s.containers[0]?.ports?.[0]?.protocol, 'TCP');
  });

  it('defaults probes, httpGet, env fieldRef and init containers', () => {
    const s = defaulted({
      initContainers: [{ name: 'init', image: 'busybox:1' }],
      containers: [{
        name: 'a', image: 'x:1',
        livenessProbe: { httpGet: { port: 8080 } },
        readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 5 },
        env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
      }],
    });
    const c = s.containers[0];
    assert.deepEqual(c?.livenessProbe, {
      httpGet: { port: 8080, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3,
    });
    assert.equal(c?.readinessProbe?.periodSeconds, 5);
    assert.equal(c?.env?.[0]?.valueFrom?.fieldRef?.apiVersion, 'v1');
    assert.equal(s.initContainers?.[0]?.imagePullPolicy, 'IfNotPresent');
  });

  it('defaults volumes', () => {
    const s = defaulted({
      ...minimal,
      volumes: [
        { name: 'none' },
        { name: 'cm', configMap: { name: 'x' } },
        { name: 'sec', secret: { secretName: 'x' } },
        { name: 'dapi', downwardAPI: { items: [{ path: 'n', fieldRef: { fieldPath: 'metadata.name' } }] } },
        { name: 'proj', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
        { name: 'hp', hostPath: { path: '/tmp' } },
        { name: 'keep', secret: { secretName: 'y', defaultMode: 0o400 } },
      ],
    });
    const v = s.volumes ?? [];
    assert.deepEqual(v[0]?.emptyDir, {});
    assert.equal(v[1]?.configMap?.defaultMode, 420);
    assert.equal(v[2]?.secret?.defaultMode, 420);
    assert.equal(v[3]?.downwardAPI?.defaultMode, 420);
    assert.equal(v[3]?.downwardAPI?.items?.[0]?.fieldRef?.apiVersion, 'v1');
    assert.equal(v[4]?.projected?.defaultMode, 420);
    assert.equal(v[4]?.projected?.sources?.[0]?.serviceAccountToken?.expirationSeconds, 3600);
    assert.equal(v[5]?.hostPath?.type, '');
    assert.equal(v[6]?.secret?.defaultMode, 0o400);
  });

  it('is idempotent', () => {
    const once = defaulted({ ...minimal, volumes: [{ name: 'v' }] });
    assert.deepEqual(defaulted(once), once);
  });

  it('defaultPodTemplateSpec defaults the template spec', () => {
    const t: PodTemplateSpec = { metadata: { labels: { a: 'b' } }, spec: structuredClone(minimal) };
    defaultPodTemplateSpec(t);
    assert.equal(t.spec?.restartPolicy, 'Always');
  });
});

describe('validatePodSpec', () => {
  it('accepts a defaulted minimal spec', () => {
    assert.deepEqual(validatePodSpec(defaulted(minimal), 'spec'), []);
  });

  it('requires containers, names and images', () => {
    assert.equal(find(validatePodSpec(defaulted({ containers: [] }), 'spec'), 'spec.containers')?.type, 'FieldValueRequired');
    const errs = validatePodSpec(defaulted({ containers: [{ name: '', image: '' }] }), 'spec');
    assert.equal(find(errs, 'spec.containers[0].name')?.type, 'FieldValueRequired');
    assert.equal(find(errs, 'spec.containers[0].image')?.type, 'FieldValueRequired');
  });

  it('rejects bad and duplicate container names across init and regular containers', () => {
    const errs = validatePodSpec(defaulted({
      initContainers: [{ name: 'dup', image: 'x:1' }],
      containers: [{ name: 'dup', image: 'x:1' }, { name: 'Bad_Name', image: 'x:1' }],
    }), 'spec');
    assert.equal(find(errs, 'spec.containers[0].name')?.type, 'FieldValueDuplicate');
    assert.equal(find(errs, 'spec.containers[1].name')?.type, 'FieldValueInvalid');
  });

  it('checks enums with the supported list', () => {
    const errs = validatePodSpec(defaulted({ ...minimal, restartPolicy: 'Sometimes', dnsPolicy: 'Weird' }), 'spec');
    const rp = find(errs, 'spec.restartPolicy');
    assert.equal(rp?.type, 'FieldValueNotSupported');
    assert.deepEqual(rp?.supported, ['Always', 'OnFailure', 'Never']);
    assert.equal(find(errs, 'spec.dnsPolicy')?.type, 'FieldValueNotSupported');
    const pull = validatePodSpec(defaulted({ containers: [{ name: 'a', image: 'x:1', imagePullPolicy: 'Maybe' }] }), 'spec');
    assert.equal(find(pull, 'spec.containers[0].imagePullPolicy')?.type, 'FieldValueNotSupported');
  });

  it('checks ports', () => {
    const errs = validatePodSpec(defaulted({
      containers: [{
        name: 'a', image: 'x:1',
        ports: [{ containerPort: 70000 }, { containerPort: 80, protocol: 'ICMP' }, { containerPort: 81, name: 'http' }, { containerPort: 82, name: 'http' }],
      }],
    }), 'spec');
    assert.equal(find(errs, 'spec.containers[0].ports[0].containerPort')?.type, 'FieldValueInvalid');
    assert.equal(find(errs, 'spec.containers[0].ports[1].protocol')?.type, 'FieldValueNotSupported');
    assert.equal(find(errs, 'spec.containers[0].ports[3].name')?.type, 'FieldValueDuplicate');
    assert.equal(find(errs, 'spec.containers[0].ports[2].name'), undefined);
  });

  it('requires exactly one probe handler', () => {
    const none = validatePodSpec(defaulted({ containers: [{ name: 'a', image: 'x:1', livenessProbe: {} }] }), 'spec');
    const e1 = find(none, 'spec.containers[0].livenessProbe');
    assert.equal(e1?.type, 'FieldValueRequired');
    assert.equal(e1?.detail, 'must specify a handler type');
    const two = validatePodSpec(defaulted({
      containers: [{ name: 'a', image: 'x:1', readinessProbe: { exec: { command: ['true'] }, tcpSocket: { port: 80 } } }],
    }), 'spec');
    assert.equal(find(two, 'spec.containers[0].readinessProbe.tcpSocket')?.type, 'FieldValueForbidden');
  });

  it('requires liveness successThreshold 1 and rejects probes on plain init containers', () => {
    const errs = validatePodSpec(defaulted({
      initContainers: [{ name: 'i', image: 'x:1', livenessProbe: { exec: { command: ['true'] } } }],
      containers: [{ name: 'a', image: 'x:1', livenessProbe: { exec: { command: ['true'] }, successThreshold: 2 } }],
    }), 'spec');
    assert.equal(find(errs, 'spec.containers[0].livenessProbe.successThreshold')?.detail, 'must be 1');
    assert.equal(find(errs, 'spec.initContainers[0].livenessProbe')?.type, 'FieldValueForbidden');
    const sidecar = validatePodSpec(defaulted({
      initContainers: [{ name: 'i', image: 'x:1', restartPolicy: 'Always', livenessProbe: { exec: { command: ['true'] } } }],
      containers: [{ name: 'a', image: 'x:1' }],
    }), 'spec');
    assert.deepEqual(sidecar, []);
  });

  it('validates volumes: one source, unique names, mounts referencing them', () => {
    const errs = validatePodSpec(defaulted({
      volumes: [
        { name: 'a', emptyDir: {}, hostPath: { path: '/x' } },
        { name: 'a', emptyDir: {} },
      ],
      containers: [{ name: 'c', image: 'x:1', volumeMounts: [{ name: 'missing', mountPath: '/m' }, { name: 'a', mountPath: '/m' }] }],
    }), 'spec');
    assert.equal(find(errs, 'spec.volumes[0].hostPath')?.detail, 'may not specify more than 1 volume type');
    assert.equal(find(errs, 'spec.volumes[1].name')?.type, 'FieldValueDuplicate');
    assert.equal(find(errs, 'spec.containers[0].volumeMounts[0].name')?.type, 'FieldValueNotFound');
    assert.equal(find(errs, 'spec.containers[0].volumeMounts[1].mountPath')?.detail, 'must be unique');
    // A volume with no source is an error when validation sees it undefaulted.
    const bare = validatePodSpec({ ...defaulted(minimal), volumes: [{ name: 'v' }] }, 'spec');
    assert.equal(find(bare, 'spec.volumes[0]')?.detail, 'must specify a volume type');
  });

  it('validates env and resources', () => {
    const errs = validatePodSpec(defaulted({
      containers: [{
        name: 'a', image: 'x:1',
        env: [{ name: '1BAD' }, { name: 'OK', value: 'v', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
        resources: { requests: { cpu: '2' }, limits: { cpu: '1', memory: 'lots' } },
      }],
    }), 'spec');
    assert.equal(find(errs, 'spec.containers[0].env[0].name')?.type, 'FieldValueInvalid');
    assert.equal(find(errs, 'spec.containers[0].env[1].valueFrom')?.detail, 'may not be specified when `value` is not empty');
    assert.equal(find(errs, 'spec.containers[0].resources.limits[memory]')?.type, 'FieldValueInvalid');
    assert.equal(find(errs, 'spec.containers[0].resources.requests[cpu]')?.detail, 'must be less than or equal to cpu limit of 1');
  });

  it('validates tolerations and activeDeadlineSeconds', () => {
    const errs = validatePodSpec(defaulted({
      ...minimal,
      activeDeadlineSeconds: 0,
      tolerations: [{ operator: 'Equal', value: 'x' }, { key: 'k', operator: 'Exists', effect: 'Sometimes' }],
    }), 'spec');
    assert.equal(find(errs, 'spec.activeDeadlineSeconds')?.type, 'FieldValueInvalid');
    assert.equal(find(errs, 'spec.tolerations[0].operator')?.type, 'FieldValueInvalid');
    assert.equal(find(errs, 'spec.tolerations[1].effect')?.type, 'FieldValueNotSupported');
  });
});

describe('validatePodTemplateSpec', () => {
  const template = (restartPolicy?: string): PodTemplateSpec => {
    const t: PodTemplateSpec = { metadata: { labels: { app: 'x' } }, spec: { ...structuredClone(minimal), restartPolicy } };
    defaultPodTemplateSpec(t);
    return t;
  };

  it('accepts a valid template and requires one', () => {
    assert.deepEqual(validatePodTemplateSpec(template(), 'spec.template'), []);
    assert.equal(validatePodTemplateSpec(undefined, 'spec.template')[0]?.type, 'FieldValueRequired');
  });

  it('restricts restartPolicy when asked', () => {
    const errs = validatePodTemplateSpec(template('Never'), 'spec.template', { allowedRestartPolicies: ['Always'] });
    const e = find(errs, 'spec.template.spec.restartPolicy');
    assert.equal(e?.type, 'FieldValueNotSupported');
    assert.deepEqual(e?.supported, ['Always']);
    assert.deepEqual(validatePodTemplateSpec(template('Never'), 'spec.template', { allowedRestartPolicies: ['OnFailure', 'Never'] }), []);
  });

  it('validates template labels and forbids ephemeral containers', () => {
    const t = template();
    t.metadata = { labels: { 'bad key!': 'x' } };
    if (t.spec) t.spec.ephemeralContainers = [{ name: 'dbg', image: 'busybox:1', imagePullPolicy: 'IfNotPresent', terminationMessagePolicy: 'File' }];
    const errs = validatePodTemplateSpec(t, 'spec.template');
    assert.ok(errs.some((e) => e.field.startsWith('spec.template.labels')), JSON.stringify(errs));
    assert.equal(find(errs, 'spec.template.spec.ephemeralContainers')?.type, 'FieldValueForbidden');
  });
});

describe('computeQOSClass', () => {
  const withResources = (...rs: { requests?: Record<string, string>; limits?: Record<string, string> }[]): PodSpec => ({
    containers: rs.map((r, i) => ({ name: `c${i}`, image: 'x:1', resources: r })),
  });

  it('BestEffort without cpu/memory requests or limits', () => {
    assert.equal(computeQOSClass(withResources({})), 'BestEffort');
    assert.equal(computeQOSClass(withResources({ requests: { 'example.com/gpu': '1' } })), 'BestEffort');
    assert.equal(computeQOSClass(withResources({ requests: { cpu: '0' } })), 'BestEffort');
  });

  it('Guaranteed when every container has equal cpu and memory requests and limits', () => {
    const r = { requests: { cpu: '500m', memory: '128Mi' }, limits: { cpu: '0.5', memory: '128Mi' } };
    assert.equal(computeQOSClass(withResources(r, r)), 'Guaranteed');
  });

  it('Burstable otherwise', () => {
    assert.equal(computeQOSClass(withResources({ requests: { cpu: '100m' } })), 'Burstable');
    assert.equal(computeQOSClass(withResources({ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } })), 'Burstable');
    const g = { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } };
    assert.equal(computeQOSClass(withResources(g, { limits: { cpu: '1' }, requests: { cpu: '1' } })), 'Burstable');
    // Limits without requests (not yet defaulted): requests are empty, so not Guaranteed.
    assert.equal(computeQOSClass(withResources({ limits: { cpu: '1', memory: '1Gi' } })), 'Burstable');
  });
});
