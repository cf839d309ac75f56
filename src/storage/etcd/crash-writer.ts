/**
 * Child program of the etcd crash test: writes through the engine as fast as it can and prints one
 * line per acknowledged write (`ack KEY MODREVISION`), until it is killed.
 *   node --import tsx crash-writer.ts ENDPOINT PREFIX [CONCURRENCY]
 */
import { openEtcdStorage } from './etcd-storage.ts';

const [endpoint, prefix, concurrency] = process.argv.slice(2);
if (endpoint === undefined || prefix === undefined) {
  process.stderr.write('usage: crash-writer.ts ENDPOINT PREFIX [CONCURRENCY]\n');
  process.exit(2);
}
const storage = await openEtcdStorage([endpoint]);
process.stdout.write('ready\n');
await Promise.all(
  Array.from({ length: Number(concurrency ?? 8) }, async (_, w) => {
    for (let n = 0; ; n++) {
      const key = `${prefix}${w}/${n}`;
      const kv = await storage.create(key, new TextEncoder().encode(`${w}.${n}`));
      process.stdout.write(`ack ${key} ${kv.modRevision}\n`);
    }
  }),
);
