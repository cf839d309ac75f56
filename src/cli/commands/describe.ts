/**
 * `skiff describe`: kubectl describe. Resolves TYPE [NAME_PREFIX] (an exact name, else every object whose name
 * starts with it, else all of the type), fetches the related objects each describer needs (events, replica
 * sets, endpoint slices, quotas) and prints the descriptions separated by blank lines.
 */
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { NodeExtras } from '../describe/node.ts';
import { describeNode } from '../describe/node.ts';
import { isNotFound } from '../../client/index.ts';
import type { VerbCommand } from '../command.ts';
import type { CliContext } from '../context.ts';
import type { ApiResourceInfo } from '../discovery.ts';
import { resourceGroup } from '../discovery.ts';
import { CliError, MultiError } from '../errors.ts';
import type { CoreEvent } from '../describe/writer.ts';
import { describeConfigMap, describeDeployment, describeGeneric, describeJob, describeNamespace, describePod, describeReplicaSet, describeSecret, describeService, formatSelector } from '../describe/describers.ts';
import type { Obj } from '../printers/objects.ts';
import { resolveTargets, resourcePath } from '../resource-args.ts';

/** `skiff describe`. */
export const command: VerbCommand = {
  use: 'describe (-f FILENAME | TYPE [NAME_PREFIX | -l label] | TYPE/NAME) [options]',
  short: 'Show details of a specific resource or group of resources.',
  flags: [
    { name: 'selector', short: 'l', type: 'string', usage: 'Selector (label query) to filter on.' },
    { name: 'all-namespaces', short: 'A', type: 'bool', usage: 'If present, list the requested object(s) across all namespaces.' },
    { name: 'show-events', type: 'bool', default: true, usage: 'If true, display events related to the described object.' },
    { name: 'chunk-size', type: 'int', default: 500, usage: 'Return large lists in chunks rather than all at once.' },
  ],
  async run(ctx, f) {
    if (f.args.length === 0) {
      throw new CliError('You must specify the type of resource to describe. Use "kubectl api-resources" for a complete list of supported resources.');
    }
    const targets = await resolveTargets(f.args, ctx.discovery(), { verb: 'kubectl describe' });
    const allNs = f.values['all-namespaces'] === true;
    const namespace = ctx.namespace();
    const selector = String(f.values['selector']);
    const showEvents = f.values['show-events'] !== false;
    const outputs: string[] = [];
    let prefixOut = '';
    const errors: unknown[] = [];
    for (const t of targets) {
      const r = t.resource;
      const ns = r.namespaced ? (allNs && t.name === undefined ? undefined : namespace) : undefined;
      let found: { objects: Obj[]; byPrefix: boolean };
      try {
        found = await findObjects(ctx, r, { name: t.name, namespace: ns, selector });
      } catch (e) {
        errors.push(e);
        continue;
      }
      const objects = found.objects;
      for (const o of objects) {
        try {
          const text = await describeOne(ctx, r, o, { showEvents });
          // Prefix matches print each description followed by a newline (upstream DescribeMatchingResources).
          if (found.byPrefix) prefixOut += `${text}\n`;
          else outputs.push(text);
        } catch (e) {
          errors.push(e);
        }
      }
      if (objects.length === 0 && t.name === undefined && errors.length === 0) {
        ctx.err(!allNs ? `No resources found in ${namespace} namespace.\n` : 'No resources found\n');
      }
    }
    ctx.out(outputs.join('\n\n') + prefixOut);
    if (errors.length > 0) throw new MultiError(errors);
  },
};

async function findObjects(ctx: CliContext, r: ApiResourceInfo, o: { name?: string; namespace?: string; selector: string }): Promise<{ objects: Obj[]; byPrefix: boolean }> {
  const rest = ctx.rest();
  if (o.name !== undefined) {
    try {
      return { objects: [(await rest.request<Obj>({ path: resourcePath(r, { namespace: o.namespace, name: o.name }) })).body], byPrefix: false };
    } catch (e) {
      if (!isNotFound(e)) throw e;
      // Not an exact name: kubectl describes every object whose name starts with it.
      const list = (await rest.request<{ items: Obj[] }>({ path: resourcePath(r, { namespace: o.namespace }) })).body;
      const matches = (list.items ?? []).filter((x) => (x.metadata?.name ?? '').startsWith(o.name!));
      if (matches.length === 0) throw e;
      return { objects: matches.map((x) => withType(r, x)), byPrefix: true };
    }
  }
  const list = (await rest.request<{ items: Obj[] }>({ path: resourcePath(r, { namespace: o.namespace }), query: { labelSelector: o.selector || undefined } })).body;
  return { objects: (list.items ?? []).map((x) => withType(r, x)), byPrefix: false };
}

function withType(r: ApiResourceInfo, o: Obj): Obj {
  return { apiVersion: r.group === '' ? r.version : `${r.group}/${r.version}`, kind: r.kind, ...o };
}

