/**
 * The admission chain (upstream k8s.io/apiserver/pkg/admission): every mutating plugin runs in order, then every
 * validating plugin; the first refusal (an ApiError, usually 403 Forbidden) ends the request.
 */
import type { ResourceDefinition } from '../../api/resource.ts';
import type { StoredObject } from '../../api/meta/types.ts';
import type { UserInfo } from '../auth/user.ts';

/** The operation being admitted. */
export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** One request as admission plugins see it (upstream admission.Attributes). */
export interface AdmissionRequest {
  operation: AdmissionOperation;
  def: ResourceDefinition;
  namespace: string;
  /** The object name ("" for a create with generateName). */
  name: string;
  subresource: string;
  /** The incoming object (CREATE, UPDATE); mutating plugins change it in place. */
  object?: StoredObject;
  /** The stored object (UPDATE, DELETE). */
  oldObject?: StoredObject;
  user: UserInfo;
  dryRun: boolean;
  /** Warnings for the client (`Warning: 299` headers). */
  warnings: string[];
}

/** An admission plugin: `admit` may mutate, `validate` may only refuse. */
export interface AdmissionPlugin {
  name: string;
  admit?(r: AdmissionRequest): void | Promise<void>;
  validate?(r: AdmissionRequest): void | Promise<void>;
}

/** Runs plugins: all mutating phases, then all validating phases. */
export class AdmissionChain {
  readonly plugins: AdmissionPlugin[];

  constructor(plugins: AdmissionPlugin[]) {
    this.plugins = plugins;
  }

  /** Admits a request or throws the first plugin's refusal. */
  async run(r: AdmissionRequest): Promise<void> {
    for (const p of this.plugins) if (p.admit) await p.admit(r);
    for (const p of this.plugins) if (p.validate) await p.validate(r);
  }
}
