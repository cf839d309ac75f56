/**
 * The objects of `kubectl create <generator>` and `kubectl run`/`expose`, built exactly as kubectl builds its
 * typed objects (fields in Go struct order, so -o json prints them as kubectl does; the zero values it
 * serializes: `creationTimestamp: null`, `resources: {}`, `strategy: {}`, `status: {}`).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CliError } from './errors.ts';
import type { Obj } from './printers/objects.ts';

type O = Record<string, unknown>;

/** ObjectMeta in Go field order. */
export function objectMeta(name: string, o: { namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } = {}): O {
  const m: O = { name };
  if (o.namespace) m['namespace'] = o.namespace;
  m['creationTimestamp'] = null;
  if (o.labels && Object.keys(o.labels).length > 0) m['labels'] = o.labels;
  if (o.annotations && Object.keys(o.annotations).length > 0) m['annotations'] = o.annotations;
  return m;
}

/** A container as kubectl's generators write it (name, image, command, ports, resources {}). */
export function container(name: string, image: string, o: { command?: string[]; args?: string[]; port?: number; env?: { name: string; value: string }[] } = {}): O {
  const c: O = { name, image };
  if (o.command && o.command.length > 0) c['command'] = o.command;
  if (o.args && o.args.length > 0) c['args'] = o.args;
  if (o.port !== undefined && o.port >= 0) c['ports'] = [{ containerPort: o.port }];
  if (o.env && o.env.length > 0) c['env'] = o.env;
  c['resources'] = {};
  return c;
}

/** A validated DNS-1123 object name argument (`exactly one NAME is required, got N`). */
export function oneName(args: string[]): string {
  if (args.length !== 1) throw new CliError(`exactly one NAME is required, got ${args.length}`);
  return args[0]!;
}

/** kubectl create namespace. */
export function namespaceObject(name: string): Obj {
  return { kind: 'Namespace', apiVersion: 'v1', metadata: objectMeta(name), spec: {}, status: {} } as Obj;
}

/** kubectl create serviceaccount. */
export function serviceAccountObject(name: string, namespace: string | undefined): Obj {
  return { kind: 'ServiceAccount', apiVersion: 'v1', metadata: objectMeta(name, { namespace }) } as Obj;
}

/** Key/value sources of configmaps and secrets: --from-literal, --from-file (files or directories), --from-env-file. */
export function collectData(o: { literals: string[]; files: string[]; envFiles: string[] }): Map<string, Buffer> {
  const data = new Map<string, Buffer>();
  const put = (k: string, v: Buffer): void => {
    if (data.has(k)) throw new CliError(`cannot add key ${k}, another key by that name already exists in Data for ConfigMap ""`);
    data.set(k, v);
  };
  for (const l of o.literals) {
    const i = l.indexOf('=');
    if (i <= 0) throw new CliError(`invalid literal source ${l}, expected key=value`);
    put(l.slice(0, i), Buffer.from(l.slice(i + 1)));
  }
  for (const f of o.files) {
    const i = f.indexOf('=');
    const key = i > 0 ? f.slice(0, i) : undefined;
    const path = i > 0 ? f.slice(i + 1) : f;
    let st;
    try {
      st = statSync(path);
    } catch {
      throw new CliError(`error reading ${path}: no such file or directory`);
    }
    if (st.isDirectory()) {
      if (key) throw new CliError('cannot give a key name for a directory path');
      for (const e of readdirSync(path, { withFileTypes: true })) if (e.isFile()) put(e.name, readFileSync(join(path, e.name)));
    } else {
      put(key ?? basename(path), readFileSync(path));
    }
  }
  for (const f of o.envFiles) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      throw new CliError(`error reading ${f}: no such file or directory`);
    }
    text.split(/\r?\n/).forEach((raw, n) => {
      const line = raw.replace(/^\uFEFF/, '');
      if (line.trim() === '' || line.trimStart().startsWith('#')) return;
      const i = line.indexOf('=');
      const k = (i >= 0 ? line.slice(0, i) : line).trimStart();
      if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(k)) throw new CliError(`"${k}" is not a valid key name: a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (line ${n + 1})`);
      put(k, Buffer.from(i >= 0 ? line.slice(i + 1) : process.env[k] ?? ''));
    });
  }
  return data;
}

