// LMDB through the `lmdb` package, the KvStore schema. Two ways to write: `lmdb (sync)` commits each
// batch in a transaction on the calling thread (transactionSync), as our log writes; `lmdb (async)`
// is the package's recommended way, the transaction committed by its own write thread and the batch
// delivered when the promise resolves. `write`: noSync (the kernel has it, no flush); `fsync`: LMDB's
// sync at every commit (overlappingSync off, so a commit resolves only once flushed).
import { open, type RootDatabase } from 'lmdb';
import { join } from 'node:path';
import { KvStore, type Kv, type Range } from './kv-store.js';
import type { Candidate, Mode } from './store.js';

function lmdbKv(dir: string, mode: Mode, async: boolean): Kv {
  const db: RootDatabase<Uint8Array, Buffer> = open({
    path: join(dir, 'lmdb'),
    keyEncoding: 'binary',
    encoding: 'binary',
    compression: false,
    noSync: mode === 'write',
    overlappingSync: false,
  });
  // lmdb's reverse ranges run from `start` (high) down to `end` (low)
  const range = (r: Range) => (r.reverse ? { start: r.lt, end: r.gte, reverse: true, exclusiveStart: true, limit: r.limit } : { start: r.gte, end: r.lt, limit: r.limit });
  return {
    write(pairs) {
      if (async) return db.transaction(() => {
        for (const [k, v] of pairs) void db.put(k, v);
      }).then(() => undefined);
      db.transactionSync(() => {
        for (const [k, v] of pairs) db.putSync(k, v);
      });
    },
    keys: async (r) => [...db.getKeys(range(r))],
    values: async (r) => [...db.getRange(range(r))].map(({ value }) => value),
    getMany: async (ks) => ks.map((k) => db.get(k)!),
    async clear(r) {
      const doomed = [...db.getKeys(range(r))];
      // LMDB keeps its file size: freed pages go to its free list for later writes, never back to the file system
      db.transactionSync(() => {
        for (const k of doomed) db.removeSync(k);
      });
    },
    close: () => db.close(),
  };
}

function candidate(async: boolean): Candidate {
  return {
    name: `LMDB (lmdb, ${async ? 'async: its write thread' : 'sync: transactionSync'})`,
    settings: `keys as in bench/stores/kv-store.ts, one transaction per batch${async ? ' on the package\'s write thread' : ' on the calling thread'}; write: noSync, fsync: sync at commit (overlappingSync off)`,
    async open(dir, mode, seed) {
      return KvStore.open(lmdbKv(dir, mode, async), seed);
    },
  };
}

export const lmdbSync = candidate(false);
export const lmdbAsync = candidate(true);
