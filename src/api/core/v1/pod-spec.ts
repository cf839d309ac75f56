/**
 * Pod spec defaulting, validation and QoS: shared by Pod and every kind with a pod template
 * (upstream pkg/apis/core/v1/defaults.go, pkg/apis/core/validation/validation.go, pkg/apis/core/helper/qos).
 */
import type {
  Container, ContainerPort, EnvVar, HTTPGetAction, LifecycleHandler, PodSpec, PodTemplateSpec, Probe,
  ResourceRequirements, Volume, VolumeMount,
} from 'kubernetes-types/core/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { isValidQuantity, parseQuantity } from '../../meta/quantity.ts';
import {
  isConfigMapKey, isDNS1123Label, isDNS1123Subdomain, isEnvVarName, isQualifiedName,
  isValidPortName, isValidPortNum, validateAnnotations, validateLabels, validateNonnegative,
} from '../../meta/validation.ts';

/** Matches the image reference's tag the way parsers.ParseImageName does for the "latest" rule. */
function imageTag(image: string): string {
  // A digest pins the image: upstream reports no tag then.
  if (image.includes('@')) return '';
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon > slash) return image.slice(colon + 1);
  return 'latest';
}

function defaultHTTPGet(h: HTTPGetAction | undefined): void {
  if (!h) return;
  if (!h.path) h.path = '/';
  if (!h.scheme) h.scheme = 'HTTP';
}

function defaultLifecycleHandler(h: LifecycleHandler | undefined): void {
  if (h) defaultHTTPGet(h.httpGet);
}

function defaultProbe(p: Probe | undefined): void {
  if (!p) return;
  if (!p.timeoutSeconds) p.timeoutSeconds = 1;
  if (!p.periodSeconds) p.periodSeconds = 10;
  if (!p.successThreshold) p.successThreshold = 1;
  if (!p.failureThreshold) p.failureThreshold = 3;
  defaultHTTPGet(p.httpGet);
  if (p.grpc && p.grpc.service === undefined) p.grpc.service = '';
}

function defaultEnv(env: EnvVar[] | undefined): void {
  for (const e of env ?? []) {
    const ref = e.valueFrom?.fieldRef;
    if (ref && !ref.apiVersion) ref.apiVersion = 'v1';
  }
}

/** SetDefaults_Container plus the declarative defaults of its nested types. */
function defaultContainer(c: Container): void {
  if (!c.imagePullPolicy) c.imagePullPolicy = imageTag(c.image ?? '') === 'latest' ? 'Always' : 'IfNotPresent';
  if (!c.terminationMessagePath) c.terminationMessagePath = '/dev/termination-log';
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = 'File';
  for (const p of c.ports ?? []) if (!p.protocol) p.protocol = 'TCP';
  defaultEnv(c.env);
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  defaultLifecycleHandler(c.lifecycle?.postStart);
  defaultLifecycleHandler(c.lifecycle?.preStop);
}

const volumeSourceKeys = [
  'awsElasticBlockStore', 'azureDisk', 'azureFile', 'cephfs', 'cinder', 'configMap', 'csi', 'downwardAPI', 'emptyDir',
  'ephemeral', 'fc', 'flexVolume', 'flocker', 'gcePersistentDisk', 'gitRepo', 'glusterfs', 'hostPath', 'image', 'iscsi',
  'nfs', 'persistentVolumeClaim', 'photonPersistentDisk', 'portworxVolume', 'projected', 'quobyte', 'rbd', 'scaleIO',
  'secret', 'storageos', 'vsphereVolume',
] as const;

function volumeSources(v: Volume): string[] {
  const rec = v as unknown as Record<string, unknown>;
  return volumeSourceKeys.filter((k) => rec[k] !== undefined && rec[k] !== null);
}

