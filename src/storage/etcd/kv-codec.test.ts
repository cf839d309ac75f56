import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import {
  decodeDeleteRange,
  decodeHeaderRevision,
  decodeRange,
  decodeTxn,
  encodeCompaction,
  encodeDeleteRange,
  encodeRange,
  encodeTxn,
} from './kv-codec.ts';

// The oracle: protobufjs on etcd3's own copy of etcd's rpc.proto (what the etcd3 client encodes with),
// reached through etcd3's dependency chain so that hoisting does not matter.
interface PbType {
  decode(b: Uint8Array): unknown;
  encode(m: unknown): { finish(): Uint8Array };
  fromObject(o: unknown): unknown;
  toObject(m: unknown, opts: Record<string, unknown>): Record<string, unknown>;
}
const require1 = createRequire(import.meta.url);
const etcd3Main = require1.resolve('etcd3');
const protoLoader = createRequire(etcd3Main).resolve('@grpc/proto-loader');
const protobuf = createRequire(protoLoader)('protobufjs') as {
  Root: new () => { loadSync(path: string, opts: { keepCase: boolean }): { lookupType(name: string): PbType } };
};
const root = new protobuf.Root().loadSync(join(dirname(etcd3Main), '..', 'proto', 'rpc.proto'), { keepCase: true });
const T = (name: string): PbType => root.lookupType(`etcdserverpb.${name}`);
const asObject = (type: string, bytes: Uint8Array): Record<string, unknown> =>
  T(type).toObject(T(type).decode(bytes), { longs: String, bytes: String, enums: String, defaults: false, oneofs: true });
const encodeWith = (type: string, obj: unknown): Buffer => Buffer.from(T(type).encode(T(type).fromObject(obj)).finish());
const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const b64 = (s: string): string => b(s).toString('base64');

/** The message inside a gRPC frame, after checking the frame. */
function unframe(frame: Buffer): Buffer {
  assert.equal(frame[0], 0, 'uncompressed');
  assert.equal(frame.readUInt32BE(1), frame.length - 5, 'length prefix');
  return frame.subarray(5);
}

