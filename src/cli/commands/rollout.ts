/**
 * `skiff rollout`: kubectl rollout status (the status viewers of deployments, daemon sets and stateful sets,
 * printed on every change while watching; on a terminal a live progress bar of updated/ready/available
 * replicas instead), history (revisions from the owned ReplicaSets, `--revision` prints the pod template),
 * undo (`--to-revision`), restart, pause and resume.
 */
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { ParsedFlags } from '../flags.ts';
import { parseDuration } from '../flags.ts';
import type { VerbCommand, VerbGroup } from '../command.ts';
import type { CliContext } from '../context.ts';
import { CliError, MultiError } from '../errors.ts';
import { filenameFlags } from '../manifests.ts';
import type { Info } from '../ops.ts';
import { collectInfos, dryRunFlag, dryRunOf, dryRunQuery, infoPath, opLine } from '../ops.ts';
import type { Obj } from '../printers/objects.ts';
import { printObject } from '../printers/objects.ts';
import { resourceGroup } from '../discovery.ts';
import { DescribeWriter } from '../describe/writer.ts';
import { describePodTemplate } from '../describe/describers.ts';
import { tabwrite } from '../printers/tabwriter.ts';
import { deepEqual } from '../apply/three-way.ts';

const REVISION = 'deployment.kubernetes.io/revision';
const CHANGE_CAUSE = 'kubernetes.io/change-cause';
const HASH_LABEL = 'pod-template-hash';

type Status = { message: string; done: boolean; progress?: { desired: number; updated: number; ready: number; available: number } };

