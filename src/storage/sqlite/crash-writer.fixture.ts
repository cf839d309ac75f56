/**
 * Child process of the crash test: opens the store named by argv[2] and writes until killed, printing
 * the key of every acknowledged write on its own line.
 */
import { setLogSink } from '../../base/log.ts';
import { openSqliteStorage } from './sqlite-storage.ts';

setLogSink(null);
const path = process.argv[2];
if (!path) throw new Error('usage: crash-writer.fixture.ts <state.db>');
const storage = await openSqliteStorage(path);
process.stdout.write('ready\n');
let n = 0;
await Promise.all(
  Array.from({ length: 16 }, async () => {
    for (;;) {
      const key = `/crash/${String(n++).padStart(8, '0')}`;
      await storage.create(key, new TextEncoder().encode(key));
      // Synchronous on pipes, so a line written here reached the parent before any later kill.
      process.stdout.write(`${key}\n`);
    }
  }),
);
