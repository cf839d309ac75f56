import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { Nft } from './nft.ts';
import type { NftNames } from './nft-rules.ts';
import { createNftSyncer } from './nft-sync.ts';

function fakeNft(existing: NftNames | undefined): Nft & { batches: string[]; listed: number; failNext: boolean } {
  const f = {
    batches: [] as string[],
    listed: 0,
    failNext: false,
    async apply(text: string) {
      if (f.failNext) {
        f.failNext = false;
        throw new Error('refused');
      }
      f.batches.push(text);
    },
    async names() {
      f.listed++;
      return existing;
    },
    async deleteTable() {
      return true;
    },
  };
  return f;
}

const svc: Service = { metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.43.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } };
const slice = (ips: string[]): EndpointSlice => ({
  metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
});

test('only the first sync reads the table back; later full syncs delete what the last one wrote', async () => {
  const nft = fakeNft({ chains: new Set(['svc-OLD']), sets: new Map() });
  const syncer = createNftSyncer(nft, { nodeName: 'n1', nodeIPs: [] });
  const first = await syncer.sync([svc], [slice(['10.42.0.5', '10.42.0.6'])], { full: true });
  assert.equal(nft.listed, 1);
  assert.ok(first.full && first.elements > 0 && first.bytes === Buffer.byteLength(nft.batches[0]!));
  assert.ok(nft.batches[0]!.includes('delete chain ip skiff svc-OLD'), 'an earlier run\'s chain is deleted');
  const partial = await syncer.sync([svc], [slice(['10.42.0.5'])], { full: false });
  assert.equal(partial.full, false);
  assert.ok(nft.batches[1]!.includes('delete chain ip skiff lb-tcp-2'), 'the partial sync deletes the lb chain no longer used');
  const full = await syncer.sync([svc], [slice(['10.42.0.5'])], { full: true });
  assert.equal(nft.listed, 1, 'a periodic full sync does not list the table');
  assert.ok(full.full && nft.batches[2]!.includes('flush map ip skiff service-endpoints-tcp'));
  // A failed transaction: the table is replaced whole, and the sync after that reads the table back again.
  nft.failNext = true;
  await syncer.sync([svc], [slice(['10.42.0.7'])], { full: false });
  assert.match(nft.batches[3]!, /^add table ip skiff\ndelete table ip skiff\n/);
  syncer.reset();
  await syncer.sync([svc], [slice(['10.42.0.7'])], { full: false });
  assert.equal(nft.listed, 2);
});
