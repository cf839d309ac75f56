/**
 * Encryption at rest (upstream k8s.io/apiserver/pkg/server/options/encryptionconfig): an
 * apiserver.config.k8s.io/v1 EncryptionConfiguration names, per resource, an ordered list of providers. The first
 * one encrypts every write; each one can read what it wrote, recognised by upstream's stored prefix
 * (`k8s:enc:aesgcm:v1:<key name>:`, `k8s:enc:secretbox:v1:<key name>:`, none for identity). Values read with
 * anything but the first provider and key are stale, so that re-writing them (`kubectl replace`) rotates keys.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import nacl from 'tweetnacl';
import { parse as parseYaml } from 'yaml';
import type { ValueTransformer } from '../registry/store.ts';
import type { ResourceDefinition } from '../../api/resource.ts';
import { storagePrefix } from '../../api/resource.ts';

/** One key of a provider: a name (written into the stored prefix) and the raw secret. */
interface ProviderKey {
  name: string;
  secret: Buffer;
}

/** A provider able to read and write values: its prefix tells which values it can read. */
interface Provider {
  /** Empty for identity. */
  prefix: string;
  seal(data: Uint8Array, key: string): Uint8Array;
  open(data: Uint8Array, key: string): Uint8Array;
}

/** The encryption configuration, resolved: a transformer per resource (`secrets`, `deployments.apps`, …). */
export interface EncryptionConfig {
  /** The transformer for a resource, or undefined when it is stored as is. */
  transformerFor(group: string, resource: string): ValueTransformer | undefined;
}

const AES_KEY_SIZES = [16, 24, 32];
const SECRETBOX_KEY_SIZES = [32];
const ENCRYPTED_PREFIX = Buffer.from('k8s:enc:');

function aesgcm(k: ProviderKey): Provider {
  const prefix = `k8s:enc:aesgcm:v1:${k.name}:`;
  const algo = `aes-${k.secret.length * 8}-gcm` as 'aes-256-gcm';
  return {
    prefix,
    seal(data, key) {
      const nonce = randomBytes(12);
      const c = createCipheriv(algo, k.secret, nonce);
      c.setAAD(Buffer.from(key));
      const body = Buffer.concat([c.update(data), c.final()]);
      // Go's gcm.Seal layout: nonce, ciphertext, 16-byte tag.
      return Buffer.concat([Buffer.from(prefix), nonce, body, c.getAuthTag()]);
    },
    open(data, key) {
      const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength).subarray(prefix.length);
      if (b.length < 12 + 16) throw new Error('the stored data was shorter than the required size');
      const d = createDecipheriv(algo, k.secret, b.subarray(0, 12));
      d.setAAD(Buffer.from(key));
      d.setAuthTag(b.subarray(b.length - 16));
      return Buffer.concat([d.update(b.subarray(12, b.length - 16)), d.final()]);
    },
  };
}

function secretbox(k: ProviderKey): Provider {
  const prefix = `k8s:enc:secretbox:v1:${k.name}:`;
  const secret = new Uint8Array(k.secret);
  return {
    prefix,
    seal(data) {
      const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
      // Go's secretbox.Seal layout after the nonce: 16-byte Poly1305 tag, then the ciphertext (as tweetnacl).
      return Buffer.concat([Buffer.from(prefix), nonce, nacl.secretbox(data, nonce, secret)]);
    },
    open(data) {
      const b = data.subarray(prefix.length);
      if (b.length < nacl.secretbox.nonceLength) throw new Error('the stored data was shorter than the required size');
      const out = nacl.secretbox.open(b.subarray(nacl.secretbox.nonceLength), b.subarray(0, nacl.secretbox.nonceLength), secret);
      if (!out) throw new Error('output array was not large enough for encryption');
      return out;
    },
  };
}

const identity: Provider = {
  prefix: '',
  seal: (data) => data,
  open(data) {
    // upstream identity refuses encrypted bytes rather than handing ciphertext to the decoder.
    if (startsWith(data, ENCRYPTED_PREFIX)) throw new Error('identity transformer tried to read encrypted data');
    return data;
  },
};

