/**
 * ControllerRevision history shared by the StatefulSet and DaemonSet controllers (pkg/controller/history): a
 * revision stores the pod template as a `{"spec":{"template":{…,"$patch":"replace"}}}` patch, is named
 * `<owner>-<hash>` and labelled `controller-revision-hash: <hash>`; equal revisions are found by their data, the
 * hash collision count is bumped when a name is taken by different data.
 */
import type { ControllerRevision } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { canonicalJSON } from '../../api/apps/v1/workload.ts';
import type { ObjectLike, ResourceClient } from '../../client/index.ts';
import { isAlreadyExists } from '../../client/index.ts';
import { fnv32a, safeEncodeString } from '../deployment/hash.ts';
import { semanticNormalize } from '../deployment/util.ts';
import { newControllerRef } from '../common/controller-ref.ts';

/** apps.ControllerRevisionHashLabelKey (also DefaultDaemonSetUniqueLabelKey). */
export const controllerRevisionHashLabel = 'controller-revision-hash';

/** The revision data of a template: the strategic-merge patch that replaces spec.template. */
export function templatePatch(template: PodTemplateSpec | undefined): { spec: { template: Record<string, unknown> } } {
  return { spec: { template: { ...(semanticNormalize(template ?? {}) as Record<string, unknown>), $patch: 'replace' } } };
}

/** The template a revision's data carries (ApplyRevision of a spec.template patch). */
export function templateOf(rev: ControllerRevision): PodTemplateSpec {
  const data = rev.data as { spec?: { template?: Record<string, unknown> } } | undefined;
  const t = { ...(data?.spec?.template ?? {}) };
  delete t['$patch'];
  return structuredClone(t) as PodTemplateSpec;
}

/** HashControllerRevision: FNV-32a of the canonical data, then of the collision count, safe-encoded. */
export function hashRevisionData(data: unknown, collisionCount: number | undefined): string {
  let h = fnv32a(new TextEncoder().encode(canonicalJSON(data ?? {})));
  if (collisionCount !== undefined && collisionCount !== null) {
    const extra = new Uint8Array(8);
    new DataView(extra.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(extra, h);
  }
  return safeEncodeString(String(h));
}

/** ControllerRevisionName: `<prefix>-<hash>`, the prefix cut to 223 characters. */
export function revisionName(prefix: string, hash: string): string {
  return `${prefix.length > 223 ? prefix.slice(0, 223) : prefix}-${hash}`;
}

/** NewControllerRevision: a revision of `owner` with `labels`, `data` and `revision`, named by its hash. */
export function newControllerRevision(owner: ObjectLike, opts: { gvk: { apiVersion: string; kind: string }; labels: Record<string, string>; data: unknown; revision: number; collisionCount: number }): ControllerRevision {
  const hash = hashRevisionData(opts.data, opts.collisionCount);
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: revisionName(owner.metadata?.name ?? '', hash),
      namespace: owner.metadata?.namespace,
      labels: { ...opts.labels, [controllerRevisionHashLabel]: hash },
      ownerReferences: [newControllerRef(owner, opts.gvk)],
    },
    data: opts.data as ControllerRevision['data'],
    revision: opts.revision,
  };
}

/**
 * EqualRevision: the same data. (Upstream also compares hash labels parsed as integers, which safe-encoded hashes
 * never are, so in effect it compares data only.)
 */
export function equalRevision(a: ControllerRevision | undefined, b: ControllerRevision | undefined): boolean {
  if (!a || !b) return a === b;
  return canonicalJSON(semanticNormalize(a.data ?? {})) === canonicalJSON(semanticNormalize(b.data ?? {}));
}

/** FindEqualRevisions. */
export function findEqualRevisions(revisions: ControllerRevision[], needle: ControllerRevision): ControllerRevision[] {
  return revisions.filter((r) => equalRevision(r, needle));
}

/** SortControllerRevisions: by revision number, then creation, then name. */
export function sortRevisions(revisions: ControllerRevision[]): ControllerRevision[] {
  return [...revisions].sort((a, b) => {
    if (a.revision !== b.revision) return a.revision - b.revision;
    const ca = a.metadata?.creationTimestamp ?? '';
    const cb = b.metadata?.creationTimestamp ?? '';
    if (ca !== cb) return ca < cb ? -1 : 1;
    return (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1;
  });
}

/** nextRevision: one more than the highest revision (1 for none). */
export function nextRevision(revisions: ControllerRevision[]): number {
  return revisions.reduce((m, r) => Math.max(m, r.revision), 0) + 1;
}

/**
 * CreateControllerRevision: creates `rev`; when its name is taken by different data, bumps the collision count
 * (returned) and tries the next hash; when taken by equal data, returns the existing one.
 */
export async function createRevision(client: ResourceClient<ControllerRevision>, rev: ControllerRevision, collisionCount: number): Promise<{ revision: ControllerRevision; collisionCount: number }> {
  let count = collisionCount;
  for (let attempt = 0; attempt < 100; attempt++) {
    const hash = hashRevisionData(rev.data, count);
    const candidate: ControllerRevision = structuredClone(rev);
    candidate.metadata!.name = revisionName(rev.metadata?.ownerReferences?.[0]?.name ?? '', hash);
    candidate.metadata!.labels = { ...(candidate.metadata?.labels ?? {}), [controllerRevisionHashLabel]: hash };
    try {
      return { revision: await client.create(candidate, { namespace: rev.metadata?.namespace }), collisionCount: count };
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const existing = await client.get(candidate.metadata!.name, { namespace: rev.metadata?.namespace });
      if (equalRevision(existing, candidate)) return { revision: existing, collisionCount: count };
      count++;
    }
  }
  throw new Error(`too many hash collisions creating a ControllerRevision for ${rev.metadata?.namespace}/${rev.metadata?.ownerReferences?.[0]?.name}`);
}
