/** The authentication.k8s.io/v1 group's kinds. */
export { selfSubjectReviews, tokenReviews } from './reviews.ts';
