/**
 * authorization.k8s.io/v1 access reviews: create-only kinds that are never stored; the API server answers them
 * from its authorizer (see src/apiserver/auth/reviews.ts). `kubectl auth can-i` sends SelfSubjectAccessReview,
 * `--list` SelfSubjectRulesReview.
 */
import type {
  LocalSubjectAccessReview, ResourceAttributes, NonResourceAttributes, SelfSubjectAccessReview, SelfSubjectRulesReview, SubjectAccessReview,
} from 'kubernetes-types/authorization/v1.js';
import { fieldError, type FieldError } from '../../meta/field-errors.ts';
import { defineResource } from '../../resource.ts';

const GROUP = 'authorization.k8s.io';

/** ValidateSubjectAccessReviewSpec's attribute part: exactly one of resourceAttributes and nonResourceAttributes. */
export function validateAccessAttributes(spec: { resourceAttributes?: ResourceAttributes; nonResourceAttributes?: NonResourceAttributes } | undefined): FieldError[] {
  const s = spec ?? {};
  if (s.resourceAttributes && s.nonResourceAttributes) {
    return [fieldError.invalid('spec.nonResourceAttributes', s.nonResourceAttributes, 'cannot be specified in combination with resourceAttributes')];
  }
  if (!s.resourceAttributes && !s.nonResourceAttributes) {
    return [fieldError.invalid('spec.resourceAttributes', s.resourceAttributes ?? null, 'exactly one of nonResourceAttributes or resourceAttributes must be specified')];
  }
  return [];
}

/** The authorization.k8s.io/v1 SubjectAccessReview kind (create only). */
export const subjectAccessReviews = defineResource<SubjectAccessReview>({
  group: GROUP, version: 'v1', kind: 'SubjectAccessReview', plural: 'subjectaccessreviews', singular: 'subjectaccessreview',
  namespaced: false, verbs: ['create'],
  validate: (r) => {
    const errs = validateAccessAttributes(r.spec);
    if (!r.spec?.user && (r.spec?.groups ?? []).length === 0) errs.push(fieldError.invalid('spec.user', r.spec?.user ?? '', '`spec.user` or `spec.groups` is required'));
    return errs;
  },
  columns: [],
  examples: [{ apiVersion: `${GROUP}/v1`, kind: 'SubjectAccessReview', metadata: {}, spec: { user: 'jane', resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'default' } } }],
});

/** The authorization.k8s.io/v1 LocalSubjectAccessReview kind (create only, namespaced). */
export const localSubjectAccessReviews = defineResource<LocalSubjectAccessReview>({
  group: GROUP, version: 'v1', kind: 'LocalSubjectAccessReview', plural: 'localsubjectaccessreviews', singular: 'localsubjectaccessreview',
  namespaced: true, verbs: ['create'],
  validate: (r, ctx) => {
    const errs = validateAccessAttributes(r.spec);
    if (r.spec?.nonResourceAttributes) errs.push(fieldError.invalid('spec.nonResourceAttributes', r.spec.nonResourceAttributes, 'disallowed on this kind of request'));
    if (r.spec?.resourceAttributes && (r.spec.resourceAttributes.namespace ?? '') !== ctx.namespace) {
      errs.push(fieldError.invalid('spec.resourceAttributes.namespace', r.spec.resourceAttributes.namespace ?? '', 'must match metadata.namespace'));
    }
    return errs;
  },
  columns: [],
  examples: [{ apiVersion: `${GROUP}/v1`, kind: 'LocalSubjectAccessReview', metadata: { namespace: 'default' }, spec: { user: 'jane', resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'default' } } }],
});

/** The authorization.k8s.io/v1 SelfSubjectAccessReview kind (create only; `kubectl auth can-i`). */
export const selfSubjectAccessReviews = defineResource<SelfSubjectAccessReview>({
  group: GROUP, version: 'v1', kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', singular: 'selfsubjectaccessreview',
  namespaced: false, verbs: ['create'],
  validate: (r) => validateAccessAttributes(r.spec),
  columns: [],
  examples: [{ apiVersion: `${GROUP}/v1`, kind: 'SelfSubjectAccessReview', metadata: {}, spec: { resourceAttributes: { verb: 'list', resource: 'pods', namespace: 'default' } } }],
});

/** The authorization.k8s.io/v1 SelfSubjectRulesReview kind (create only; `kubectl auth can-i --list`). */
export const selfSubjectRulesReviews = defineResource<SelfSubjectRulesReview>({
  group: GROUP, version: 'v1', kind: 'SelfSubjectRulesReview', plural: 'selfsubjectrulesreviews', singular: 'selfsubjectrulesreview',
  namespaced: false, verbs: ['create'],
  columns: [],
  examples: [{ apiVersion: `${GROUP}/v1`, kind: 'SelfSubjectRulesReview', metadata: {}, spec: { namespace: 'default' } }],
});