/** Go marshals map keys sorted bytewise. */
function sortedEntries<V>(m: Map<string, V>): [string, V][] {
  return [...m.entries()].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** kubectl create configmap (UTF-8 values in data, others in binaryData). */
export function configMapObject(name: string, namespace: string | undefined, data: Map<string, Buffer>): Obj {
  const d: Record<string, string> = {};
  const b: Record<string, string> = {};
  for (const [k, v] of sortedEntries(data)) {
    const s = v.toString('utf8');
    if (Buffer.from(s, 'utf8').equals(v)) d[k] = s;
    else b[k] = v.toString('base64');
  }
  const o: O = { kind: 'ConfigMap', apiVersion: 'v1', metadata: objectMeta(name, { namespace }) };
  if (Object.keys(d).length > 0) o['data'] = d;
  if (Object.keys(b).length > 0) o['binaryData'] = b;
  return o as Obj;
}

/** kubectl create secret generic/tls/docker-registry. */
export function secretObject(name: string, namespace: string | undefined, data: Map<string, Buffer>, type?: string): Obj {
  const d: Record<string, string> = {};
  for (const [k, v] of sortedEntries(data)) d[k] = v.toString('base64');
  const o: O = { kind: 'Secret', apiVersion: 'v1', metadata: objectMeta(name, { namespace }) };
  if (Object.keys(d).length > 0) o['data'] = d;
  if (type) o['type'] = type;
  return o as Obj;
}

/** The .dockerconfigjson of kubectl create secret docker-registry. */
export function dockerConfigJson(o: { server: string; username: string; password: string; email: string }): Buffer {
  const entry: O = { username: o.username, password: o.password };
  if (o.email) entry['email'] = o.email;
  entry['auth'] = Buffer.from(`${o.username}:${o.password}`).toString('base64');
  return Buffer.from(JSON.stringify({ auths: { [o.server]: entry } }));
}

/** The container name kubectl derives from an image (`nginx:1.25` → `nginx`, `reg/x/redis@sha` → `redis`). */
export function containerNameFromImage(image: string): string {
  let n = image.split('/').pop() ?? image;
  n = n.split('@')[0]!.split(':')[0]!;
  return n.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '');
}

/** kubectl create deployment. */
export function deploymentObject(name: string, namespace: string | undefined, o: { images: string[]; replicas: number; port: number; command: string[] }): Obj {
  const labels = { app: name };
  const containers = o.images.map((img, i) =>
    container(containerNameFromImage(img), img, { command: i === 0 ? o.command : undefined, port: i === 0 && o.port >= 0 ? o.port : undefined }),
  );
  return {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    metadata: objectMeta(name, { namespace, labels }),
    spec: { replicas: o.replicas, selector: { matchLabels: labels }, template: { metadata: { creationTimestamp: null, labels }, spec: { containers } }, strategy: {} },
    status: {},
  } as Obj;
}

/** Parses --tcp values (`80`, `80:8080`) into ServicePorts as kubectl create service does. */
export function servicePorts(tcp: string[], nodePort: number): O[] {
  return tcp.map((t) => {
    const [p, tp] = t.split(':') as [string, string | undefined];
    const port = Number(p);
    if (!/^\d+$/.test(p) || port < 1 || port > 65535) throw new CliError(`invalid port ${p}`);
    const target = tp === undefined ? port : /^\d+$/.test(tp) ? Number(tp) : tp;
    const sp: O = { name: tp === undefined ? p : `${p}-${tp}`, protocol: 'TCP', port, targetPort: target };
    if (nodePort > 0) sp['nodePort'] = nodePort;
    return sp;
  });
}

/** kubectl create service <type>. */
export function serviceObject(name: string, namespace: string | undefined, o: { type: string; ports: O[]; clusterIP?: string; externalName?: string }): Obj {
  const labels = { app: name };
  const spec: O = {};
  if (o.ports.length > 0) spec['ports'] = o.ports;
  spec['selector'] = labels;
  if (o.clusterIP) spec['clusterIP'] = o.clusterIP;
  spec['type'] = o.type;
  if (o.externalName) spec['externalName'] = o.externalName;
  return { kind: 'Service', apiVersion: 'v1', metadata: objectMeta(name, { namespace, labels }), spec, status: { loadBalancer: {} } } as Obj;
}

/** kubectl create job. */
export function jobObject(name: string, namespace: string | undefined, o: { image: string; command: string[] }): Obj {
  return {
    kind: 'Job',
    apiVersion: 'batch/v1',
    metadata: objectMeta(name, { namespace }),
    spec: { template: { metadata: { creationTimestamp: null }, spec: { containers: [container(name, o.image, { command: o.command })], restartPolicy: 'Never' } } },
    status: {},
  } as Obj;
}

/** kubectl create job --from=cronjob/x. */
export function jobFromCronJob(name: string, namespace: string | undefined, cj: Obj): Obj {
  const tpl = ((cj['spec'] as O | undefined)?.['jobTemplate'] ?? {}) as O;
  const tm = (tpl['metadata'] ?? {}) as O;
  const annotations: Record<string, string> = { 'cronjob.kubernetes.io/instantiate': 'manual', ...((tm['annotations'] as Record<string, string> | undefined) ?? {}) };
  const meta = objectMeta(name, { namespace, labels: tm['labels'] as Record<string, string> | undefined, annotations });
  meta['ownerReferences'] = [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata?.name ?? '', uid: cj.metadata?.['uid'], controller: true }];
  return { kind: 'Job', apiVersion: 'batch/v1', metadata: meta, spec: tpl['spec'] ?? {}, status: {} } as Obj;
}

