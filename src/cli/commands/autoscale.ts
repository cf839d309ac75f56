/**
 * `skiff autoscale`: kubectl autoscale — an autoscaling/v1 HorizontalPodAutoscaler for a deployment, replica
 * set, stateful set or replication controller (--min, --max, --cpu-percent, --name), with --dry-run and -o.
 */
import type { VerbCommand } from '../command.ts';
import { CliError, MultiError } from '../errors.ts';
import { filenameFlags } from '../manifests.ts';
import type { Obj } from '../printers/objects.ts';
import { apiVersionOf, collectInfos, dryRunFlag, dryRunOf, dryRunQuery } from '../ops.ts';
import { objectMeta } from '../generators.ts';
import { printBuilt } from './run.ts';

/** `skiff autoscale`. */
export const command: VerbCommand = {
  use: 'autoscale (-f FILENAME | TYPE NAME | TYPE/NAME) [--min=MINPODS] --max=MAXPODS [--cpu-percent=CPU]',
  short: 'Auto-scale a deployment, replica set, stateful set, or replication controller.',
  flags: [
    ...filenameFlags('identify the resource to autoscale'),
    { name: 'min', type: 'int', default: -1, usage: 'The lower limit for the number of pods that can be set by the autoscaler.' },
    { name: 'max', type: 'int', default: -1, usage: 'The upper limit for the number of pods that can be set by the autoscaler. Required.' },
    { name: 'cpu-percent', type: 'int', default: -1, usage: 'The target average CPU utilization (represented as a percent of requested CPU) over all the pods.' },
    { name: 'name', type: 'string', usage: 'The name for the newly created object.' },
    { name: 'output', short: 'o', type: 'string', usage: 'Output format.' },
    { name: 'field-manager', type: 'string', default: 'kubectl-autoscale', usage: 'Name of the manager used to track field ownership.' },
    dryRunFlag,
  ],
  async run(ctx, f) {
    const max = Number(f.values['max']);
    const min = Number(f.values['min']);
    if (max < 1) throw new CliError('--max=MAXPODS is required and must be at least 1, max: ' + max);
    if (min > max) throw new CliError(`--max=MAXPODS must be larger or equal to --min=MINPODS, max: ${max}, min: ${min}`);
    const dryRun = dryRunOf(f);
    const infos = await collectInfos(ctx, f, { verb: 'autoscale' });
    // Printing needs only the kind and group; the server decides whether it serves autoscaling/v1.
    const hpaResource = { name: 'horizontalpodautoscalers', singularName: 'horizontalpodautoscaler', namespaced: true, group: 'autoscaling', version: 'v1', kind: 'HorizontalPodAutoscaler', verbs: [], shortNames: [], categories: [] };
    const errors: unknown[] = [];
    for (const info of infos) {
      try {
        if (!['Deployment', 'ReplicaSet', 'StatefulSet', 'ReplicationController'].includes(info.resource.kind)) throw new CliError(`cannot autoscale a ${info.resource.kind}: not scalable`);
        const name = String(f.values['name']) || info.name;
        const spec: Record<string, unknown> = { scaleTargetRef: { kind: info.resource.kind, name: info.name, apiVersion: apiVersionOf(info.resource) } };
        if (min >= 1) spec['minReplicas'] = min;
        spec['maxReplicas'] = max;
        const cpu = Number(f.values['cpu-percent']);
        if (cpu >= 0) spec['targetCPUUtilizationPercentage'] = cpu;
        const hpa = { kind: 'HorizontalPodAutoscaler', apiVersion: 'autoscaling/v1', metadata: objectMeta(name, { namespace: ctx.namespaceExplicit() ? info.namespace : undefined }), spec, status: { currentReplicas: 0, desiredReplicas: 0 } } as Obj;
        let created = hpa;
        if (dryRun !== 'client') {
          created = (await ctx.rest().request<Obj>({ method: 'POST', path: `/apis/autoscaling/v1/namespaces/${encodeURIComponent(info.namespace)}/horizontalpodautoscalers`, body: hpa, query: { fieldManager: String(f.values['field-manager']), ...dryRunQuery(dryRun) } })).body;
        }
        printBuilt(ctx, hpaResource, name, created, { output: String(f.values['output']), op: 'autoscaled', dryRun, typed: dryRun === 'client' });
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw new MultiError(errors);
  },
};