/** SetDefaults_Volume and the defaults of each volume source. */
function defaultVolume(v: Volume): void {
  if (volumeSources(v).length === 0) v.emptyDir = {};
  if (v.secret && v.secret.defaultMode === undefined) v.secret.defaultMode = 0o644;
  if (v.configMap && v.configMap.defaultMode === undefined) v.configMap.defaultMode = 0o644;
  if (v.downwardAPI) {
    if (v.downwardAPI.defaultMode === undefined) v.downwardAPI.defaultMode = 0o644;
    for (const item of v.downwardAPI.items ?? []) if (item.fieldRef && !item.fieldRef.apiVersion) item.fieldRef.apiVersion = 'v1';
  }
  if (v.projected) {
    if (v.projected.defaultMode === undefined) v.projected.defaultMode = 0o644;
    for (const s of v.projected.sources ?? []) {
      if (s.serviceAccountToken && s.serviceAccountToken.expirationSeconds === undefined) s.serviceAccountToken.expirationSeconds = 3600;
      for (const item of s.downwardAPI?.items ?? []) if (item.fieldRef && !item.fieldRef.apiVersion) item.fieldRef.apiVersion = 'v1';
    }
  }
  if (v.hostPath && v.hostPath.type === undefined) v.hostPath.type = '';
  if (v.iscsi && !v.iscsi.iscsiInterface) v.iscsi.iscsiInterface = 'default';
  if (v.rbd) {
    if (!v.rbd.pool) v.rbd.pool = 'rbd';
    if (!v.rbd.user) v.rbd.user = 'admin';
    if (!v.rbd.keyring) v.rbd.keyring = '/etc/ceph/keyring';
  }
  if (v.azureDisk) {
    if (v.azureDisk.cachingMode === undefined) v.azureDisk.cachingMode = 'ReadWrite';
    if (v.azureDisk.fsType === undefined) v.azureDisk.fsType = 'ext4';
    if (v.azureDisk.readOnly === undefined) v.azureDisk.readOnly = false;
    if (v.azureDisk.kind === undefined) v.azureDisk.kind = 'Shared';
  }
  if (v.scaleIO) {
    if (!v.scaleIO.storageMode) v.scaleIO.storageMode = 'ThinProvisioned';
    if (!v.scaleIO.fsType) v.scaleIO.fsType = 'xfs';
  }
}

/**
 * Applies upstream's pod spec defaults in place (SetDefaults_PodSpec plus the container, probe, port, env and volume
 * defaults); idempotent. Pod-only defaults (enableServiceLinks, requests from limits) are in pod.ts, as upstream
 * keeps them out of templates.
 */
export function defaultPodSpec(spec: PodSpec): void {
  if (!spec.dnsPolicy) spec.dnsPolicy = 'ClusterFirst';
  if (!spec.restartPolicy) spec.restartPolicy = 'Always';
  if (!spec.securityContext) spec.securityContext = {};
  if (spec.terminationGracePeriodSeconds === undefined || spec.terminationGracePeriodSeconds === null) {
    spec.terminationGracePeriodSeconds = 30;
  }
  if (!spec.schedulerName) spec.schedulerName = 'default-scheduler';
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const c of spec.ephemeralContainers ?? []) defaultContainer(c as Container);
  for (const v of spec.volumes ?? []) defaultVolume(v);
}

/** Applies pod spec defaults to a pod template in place; idempotent. */
export function defaultPodTemplateSpec(t: PodTemplateSpec): void {
  if (t.spec) defaultPodSpec(t.spec);
}

// ---- validation ----

const supportedRestartPolicies = ['Always', 'OnFailure', 'Never'];
const supportedDNSPolicies = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const supportedPullPolicies = ['Always', 'IfNotPresent', 'Never'];
const supportedTerminationMessagePolicies = ['File', 'FallbackToLogsOnError'];
const supportedProtocols = ['SCTP', 'TCP', 'UDP'];
const supportedSchemes = ['HTTP', 'HTTPS'];
const supportedTolerationOperators = ['Equal', 'Exists'];
const supportedTaintEffects = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];
const supportedHostPathTypes = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];
const standardContainerResources = new Set(['cpu', 'memory', 'ephemeral-storage']);