/** kubectl create cronjob. */
export function cronJobObject(name: string, namespace: string | undefined, o: { image: string; schedule: string; restart: string; command: string[] }): Obj {
  return {
    kind: 'CronJob',
    apiVersion: 'batch/v1',
    metadata: objectMeta(name, { namespace }),
    spec: {
      schedule: o.schedule,
      jobTemplate: {
        metadata: { name, creationTimestamp: null },
        spec: { template: { metadata: { creationTimestamp: null }, spec: { containers: [container(name, o.image, { command: o.command })], restartPolicy: o.restart || 'OnFailure' } } },
      },
    },
    status: {},
  } as Obj;
}

/** Policy rules of kubectl create role/clusterrole: one rule per API group, resource names on each. */
export function policyRules(o: { verbs: string[]; resources: { group: string; resource: string }[]; resourceNames: string[]; nonResourceURLs?: string[] }): O[] {
  const groups: string[] = [];
  const byGroup = new Map<string, string[]>();
  for (const r of o.resources) {
    if (!byGroup.has(r.group)) {
      byGroup.set(r.group, []);
      groups.push(r.group);
    }
    byGroup.get(r.group)!.push(r.resource);
  }
  const rules: O[] = groups.map((g) => {
    const rule: O = { verbs: o.verbs, apiGroups: [g], resources: byGroup.get(g) };
    if (o.resourceNames.length > 0) rule['resourceNames'] = o.resourceNames;
    return rule;
  });
  if (o.nonResourceURLs && o.nonResourceURLs.length > 0) rules.push({ verbs: o.verbs, nonResourceURLs: o.nonResourceURLs });
  return rules;
}

/** kubectl create role/clusterrole. */
export function roleObject(kind: 'Role' | 'ClusterRole', name: string, namespace: string | undefined, rules: O[]): Obj {
  return { kind, apiVersion: 'rbac.authorization.k8s.io/v1', metadata: objectMeta(name, { namespace: kind === 'Role' ? namespace : undefined }), rules } as Obj;
}

/** kubectl create rolebinding/clusterrolebinding. */
export function bindingObject(
  kind: 'RoleBinding' | 'ClusterRoleBinding',
  name: string,
  namespace: string | undefined,
  o: { role?: string; clusterRole?: string; users: string[]; groups: string[]; serviceAccounts: string[] },
): Obj {
  const subjects: O[] = [];
  for (const u of o.users) subjects.push({ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: u });
  for (const g of o.groups) subjects.push({ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: g });
  for (const sa of o.serviceAccounts) {
    const [ns, n] = sa.split(':');
    if (!ns || !n) throw new CliError(`serviceaccount must be <namespace>:<name>`);
    subjects.push({ kind: 'ServiceAccount', name: n, namespace: ns });
  }
  const roleRef = o.clusterRole ? { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: o.clusterRole } : { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: o.role ?? '' };
  const b: O = { kind, apiVersion: 'rbac.authorization.k8s.io/v1', metadata: objectMeta(name, { namespace: kind === 'RoleBinding' ? namespace : undefined }) };
  if (subjects.length > 0) b['subjects'] = subjects;
  b['roleRef'] = roleRef;
  return b as Obj;
}

/** Parses `a=b,c=d` label/selector strings as kubectl run/expose read --labels. */
export function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!s) return out;
  for (const part of s.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) throw new CliError(`invalid label spec: ${part}`);
    out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

/** kubectl run's pod. */
export function runPodObject(name: string, namespace: string | undefined, o: { image: string; labels: Record<string, string>; env: { name: string; value: string }[]; port: number; command: string[]; args: string[]; restart: string; stdin: boolean; tty: boolean; leaveStdinOpen?: boolean; annotations: Record<string, string>; imagePullPolicy: string }): Obj {
  const c = container(name, o.image, { command: o.command, args: o.args, port: o.port > 0 ? o.port : undefined, env: o.env });
  if (o.imagePullPolicy) c['imagePullPolicy'] = o.imagePullPolicy;
  if (o.stdin) {
    c['stdin'] = true;
    if (!o.leaveStdinOpen) c['stdinOnce'] = true;
  }
  if (o.tty) c['tty'] = true;
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: objectMeta(name, { namespace, labels: o.labels, annotations: o.annotations }),
    spec: { containers: [c], restartPolicy: o.restart, dnsPolicy: 'ClusterFirst' },
    status: {},
  } as Obj;
}
