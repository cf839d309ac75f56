/**
 * `skiff expose`: kubectl expose for pods, services, replication controllers, replica sets and deployments:
 * the selector and ports come from the exposed object (overridable with --selector/--port/--target-port/
 * --protocol/--name/--type/--labels/--external-ip/--cluster-ip/--session-affinity), then the Service is created.
 */
import type { VerbCommand } from '../command.ts';
import { CliError, MultiError } from '../errors.ts';
import { filenameFlags } from '../manifests.ts';
import type { Obj } from '../printers/objects.ts';
import { collectInfos, dryRunFlag, dryRunOf, dryRunQuery } from '../ops.ts';
import { objectMeta, parseLabels } from '../generators.ts';
import { printBuilt } from './run.ts';

type Port = { name?: string; containerPort?: number; port?: number; protocol?: string; targetPort?: number | string };

/** `skiff expose`. */
export const command: VerbCommand = {
  use: 'expose (-f FILENAME | TYPE NAME) [--port=port] [--protocol=TCP|UDP|SCTP] [--target-port=number-or-name] [--name=name] [--external-ip=external-ip-of-service] [--type=type]',
  short: 'Take a replication controller, service, deployment or pod and expose it as a new Kubernetes service.',
  flags: [
    ...filenameFlags('identify the resource to expose a service'),
    { name: 'port', type: 'string', usage: 'The port that the service should serve on.' },
    { name: 'target-port', type: 'string', usage: 'Name or number for the port on the container that the service should direct traffic to.' },
    { name: 'protocol', type: 'string', usage: 'The network protocol for the service to be created. Default is \'TCP\'.' },
    { name: 'name', type: 'string', usage: 'The name for the newly created object.' },
    { name: 'type', type: 'string', usage: "Type for this service: ClusterIP, NodePort, LoadBalancer, or ExternalName. Default is 'ClusterIP'." },
    { name: 'selector', type: 'string', usage: 'A label selector to use for this service.' },
    { name: 'labels', short: 'l', type: 'string', usage: 'Labels to apply to the service created by this call.' },
    { name: 'external-ip', type: 'string', usage: 'Additional external IP address (not managed by Kubernetes) to accept for the service.' },
    { name: 'cluster-ip', type: 'string', usage: 'ClusterIP to be assigned to the service. Leave empty to auto-allocate, or set to \'None\' to create a headless service.' },
    { name: 'session-affinity', type: 'string', usage: "If non-empty, set the session affinity for the service to this; legal values: 'None', 'ClientIP'" },
    { name: 'load-balancer-ip', type: 'string', usage: 'IP to assign to the LoadBalancer.' },
    { name: 'output', short: 'o', type: 'string', usage: 'Output format.' },
    { name: 'field-manager', type: 'string', default: 'kubectl-expose', usage: 'Name of the manager used to track field ownership.' },
    dryRunFlag,
  ],
  async run(ctx, f) {
    const dryRun = dryRunOf(f);
    const infos = await collectInfos(ctx, f, { verb: 'expose', needObjects: true });
    const svcResource = await ctx.discovery().forKind('v1', 'Service');
    const errors: unknown[] = [];
    for (const info of infos) {
      try {
        const obj = info.obj!;
        const kind = obj.kind ?? info.resource.kind;
        const spec = (obj['spec'] ?? {}) as Record<string, unknown>;
        let selector: Record<string, string> | undefined;
        let ports: Port[] = [];
        switch (kind) {
          case 'Pod':
            selector = obj.metadata?.['labels'] as Record<string, string> | undefined;
            ports = ((spec['containers'] ?? []) as { ports?: Port[] }[]).flatMap((c) => c.ports ?? []);
            break;
          case 'Service':
            selector = spec['selector'] as Record<string, string> | undefined;
            ports = (spec['ports'] ?? []) as Port[];
            break;
          case 'ReplicationController':
            selector = spec['selector'] as Record<string, string> | undefined;
            ports = podPorts(spec);
            break;
          case 'ReplicaSet':
          case 'Deployment': {
            const sel = spec['selector'] as { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } | undefined;
            if (sel?.matchExpressions && sel.matchExpressions.length > 0) throw new CliError(`couldn't convert expressions - "${JSON.stringify(sel.matchExpressions)}" to map-based selector format`);
            selector = sel?.matchLabels;
            ports = podPorts(spec);
            break;
          }
          default:
            throw new CliError(`cannot expose a ${kind}`);
        }
        const selText = String(f.values['selector']);
        if (selText) selector = parseLabels(selText);
        if (!selector || Object.keys(selector).length === 0) throw new CliError(`couldn't retrieve selectors via --selector flag or introspection: the ${kind.toLowerCase()} has no labels`);
        const portText = String(f.values['port']);
        const protocol = String(f.values['protocol']);
        const targetPort = String(f.values['target-port']);
        let svcPorts: Record<string, unknown>[];
        if (portText) {
          const p: Record<string, unknown> = { protocol: protocol || 'TCP', port: Number(portText) };
          p['targetPort'] = targetPort ? (/^\d+$/.test(targetPort) ? Number(targetPort) : targetPort) : Number(portText);
          svcPorts = [p];
        } else {
          if (ports.length === 0) throw new CliError(`couldn't find port via --port flag or introspection`);
          svcPorts = ports.map((p, i) => {
            const port = p.port ?? p.containerPort ?? 0;
            const sp: Record<string, unknown> = {};
            if (ports.length > 1) sp['name'] = p.name || `port-${i + 1}`;
            sp['protocol'] = protocol || p.protocol || 'TCP';
            sp['port'] = port;
            sp['targetPort'] = targetPort ? (/^\d+$/.test(targetPort) ? Number(targetPort) : targetPort) : kind === 'Service' ? (p.targetPort ?? port) : port;
            return sp;
          });
        }
        const name = String(f.values['name']) || info.name;
        const labelsText = String(f.values['labels']);
        const labels = labelsText ? parseLabels(labelsText) : ((obj.metadata?.['labels'] as Record<string, string> | undefined) ?? undefined);
        const svcSpec: Record<string, unknown> = { ports: svcPorts, selector };
        const cip = String(f.values['cluster-ip']);
        if (cip) svcSpec['clusterIP'] = cip;
        const type = String(f.values['type']);
        if (type) svcSpec['type'] = type;
        const ext = String(f.values['external-ip']);
        if (ext) svcSpec['externalIPs'] = [ext];
        const aff = String(f.values['session-affinity']);
        if (aff) svcSpec['sessionAffinity'] = aff;
        const lbip = String(f.values['load-balancer-ip']);
        if (lbip) svcSpec['loadBalancerIP'] = lbip;
        const svc = { kind: 'Service', apiVersion: 'v1', metadata: objectMeta(name, { namespace: info.namespace, labels }), spec: svcSpec, status: { loadBalancer: {} } } as Obj;
        let created = svc;
        if (dryRun !== 'client') {
          created = (await ctx.rest().request<Obj>({ method: 'POST', path: `/api/v1/namespaces/${encodeURIComponent(info.namespace)}/services`, body: svc, query: { fieldManager: String(f.values['field-manager']), ...dryRunQuery(dryRun) } })).body;
        }
        printBuilt(ctx, svcResource, name, created, { output: String(f.values['output']), op: 'exposed', dryRun, typed: dryRun === 'client' });
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw new MultiError(errors);
  },
};

function podPorts(spec: Record<string, unknown>): Port[] {
  const tpl = (spec['template'] ?? {}) as { spec?: { containers?: { ports?: Port[] }[] } };
  return (tpl.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
}