function invalidEach(path: string, value: unknown, problems: string[]): FieldError[] {
  return problems.map((msg) => fieldError.invalid(path, value, msg));
}

/** validateResourceName for container resources: standard, hugepages-*, or a domain-prefixed extended resource. */
function validateContainerResourceName(name: string, path: string): FieldError[] {
  const errs = invalidEach(path, name, isQualifiedName(name));
  if (errs.length > 0) return errs;
  if (standardContainerResources.has(name) || name.startsWith('hugepages-')) return [];
  if (!name.includes('/')) {
    return [fieldError.invalid(path, name, 'must be a standard resource for containers')];
  }
  return [];
}

/** ValidateResourceRequirements: names, quantities, non-negative values and requests <= limits. */
export function validateResourceRequirements(r: ResourceRequirements | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!r) return errs;
  const limitsPath = `${path}.limits`;
  const requestsPath = `${path}.requests`;
  const check = (list: Record<string, unknown> | undefined, base: string): void => {
    for (const [name, q] of Object.entries(list ?? {})) {
      const p = `${base}[${name}]`;
      errs.push(...validateContainerResourceName(name, p));
      const s = String(q);
      if (!isValidQuantity(s)) {
        errs.push(fieldError.invalid(p, q, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
      } else if (parseQuantity(s).cmp(parseQuantity('0')) < 0) {
        errs.push(fieldError.invalid(p, s, 'must be greater than or equal to 0'));
      }
    }
  };
  check(r.limits, limitsPath);
  check(r.requests, requestsPath);
  for (const [name, q] of Object.entries(r.requests ?? {})) {
    const lim = r.limits?.[name];
    const s = String(q);
    if (lim === undefined || !isValidQuantity(s) || !isValidQuantity(String(lim))) continue;
    if (parseQuantity(s).cmp(parseQuantity(String(lim))) > 0) {
      errs.push(fieldError.invalid(`${requestsPath}[${name}]`, s,
        `must be less than or equal to ${name} limit of ${parseQuantity(String(lim)).toString()}`));
    }
  }
  return errs;
}

function validateHTTPGet(h: HTTPGetAction, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!h.path) errs.push(fieldError.required(`${path}.path`));
  errs.push(...validatePortNumOrName(h.port, `${path}.port`));
  if (h.scheme && !supportedSchemes.includes(h.scheme)) errs.push(fieldError.notSupported(`${path}.scheme`, h.scheme, supportedSchemes));
  return errs;
}

function validatePortNumOrName(port: number | string | undefined, path: string): FieldError[] {
  if (typeof port === 'number') return invalidEach(path, port, isValidPortNum(port));
  if (typeof port === 'string' && port !== '') return invalidEach(path, port, isValidPortName(port));
  return [fieldError.required(path)];
}

/** validateHandler: exactly one of exec/httpGet/tcpSocket/grpc (probes) or exec/httpGet/tcpSocket/sleep (hooks). */
function validateHandler(h: Record<string, unknown>, keys: string[], path: string): FieldError[] {
  const errs: FieldError[] = [];
  const set = keys.filter((k) => h[k] !== undefined && h[k] !== null);
  if (set.length === 0) return [fieldError.required(path, 'must specify a handler type')];
  if (set.length > 1) {
    for (const k of set.slice(1)) errs.push(fieldError.forbidden(`${path}.${k}`, 'may not specify more than 1 handler type'));
  }
  const exec = h['exec'] as { command?: string[] } | undefined;
  if (exec && (!exec.command || exec.command.length === 0)) errs.push(fieldError.required(`${path}.exec.command`));
  const httpGet = h['httpGet'] as HTTPGetAction | undefined;
  if (httpGet) errs.push(...validateHTTPGet(httpGet, `${path}.httpGet`));
  const tcp = h['tcpSocket'] as { port?: number | string } | undefined;
  if (tcp) errs.push(...validatePortNumOrName(tcp.port, `${path}.tcpSocket.port`));
  const grpc = h['grpc'] as { port?: number } | undefined;
  if (grpc) errs.push(...invalidEach(`${path}.grpc.port`, grpc.port, isValidPortNum(grpc.port ?? 0)));
  return errs;
}

