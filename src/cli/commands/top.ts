/**
 * `skiff top nodes|pods`: kubectl top through the metrics.k8s.io API; without it, kubectl's
 * `error: Metrics API not available`.
 */
import type { VerbCommand, VerbGroup } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { tabwrite } from '../printers/tabwriter.ts';
import { parseQuantity } from '../../api/meta/quantity.ts';

async function requireMetrics(ctx: CliContext): Promise<void> {
  const groups = await ctx.discovery().groups();
  if (!groups.some((g) => g.name === 'metrics.k8s.io')) throw new CliError('Metrics API not available');
}

function cores(q: string): number {
  return parseQuantity(q).milliValue();
}
function mib(q: string): number {
  return Math.floor(parseQuantity(q).value() / (1024 * 1024));
}

const nodes: VerbCommand = {
  use: 'node [NAME | -l label]',
  short: 'Display resource (CPU/memory) usage of nodes',
  flags: [{ name: 'selector', short: 'l', type: 'string', usage: 'Selector (label query) to filter on.' }, { name: 'no-headers', type: 'bool', usage: 'If present, print output without headers' }, { name: 'sort-by', type: 'string', usage: 'If non-empty, sort nodes list using specified field.' }],
  async run(ctx, f) {
    await requireMetrics(ctx);
    const list = (await ctx.rest().request<{ items?: { metadata?: { name?: string }; usage?: Record<string, string> }[] }>({ path: '/apis/metrics.k8s.io/v1beta1/nodes', query: { labelSelector: String(f.values['selector']) || undefined } })).body.items ?? [];
    const nodeList = (await ctx.rest().request<{ items?: { metadata?: { name?: string }; status?: { allocatable?: Record<string, string> } }[] }>({ path: '/api/v1/nodes' })).body.items ?? [];
    const lines = f.values['no-headers'] === true ? [] : ['NAME\tCPU(cores)\tCPU(%)\tMEMORY(bytes)\tMEMORY(%)'];
    for (const m of list.filter((x) => f.args.length === 0 || f.args.includes(x.metadata?.name ?? ''))) {
      const alloc = nodeList.find((n) => n.metadata?.name === m.metadata?.name)?.status?.allocatable ?? {};
      const c = cores(m.usage?.['cpu'] ?? '0');
      const mem = parseQuantity(m.usage?.['memory'] ?? '0').value();
      const ca = alloc['cpu'] ? cores(alloc['cpu']) : 0;
      const ma = alloc['memory'] ? parseQuantity(alloc['memory']).value() : 0;
      lines.push(`${m.metadata?.name ?? ''}\t${c}m\t${ca ? Math.floor((c / ca) * 100) : 0}%\t${mib(m.usage?.['memory'] ?? '0')}Mi\t${ma ? Math.floor((mem / ma) * 100) : 0}%`);
    }
    ctx.out(tabwrite(lines, { minWidth: 0, padding: 3 }));
  },
};

const pods: VerbCommand = {
  use: 'pod [NAME | -l label]',
  short: 'Display resource (CPU/memory) usage of pods',
  flags: [{ name: 'selector', short: 'l', type: 'string', usage: 'Selector (label query) to filter on.' }, { name: 'all-namespaces', short: 'A', type: 'bool', usage: 'If present, list the requested object(s) across all namespaces.' }, { name: 'containers', type: 'bool', usage: 'If present, print usage of containers within a pod.' }, { name: 'no-headers', type: 'bool', usage: 'If present, print output without headers' }, { name: 'sort-by', type: 'string', usage: 'If non-empty, sort pods list using specified field.' }],
  async run(ctx, f) {
    await requireMetrics(ctx);
    const allNs = f.values['all-namespaces'] === true;
    const path = allNs ? '/apis/metrics.k8s.io/v1beta1/pods' : `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(ctx.namespace())}/pods`;
    const list = (await ctx.rest().request<{ items?: { metadata?: { name?: string; namespace?: string }; containers?: { name: string; usage?: Record<string, string> }[] }[] }>({ path, query: { labelSelector: String(f.values['selector']) || undefined } })).body.items ?? [];
    const lines = f.values['no-headers'] === true ? [] : [`${allNs ? 'NAMESPACE\t' : ''}NAME\tCPU(cores)\tMEMORY(bytes)`];
    for (const p of list.filter((x) => f.args.length === 0 || f.args.includes(x.metadata?.name ?? ''))) {
      let c = 0;
      let m = 0;
      for (const ct of p.containers ?? []) {
        c += cores(ct.usage?.['cpu'] ?? '0');
        m += parseQuantity(ct.usage?.['memory'] ?? '0').value();
      }
      lines.push(`${allNs ? `${p.metadata?.namespace ?? ''}\t` : ''}${p.metadata?.name ?? ''}\t${c}m\t${Math.floor(m / (1024 * 1024))}Mi`);
    }
    if (lines.length <= 1 && f.values['no-headers'] !== true) {
      ctx.err(allNs ? 'No resources found\n' : `No resources found in ${ctx.namespace()} namespace.\n`);
      return;
    }
    ctx.out(tabwrite(lines, { minWidth: 0, padding: 3 }));
  },
};

/** `skiff top`. */
export const command: VerbGroup = { use: 'top', short: 'Display resource (CPU/memory) usage', subcommands: { node: nodes, nodes, no: nodes, pod: pods, pods, po: pods } };
