/**
 * Container environment and downward-API values, as the kubelet computes them (makeEnvironmentVariables):
 * envFrom first, then env (later entries win), `$(VAR)` expansion against what is defined so far, valueFrom
 * configMapKeyRef / secretKeyRef / fieldRef / resourceFieldRef. A missing ConfigMap or Secret that is not
 * optional is a ContainerConfigError carrying upstream's message (the container waits with
 * CreateContainerConfigError until it appears).
 */
import type { ConfigMap, Container, ObjectFieldSelector, Pod, ResourceFieldSelector, Secret, Service } from 'kubernetes-types/core/v1.js';
import { isValidQuantity, parseQuantity } from '../../api/meta/quantity.ts';

/** A container configuration problem (CreateContainerConfigError). */
export class ContainerConfigError extends Error {
  override readonly name = 'ContainerConfigError';
}

/** Reads ConfigMaps and Secrets; resolves undefined when the object does not exist. */
export interface ConfigSource {
  getConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  getSecret(namespace: string, name: string): Promise<Secret | undefined>;
  /** Every Service of the cluster (for the service environment variables); absent: containers get none. */
  listServices?(): Promise<Service[]>;
}

/** The kubelet's makeEnvVariableName: upper case, dashes to underscores. */
function envName(serviceName: string): string {
  return serviceName.toUpperCase().replaceAll('-', '_');
}

/**
 * The service environment variables of a pod in `namespace` (kubelet getServiceEnvVarMap + envvars.FromServices):
 * the `kubernetes` Service of the default namespace always, and with enableServiceLinks every Service of the
 * pod's own namespace that has a cluster IP — NAME_SERVICE_HOST, NAME_SERVICE_PORT(_PORTNAME) and Docker's
 * link variables NAME_PORT, NAME_PORT_<port>_<PROTO>(_PROTO|_PORT|_ADDR).
 */
export function serviceEnvironment(namespace: string, enableServiceLinks: boolean, services: readonly Service[]): Map<string, string> {
  const chosen = new Map<string, Service>();
  for (const svc of services) {
    const ip = svc.spec?.clusterIP;
    if (ip === undefined || ip === '' || ip === 'None') continue;
    const name = svc.metadata?.name ?? '';
    const ns = svc.metadata?.namespace ?? '';
    if (ns === 'default' && name === 'kubernetes') {
      if (!chosen.has(name)) chosen.set(name, svc);
    } else if (ns === namespace && enableServiceLinks) {
      chosen.set(name, svc);
    }
  }
  const env = new Map<string, string>();
  for (const name of [...chosen.keys()].sort()) {
    const svc = chosen.get(name)!;
    const ip = svc.spec!.clusterIP!;
    const ports = svc.spec?.ports ?? [];
    const prefix = envName(name);
    env.set(`${prefix}_SERVICE_HOST`, ip);
    if (ports[0] !== undefined) env.set(`${prefix}_SERVICE_PORT`, String(ports[0].port));
    for (const sp of ports) if (sp.name) env.set(`${prefix}_SERVICE_PORT_${envName(sp.name)}`, String(sp.port));
    ports.forEach((sp, i) => {
      const proto = sp.protocol ?? 'TCP';
      const hostPort = ip.includes(':') ? `[${ip}]:${sp.port}` : `${ip}:${sp.port}`;
      const url = `${proto.toLowerCase()}://${hostPort}`;
      if (i === 0) env.set(`${prefix}_PORT`, url);
      const portPrefix = `${prefix}_PORT_${sp.port}_${proto.toUpperCase()}`;
      env.set(portPrefix, url);
      env.set(`${portPrefix}_PROTO`, proto.toLowerCase());
      env.set(`${portPrefix}_PORT`, String(sp.port));
      env.set(`${portPrefix}_ADDR`, ip);
    });
  }
  return env;
}

/** Node facts the downward API exposes. */
export interface DownwardContext {
  hostIP: string;
  podIP: string;
  /** The node's allocatable cpu and memory: the default for unset limits. */
  nodeAllocatable: Record<string, string>;
}

