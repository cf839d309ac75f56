/** What the API server runs around every request when security is on (built once the stores are ready). */
import type { RequestGate } from './security.ts';
import type { SecurityEndpoints } from './endpoints.ts';
import type { AdmissionChain } from '../admission/chain.ts';
import type { AuditLog } from './audit.ts';
import type { KubeletClientTls } from '../node-proxy/index.ts';

/** The security stage: the gate (authn, impersonation, authz), its own endpoints, admission and audit. */
export interface SecurityStage {
  gate: RequestGate;
  endpoints?: SecurityEndpoints;
  admission?: AdmissionChain;
  audit?: AuditLog;
  /** How the node proxy reaches agents (HTTPS with a client certificate); absent: plain HTTP. */
  kubeletClient?: KubeletClientTls;
}
