/**
 * Ports of kubectl's describers (k8s.io/kubectl/pkg/describe): the same field order, labels and layout for
 * pods, deployments, replicasets, services, namespaces, configmaps and secrets, and a generic describer for
 * every other kind. Each takes the object plus whatever related objects the command fetched.
 */
import type { Container, ContainerStatus, Pod, PodTemplateSpec, Volume } from 'kubernetes-types/core/v1.js';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { CoreEvent } from './writer.ts';
import { DescribeWriter, rfc1123z, since, writeAnnotations, writeEvents, writeLabels, writeTolerations } from './writer.ts';
import { formatLabels } from '../printers/table.ts';

type Obj = { apiVersion?: string; kind?: string; metadata?: Record<string, unknown> & { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: unknown };

/** describePod. */
export function describePod(pod: Pod, events: CoreEvent[] | undefined): string {
  const w = new DescribeWriter();
  const m = pod.metadata ?? {};
  const spec = pod.spec ?? { containers: [] };
  const st = pod.status ?? {};
  w.raw(`Name:\t${m.name ?? ''}\n`);
  w.raw(`Namespace:\t${m.namespace ?? ''}\n`);
  if (spec.priority !== undefined) w.raw(`Priority:\t${spec.priority}\n`);
  if (spec.priorityClassName) w.raw(`Priority Class Name:\t${spec.priorityClassName}\n`);
  if (spec.runtimeClassName) w.raw(`Runtime Class Name:\t${spec.runtimeClassName}\n`);
  if (spec.serviceAccountName) w.raw(`Service Account:\t${spec.serviceAccountName}\n`);
  w.raw(spec.nodeName ? `Node:\t${spec.nodeName}/${st.hostIP ?? ''}\n` : 'Node:\t<none>\n');
  if (st.startTime) w.raw(`Start Time:\t${rfc1123z(st.startTime)}\n`);
  writeLabels(w, 'Labels', m.labels);
  writeAnnotations(w, 'Annotations', m.annotations);
  if (m.deletionTimestamp && st.phase !== 'Failed' && st.phase !== 'Succeeded') {
    w.raw(`Status:\tTerminating (lasts ${since(m.deletionTimestamp)})\n`);
    w.raw(`Termination Grace Period:\t${m.deletionGracePeriodSeconds ?? 0}s\n`);
  } else {
    w.raw(`Status:\t${st.phase ?? ''}\n`);
  }
  if (st.reason) w.raw(`Reason:\t${st.reason}\n`);
  if (st.message) w.raw(`Message:\t${st.message}\n`);
  if (spec.securityContext?.seccompProfile) {
    w.raw(`SeccompProfile:\t${spec.securityContext.seccompProfile.type}\n`);
    if (spec.securityContext.seccompProfile.type === 'Localhost') w.raw(`LocalhostProfile:\t${spec.securityContext.seccompProfile.localhostProfile ?? ''}\n`);
  }
  w.raw(`IP:\t${st.podIP ?? ''}\n`);
  if (!st.podIPs || st.podIPs.length === 0) w.raw('IPs:\t<none>\n');
  else {
    w.raw('IPs:\n');
    for (const ip of st.podIPs) w.write(1, `IP:\t${ip.ip}\n`);
  }
  const controller = (m.ownerReferences ?? []).find((o) => o.controller);
  if (controller) w.raw(`Controlled By:\t${controller.kind}/${controller.name}\n`);
  if (st.nominatedNodeName) w.raw(`NominatedNodeName:\t${st.nominatedNodeName}\n`);
  if (spec.initContainers && spec.initContainers.length > 0) describeContainers(w, 'Init Containers', spec.initContainers, st.initContainerStatuses, '');
  describeContainers(w, 'Containers', spec.containers ?? [], st.containerStatuses, '');
  if (spec.readinessGates && spec.readinessGates.length > 0) {
    w.raw('Readiness Gates:\n  Type\tStatus\n');
    for (const g of spec.readinessGates) {
      const c = (st.conditions ?? []).find((x) => x.type === g.conditionType);
      w.write(1, `${g.conditionType} \t${c ? c.status : '<none>'} \n`);
    }
  }
  if (st.conditions && st.conditions.length > 0) {
    w.raw('Conditions:\n  Type\tStatus\n');
    for (const c of st.conditions) w.write(1, `${c.type} \t${c.status} \n`);
  }
  describeVolumes(w, spec.volumes, '');
  w.raw(`QoS Class:\t${st.qosClass || computeQos(pod)}\n`);
  writeLabels(w, 'Node-Selectors', spec.nodeSelector);
  writeTolerations(w, 'Tolerations', spec.tolerations);
  writeEvents(w, events);
  return w.toString();
}

function computeQos(pod: Pod): string {
  const cs = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of cs) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length > 0 || Object.keys(lim).length > 0) any = true;
    for (const r of ['cpu', 'memory']) {
      if (lim[r] === undefined) guaranteed = false;
      else if (req[r] !== undefined && req[r] !== lim[r]) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function describeContainers(w: DescribeWriter, label: string, containers: Container[], statuses: ContainerStatus[] | undefined, space: string): void {
  const byName = new Map((statuses ?? []).map((s) => [s.name, s]));
  w.raw(`${space}${label}:${containers.length === 0 ? ' <none>' : ''}\n`);
  for (const c of containers) {
    const status = byName.get(c.name);
    w.write(1, `${space ? ' ' : ''}${c.name}:\n`);
    if (status) w.write(2, `Container ID:\t${status.containerID ?? ''}\n`);
    w.write(2, `Image:\t${c.image ?? ''}\n`);
    if (status) w.write(2, `Image ID:\t${status.imageID ?? ''}\n`);
    const ports = (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? ''}`).join(', ');
    w.write(2, ports.includes(',') ? `Ports:\t${ports}\n` : `Port:\t${ports || '<none>'}\n`);
    const hostPorts = (c.ports ?? []).map((p) => `${p.hostPort ?? 0}/${p.protocol ?? ''}`).join(', ');
    w.write(2, hostPorts.includes(',') ? `Host Ports:\t${hostPorts}\n` : `Host Port:\t${hostPorts || '<none>'}\n`);
    if (c.command && c.command.length > 0) {
      w.write(2, 'Command:\n');
      for (const x of c.command) for (const s of x.split('\n')) w.write(3, `${s}\n`);
    }
    if (c.args && c.args.length > 0) {
      w.write(2, 'Args:\n');
      for (const x of c.args) for (const s of x.split('\n')) w.write(3, `${s}\n`);
    }
    if (status) {
      describeState(w, 'State', status.state);
      if (status.lastState?.terminated) describeState(w, 'Last State', status.lastState);
      w.write(2, `Ready:\t${status.ready ? 'True' : 'False'}\n`);
      w.write(2, `Restart Count:\t${status.restartCount ?? 0}\n`);
    }
    const res = c.resources ?? {};
    if (res.limits && Object.keys(res.limits).length > 0) {
      w.write(2, 'Limits:\n');
      for (const k of Object.keys(res.limits).sort()) w.write(3, `${k}:\t${res.limits[k]}\n`);
    }
    if (res.requests && Object.keys(res.requests).length > 0) {
      w.write(2, 'Requests:\n');
      for (const k of Object.keys(res.requests).sort()) w.write(3, `${k}:\t${res.requests[k]}\n`);
    }
    for (const [title, probe] of [['Liveness', c.livenessProbe], ['Readiness', c.readinessProbe], ['Startup', c.startupProbe]] as const) {
      if (probe) w.write(2, `${title}:\t${describeProbe(probe)}\n`);
    }
    if (c.envFrom && c.envFrom.length > 0) {
      w.write(2, 'Environment Variables from:\n');
      for (const e of c.envFrom) {
        const from = e.configMapRef ? 'ConfigMap' : e.secretRef ? 'Secret' : '';
        const ref = e.configMapRef ?? e.secretRef;
        const optional = ref?.optional === true;
        w.write(3, e.prefix ? `${ref?.name ?? ''}\t${from} with prefix '${e.prefix}'\tOptional: ${optional}\n` : `${ref?.name ?? ''}\t${from}\tOptional: ${optional}\n`);
      }
    }
    w.write(2, `Environment:${(c.env ?? []).length === 0 ? '\t<none>' : ''}\n`);
    for (const e of c.env ?? []) {
      if (!e.valueFrom) {
        (e.value ?? '').split('\n').forEach((s, i) => w.write(3, i === 0 ? `${e.name}:\t${s}\n` : `\t${s}\n`));
      } else if (e.valueFrom.fieldRef) {
        w.write(3, `${e.name}:\t (${e.valueFrom.fieldRef.apiVersion ?? ''}:${e.valueFrom.fieldRef.fieldPath})\n`);
      } else if (e.valueFrom.resourceFieldRef) {
        w.write(3, `${e.name}:\t (${e.valueFrom.resourceFieldRef.resource})\n`);
      } else if (e.valueFrom.secretKeyRef) {
        w.write(3, `${e.name}:\t<set to the key '${e.valueFrom.secretKeyRef.key}' in secret '${e.valueFrom.secretKeyRef.name ?? ''}'>\tOptional: ${e.valueFrom.secretKeyRef.optional === true}\n`);
      } else if (e.valueFrom.configMapKeyRef) {
        w.write(3, `${e.name}:\t<set to the key '${e.valueFrom.configMapKeyRef.key}' of config map '${e.valueFrom.configMapKeyRef.name ?? ''}'>\tOptional: ${e.valueFrom.configMapKeyRef.optional === true}\n`);
      }
    }
    const mounts = [...(c.volumeMounts ?? [])].sort((a, b) => (a.mountPath < b.mountPath ? -1 : a.mountPath > b.mountPath ? 1 : 0));
    w.write(2, `Mounts:${mounts.length === 0 ? '\t<none>' : ''}\n`);
    for (const mt of mounts) {
      const flags = [mt.readOnly ? 'ro' : 'rw'];
      if (mt.subPath) flags.push(`path=${JSON.stringify(mt.subPath)}`);
      w.write(3, `${mt.mountPath} from ${mt.name} (${flags.join(',')})\n`);
    }
  }
}

function describeState(w: DescribeWriter, name: string, state: ContainerStatus['state']): void {
  if (state?.running) {
    w.write(2, `${name}:\tRunning\n`);
    w.write(3, `Started:\t${rfc1123z(state.running.startedAt ?? '')}\n`);
  } else if (state?.waiting) {
    w.write(2, `${name}:\tWaiting\n`);
    if (state.waiting.reason) w.write(3, `Reason:\t${state.waiting.reason}\n`);
  } else if (state?.terminated) {
    const t = state.terminated;
    w.write(2, `${name}:\tTerminated\n`);
    if (t.reason) w.write(3, `Reason:\t${t.reason}\n`);
    if (t.message) w.write(3, `Message:\t${t.message}\n`);
    w.write(3, `Exit Code:\t${t.exitCode}\n`);
    if ((t.signal ?? 0) > 0) w.write(3, `Signal:\t${t.signal}\n`);
    w.write(3, `Started:\t${rfc1123z(t.startedAt ?? '')}\n`);
    w.write(3, `Finished:\t${rfc1123z(t.finishedAt ?? '')}\n`);
  } else {
    w.write(2, `${name}:\tWaiting\n`);
  }
}

function describeProbe(p: NonNullable<Container['livenessProbe']>): string {
  const attrs = `delay=${p.initialDelaySeconds ?? 0}s timeout=${p.timeoutSeconds ?? 0}s period=${p.periodSeconds ?? 0}s #success=${p.successThreshold ?? 0} #failure=${p.failureThreshold ?? 0}`;
  if (p.exec) return `exec [${(p.exec.command ?? []).join(' ')}] ${attrs}`;
  if (p.httpGet) {
    const scheme = (p.httpGet.scheme ?? '').toLowerCase();
    const host = `${p.httpGet.host ?? ''}:${p.httpGet.port}`;
    return `http-get ${scheme ? `${scheme}://` : '//'}${host}${p.httpGet.path ?? ''} ${attrs}`;
  }
  if (p.tcpSocket) return `tcp-socket ${p.tcpSocket.host ?? ''}:${p.tcpSocket.port} ${attrs}`;
  if (p.grpc) return `grpc <pod>:${p.grpc.port} ${p.grpc.service ?? ''} ${attrs}`;
  return `unknown ${attrs}`;
}

function describeVolumes(w: DescribeWriter, volumes: Volume[] | undefined, space: string): void {
  if (!volumes || volumes.length === 0) return void w.raw(`${space}Volumes:\t<none>\n`);
  w.raw(`${space}Volumes:\n`);
  for (const v of volumes) {
    w.write(1, `${space ? ' ' : ''}${v.name}:\n`);
    if (v.emptyDir) {
      w.write(2, `Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t${v.emptyDir.medium ?? ''}\n    SizeLimit:\t${v.emptyDir.sizeLimit ?? '<unset>'}\n`);
    } else if (v.hostPath) {
      w.write(2, `Type:\tHostPath (bare host directory volume)\n    Path:\t${v.hostPath.path}\n    HostPathType:\t${v.hostPath.type ?? '<none>'}\n`);
    } else if (v.configMap) {
      w.write(2, `Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t${v.configMap.name ?? ''}\n    Optional:\t${v.configMap.optional === true}\n`);
    } else if (v.secret) {
      w.write(2, `Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t${v.secret.secretName ?? ''}\n    Optional:\t${v.secret.optional === true}\n`);
    } else if (v.persistentVolumeClaim) {
      w.write(2, `Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t${v.persistentVolumeClaim.claimName}\n    ReadOnly:\t${v.persistentVolumeClaim.readOnly === true}\n`);
    } else if (v.projected) {
      w.write(2, 'Type:\tProjected (a volume that contains injected data from multiple sources)\n');
      for (const s of v.projected.sources ?? []) {
        // Upstream prints the *bool Optional with %v: `<nil>` when unset.
        if (s.secret) w.write(2, `SecretName:\t${s.secret.name ?? ''}\n    SecretOptionalName:\t${s.secret.optional === undefined ? '<nil>' : s.secret.optional}\n`);
        else if (s.downwardAPI) w.write(2, 'DownwardAPI:\ttrue\n');
        else if (s.configMap) w.write(2, `ConfigMapName:\t${s.configMap.name ?? ''}\n    ConfigMapOptional:\t${s.configMap.optional === undefined ? '<nil>' : s.configMap.optional}\n`);
        else if (s.serviceAccountToken) w.write(2, `TokenExpirationSeconds:\t${s.serviceAccountToken.expirationSeconds ?? 3607}\n`);
      }
    } else {
      w.write(1, '<unknown>\n');
    }
  }
}

/** DescribePodTemplate (used by deployments, replicasets, jobs…). */
export function describePodTemplate(w: DescribeWriter, template: PodTemplateSpec | undefined): void {
  w.raw('Pod Template:\n');
  if (!template) return void w.write(1, '<unset>');
  writeLabels(w, 'Labels', template.metadata?.labels, { indent: '  ' });
  if (template.metadata?.annotations && Object.keys(template.metadata.annotations).length > 0) writeAnnotations(w, 'Annotations', template.metadata.annotations, { indent: '  ' });
  const spec = template.spec ?? { containers: [] };
  if (spec.serviceAccountName) w.write(1, `Service Account:\t${spec.serviceAccountName}\n`);
  if (spec.initContainers && spec.initContainers.length > 0) describeContainers(w, 'Init Containers', spec.initContainers, undefined, '  ');
  describeContainers(w, 'Containers', spec.containers ?? [], undefined, '  ');
  describeVolumes(w, spec.volumes, '  ');
  if (spec.priorityClassName) w.write(1, `Priority Class Name:\t${spec.priorityClassName}\n`);
  writeLabels(w, 'Node-Selectors', spec.nodeSelector, { indent: '  ' });
  writeTolerations(w, 'Tolerations', spec.tolerations, { indent: '  ' });
}

/** describeDeployment; `replicaSets` are those the deployment controls. */
export function describeDeployment(d: Deployment, replicaSets: ReplicaSet[], events: CoreEvent[] | undefined): string {
  const w = new DescribeWriter();
  const m = d.metadata ?? {};
  const spec = d.spec ?? { selector: {}, template: {} };
  const st = d.status ?? {};
  w.raw(`Name:\t${m.name ?? ''}\n`);
  w.raw(`Namespace:\t${m.namespace ?? ''}\n`);
  w.raw(`CreationTimestamp:\t${rfc1123z(m.creationTimestamp ?? '')}\n`);
  writeLabels(w, 'Labels', m.labels);
  writeAnnotations(w, 'Annotations', m.annotations);
  w.raw(`Selector:\t${formatSelector(spec.selector)}\n`);
  w.raw(`Replicas:\t${spec.replicas ?? 1} desired | ${st.updatedReplicas ?? 0} updated | ${st.replicas ?? 0} total | ${st.availableReplicas ?? 0} available | ${st.unavailableReplicas ?? 0} unavailable\n`);
  w.raw(`StrategyType:\t${spec.strategy?.type ?? ''}\n`);
  w.raw(`MinReadySeconds:\t${spec.minReadySeconds ?? 0}\n`);
  const ru = spec.strategy?.rollingUpdate;
  if (ru) w.raw(`RollingUpdateStrategy:\t${ru.maxUnavailable ?? ''} max unavailable, ${ru.maxSurge ?? ''} max surge\n`);
  describePodTemplate(w, spec.template);
  if (st.conditions && st.conditions.length > 0) {
    w.raw('Conditions:\n  Type\tStatus\tReason\n');
    w.write(1, '----\t------\t------\n');
    for (const c of st.conditions) w.write(1, `${c.type} \t${c.status}\t${c.reason ?? ''}\n`);
  }
  const owned = replicaSets.filter((rs) => (rs.metadata?.ownerReferences ?? []).some((o) => o.controller && o.uid === m.uid));
  const newRs = owned.find((rs) => sameTemplate(rs.spec?.template, spec.template));
  const oldRs = owned.filter((rs) => rs !== newRs && (rs.spec?.replicas ?? 0) > 0);
  if (oldRs.length > 0 || newRs) {
    w.raw(`OldReplicaSets:\t${rsList(oldRs)}\n`);
    w.raw(`NewReplicaSet:\t${rsList(newRs ? [newRs] : [])}\n`);
  }
  writeEvents(w, events);
  return w.toString();
}

function rsList(list: ReplicaSet[]): string {
  if (list.length === 0) return '<none>';
  return list.map((rs) => `${rs.metadata?.name ?? ''} (${rs.status?.replicas ?? 0}/${rs.spec?.replicas ?? 0} replicas created)`).join(', ');
}

function sameTemplate(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  const strip = (t: PodTemplateSpec | undefined): string => {
    const c = structuredClone(t ?? {});
    if (c.metadata?.labels) delete c.metadata.labels['pod-template-hash'];
    return JSON.stringify(sortDeep(c));
  };
  return strip(a) === strip(b);
}

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortDeep((v as Record<string, unknown>)[k])]));
  return v;
}