const cIdentifier = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Computes the environment of `container` in `pod`; rejects with ContainerConfigError as upstream. */
export async function makeEnvironment(pod: Pod, container: Container, opts: { source: ConfigSource; downward: DownwardContext }): Promise<{ key: string; value: string }[]> {
  const ns = pod.metadata?.namespace ?? 'default';
  const env = new Map<string, string>();
  const services = opts.source.listServices ? serviceEnvironment(ns, pod.spec?.enableServiceLinks ?? true, await opts.source.listServices()) : new Map<string, string>();
  // $(VAR) sees what the container defined so far, then the service variables (expansion.MappingFuncFor).
  const scope = new Map(services);
  const define = (key: string, value: string): void => {
    env.set(key, value);
    scope.set(key, value);
  };
  const cmCache = new Map<string, ConfigMap | undefined>();
  const secretCache = new Map<string, Secret | undefined>();
  const getCM = async (name: string): Promise<ConfigMap | undefined> => {
    if (!cmCache.has(name)) cmCache.set(name, await opts.source.getConfigMap(ns, name));
    return cmCache.get(name);
  };
  const getSecret = async (name: string): Promise<Secret | undefined> => {
    if (!secretCache.has(name)) secretCache.set(name, await opts.source.getSecret(ns, name));
    return secretCache.get(name);
  };
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? '';
      const cm = await getCM(name);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) {
        const key = prefix + k;
        if (cIdentifier.test(key)) define(key, v);
      }
    } else if (from.secretRef) {
      const name = from.secretRef.name ?? '';
      const s = await getSecret(name);
      if (!s) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${name}" not found`);
      }
      for (const [k, v] of Object.entries(s.data ?? {})) {
        const key = prefix + k;
        if (cIdentifier.test(key)) define(key, Buffer.from(v, 'base64').toString('utf8'));
      }
    }
  }
  for (const e of container.env ?? []) {
    let value: string | undefined = e.value;
    if (value !== undefined) {
      value = expand(value, scope);
    } else if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) {
        value = podFieldValue(pod, vf.fieldRef, opts.downward);
      } else if (vf.resourceFieldRef) {
        value = resourceFieldValue(pod, container, vf.resourceFieldRef, opts.downward);
      } else if (vf.configMapKeyRef) {
        const { name = '', key, optional } = vf.configMapKeyRef;
        const cm = await getCM(name);
        if (!cm) {
          if (optional) continue;
          throw new ContainerConfigError(`configmap "${name}" not found`);
        }
        const v = cm.data?.[key] ?? (cm.binaryData?.[key] !== undefined ? Buffer.from(cm.binaryData[key]!, 'base64').toString('utf8') : undefined);
        if (v === undefined) {
          if (optional) continue;
          throw new ContainerConfigError(`couldn't find key ${key} in ConfigMap ${ns}/${name}`);
        }
        value = v;
      } else if (vf.secretKeyRef) {
        const { name = '', key, optional } = vf.secretKeyRef;
        const s = await getSecret(name);
        if (!s) {
          if (optional) continue;
          throw new ContainerConfigError(`secret "${name}" not found`);
        }
        const raw = s.data?.[key];
        if (raw === undefined) {
          if (optional) continue;
          throw new ContainerConfigError(`couldn't find key ${key} in Secret ${ns}/${name}`);
        }
        value = Buffer.from(raw, 'base64').toString('utf8');
      }
    }
    define(e.name, value ?? '');
  }
  // The service variables come last, except where the container set the same name (kubelet: "present" check).
  for (const [key, value] of services) if (!env.has(key)) env.set(key, value);
  return [...env].map(([key, value]) => ({ key, value }));
}

/** `$(VAR)` expansion (expansion.Expand): defined names are replaced, `$$` escapes, anything else is kept. */
export function expand(input: string, env: Map<string, string>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1]!;
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const v = env.get(name);
      out += v !== undefined ? v : `$(${name})`;
      i = close;
      continue;
    }
    out += ch;
  }
  return out;
}

/** The value of a downward-API field path of a pod. */
export function podFieldValue(pod: Pod, ref: ObjectFieldSelector, ctx: Pick<DownwardContext, 'hostIP' | 'podIP'>): string {
  const path = ref.fieldPath;
  const meta = pod.metadata ?? {};
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(path);
  if (m) {
    const map = m[1] === 'labels' ? meta.labels : meta.annotations;
    return map?.[m[2]!] ?? '';
  }
  switch (path) {
    case 'metadata.name': return meta.name ?? '';
    case 'metadata.namespace': return meta.namespace ?? '';
    case 'metadata.uid': return meta.uid ?? '';
    case 'metadata.labels': return formatMap(meta.labels);
    case 'metadata.annotations': return formatMap(meta.annotations);
    case 'spec.nodeName': return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP': return ctx.hostIP;
    case 'status.hostIPs': return ctx.hostIP;
    case 'status.podIP': return ctx.podIP;
    case 'status.podIPs': return ctx.podIP;
    default: return '';
  }
}

function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {}).sort().map((k) => `${k}="${(m ?? {})[k]!.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`).join('\n');
}

/** The value of a resourceFieldRef (ExtractContainerResourceValue): limits default to node allocatable. */
export function resourceFieldValue(pod: Pod, container: Container | undefined, ref: ResourceFieldSelector, ctx: Pick<DownwardContext, 'nodeAllocatable'>): string {
  const c = container ?? (pod.spec?.containers ?? []).find((x) => x.name === ref.containerName);
  const [kind, res] = ref.resource.split('.', 2) as [string, string];
  const source = kind === 'limits' ? c?.resources?.limits : c?.resources?.requests;
  let raw = source?.[res] as string | number | undefined;
  if (raw === undefined && kind === 'limits') raw = ctx.nodeAllocatable[res];
  if (raw === undefined) raw = '0';
  const divisorRaw = ref.divisor === undefined ? (res === 'cpu' ? '1' : '1') : String(ref.divisor);
  const q = isValidQuantity(String(raw)) ? parseQuantity(String(raw)) : parseQuantity('0');
  const d = isValidQuantity(divisorRaw) ? parseQuantity(divisorRaw) : parseQuantity('1');
  if (res === 'cpu') {
    const div = d.milliValue() || 1;
    return String(Math.ceil(q.milliValue() / div));
  }
  const div = d.value() || 1;
  return String(Math.ceil(q.value() / div));
}
