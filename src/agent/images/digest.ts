/**
 * Content digests (`sha256:<hex>`): computing, checking, and the chain IDs that name unpacked layer stacks.
 */
import { createHash } from 'node:crypto';

const digestRe = /^sha256:[a-f0-9]{64}$/;

/** A blob whose content does not match its digest (nothing of it is stored). */
export class DigestMismatchError extends Error {
  override readonly name = 'DigestMismatchError';
  constructor(readonly expected: string, readonly actual: string) {
    super(`digest mismatch: expected ${expected}, got ${actual}`);
  }
}

/** Whether `s` is a sha256 digest this store accepts. */
export function isDigest(s: string): boolean {
  return digestRe.test(s);
}

/** Throws unless `s` is a sha256 digest (guards every path built from a digest). */
export function assertDigest(s: string): string {
  if (!digestRe.test(s)) throw new Error(`unsupported digest ${JSON.stringify(s)}: only sha256 is supported`);
  return s;
}

/** The sha256 digest of `data`. */
export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The hex part of a digest. */
export function digestHex(d: string): string {
  return assertDigest(d).slice('sha256:'.length);
}

/** Chain IDs of a layer stack (OCI image spec: ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))). */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : sha256Digest(`${prev} ${d}`));
  }
  return out;
}