describe('etcd KV protobuf codec', () => {
  it('encodes a create Txn as protobufjs reads it, with a mod_revision of 0 present', () => {
    const value = Buffer.alloc(300, 7);
    const msg = unframe(encodeTxn({
      compare: [{ key: b('/registry/pods/a'), target: 'mod', result: 'equal', revision: 0 }],
      success: [{ put: { key: b('/registry/pods/a'), value, lease: '0' } }],
    }));
    const o = asObject('TxnRequest', msg);
    assert.deepEqual(o, {
      compare: [{ key: b64('/registry/pods/a'), target: 'Mod', mod_revision: '0', target_union: 'mod_revision' }],
      success: [{ request_put: { key: b64('/registry/pods/a'), value: value.toString('base64') }, request: 'request_put' }],
    });
  });

  it('encodes update and delete Txns with both compares, prev_kv, a failure read and a 64-bit lease', () => {
    const lease = '7587868543251228001'; // etcd lease IDs use all 63 bits
    const msg = unframe(encodeTxn({
      compare: [
        { key: b('k'), target: 'create', result: 'greater', revision: 0 },
        { key: b('k'), target: 'mod', result: 'equal', revision: 123_456_789_012 },
      ],
      success: [{ put: { key: b('k'), value: b('v'), lease, prevKv: true } }, { deleteRange: { key: b('k'), prevKv: true } }],
      failure: [{ range: { key: b('k'), countOnly: true } }],
    }));
    assert.deepEqual(asObject('TxnRequest', msg), {
      compare: [
        { result: 'Greater', target: 'Create', key: b64('k'), create_revision: '0', target_union: 'create_revision' },
        { target: 'Mod', key: b64('k'), mod_revision: '123456789012', target_union: 'mod_revision' },
      ],
      success: [
        { request_put: { key: b64('k'), value: b64('v'), lease, prev_kv: true }, request: 'request_put' },
        { request_delete_range: { key: b64('k'), prev_kv: true }, request: 'request_delete_range' },
      ],
      failure: [{ request_range: { key: b64('k'), count_only: true }, request: 'request_range' }],
    });
  });

  it('encodes Range, DeleteRange and Compaction requests', () => {
    assert.deepEqual(asObject('RangeRequest', unframe(encodeRange({ key: b('/a/'), rangeEnd: b('/a0'), limit: 500, revision: 2 ** 40 }))), {
      key: b64('/a/'),
      range_end: b64('/a0'),
      limit: '500',
      revision: String(2 ** 40),
    });
    assert.deepEqual(asObject('RangeRequest', unframe(encodeRange({ key: b('x') }))), { key: b64('x') });
    assert.deepEqual(asObject('DeleteRangeRequest', unframe(encodeDeleteRange({ key: b('/p'), rangeEnd: b('/q') }))), {
      key: b64('/p'),
      range_end: b64('/q'),
    });
    assert.deepEqual(asObject('CompactionRequest', unframe(encodeCompaction(99))), { revision: '99' });
  });

  it('refuses revisions that are not non-negative integers rather than sending garbage', () => {
    assert.throws(() => encodeRange({ key: b('x'), revision: -1 }), RangeError);
    assert.throws(() => encodeRange({ key: b('x'), revision: 1.5 }), RangeError);
  });

  it('decodes Range responses written by protobufjs, with header fields it skips and large values', () => {
    const big = Buffer.alloc(70_000, 1);
    const bytes = encodeWith('RangeResponse', {
      header: { cluster_id: '14841639068965178418', member_id: '10276657743932975437', revision: '9007199254740991', raft_term: '5' },
      kvs: [
        { key: b('/a'), create_revision: '3', mod_revision: '4', version: '2', value: b('one'), lease: '7587868543251228001' },
        { key: b('/b'), create_revision: '5', mod_revision: '5', version: '1', value: big },
      ],
      more: true,
      count: '17',
    });
    const r = decodeRange(bytes);
    assert.equal(r.revision, 9007199254740991);
    assert.equal(r.more, true);
    assert.equal(r.count, 17);
    assert.equal(r.kvs.length, 2);
    assert.deepEqual({ ...r.kvs[0], key: r.kvs[0]?.key.toString(), value: r.kvs[0]?.value.toString() }, { key: '/a', value: 'one', createRevision: 3, modRevision: 4 });
    assert.equal(r.kvs[1]?.modRevision, 5);
    assert.ok(r.kvs[1]?.value.equals(big));
    const empty = decodeRange(encodeWith('RangeResponse', { header: { revision: '1' } }));
    assert.deepEqual(empty, { revision: 1, kvs: [], more: false, count: 0 });
  });

  it('decodes Txn responses of each branch kind, and DeleteRange and header-only responses', () => {
    const kv = { key: b('k'), create_revision: '2', mod_revision: '8', value: b('old') };
    const ok = decodeTxn(encodeWith('TxnResponse', {
      header: { revision: '9' },
      succeeded: true,
      responses: [{ response_put: { header: { revision: '9' }, prev_kv: kv } }, { response_delete_range: { deleted: '1', prev_kvs: [kv] } }],
    }));
    assert.equal(ok.revision, 9);
    assert.equal(ok.succeeded, true);
    assert.equal(ok.responses[0]?.put?.prevKv?.value.toString(), 'old');
    assert.equal(ok.responses[0]?.put?.prevKv?.createRevision, 2);
    assert.equal(ok.responses[1]?.deleteRange?.deleted, 1);
    assert.equal(ok.responses[1]?.deleteRange?.prevKvs[0]?.modRevision, 8);
    const failed = decodeTxn(encodeWith('TxnResponse', { header: { revision: '10' }, responses: [{ response_range: { kvs: [kv], count: '1' } }] }));
    assert.equal(failed.succeeded, false);
    assert.equal(failed.responses[0]?.range?.kvs[0]?.key.toString(), 'k');
    assert.equal(failed.responses[0]?.put, undefined);
    const put = decodeTxn(encodeWith('TxnResponse', { header: { revision: '11' }, succeeded: true, responses: [{ response_put: {} }] }));
    assert.equal(put.responses[0]?.put?.prevKv, null);
    const del = decodeDeleteRange(encodeWith('DeleteRangeResponse', { header: { revision: '12' }, deleted: '300' }));
    assert.deepEqual(del, { revision: 12, deleted: 300, prevKvs: [] });
    assert.equal(decodeHeaderRevision(encodeWith('CompactionResponse', { header: { revision: '13', raft_term: '2' } })), 13);
  });

  it('fails on a truncated message instead of returning partial data', () => {
    const bytes = encodeWith('RangeResponse', { header: { revision: '1' }, kvs: [{ key: b('/a'), value: b('x'.repeat(50)) }] });
    assert.throws(() => decodeRange(bytes.subarray(0, bytes.length - 10)), RangeError);
  });
});