async function eventsFor(ctx: CliContext, o: Obj, opts: { kind?: string }): Promise<CoreEvent[]> {
  const m = o.metadata ?? {};
  const ns = m.namespace ?? '';
  const parts = [`involvedObject.name=${m.name ?? ''}`, `involvedObject.namespace=${ns}`];
  if (opts.kind) parts.push(`involvedObject.kind=${opts.kind}`);
  if (m['uid']) parts.push(`involvedObject.uid=${String(m['uid'])}`);
  const path = ns ? `/api/v1/namespaces/${encodeURIComponent(ns)}/events` : '/api/v1/events';
  try {
    const list = await ctx.rest().request<{ items: CoreEvent[] }>({ path, query: { fieldSelector: parts.join(','), limit: 500 } });
    return list.body.items ?? [];
  } catch {
    // describe still prints the object when events cannot be read.
    return [];
  }
}

async function describeOne(ctx: CliContext, r: ApiResourceInfo, o: Obj, opts: { showEvents: boolean }): Promise<string> {
  const rest = ctx.rest();
  const ns = o.metadata?.namespace;
  const events = async (kind?: string): Promise<CoreEvent[] | undefined> => (opts.showEvents ? eventsFor(ctx, o, { kind }) : undefined);
  const key = `${r.group}/${r.kind}`;
  switch (key) {
    case '/Pod':
      return describePod(o as unknown as Pod, await events());
    case 'apps/Deployment': {
      const d = o as unknown as Deployment;
      const sel = formatSelector(d.spec?.selector);
      const rsList = (await rest.request<{ items: ReplicaSet[] }>({ path: `/apis/apps/v1/namespaces/${encodeURIComponent(ns ?? '')}/replicasets`, query: { labelSelector: sel === '<none>' ? undefined : sel, limit: 500 } })).body.items ?? [];
      return describeDeployment(d, rsList, await events('Deployment'));
    }
    case 'apps/ReplicaSet': {
      const rs = o as unknown as ReplicaSet;
      const sel = formatSelector(rs.spec?.selector);
      const pods = (await rest.request<{ items: Pod[] }>({ path: `/api/v1/namespaces/${encodeURIComponent(ns ?? '')}/pods`, query: { labelSelector: sel === '<none>' ? undefined : sel } })).body.items ?? [];
      const owned = pods.filter((p) => (p.metadata?.ownerReferences ?? []).some((x) => x.controller && x.uid === rs.metadata?.uid));
      return describeReplicaSet(rs, owned, await events('ReplicaSet'));
    }
    case '/Service': {
      let endpoints: string[] | undefined = [];
      try {
        const slices = (await rest.request<{ items: { endpoints?: { addresses?: string[]; conditions?: { ready?: boolean } }[]; ports?: { port?: number }[] }[] }>({
          path: `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(ns ?? '')}/endpointslices`,
          query: { labelSelector: `kubernetes.io/service-name=${o.metadata?.name ?? ''}` },
        })).body.items ?? [];
        if (slices.length === 0) endpoints = undefined;
        for (const s of slices) {
          for (const e of s.endpoints ?? []) {
            if (e.conditions?.ready === false) continue;
            for (const a of e.addresses ?? []) for (const p of s.ports ?? [{}]) endpoints?.push(p.port !== undefined ? `${a}:${p.port}` : a);
          }
        }
      } catch {
        endpoints = undefined;
      }
      return describeService(o, endpoints, await events('Service'));
    }
    case '/Namespace': {
      const name = o.metadata?.name ?? '';
      const list = async (plural: string): Promise<Obj[]> => {
        try {
          return (await rest.request<{ items: Obj[] }>({ path: `/api/v1/namespaces/${encodeURIComponent(name)}/${plural}` })).body.items ?? [];
        } catch {
          return [];
        }
      };
      return describeNamespace(o, await list('resourcequotas'), await list('limitranges'));
    }
    case '/Node': {
      const name = o.metadata?.name ?? '';
      const extras: NodeExtras = { events: await events('Node') };
      try {
        extras.lease = (await rest.request<Lease>({ path: `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${encodeURIComponent(name)}` })).body;
      } catch (e) {
        extras.leaseError = e instanceof Error ? e.message : String(e);
      }
      try {
        const pods: Pod[] = [];
        let cont: string | undefined;
        do {
          const page = (await rest.request<{ items?: Pod[]; metadata?: { continue?: string } }>({
            path: '/api/v1/pods',
            query: { fieldSelector: `spec.nodeName=${name},status.phase!=Failed,status.phase!=Succeeded`, limit: 500, continue: cont },
          })).body;
          pods.push(...(page.items ?? []));
          cont = page.metadata?.continue || undefined;
        } while (cont);
        extras.pods = pods;
      } catch {
        // Without permission to list pods kubectl prints "Pods: not authorized".
      }
      return describeNode(o as unknown as Node, extras);
    }
    case 'batch/Job':
      return describeJob(o, await events('Job'));
    case '/ConfigMap':
      return describeConfigMap(o, await events('ConfigMap'));
    case '/Secret':
      return describeSecret(o);
    default:
      return describeGeneric(o, await events(o.kind));
  }
}

