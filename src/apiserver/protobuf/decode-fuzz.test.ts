import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtobufObject, ProtobufDecodeError } from './decode.ts';
import { encodeProtobufFixture, wrapUnknown } from './fixture-encoder.ts';
import { FIXTURES } from './fixtures.ts';
import { KINDS } from './schema-groups.ts';

/** Deterministic PRNG (mulberry32) so that a failure names a reproducible seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(next: () => number, max: number): Uint8Array {
  const out = new Uint8Array(Math.floor(next() * max));
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(next() * 256);
  return out;
}

const MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

/** Decodes `body`; the only acceptable failure is ProtobufDecodeError, and a success must be JSON. */
function attempt(body: Uint8Array, label: string): 'ok' | 'rejected' {
  try {
    const got = decodeProtobufObject(body);
    JSON.stringify(got.object);
    return 'ok';
  } catch (e) {
    if (e instanceof ProtobufDecodeError) return 'rejected';
    assert.fail(`${label}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} for ${Buffer.from(body).toString('hex').slice(0, 200)}`);
  }
}

const fixtureBodies = Object.entries(FIXTURES).map(([name, obj]) => [name, encodeProtobufFixture(obj, { writeZeros: true })] as const);

describe('decodeProtobufObject under hostile input', () => {
  it('random byte strings, with and without the magic', () => {
    const next = rng(1);
    const seen = { ok: 0, rejected: 0 };
    for (let i = 0; i < 4000; i++) {
      const tail = randomBytes(next, 300);
      const body = i % 2 === 0 ? tail : Buffer.concat([MAGIC, tail]);
      seen[attempt(body, `random #${i}`)]++;
    }
    assert.ok(seen.rejected > 0);
  });

  it('random message bytes inside a valid envelope of every kind', () => {
    const next = rng(2);
    let decoded = 0;
    for (const key of Object.keys(KINDS)) {
      const slash = key.lastIndexOf('/');
      for (let i = 0; i < 300; i++) {
        const body = wrapUnknown({ apiVersion: key.slice(0, slash), kind: key.slice(slash + 1), raw: randomBytes(next, 200) });
        if (attempt(body, `${key} #${i}`) === 'ok') decoded++;
      }
    }
    // Some garbage happens to be a valid message (unknown fields are skipped), most is not.
    assert.ok(decoded > 0);
  });

  it('every truncation of every fixture', () => {
    let rejected = 0;
    for (const [name, body] of fixtureBodies) {
      for (let len = 0; len < body.length; len++) {
        if (attempt(body.subarray(0, len), `${name} cut at ${len}`) === 'rejected') rejected++;
      }
    }
    assert.ok(rejected > 0);
  });

  it('bit flips, insertions and deletions in every fixture', () => {
    const next = rng(3);
    for (const [name, body] of fixtureBodies) {
      for (let i = 0; i < 250; i++) {
        const copy = Buffer.from(body);
        const at = Math.floor(next() * copy.length);
        let mutated: Uint8Array;
        const op = i % 3;
        if (op === 0) {
          copy[at] = (copy[at] as number) ^ (1 << Math.floor(next() * 8));
          mutated = copy;
        } else if (op === 1) mutated = Buffer.concat([copy.subarray(0, at), randomBytes(next, 8), copy.subarray(at)]);
        else mutated = Buffer.concat([copy.subarray(0, at), copy.subarray(at + 1 + Math.floor(next() * 4))]);
        attempt(mutated, `${name} mutation #${i} (${['flip', 'insert', 'delete'][op]} at ${at})`);
      }
    }
  });

  it('a large body with a repeated message field occurring twice decodes without blowing the stack', () => {
    const finalizers = Buffer.alloc(150_000 * 3);
    for (let i = 0; i < 150_000; i++) finalizers.set([0x72, 0x01, 0x66], i * 3); // ObjectMeta.finalizers (14) = "f"
    const meta = Buffer.concat([Uint8Array.of(0x0a), varint(finalizers.length), finalizers]);
    const body = wrapUnknown({ apiVersion: 'v1', kind: 'ConfigMap', raw: Buffer.concat([meta, meta]) });
    const got = decodeProtobufObject(body);
    assert.equal((got.object['metadata'] as { finalizers: string[] }).finalizers.length, 300_000);
  });

  it('huge declared lengths are rejected without allocating', () => {
    for (const hex of ['12ffffffff0f', '12ffffffffffffffff7f', '0a8080808010']) {
      assert.equal(attempt(Buffer.concat([MAGIC, Buffer.from(hex, 'hex')]), `length ${hex}`), 'rejected');
    }
    const inner = Buffer.concat([Uint8Array.of(0x0a), varint(2 ** 31), Buffer.from('abc')]);
    assert.equal(attempt(wrapUnknown({ apiVersion: 'v1', kind: 'Namespace', raw: inner }), 'inner length'), 'rejected');
  });
});

function varint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return Uint8Array.from(out);
}