function validateProbe(p: Probe | undefined, path: string): FieldError[] {
  if (!p) return [];
  const errs = validateHandler(p as unknown as Record<string, unknown>, ['exec', 'httpGet', 'tcpSocket', 'grpc'], path);
  for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const) {
    const v = p[k];
    if (v !== undefined) errs.push(...validateNonnegative(v, `${path}.${k}`));
  }
  if (p.terminationGracePeriodSeconds !== undefined && p.terminationGracePeriodSeconds <= 0) {
    errs.push(fieldError.invalid(`${path}.terminationGracePeriodSeconds`, p.terminationGracePeriodSeconds, 'must be greater than 0'));
  }
  return errs;
}

function validateContainerPorts(ports: ContainerPort[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  (ports ?? []).forEach((p, i) => {
    const idx = `${path}[${i}]`;
    if (p.name) {
      errs.push(...invalidEach(`${idx}.name`, p.name, isValidPortName(p.name)));
      if (names.has(p.name)) errs.push(fieldError.duplicate(`${idx}.name`, p.name));
      names.add(p.name);
    }
    if (p.containerPort === 0 || p.containerPort === undefined) {
      errs.push(fieldError.required(`${idx}.containerPort`));
    } else {
      errs.push(...invalidEach(`${idx}.containerPort`, p.containerPort, isValidPortNum(p.containerPort)));
    }
    if (p.hostPort !== undefined && p.hostPort !== 0) errs.push(...invalidEach(`${idx}.hostPort`, p.hostPort, isValidPortNum(p.hostPort)));
    if (!p.protocol) errs.push(fieldError.required(`${idx}.protocol`));
    else if (!supportedProtocols.includes(p.protocol)) errs.push(fieldError.notSupported(`${idx}.protocol`, p.protocol, supportedProtocols));
  });
  return errs;
}

function validateEnv(env: EnvVar[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  (env ?? []).forEach((e, i) => {
    const idx = `${path}[${i}]`;
    if (!e.name) errs.push(fieldError.required(`${idx}.name`));
    else errs.push(...invalidEach(`${idx}.name`, e.name, isEnvVarName(e.name)));
    const from = e.valueFrom;
    if (!from) return;
    const sources = (['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'] as const).filter((k) => from[k]);
    if (sources.length === 0) {
      errs.push(fieldError.invalid(`${idx}.valueFrom`, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
    } else if (sources.length > 1) {
      errs.push(fieldError.invalid(`${idx}.valueFrom`, '', 'may not have more than one field specified at a time'));
    }
    if (e.value && sources.length > 0) {
      errs.push(fieldError.invalid(`${idx}.valueFrom`, '', 'may not be specified when `value` is not empty'));
    }
    if (from.fieldRef) {
      if (!from.fieldRef.fieldPath) errs.push(fieldError.required(`${idx}.valueFrom.fieldRef.fieldPath`));
      if (!from.fieldRef.apiVersion) errs.push(fieldError.required(`${idx}.valueFrom.fieldRef.apiVersion`));
    }
    for (const k of ['configMapKeyRef', 'secretKeyRef'] as const) {
      const ref = from[k];
      if (!ref) continue;
      if (!ref.key) errs.push(fieldError.required(`${idx}.valueFrom.${k}.key`));
      else errs.push(...invalidEach(`${idx}.valueFrom.${k}.key`, ref.key, isConfigMapKey(ref.key)));
      if (!ref.name) errs.push(fieldError.required(`${idx}.valueFrom.${k}.name`));
    }
  });
  return errs;
}

function validateVolumeMounts(mounts: VolumeMount[] | undefined, volumes: Set<string>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const paths = new Set<string>();
  (mounts ?? []).forEach((m, i) => {
    const idx = `${path}[${i}]`;
    if (!m.name) errs.push(fieldError.required(`${idx}.name`));
    else if (!volumes.has(m.name)) errs.push(fieldError.notFound(`${idx}.name`, m.name));
    if (!m.mountPath) errs.push(fieldError.required(`${idx}.mountPath`));
    else {
      if (paths.has(m.mountPath)) errs.push(fieldError.invalid(`${idx}.mountPath`, m.mountPath, 'must be unique'));
      paths.add(m.mountPath);
    }
    if (m.subPath && (m.subPath.startsWith('/') || m.subPath.split('/').includes('..'))) {
      errs.push(fieldError.invalid(`${idx}.subPath`, m.subPath, m.subPath.startsWith('/') ? 'must be a relative path' : "must not contain '..'"));
    }
  });
  return errs;
}

interface ContainerKindOpts {
  /** "containers", "initContainers" or "ephemeralContainers": decides which fields are allowed. */
  kind: 'containers' | 'initContainers' | 'ephemeralContainers';
  volumes: Set<string>;
  names: Set<string>;
}

function validateContainer(c: Container, path: string, o: ContainerKindOpts): FieldError[] {
  const errs: FieldError[] = [];
  if (!c.name) errs.push(fieldError.required(`${path}.name`));
  else {
    errs.push(...invalidEach(`${path}.name`, c.name, isDNS1123Label(c.name)));
    if (o.names.has(c.name)) errs.push(fieldError.duplicate(`${path}.name`, c.name));
    o.names.add(c.name);
  }
  if (!c.image) errs.push(fieldError.required(`${path}.image`));
  if (!c.imagePullPolicy) errs.push(fieldError.required(`${path}.imagePullPolicy`));
  else if (!supportedPullPolicies.includes(c.imagePullPolicy)) {
    errs.push(fieldError.notSupported(`${path}.imagePullPolicy`, c.imagePullPolicy, supportedPullPolicies));
  }
  if (!c.terminationMessagePolicy) errs.push(fieldError.required(`${path}.terminationMessagePolicy`));
  else if (!supportedTerminationMessagePolicies.includes(c.terminationMessagePolicy)) {
    errs.push(fieldError.notSupported(`${path}.terminationMessagePolicy`, c.terminationMessagePolicy, supportedTerminationMessagePolicies));
  }
  errs.push(...validateContainerPorts(c.ports, `${path}.ports`));
  errs.push(...validateEnv(c.env, `${path}.env`));
  errs.push(...validateVolumeMounts(c.volumeMounts, o.volumes, `${path}.volumeMounts`));
  errs.push(...validateResourceRequirements(c.resources, `${path}.resources`));

  const sidecar = o.kind === 'initContainers' && c.restartPolicy === 'Always';
  if (c.restartPolicy !== undefined && c.restartPolicy !== '') {
    if (o.kind !== 'initContainers') {
      errs.push(fieldError.forbidden(`${path}.restartPolicy`, 'may not be set for non-init containers'));
    } else if (c.restartPolicy !== 'Always') {
      errs.push(fieldError.notSupported(`${path}.restartPolicy`, c.restartPolicy, ['Always']));
    }
  }
  const probeRules: [keyof Container, string][] = [['livenessProbe', 'liveness'], ['readinessProbe', 'readiness'], ['startupProbe', 'startup']];
  for (const [key] of probeRules) {
    const p = c[key] as Probe | undefined;
    if (!p) continue;
    const pp = `${path}.${key}`;
    if (o.kind === 'ephemeralContainers' || (o.kind === 'initContainers' && !sidecar)) {
      errs.push(fieldError.forbidden(pp, 'may not be set for init containers without restartPolicy=Always'));
      continue;
    }
    errs.push(...validateProbe(p, pp));
    if (key !== 'readinessProbe' && p.successThreshold !== undefined && p.successThreshold !== 1) {
      errs.push(fieldError.invalid(`${pp}.successThreshold`, p.successThreshold, 'must be 1'));
    }
    if (key === 'readinessProbe' && p.terminationGracePeriodSeconds !== undefined) {
      errs.push(fieldError.invalid(`${pp}.terminationGracePeriodSeconds`, p.terminationGracePeriodSeconds, 'must not be set for readinessProbes'));
    }
  }
  if (c.lifecycle) {
    if (o.kind === 'ephemeralContainers' || (o.kind === 'initContainers' && !sidecar)) {
      errs.push(fieldError.forbidden(`${path}.lifecycle`, 'may not be set for init containers without restartPolicy=Always'));
    } else {
      for (const k of ['postStart', 'preStop'] as const) {
        const h = c.lifecycle[k];
        if (h) errs.push(...validateHandler(h as unknown as Record<string, unknown>, ['exec', 'httpGet', 'tcpSocket', 'sleep'], `${path}.lifecycle.${k}`));
      }
    }
  }
  return errs;
}

function validateVolumes(volumes: Volume[] | undefined, path: string): { errs: FieldError[]; names: Set<string> } {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  (volumes ?? []).forEach((v, i) => {
    const idx = `${path}[${i}]`;
    if (!v.name) errs.push(fieldError.required(`${idx}.name`));
    else {
      errs.push(...invalidEach(`${idx}.name`, v.name, isDNS1123Label(v.name)));
      if (names.has(v.name)) errs.push(fieldError.duplicate(`${idx}.name`, v.name));
      names.add(v.name);
    }
    const sources = volumeSources(v);
    if (sources.length === 0) errs.push(fieldError.required(idx, 'must specify a volume type'));
    for (const k of sources.slice(1)) errs.push(fieldError.forbidden(`${idx}.${k}`, 'may not specify more than 1 volume type'));
    if (v.hostPath) {
      if (!v.hostPath.path) errs.push(fieldError.required(`${idx}.hostPath.path`));
      if (v.hostPath.type !== undefined && !supportedHostPathTypes.includes(v.hostPath.type)) {
        errs.push(fieldError.notSupported(`${idx}.hostPath.type`, v.hostPath.type, supportedHostPathTypes));
      }
    }
    if (v.persistentVolumeClaim && !v.persistentVolumeClaim.claimName) errs.push(fieldError.required(`${idx}.persistentVolumeClaim.claimName`));
    if (v.nfs) {
      if (!v.nfs.server) errs.push(fieldError.required(`${idx}.nfs.server`));
      if (!v.nfs.path) errs.push(fieldError.required(`${idx}.nfs.path`));
      else if (!v.nfs.path.startsWith('/')) errs.push(fieldError.invalid(`${idx}.nfs.path`, v.nfs.path, 'must be an absolute path'));
    }
    for (const k of ['secret', 'configMap', 'downwardAPI', 'projected'] as const) {
      const mode = v[k]?.defaultMode;
      if (mode !== undefined && (mode > 0o777 || mode < 0)) {
        errs.push(fieldError.invalid(`${idx}.${k}.defaultMode`, mode, 'must be a number between 0 and 0777 (octal), both inclusive'));
      }
    }
    if (v.emptyDir?.sizeLimit !== undefined && !isValidQuantity(String(v.emptyDir.sizeLimit))) {
      errs.push(fieldError.invalid(`${idx}.emptyDir.sizeLimit`, v.emptyDir.sizeLimit, 'must be a valid quantity'));
    }
  });
  return { errs, names };
}

/** Validates a pod spec (the important rules of upstream ValidatePodSpec); `path` is the JSON path of the spec. */
export function validatePodSpec(spec: PodSpec | undefined, path: string): FieldError[] {
  if (!spec) return [fieldError.required(path)];
  const errs: FieldError[] = [];
  const vols = validateVolumes(spec.volumes, `${path}.volumes`);
  errs.push(...vols.errs);
  const names = new Set<string>();
  if (!spec.containers || spec.containers.length === 0) errs.push(fieldError.required(`${path}.containers`));
  (spec.initContainers ?? []).forEach((c, i) => {
    errs.push(...validateContainer(c, `${path}.initContainers[${i}]`, { kind: 'initContainers', volumes: vols.names, names }));
  });
  (spec.containers ?? []).forEach((c, i) => {
    errs.push(...validateContainer(c, `${path}.containers[${i}]`, { kind: 'containers', volumes: vols.names, names }));
  });
  (spec.ephemeralContainers ?? []).forEach((c, i) => {
    errs.push(...validateContainer(c as Container, `${path}.ephemeralContainers[${i}]`, { kind: 'ephemeralContainers', volumes: vols.names, names }));
  });

  if (!spec.restartPolicy) errs.push(fieldError.required(`${path}.restartPolicy`));
  else if (!supportedRestartPolicies.includes(spec.restartPolicy)) {
    errs.push(fieldError.notSupported(`${path}.restartPolicy`, spec.restartPolicy, supportedRestartPolicies));
  }
  if (!spec.dnsPolicy) errs.push(fieldError.required(`${path}.dnsPolicy`));
  else if (!supportedDNSPolicies.includes(spec.dnsPolicy)) {
    errs.push(fieldError.notSupported(`${path}.dnsPolicy`, spec.dnsPolicy, supportedDNSPolicies));
  } else if (spec.dnsPolicy === 'None' && !spec.dnsConfig) {
    errs.push(fieldError.required(`${path}.dnsConfig`, `must provide \`dnsConfig\` when \`dnsPolicy\` is None`));
  }
  if (spec.nodeSelector) errs.push(...validateLabels(spec.nodeSelector, `${path}.nodeSelector`));
  if (spec.serviceAccountName) errs.push(...invalidEach(`${path}.serviceAccountName`, spec.serviceAccountName, isDNS1123Subdomain(spec.serviceAccountName)));
  if (spec.nodeName) errs.push(...invalidEach(`${path}.nodeName`, spec.nodeName, isDNS1123Subdomain(spec.nodeName)));
  if (spec.hostname) errs.push(...invalidEach(`${path}.hostname`, spec.hostname, isDNS1123Label(spec.hostname)));
  if (spec.subdomain) errs.push(...invalidEach(`${path}.subdomain`, spec.subdomain, isDNS1123Label(spec.subdomain)));
  if (spec.activeDeadlineSeconds !== undefined && (spec.activeDeadlineSeconds < 1 || spec.activeDeadlineSeconds > 2147483647)) {
    errs.push(fieldError.invalid(`${path}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive'));
  }
  if (spec.terminationGracePeriodSeconds !== undefined && spec.terminationGracePeriodSeconds < 0) {
    errs.push(...validateNonnegative(spec.terminationGracePeriodSeconds, `${path}.terminationGracePeriodSeconds`));
  }
  (spec.tolerations ?? []).forEach((t, i) => {
    const idx = `${path}.tolerations[${i}]`;
    if (t.key) errs.push(...invalidEach(`${idx}.key`, t.key, isQualifiedName(t.key)));
    if (!t.key && t.operator !== 'Exists') {
      errs.push(fieldError.invalid(`${idx}.operator`, t.operator ?? '', 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (t.operator && !supportedTolerationOperators.includes(t.operator)) {
      errs.push(fieldError.notSupported(`${idx}.operator`, t.operator, supportedTolerationOperators));
    }
    if (t.operator === 'Exists' && t.value) {
      errs.push(fieldError.invalid(`${idx}.operator`, t.value, 'value must be empty when `operator` is \'Exists\''));
    }
    if (t.effect && !supportedTaintEffects.includes(t.effect)) {
      errs.push(fieldError.notSupported(`${idx}.effect`, t.effect, supportedTaintEffects));
    }
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') {
      errs.push(fieldError.invalid(`${idx}.effect`, t.effect ?? '', 'effect must be \'NoExecute\' when `tolerationSeconds` is set'));
    }
  });
  (spec.imagePullSecrets ?? []).forEach((s, i) => {
    if (!s.name) errs.push(fieldError.required(`${path}.imagePullSecrets[${i}].name`));
  });
  (spec.hostAliases ?? []).forEach((h, i) => {
    if (!h.ip) errs.push(fieldError.required(`${path}.hostAliases[${i}].ip`));
  });
  const sc = spec.securityContext;
  if (sc) {
    for (const k of ['runAsUser', 'runAsGroup', 'fsGroup'] as const) {
      const v = sc[k];
      if (v !== undefined && (v < 0 || v > 2147483647)) {
        errs.push(fieldError.invalid(`${path}.securityContext.${k}`, v, 'must be between 0 and 2147483647, inclusive'));
      }
    }
  }
  if (spec.priorityClassName) errs.push(...invalidEach(`${path}.priorityClassName`, spec.priorityClassName, isDNS1123Subdomain(spec.priorityClassName)));
  (spec.readinessGates ?? []).forEach((g, i) => {
    errs.push(...invalidEach(`${path}.readinessGates[${i}].conditionType`, g.conditionType, isQualifiedName(g.conditionType)));
  });
  return errs;
}

/**
 * Validates a pod template (upstream ValidatePodTemplateSpec): labels, annotations and spec; `allowedRestartPolicies`
 * restricts spec.restartPolicy as workload kinds do (ReplicaSet: Always; Job: OnFailure, Never).
 */
export function validatePodTemplateSpec(
  t: PodTemplateSpec | undefined,
  path: string,
  opts: { allowedRestartPolicies?: string[] } = {},
): FieldError[] {
  if (!t) return [fieldError.required(path)];
  const errs: FieldError[] = [];
  errs.push(...validateLabels(t.metadata?.labels, `${path}.labels`));
  errs.push(...validateAnnotations(t.metadata?.annotations, `${path}.annotations`));
  errs.push(...validatePodSpec(t.spec, `${path}.spec`));
  if (t.spec?.ephemeralContainers && t.spec.ephemeralContainers.length > 0) {
    errs.push(fieldError.forbidden(`${path}.spec.ephemeralContainers`, 'ephemeral containers not allowed in pod template'));
  }
  const allowed = opts.allowedRestartPolicies;
  const rp = t.spec?.restartPolicy;
  if (allowed && rp && supportedRestartPolicies.includes(rp) && !allowed.includes(rp)) {
    errs.push(fieldError.notSupported(`${path}.spec.restartPolicy`, rp, allowed));
  }
  return errs;
}

const qosResources = ['cpu', 'memory'];

/** The QoS class of a pod (upstream qos.GetPodQOS over containers and init containers, cpu and memory only). */
export function computeQOSClass(spec: PodSpec): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  let isGuaranteed = true;
  const positive = (q: unknown): number | undefined => {
    const s = String(q);
    if (!isValidQuantity(s)) return undefined;
    const m = parseQuantity(s).milliValue();
    return m > 0 ? m : undefined;
  };
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    for (const [name, q] of Object.entries(c.resources?.requests ?? {})) {
      if (!qosResources.includes(name)) continue;
      const m = positive(q);
      if (m !== undefined) requests.set(name, (requests.get(name) ?? 0) + m);
    }
    const found = new Set<string>();
    for (const [name, q] of Object.entries(c.resources?.limits ?? {})) {
      if (!qosResources.includes(name)) continue;
      const m = positive(q);
      if (m !== undefined) {
        found.add(name);
        limits.set(name, (limits.get(name) ?? 0) + m);
      }
    }
    if (!found.has('cpu') || !found.has('memory')) isGuaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (isGuaranteed) {
    for (const [name, req] of requests) {
      if (limits.get(name) !== req) {
        isGuaranteed = false;
        break;
      }
    }
  }
  return isGuaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}