/** The status viewers of kubectl (polymorphichelpers/rollout_status.go). */
export function rolloutStatus(obj: Obj): Status {
  const name = obj.metadata?.name ?? '';
  const gen = Number(obj.metadata?.['generation'] ?? 0);
  const spec = (obj['spec'] ?? {}) as Record<string, unknown>;
  const st = (obj['status'] ?? {}) as Record<string, number | string | undefined | { type: string; reason?: string }[]>;
  const n = (k: string): number => Number(st[k] ?? 0);
  switch (obj.kind) {
    case 'Deployment': {
      const desired = Number(spec['replicas'] ?? 1);
      const progress = { desired, updated: n('updatedReplicas'), ready: n('readyReplicas'), available: n('availableReplicas') };
      if (gen > n('observedGeneration')) return { message: 'Waiting for deployment spec update to be observed...\n', done: false, progress };
      const conds = (st['conditions'] ?? []) as { type: string; reason?: string }[];
      const prog = conds.find((c) => c.type === 'Progressing');
      if (prog?.reason === 'ProgressDeadlineExceeded') throw new CliError(`deployment ${JSON.stringify(name)} exceeded its progress deadline`);
      if (n('updatedReplicas') < desired) return { message: `Waiting for deployment ${JSON.stringify(name)} rollout to finish: ${n('updatedReplicas')} out of ${desired} new replicas have been updated...\n`, done: false, progress };
      if (n('replicas') > n('updatedReplicas')) return { message: `Waiting for deployment ${JSON.stringify(name)} rollout to finish: ${n('replicas') - n('updatedReplicas')} old replicas are pending termination...\n`, done: false, progress };
      if (n('availableReplicas') < n('updatedReplicas')) return { message: `Waiting for deployment ${JSON.stringify(name)} rollout to finish: ${n('availableReplicas')} of ${n('updatedReplicas')} updated replicas are available...\n`, done: false, progress };
      return { message: `deployment ${JSON.stringify(name)} successfully rolled out\n`, done: true, progress };
    }
    case 'DaemonSet': {
      if ((spec['updateStrategy'] as { type?: string } | undefined)?.type !== 'RollingUpdate') throw new CliError('rollout status is only available for RollingUpdate strategy type');
      const desired = n('desiredNumberScheduled');
      const progress = { desired, updated: n('updatedNumberScheduled'), ready: n('numberReady'), available: n('numberAvailable') };
      if (gen > n('observedGeneration')) return { message: 'Waiting for daemon set spec update to be observed...\n', done: false, progress };
      if (n('updatedNumberScheduled') < desired) return { message: `Waiting for daemon set ${JSON.stringify(name)} rollout to finish: ${n('updatedNumberScheduled')} out of ${desired} new pods have been updated...\n`, done: false, progress };
      if (n('numberAvailable') < desired) return { message: `Waiting for daemon set ${JSON.stringify(name)} rollout to finish: ${n('numberAvailable')} of ${desired} updated pods are available...\n`, done: false, progress };
      return { message: `daemon set ${JSON.stringify(name)} successfully rolled out\n`, done: true, progress };
    }
    case 'StatefulSet': {
      const strategy = (spec['updateStrategy'] ?? {}) as { type?: string; rollingUpdate?: { partition?: number } };
      if (strategy.type !== 'RollingUpdate') throw new CliError('rollout status is only available for RollingUpdate strategy type');
      const desired = Number(spec['replicas'] ?? 1);
      const progress = { desired, updated: n('updatedReplicas'), ready: n('readyReplicas'), available: n('availableReplicas') };
      if (n('observedGeneration') === 0 || gen > n('observedGeneration')) return { message: 'Waiting for statefulset spec update to be observed...\n', done: false, progress };
      if (n('readyReplicas') < desired) return { message: `Waiting for ${desired - n('readyReplicas')} pods to be ready...\n`, done: false, progress };
      if (strategy.rollingUpdate) {
        const partition = strategy.rollingUpdate.partition;
        if (partition !== undefined && n('updatedReplicas') < desired - partition) {
          return { message: `Waiting for partitioned roll out to finish: ${n('updatedReplicas')} out of ${desired - partition} new pods have been updated...\n`, done: false, progress };
        }
        return { message: `partitioned roll out complete: ${n('updatedReplicas')} new pods have been updated...\n`, done: true, progress };
      }
      if (st['updateRevision'] !== st['currentRevision']) return { message: `waiting for statefulset rolling update to complete ${n('updatedReplicas')} pods at revision ${String(st['updateRevision'] ?? '')}...\n`, done: false, progress };
      return { message: `statefulset rolling update complete ${n('currentReplicas')} pods at revision ${String(st['currentRevision'] ?? '')}...\n`, done: true, progress };
    }
    default:
      throw new CliError(`no status viewer has been implemented for ${obj.kind ?? ''}`);
  }
}

/** A one-line progress bar for a terminal: `[#####-----] 2/4 updated, 1/4 ready, 1/4 available`. */
export function progressBar(p: NonNullable<Status['progress']>, width = 24): string {
  const frac = p.desired === 0 ? 1 : Math.min(1, p.available / p.desired);
  const upd = p.desired === 0 ? 1 : Math.min(1, p.updated / p.desired);
  const full = Math.round(frac * width);
  const half = Math.max(0, Math.round(upd * width) - full);
  return `[${'█'.repeat(full)}${'▒'.repeat(half)}${'░'.repeat(Math.max(0, width - full - half))}] ${p.updated}/${p.desired} updated, ${p.ready}/${p.desired} ready, ${p.available}/${p.desired} available`;
}

const targetFlags = [...filenameFlags('get the resource'), { name: 'selector', short: 'l', type: 'string', usage: 'Selector (label query) to filter on.' } as const];

async function infos(ctx: CliContext, f: ParsedFlags, verb: string): Promise<Info[]> {
  const list = await collectInfos(ctx, f, { verb: `rollout ${verb}`, needObjects: true });
  return list;
}