function startsWith(data: Uint8Array, prefix: Uint8Array): boolean {
  if (data.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (data[i] !== prefix[i]) return false;
  return true;
}

/** Upstream's prefix transformer: writes with the first provider, reads with the one whose prefix matches. */
function prefixTransformer(providers: Provider[]): ValueTransformer {
  const prefixes = providers.map((p) => Buffer.from(p.prefix));
  return {
    toStorage: (data, key) => providers[0]!.seal(data, key),
    fromStorage(data, key) {
      for (let i = 0; i < providers.length; i++) {
        if (!startsWith(data, prefixes[i]!)) continue;
        return { data: providers[i]!.open(data, key), stale: i !== 0 };
      }
      throw new Error('no matching prefix found');
    },
  };
}

type Raw = Record<string, unknown>;

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const PROVIDER_KINDS = ['kms', 'aesgcm', 'aescbc', 'secretbox', 'identity'];

/** Parses and validates an EncryptionConfiguration (YAML or JSON); throws one line naming every problem. */
export function parseEncryptionConfig(text: string): EncryptionConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`error while parsing file: ${(e instanceof Error ? e.message : String(e)).split('\n')[0] ?? ''}`);
  }
  if (!isObject(doc)) throw new Error('error while parsing file: the file is not an EncryptionConfiguration');
  if (doc.kind !== 'EncryptionConfiguration') throw new Error(`error while parsing file: kind: Invalid value: ${JSON.stringify(doc.kind ?? '')}: must be EncryptionConfiguration`);
  if (doc.apiVersion !== 'apiserver.config.k8s.io/v1') {
    throw new Error(`error while parsing file: apiVersion: Unsupported value: ${JSON.stringify(doc.apiVersion ?? '')}: supported values: "apiserver.config.k8s.io/v1"`);
  }
  const errs: string[] = [];
  const rules: { resources: string[]; transformer: ValueTransformer | undefined }[] = [];
  const list = Array.isArray(doc.resources) ? doc.resources : [];
  if (list.length === 0) errs.push('resources: Required value: at least one resources is required');
  list.forEach((entry: unknown, i) => {
    const r = `resources[${i}]`;
    const e = isObject(entry) ? entry : {};
    const resources = Array.isArray(e.resources) ? e.resources.filter((x): x is string => typeof x === 'string') : [];
    if (resources.length === 0) errs.push(`${r}.resources: Required value: at least one ${r}.resources is required`);
    const providersRaw = Array.isArray(e.providers) ? e.providers : [];
    if (providersRaw.length === 0) errs.push(`${r}.providers: Required value: at least one ${r}.providers is required`);
    const providers: Provider[] = [];
    providersRaw.forEach((praw: unknown, j) => {
      const path = `${r}.providers[${j}]`;
      const p = isObject(praw) ? praw : {};
      const kinds = PROVIDER_KINDS.filter((k) => p[k] !== undefined && p[k] !== null);
      if (kinds.length === 0) {
        errs.push(`${path}: Invalid value: provider does not contain any of the expected providers: KMS, AESGCM, AESCBC, Secretbox, Identity`);
        return;
      }
      if (kinds.length > 1) {
        errs.push(`${path}: Invalid value: more than one provider specified in a single element, should split into different list elements`);
        return;
      }
      const kind = kinds[0]!;
      if (kind === 'identity') {
        providers.push(identity);
        return;
      }
      if (kind !== 'aesgcm' && kind !== 'secretbox') {
        errs.push(`${path}.${kind}: Unsupported value: Skiff supports the aesgcm, secretbox and identity providers`);
        return;
      }
      const keys = parseKeys((p[kind] as Raw | undefined)?.keys, `${path}.${kind}.keys`, kind === 'aesgcm' ? AES_KEY_SIZES : SECRETBOX_KEY_SIZES, errs);
      for (const k of keys) providers.push(kind === 'aesgcm' ? aesgcm(k) : secretbox(k));
    });
    // identity alone stores values as they are; anything else goes through the prefix transformer.
    const plain = providers.length === 0 || (providers.length === 1 && providers[0] === identity);
    rules.push({ resources, transformer: plain ? undefined : prefixTransformer(providers) });
  });
  if (errs.length > 0) throw new Error(`error while parsing file: ${errs.length === 1 ? errs[0]! : `[${errs.join(', ')}]`}`);
  return {
    transformerFor(group, resource) {
      const name = group === '' ? resource : `${resource}.${group}`;
      // The first rule naming the resource wins; then group wildcards (`*.apps`, `*.` for the core group), then `*.*`.
      const wildcard = group === '' ? '*.' : `*.${group}`;
      for (const want of [name, wildcard, '*.*']) {
        const rule = rules.find((x) => x.resources.includes(want));
        if (rule) return rule.transformer;
      }
      return undefined;
    },
  };
}

function parseKeys(raw: unknown, path: string, sizes: number[], errs: string[]): ProviderKey[] {
  const list = Array.isArray(raw) ? raw : [];
  if (list.length === 0) {
    errs.push(`${path}: Required value: at least one keys is required`);
    return [];
  }
  const out: ProviderKey[] = [];
  list.forEach((kraw: unknown, i) => {
    const k = isObject(kraw) ? kraw : {};
    const p = `${path}[${i}]`;
    const name = typeof k.name === 'string' ? k.name : '';
    const secret = typeof k.secret === 'string' ? k.secret : '';
    if (name === '') errs.push(`${p}.name: Required value: name is a mandatory field for a key`);
    if (secret === '') {
      errs.push(`${p}.secret: Required value: secret is a mandatory field for a key`);
      return;
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(secret) || secret.length % 4 !== 0) {
      errs.push(`${p}.secret: Invalid value: "REDACTED": secrets must be base64 encoded`);
      return;
    }
    const bytes = Buffer.from(secret, 'base64');
    if (!sizes.includes(bytes.length)) {
      errs.push(`${p}.secret: Invalid value: "REDACTED": secret is not of the expected length, got ${bytes.length}, expected one of [${sizes.join(' ')}]`);
      return;
    }
    if (name !== '') out.push({ name, secret: bytes });
  });
  return out;
}

/** Reads --encryption-provider-config; the error names the file and the problem on one line. */
export function loadEncryptionConfig(path: string): EncryptionConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`error while parsing encryption provider configuration file ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((e as Error).message)}`);
  }
  try {
    return parseEncryptionConfig(text);
  } catch (e) {
    throw new Error(`error while parsing encryption provider configuration file ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
}

/** Maps storage keys to the configured transformer of their kind (for transformingStorage). */
export function transformerByKey(config: EncryptionConfig, catalog: Pick<ResourceDefinition, 'group' | 'plural'>[]): (key: string) => ValueTransformer | undefined {
  const byPrefix: [string, ValueTransformer][] = [];
  for (const def of catalog) {
    const t = config.transformerFor(def.group, def.plural);
    if (t) byPrefix.push([storagePrefix(def), t]);
  }
  return (key) => {
    for (const [prefix, t] of byPrefix) if (key.startsWith(prefix)) return t;
    return undefined;
  };
}