/** metav1.FormatLabelSelector. */
export function formatSelector(sel: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined): string {
  if (!sel) return '<none>';
  const parts: string[] = [];
  for (const k of Object.keys(sel.matchLabels ?? {}).sort()) parts.push(`${k}=${sel.matchLabels![k]}`);
  for (const e of sel.matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === 'exists') parts.push(e.key);
    else if (op === 'doesnotexist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${op === 'in' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`);
  }
  const s = parts.join(',');
  return s === '' ? '<none>' : s;
}

/** describeReplicaSet; `pods` are the pods its selector matches. */
export function describeReplicaSet(rs: ReplicaSet, pods: Pod[], events: CoreEvent[] | undefined): string {
  const w = new DescribeWriter();
  const m = rs.metadata ?? {};
  w.raw(`Name:\t${m.name ?? ''}\n`);
  w.raw(`Namespace:\t${m.namespace ?? ''}\n`);
  w.raw(`Selector:\t${formatSelector(rs.spec?.selector)}\n`);
  writeLabels(w, 'Labels', m.labels);
  writeAnnotations(w, 'Annotations', m.annotations);
  const controller = (m.ownerReferences ?? []).find((o) => o.controller);
  if (controller) w.raw(`Controlled By:\t${controller.kind}/${controller.name}\n`);
  w.raw(`Replicas:\t${rs.status?.replicas ?? 0} current / ${rs.spec?.replicas ?? 1} desired\n`);
  const count = (phase: string): number => pods.filter((p) => p.status?.phase === phase).length;
  w.raw(`Pods Status:\t${count('Running')} Running / ${count('Pending')} Waiting / ${count('Succeeded')} Succeeded / ${count('Failed')} Failed\n`);
  describePodTemplate(w, rs.spec?.template);
  if (rs.status?.conditions && rs.status.conditions.length > 0) {
    w.raw('Conditions:\n  Type\tStatus\tReason\n');
    w.write(1, '----\t------\t------\n');
    for (const c of rs.status.conditions) w.write(1, `${c.type} \t${c.status}\t${c.reason ?? ''}\n`);
  }
  writeEvents(w, events);
  return w.toString();
}

