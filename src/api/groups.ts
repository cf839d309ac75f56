/**
 * The built-in kinds of the named groups (apps, batch, coordination, events, discovery, policy, scheduling, and the
 * security groups: rbac, authentication, authorization, certificates).
 */
import { controllerRevisions } from './apps/v1/controller-revision.ts';
import { daemonSets } from './apps/v1/daemon-set.ts';
import { deployments } from './apps/v1/deployment.ts';
import { replicaSets } from './apps/v1/replica-set.ts';
import { statefulSets } from './apps/v1/stateful-set.ts';
import { cronJobs } from './batch/v1/cron-job.ts';
import { jobs } from './batch/v1/job.ts';
import { leases } from './coordination/v1/lease.ts';
import { endpointSlices } from './discovery/v1/endpoint-slice.ts';
import { eventsV1 } from './events/v1/event.ts';
import { podDisruptionBudgets } from './policy/v1/pod-disruption-budget.ts';
import { priorityClasses } from './scheduling/v1/priority-class.ts';
import { rbacResources } from './rbac/v1/index.ts';
import { selfSubjectReviews, tokenReviews } from './authentication/v1/index.ts';
import {
  localSubjectAccessReviews, selfSubjectAccessReviews, selfSubjectRulesReviews, subjectAccessReviews,
} from './authorization/v1/index.ts';
import { certificateSigningRequests } from './certificates/v1/certificate-signing-request.ts';
import type { ResourceDefinition } from './resource.ts';

/** Every named-group kind, in discovery order within each group; the catalog adds them after the core kinds. */
export const namedGroupResources: ResourceDefinition[] = [
  deployments,
  replicaSets,
  statefulSets,
  daemonSets,
  controllerRevisions,
  jobs,
  cronJobs,
  leases,
  eventsV1,
  endpointSlices,
  podDisruptionBudgets,
  priorityClasses,
  ...rbacResources,
  selfSubjectReviews,
  tokenReviews,
  localSubjectAccessReviews,
  selfSubjectAccessReviews,
  selfSubjectRulesReviews,
  subjectAccessReviews,
  certificateSigningRequests,
];
