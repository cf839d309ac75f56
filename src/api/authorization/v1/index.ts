/** The authorization.k8s.io/v1 group's kinds. */
export { localSubjectAccessReviews, selfSubjectAccessReviews, selfSubjectRulesReviews, subjectAccessReviews, validateAccessAttributes } from './reviews.ts';