/** describeService; `endpoints` are the ready addresses of its EndpointSlices (`ip:port`), undefined without slices. */
export function describeService(svc: Obj, endpoints: string[] | undefined, events: CoreEvent[] | undefined): string {
  const w = new DescribeWriter();
  const m = svc.metadata ?? {};
  const spec = (svc['spec'] ?? {}) as Record<string, unknown> & { ports?: { name?: string; port: number; protocol?: string; targetPort?: number | string; nodePort?: number }[] };
  const status = (svc['status'] ?? {}) as { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
  w.raw(`Name:\t${m.name ?? ''}\n`);
  w.raw(`Namespace:\t${m.namespace ?? ''}\n`);
  writeLabels(w, 'Labels', m.labels);
  writeAnnotations(w, 'Annotations', m.annotations);
  w.raw(`Selector:\t${formatLabels((spec['selector'] as Record<string, string>) ?? {})}\n`);
  w.raw(`Type:\t${String(spec['type'] ?? '')}\n`);
  if (spec['ipFamilyPolicy']) w.raw(`IP Family Policy:\t${String(spec['ipFamilyPolicy'])}\n`);
  const families = (spec['ipFamilies'] as string[] | undefined) ?? [];
  w.raw(`IP Families:\t${families.length > 0 ? families.join(',') : '<none>'}\n`);
  w.raw(`IP:\t${String(spec['clusterIP'] ?? '')}\n`);
  const ips = (spec['clusterIPs'] as string[] | undefined) ?? [];
  w.raw(`IPs:\t${ips.length > 0 ? ips.join(',') : '<none>'}\n`);
  const ext = (spec['externalIPs'] as string[] | undefined) ?? [];
  if (ext.length > 0) w.raw(`External IPs:\t${ext.join(',')}\n`);
  if (spec['loadBalancerIP']) w.raw(`IP:\t${String(spec['loadBalancerIP'])}\n`);
  if (spec['loadBalancerClass']) w.raw(`LoadBalancer Class:\t${String(spec['loadBalancerClass'])}\n`);
  const ingress = status.loadBalancer?.ingress ?? [];
  if (ingress.length > 0) w.raw(`LoadBalancer Ingress:\t${ingress.map((i) => i.ip || i.hostname).join(', ')}\n`);
  for (const p of spec.ports ?? []) {
    const name = p.name || '<unset>';
    w.raw(`Port:\t${name}\t${p.port}/${p.protocol ?? ''}\n`);
    w.raw(`TargetPort:\t${p.targetPort ?? ''}/${p.protocol ?? ''}\n`);
    if (p.nodePort) w.raw(`NodePort:\t${name}\t${p.nodePort}/${p.protocol ?? ''}\n`);
    w.raw(`Endpoints:\t${formatEndpoints(endpoints)}\n`);
  }
  if (spec['type'] === 'ExternalName') w.raw(`External Name:\t${String(spec['externalName'] ?? '')}\n`);
  w.raw(`Session Affinity:\t${String(spec['sessionAffinity'] ?? '')}\n`);
  if (spec['externalTrafficPolicy']) w.raw(`External Traffic Policy:\t${String(spec['externalTrafficPolicy'])}\n`);
  if (spec['healthCheckNodePort']) w.raw(`HealthCheck NodePort:\t${String(spec['healthCheckNodePort'])}\n`);
  if (spec['internalTrafficPolicy']) w.raw(`Internal Traffic Policy:\t${String(spec['internalTrafficPolicy'])}\n`);
  writeEvents(w, events);
  return w.toString();
}

function formatEndpoints(list: string[] | undefined): string {
  // formatEndpointSlices: `<none>` without slices, empty when the slices hold no ready endpoint.
  if (list === undefined) return '<none>';
  const max = 3;
  return list.length > max ? `${list.slice(0, max).join(',')} + ${list.length - max} more...` : list.join(',');
}

/** describeNamespace (quotas and limit ranges summarized as upstream does when there are none). */
export function describeNamespace(ns: Obj, quotas: Obj[], limitRanges: Obj[]): string {
  const w = new DescribeWriter();
  const m = ns.metadata ?? {};
  w.raw(`Name:\t${m.name ?? ''}\n`);
  writeLabels(w, 'Labels', m.labels);
  writeAnnotations(w, 'Annotations', m.annotations);
  w.raw(`Status:\t${String((ns['status'] as { phase?: string } | undefined)?.phase ?? '')}\n`);
  if (quotas.length === 0) w.raw('\nNo resource quota.\n');
  else {
    w.raw('\nResource Quotas\n');
    for (const q of quotas) {
      w.raw(`  Name:\t${q.metadata?.name ?? ''}\n`);
      w.raw('  Resource\tUsed\tHard\n  --------\t---\t---\n');
      const st = (q['status'] ?? {}) as { hard?: Record<string, string>; used?: Record<string, string> };
      for (const k of Object.keys(st.hard ?? {}).sort()) w.raw(`  ${k}\t${st.used?.[k] ?? '0'}\t${st.hard![k]}\n`);
    }
  }
  if (limitRanges.length === 0) w.raw('\nNo LimitRange resource.\n');
  else {
    w.raw('\nResource Limits\n');
    w.raw(' Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n');
    w.raw(' ----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n');
    for (const lr of limitRanges) {
      for (const item of ((lr['spec'] as { limits?: Record<string, unknown>[] } | undefined)?.limits ?? [])) {
        const get = (f: string, r: string): string => ((item[f] as Record<string, string> | undefined)?.[r] ?? '-');
        const resources = new Set<string>();
        for (const f of ['min', 'max', 'defaultRequest', 'default', 'maxLimitRequestRatio']) for (const r of Object.keys((item[f] as object | undefined) ?? {})) resources.add(r);
        for (const r of [...resources].sort()) w.raw(` ${String(item['type'] ?? '')}\t${r}\t${get('min', r)}\t${get('max', r)}\t${get('defaultRequest', r)}\t${get('default', r)}\t${get('maxLimitRequestRatio', r)}\n`);
      }
    }
  }
  return w.toString();
}

/** describeConfigMap. */
export function describeConfigMap(cm: Obj, events: CoreEvent[] | undefined): string {
  const w = new DescribeWriter();
  const m = cm.metadata ?? {};
  w.raw(`Name:\t${m.name ?? ''}\n`);
  w.raw(`Namespace:\t${m.namespace ?? ''}\n`);
  writeLabels(w, 'Labels', m.labels);
  writeAnnotations(w, 'Annotations', m.annotations);
  w.raw('\nData\n====\n');
  const data = (cm['data'] ?? {}) as Record<string, string>;
  for (const k of Object.keys(data).sort()) {
    w.raw(`${k}:\n----\n`);
    w.raw(`${data[k]}\n`);
    w.raw('\n');
  }
  w.raw('\nBinaryData\n====\n');
  const bin = (cm['binaryData'] ?? {}) as Record<string, string>;
  for (const k of Object.keys(bin).sort()) w.raw(`${k}: ${Buffer.from(bin[k]!, 'base64').length} bytes\n`);
  w.raw('\n');
  writeEvents(w, events);
  return w.toString();
}

/** describeSecret (sizes only, never values). */
export function describeSecret(secret: Obj): string {
  const w = new DescribeWriter();
  const m = secret.metadata ?? {};
  w.raw(`Name:\t${m.name ?? ''}\n`);
  w.raw(`Namespace:\t${m.namespace ?? ''}\n`);
  writeLabels(w, 'Labels', m.labels);
  writeAnnotations(w, 'Annotations', m.annotations);
  w.raw(`\nType:\t${String(secret['type'] ?? '')}\n\nData\n====\n`);
  const data = (secret['data'] ?? {}) as Record<string, string>;
  for (const k of Object.keys(data).sort()) w.raw(`${k}:\t${Buffer.from(data[k]!, 'base64').length} bytes\n`);
  return w.toString();
}

/** The generic describer for kinds without a dedicated one: metadata, then every field with smart labels. */
export function describeGeneric(obj: Obj, events: CoreEvent[] | undefined): string {
  const w = new DescribeWriter();
  const m = obj.metadata ?? {};
  w.raw(`Name:\t${m.name ?? ''}\n`);
  w.raw(`Namespace:\t${m.namespace ?? ''}\n`);
  writeLabels(w, 'Labels', m.labels);
  writeAnnotations(w, 'Annotations', m.annotations);
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) rest[k] = v;
  const meta = { ...m };
  for (const k of ['name', 'namespace', 'labels', 'annotations', 'managedFields']) delete meta[k];
  rest['metadata'] = meta;
  printUnstructured(w, 0, rest, '', new Set(['.metadata.managedFields']));
  writeEvents(w, events);
  return w.toString();
}

