/**
 * The security stage the composition root plugs into the API server: authentication (client certificates, token
 * file, bootstrap and ServiceAccount tokens, anonymous), authorization (Node, RBAC), the security endpoints
 * (reviews, TokenRequest, CSR), the admission chain and the audit log.
 */
import type { ApiServer } from '../server.ts';
import type { SecurityStage } from './stage.ts';
import { RequestAuthenticator, type TokenTable } from './authenticator.ts';
import { RequestGate, buildAuthorizer, storeLookup, type AuthorizationMode } from './security.ts';
import { SecurityEndpoints } from './endpoints.ts';
import { ServiceAccountTokens } from './service-account-token.ts';
import { AuditLog, type AuditPolicy } from './audit.ts';
import type { CertificateAuthority } from '../tls/pki.ts';
import type { KubeletClientTls } from '../node-proxy/index.ts';
import { defaultAdmissionPlugins } from '../admission/plugins.ts';
import { AdmissionChain } from '../admission/chain.ts';

/** Everything the security stage is configured with. */
export interface SecurityConfig {
  ca?: CertificateAuthority;
  /** PKCS#8 and SPKI PEM of the ServiceAccount token key (absent: no TokenRequest, no SA tokens). */
  serviceAccountKeys?: { privateKeyPem: string; publicKeyPem: string };
  tokens?: TokenTable;
  /** Default Node,RBAC. */
  authorizationModes?: AuthorizationMode[];
  anonymous?: boolean;
  audit?: { path: string; policy: AuditPolicy; maxBytes?: number; maxBackups?: number };
  /** The API server's credentials towards agents' streaming endpoints (absent: plain HTTP to agents). */
  kubeletClient?: KubeletClientTls;
  /** Admission plugins to leave out (by name), e.g. for tests. */
  disableAdmission?: string[];
}

/** Builds the stage factory ApiServerOptions.security expects. */
export function securityStage(config: SecurityConfig): (server: ApiServer) => SecurityStage {
  return (server) => {
    const storeFor = (g: string, r: string) => server.storeFor(g, r);
    const lookup = storeLookup(storeFor);
    const tokens = config.serviceAccountKeys ? new ServiceAccountTokens(config.serviceAccountKeys) : undefined;
    const authenticator = new RequestAuthenticator({
      ...(config.tokens ? { tokens: config.tokens } : {}), ...(tokens ? { serviceAccounts: tokens } : {}), lookup,
      anonymous: config.anonymous ?? true,
    });
    const { authorizer, rbac } = buildAuthorizer(config.authorizationModes ?? ['Node', 'RBAC'], storeFor);
    const gate = new RequestGate({ authenticator, authorizer, ...(rbac ? { rbac } : {}) });
    const endpoints = new SecurityEndpoints({ gate, storeFor, ...(tokens ? { tokens } : {}), ...(config.ca ? { ca: config.ca } : {}) });
    const disabled = new Set(config.disableAdmission ?? []);
    const admission = new AdmissionChain(defaultAdmissionPlugins({ gate, storeFor, lookup, ...(config.ca ? { caPem: config.ca.certPem } : {}) }).filter((p) => !disabled.has(p.name)));
    const audit = config.audit ? new AuditLog(config.audit) : undefined;
    return { gate, endpoints, admission, ...(audit ? { audit } : {}), ...(config.kubeletClient ? { kubeletClient: config.kubeletClient } : {}) };
  };
}

export { parseAuthorizationModes } from './security.ts';
export type { AuthorizationMode } from './security.ts';