const status: VerbCommand = {
  use: 'status (TYPE NAME | TYPE/NAME) [flags]',
  short: 'Show the status of the rollout',
  flags: [
    ...targetFlags,
    { name: 'watch', short: 'w', type: 'bool', default: true, usage: 'Watch the status of the rollout until it\'s done.' },
    { name: 'revision', type: 'int', usage: 'Pin to a specific revision for showing its status. Defaults to 0 (last revision).' },
    { name: 'timeout', type: 'duration', default: '0s', usage: 'The length of time to wait before ending watch, zero means never.' },
  ],
  async run(ctx, f) {
    const list = await infos(ctx, f, 'status');
    const t = parseDuration(String(f.values['timeout'])) ?? 0;
    const watch = f.values['watch'] !== false;
    const tty = ctx.io.stdout.isTTY === true && ctx.io.env['TERM'] !== 'dumb';
    for (const info of list) {
      let last = '';
      let barShown = false;
      const show = (s: Status): void => {
        if (tty && s.progress && !s.done) {
          ctx.out(`\r\x1b[2K${progressBar(s.progress)}`);
          barShown = true;
          return;
        }
        if (barShown) {
          ctx.out(`\r\x1b[2K`);
          barShown = false;
        }
        // On a terminal only changes are printed; piped output keeps kubectl's line per event.
        if (!tty || s.message !== last) ctx.out(s.message);
        last = s.message;
      };
      const first = rolloutStatus(info.obj!);
      show(first);
      if (first.done || !watch) continue;
      const { waitForObject } = await import('../waiter.ts');
      let seenFirst = false;
      const ok = await waitForObject(
        ctx,
        info,
        (o) => {
          if (!o) return { done: true, error: new CliError(`object has been deleted`) };
          // The waiter re-reads the object first; that state is already printed.
          if (!seenFirst) {
            seenFirst = true;
            const s = rolloutStatus(o);
            if (s.message !== first.message || s.done) show(s);
            return { done: s.done };
          }
          const s = rolloutStatus(o);
          show(s);
          return { done: s.done };
        },
        { timeoutMs: t > 0 ? t : -1 },
      );
      if (barShown) ctx.out('\n');
      if (!ok) throw new CliError('timed out waiting for the condition');
    }
  },
};

async function ownedReplicaSets(ctx: CliContext, d: Deployment): Promise<ReplicaSet[]> {
  const sel = d.spec?.selector?.matchLabels ?? {};
  const labelSelector = Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(',');
  const list = (await ctx.rest().request<{ items?: ReplicaSet[] }>({ path: `/apis/apps/v1/namespaces/${encodeURIComponent(d.metadata?.namespace ?? '')}/replicasets`, query: { labelSelector: labelSelector || undefined } })).body.items ?? [];
  return list.filter((rs) => (rs.metadata?.ownerReferences ?? []).some((o) => o.controller && o.uid === d.metadata?.uid));
}