function printUnstructured(w: DescribeWriter, level: number, content: Record<string, unknown>, prefix: string, skip: Set<string>): void {
  for (const field of Object.keys(content).sort()) {
    const path = `${prefix}.${field}`;
    if (skip.has(path)) continue;
    const v = content[field];
    const label = smartLabelFor(field);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      w.write(level, `${label}:\n`);
      printUnstructured(w, level + 1, v as Record<string, unknown>, path, skip);
    } else if (Array.isArray(v)) {
      w.write(level, `${label}:\n`);
      for (const item of v) {
        if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
          printUnstructured(w, level + 1, item as Record<string, unknown>, path, skip);
        } else {
          w.write(level + 1, `${String(item)}\n`);
        }
      }
    } else {
      w.write(level, `${label}:\t${v === null ? '<nil>' : String(v)}\n`);
    }
  }
}

/** describe's smartLabelFor: `creationTimestamp` → `Creation Timestamp`, `apiVersion` → `API Version`. */
export function smartLabelFor(field: string): string {
  if (/^[^a-zA-Z]/.test(field) || field.includes('/') || field.includes('.')) return field;
  const words = field.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2').split(' ');
  const special: Record<string, string> = { api: 'API', cidr: 'CIDR', cpu: 'CPU', dns: 'DNS', id: 'ID', ip: 'IP', ips: 'IPs', uid: 'UID', url: 'URL', urls: 'URLs', tls: 'TLS' };
  return words.map((wd) => special[wd.toLowerCase()] ?? wd.charAt(0).toUpperCase() + wd.slice(1)).join(' ');
}

