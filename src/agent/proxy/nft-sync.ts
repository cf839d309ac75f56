/**
 * One nftables sync of the service proxy, shared by the proxy loop and the benchmark: rules built from the
 * caches, rendered as one `nft -f` transaction (full, or the difference from the last successful sync), applied,
 * and timed. Only the first sync (and the one after a failure) reads the table's object names back from the
 * kernel; later full syncs know them from the rules they wrote.
 */
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { logger } from '../../base/log.ts';
import type { Nft } from './nft.ts';
import { buildNftRules, defaultNftTable, renderNft } from './nft-rules.ts';
import type { NftNames, NftRuleset, NftRulesOptions } from './nft-rules.ts';

const log = logger('service-proxy');

/** What one sync did and how long each part took (ms, wall clock). */
export interface NftSyncStats {
  full: boolean;
  servicePorts: number;
  /** Rule generation and rendering. */
  buildMs: number;
  /** Reading the table's object names back (first sync only; 0 otherwise). */
  listMs: number;
  /** The `nft -f` transaction. */
  applyMs: number;
  /** Size of the batch in bytes, and the number of set/map elements wanted. */
  bytes: number;
  elements: number;
}

/** A stateful nftables syncer: remembers the last rules written so that later syncs can be partial. */
export interface NftSyncer {
  /** Writes the rules for these objects (`full`: rewrite every chain and map rather than the difference). */
  sync(services: Service[], slices: EndpointSlice[], opts: { full: boolean }): Promise<NftSyncStats>;
  /** Forgets the last rules, so that the next sync is full and reads the table back first. */
  reset(): void;
}

function namesOf(rules: NftRuleset): NftNames {
  return { chains: new Set(rules.chains.keys()), sets: new Map([...rules.sets].map(([n, s]) => [n, s.kind] as const)) };
}

/** Creates a syncer writing the table `opts.table` (default skiff) through `nft`. */
export function createNftSyncer(nft: Nft, opts: NftRulesOptions): NftSyncer {
  const table = opts.table ?? defaultNftTable;
  let previous: NftRuleset | undefined;
  return {
    reset() {
      previous = undefined;
    },
    async sync(services, slices, { full }) {
      const t0 = performance.now();
      const rules = buildNftRules(services, slices, { ...opts, table });
      const prev = previous;
      previous = undefined;
      let listMs = 0;
      let existing: NftNames | undefined;
      if (!prev) {
        // Objects of an earlier run (or of a changed world) are read back so that the full sync deletes them.
        const l0 = performance.now();
        existing = (await nft.names(table)) ?? { chains: new Set(), sets: new Map() };
        listMs = performance.now() - l0;
      } else if (full) existing = namesOf(prev);
      let text = existing ? renderNft(rules, { existing }) : renderNft(rules, { previous: prev! });
      const buildMs = performance.now() - t0 - listMs;
      const a0 = performance.now();
      try {
        await nft.apply(text);
      } catch (e) {
        // A table someone else changed can refuse a rewrite in place: replace it whole, in the same transaction.
        log.warn('nft sync failed, replacing the table', { err: e, partial: !existing });
        text = `add table ip ${table}\ndelete table ip ${table}\n${renderNft(rules)}`;
        await nft.apply(text);
      }
      const applyMs = performance.now() - a0;
      previous = rules;
      let elements = 0;
      for (const s of rules.sets.values()) elements += s.elements.size;
      return { full: !!existing, servicePorts: rules.servicePorts, buildMs, listMs, applyMs, bytes: Buffer.byteLength(text), elements };
    },
  };
}