function revisionOf(o: { metadata?: { annotations?: Record<string, string> } }): number | undefined {
  const v = o.metadata?.annotations?.[REVISION];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

function templateText(t: PodTemplateSpec | undefined): string {
  const w = new DescribeWriter();
  describePodTemplate(w, t);
  return w.untabbed();
}

const history: VerbCommand = {
  use: 'history (TYPE NAME | TYPE/NAME) [flags]',
  short: 'View rollout history',
  flags: [...targetFlags, { name: 'revision', type: 'int', usage: 'See the details, including podTemplate of the revision specified' }, { name: 'output', short: 'o', type: 'string', usage: 'Output format.' }],
  async run(ctx, f) {
    const revision = Number(f.values['revision']);
    for (const info of await infos(ctx, f, 'history')) {
      if (info.obj?.kind !== 'Deployment') throw new CliError(`no history viewer has been implemented for ${info.obj?.kind ?? ''}`);
      const rss = await ownedReplicaSets(ctx, info.obj as unknown as Deployment);
      const byRev = new Map<number, ReplicaSet>();
      for (const rs of rss) {
        const v = revisionOf(rs);
        if (v !== undefined) byRev.set(v, rs);
      }
      const output = String(f.values['output']);
      if (revision > 0) {
        const rs = byRev.get(revision);
        if (!rs) throw new CliError('unable to find the specified revision');
        if (output) {
          ctx.out(printObject(output, { apiVersion: 'v1', kind: 'PodTemplateSpec', ...rs.spec?.template } as Obj));
          continue;
        }
        ctx.out(`${resourceKind(info)}/${info.name} with revision #${revision}\n${templateText(rs.spec?.template)}\n`);
        continue;
      }
      if (byRev.size === 0) {
        ctx.out(`${resourceKind(info)}/${info.name} \nNo rollout history found.\n`);
        continue;
      }
      const lines = ['REVISION\tCHANGE-CAUSE'];
      for (const v of [...byRev.keys()].sort((a, b) => a - b)) {
        const rs = byRev.get(v)!;
        lines.push(`${v}\t${rs.metadata?.annotations?.[CHANGE_CAUSE] || '<none>'}`);
      }
      ctx.out(`${resourceKind(info)}/${info.name} \n${tabwrite(lines, { minWidth: 0, padding: 2 })}\n`);
    }
  },
};

function resourceKind(info: Info): string {
  const r = info.resource;
  return r.group === '' ? r.kind.toLowerCase() : `${r.kind.toLowerCase()}.${r.group}`;
}

const SKIP_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration', REVISION, 'deployment.kubernetes.io/revision-history', 'deployment.kubernetes.io/desired-replicas', 'deployment.kubernetes.io/max-replicas', 'deprecated.deployment.rollback.to']);

function withoutHash(t: PodTemplateSpec | undefined): PodTemplateSpec {
  const c = structuredClone(t ?? {});
  if (c.metadata?.labels) delete c.metadata.labels[HASH_LABEL];
  return c;
}

const undo: VerbCommand = {
  use: 'undo (TYPE NAME | TYPE/NAME) [flags]',
  short: 'Undo a previous rollout',
  flags: [...targetFlags, { name: 'to-revision', type: 'int', usage: 'The revision to rollback to. Default to 0 (last revision).' }, dryRunFlag],
  async run(ctx, f) {
    const to = Number(f.values['to-revision']);
    const dryRun = dryRunOf(f);
    const errors: unknown[] = [];
    for (const info of await infos(ctx, f, 'undo')) {
      try {
        const d = info.obj as unknown as Deployment;
        if (info.obj?.kind !== 'Deployment') throw new CliError(`no rollbacker has been implemented for ${info.obj?.kind ?? ''}`);
        if (d.spec?.paused) throw new CliError("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again");
        const rss = await ownedReplicaSets(ctx, d);
        let target: ReplicaSet | undefined;
        let latest = -1;
        let latestRs: ReplicaSet | undefined;
        let previous = -1;
        for (const rs of rss) {
          const v = revisionOf(rs);
          if (v === undefined) continue;
          if (to === 0) {
            if (latest < v) {
              previous = latest;
              target = latestRs;
              latest = v;
              latestRs = rs;
            } else if (previous < v) {
              previous = v;
              target = rs;
            }
          } else if (to === v) target = rs;
        }
        if (to > 0 && !target) throw new CliError(`unable to find specified revision ${to} in history`);
        if (!target) throw new CliError(`no rollout history found for deployment ${JSON.stringify(d.metadata?.name ?? '')}`);
        if (dryRun === 'client') {
          ctx.out(`${resourceKind(info)}/${info.name} Pod Template:\n${templateText(target.spec?.template).replace(/^Pod Template:\n/, '')}`);
          continue;
        }
        const tpl = withoutHash(target.spec?.template);
        if (deepEqual(tpl, withoutHash(d.spec?.template))) {
          ctx.out(opLine(info.resource, info.name, `skipped rollback (current template already matches revision ${to || revisionOf(target) || 0})`, dryRun));
          continue;
        }
        const annotations: Record<string, string> = {};
        for (const k of SKIP_ANNOTATIONS) {
          const v = d.metadata?.annotations?.[k];
          if (v !== undefined) annotations[k] = v;
        }
        for (const [k, v] of Object.entries(target.metadata?.annotations ?? {})) if (!SKIP_ANNOTATIONS.has(k)) annotations[k] = v;
        await ctx.rest().request({
          method: 'PATCH',
          path: infoPath(info),
          body: [
            { op: 'replace', path: '/spec/template', value: tpl },
            { op: 'replace', path: '/metadata/annotations', value: annotations },
          ],
          contentType: 'application/json-patch+json',
          query: dryRunQuery(dryRun),
        });
        ctx.out(opLine(info.resource, info.name, 'rolled back', dryRun));
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw new MultiError(errors);
  },
};

function patchVerb(verb: string, short: string, apply: (info: Info) => { body: unknown; error?: string } | undefined, done: string): VerbCommand {
  return {
    use: `${verb} RESOURCE`,
    short,
    flags: [...targetFlags, { name: 'output', short: 'o', type: 'string', usage: 'Output format.' }, { name: 'field-manager', type: 'string', default: 'kubectl-rollout', usage: 'Name of the manager used to track field ownership.' }, dryRunFlag],
    async run(ctx, f) {
      const dryRun = dryRunOf(f);
      const errors: unknown[] = [];
      for (const info of await infos(ctx, f, verb)) {
        try {
          const p = apply(info);
          if (!p) throw new CliError(`${resourceGroup(info.resource)} ${JSON.stringify(info.name)} ${verb === 'pause' ? 'pausing' : verb === 'resume' ? 'resuming' : 'restarting'} is not supported`);
          if (p.error) throw new CliError(p.error);
          let result = info.obj!;
          if (dryRun !== 'client') {
            result = (await ctx.rest().request<Obj>({ method: 'PATCH', path: infoPath(info), body: p.body, contentType: 'application/strategic-merge-patch+json', query: { fieldManager: String(f.values['field-manager']), ...dryRunQuery(dryRun) } })).body;
          }
          const output = String(f.values['output']);
          if (output) ctx.out(printObject(output, result));
          else ctx.out(opLine(info.resource, info.name, done, dryRun));
        } catch (e) {
          errors.push(e);
        }
      }
      if (errors.length > 0) throw new MultiError(errors);
    },
  };
}

const isWorkload = (info: Info): boolean => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(info.obj?.kind ?? '');

/** `skiff rollout`. */
export const command: VerbGroup = {
  use: 'rollout SUBCOMMAND',
  short: 'Manage the rollout of one or many resources.',
  subcommands: {
    status,
    history,
    undo,
    restart: patchVerb('restart', 'Restart a resource', (info) => {
      if (!isWorkload(info)) return undefined;
      const spec = info.obj!['spec'] as { paused?: boolean } | undefined;
      if (spec?.paused) return { body: {}, error: `can't restart paused ${info.obj!.kind!.toLowerCase()} (run rollout resume first)` };
      return { body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') } } } } } };
    }, 'restarted'),
    pause: patchVerb('pause', 'Mark the provided resource as paused', (info) => {
      if (info.obj?.kind !== 'Deployment') return undefined;
      if ((info.obj['spec'] as { paused?: boolean } | undefined)?.paused) return { body: {}, error: `${resourceGroup(info.resource)} ${JSON.stringify(info.name)} is already paused` };
      return { body: { spec: { paused: true } } };
    }, 'paused'),
    resume: patchVerb('resume', 'Resume a paused resource', (info) => {
      if (info.obj?.kind !== 'Deployment') return undefined;
      if (!(info.obj['spec'] as { paused?: boolean } | undefined)?.paused) return { body: {}, error: `${resourceGroup(info.resource)} ${JSON.stringify(info.name)} is not paused` };
      return { body: { spec: { paused: null } } };
    }, 'resumed'),
  },
};