/** describeJob. */
export function describeJob(job: Obj, events: CoreEvent[] | undefined): string {
  const w = new DescribeWriter();
  const m = job.metadata ?? {};
  const spec = (job['spec'] ?? {}) as { selector?: Parameters<typeof formatSelector>[0]; parallelism?: number; completions?: number; completionMode?: string; suspend?: boolean; backoffLimit?: number; ttlSecondsAfterFinished?: number; activeDeadlineSeconds?: number; template?: PodTemplateSpec };
  const st = (job['status'] ?? {}) as { startTime?: string; completionTime?: string; active?: number; ready?: number; succeeded?: number; failed?: number; completedIndexes?: string };
  w.raw(`Name:\t${m.name ?? ''}\n`);
  w.raw(`Namespace:\t${m.namespace ?? ''}\n`);
  w.raw(`Selector:\t${formatSelector(spec.selector)}\n`);
  writeLabels(w, 'Labels', m.labels);
  writeAnnotations(w, 'Annotations', m.annotations);
  const owners = (m['ownerReferences'] ?? []) as { controller?: boolean; kind: string; name: string }[];
  const controller = owners.find((o) => o.controller);
  if (controller) w.raw(`Controlled By:\t${controller.kind}/${controller.name}\n`);
  w.raw(`Parallelism:\t${spec.parallelism ?? 0}\n`);
  w.raw(`Completions:\t${spec.completions !== undefined && spec.completions !== null ? spec.completions : '<unset>'}\n`);
  if (spec.completionMode) w.raw(`Completion Mode:\t${spec.completionMode}\n`);
  if (spec.suspend !== undefined) w.raw(`Suspend:\t${spec.suspend}\n`);
  if (spec.backoffLimit !== undefined) w.raw(`Backoff Limit:\t${spec.backoffLimit}\n`);
  if (spec.ttlSecondsAfterFinished !== undefined) w.raw(`TTL Seconds After Finished:\t${spec.ttlSecondsAfterFinished}\n`);
  if (st.startTime) w.raw(`Start Time:\t${rfc1123z(st.startTime)}\n`);
  if (st.completionTime) {
    w.raw(`Completed At:\t${rfc1123z(st.completionTime)}\n`);
    if (st.startTime) w.raw(`Duration:\t${since(st.startTime, Date.parse(st.completionTime))}\n`);
  }
  if (spec.activeDeadlineSeconds !== undefined) w.raw(`Active Deadline Seconds:\t${spec.activeDeadlineSeconds}s\n`);
  if (st.ready === undefined || st.ready === null) w.raw(`Pods Statuses:\t${st.active ?? 0} Active / ${st.succeeded ?? 0} Succeeded / ${st.failed ?? 0} Failed\n`);
  else w.raw(`Pods Statuses:\t${st.active ?? 0} Active (${st.ready} Ready) / ${st.succeeded ?? 0} Succeeded / ${st.failed ?? 0} Failed\n`);
  if (spec.completionMode === 'Indexed') w.raw(`Completed Indexes:\t${st.completedIndexes || '<none>'}\n`);
  describePodTemplate(w, spec.template);
  writeEvents(w, events);
  return w.toString();
}
