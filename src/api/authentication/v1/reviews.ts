/**
 * authentication.k8s.io/v1 TokenReview and SelfSubjectReview: create-only kinds that are never stored; the API
 * server answers them directly (see src/apiserver/auth/reviews.ts). TokenRequest is the serviceaccounts/token
 * subresource of core/v1 ServiceAccount.
 */
import type { SelfSubjectReview, TokenReview } from 'kubernetes-types/authentication/v1.js';
import { fieldError } from '../../meta/field-errors.ts';
import { defineResource } from '../../resource.ts';

/** The authentication.k8s.io/v1 TokenReview kind (create only). */
export const tokenReviews = defineResource<TokenReview>({
  group: 'authentication.k8s.io',
  version: 'v1',
  kind: 'TokenReview',
  plural: 'tokenreviews',
  singular: 'tokenreview',
  namespaced: false,
  verbs: ['create'],
  validate: (r) => (r.spec?.token ? [] : [fieldError.required('spec.token', '')]),
  columns: [],
  examples: [{ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: {}, spec: { token: 'abc.def' } }],
});

/** The authentication.k8s.io/v1 SelfSubjectReview kind (create only; `kubectl auth whoami`). */
export const selfSubjectReviews = defineResource<SelfSubjectReview>({
  group: 'authentication.k8s.io',
  version: 'v1',
  kind: 'SelfSubjectReview',
  plural: 'selfsubjectreviews',
  singular: 'selfsubjectreview',
  namespaced: false,
  verbs: ['create'],
  columns: [],
  examples: [{ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: {} }],
});
