// LevelDB through classic-level, the KvStore schema: one db.batch per batch (its work runs on libuv's
// thread pool, the batch is delivered when the promise resolves); `write`: sync false (LevelDB's log is
// written, not flushed), `fsync`: sync true (flushed at every batch). Retention: clear, then a
// compaction, which is what gives the space back.
import { ClassicLevel } from 'classic-level';
import { join } from 'node:path';
import { KvStore, type Kv } from './kv-store.js';
import type { Candidate } from './store.js';

export const level: Candidate = {
  name: 'LevelDB (classic-level)',
  settings: 'keys as in bench/stores/kv-store.ts, one db.batch per batch (snappy compression on, the default); write: sync false, fsync: sync true',
  async open(dir, mode, seed) {
    const db = new ClassicLevel<Buffer, Uint8Array>(join(dir, 'level'), { keyEncoding: 'buffer', valueEncoding: 'view' });
    await db.open();
    const kv: Kv = {
      write: (pairs) => db.batch(pairs.map(([key, value]) => ({ type: 'put' as const, key, value })), { sync: mode === 'fsync' }),
      keys: (r) => db.keys(r).all(),
      values: (r) => db.values(r).all(),
      getMany: async (ks) => (await db.getMany(ks)).map((v) => v!),
      clear: (r) => db.clear(r),
      reclaim: () => db.compactRange(Buffer.from([0]), Buffer.from([0xff])),
      close: () => db.close(),
    };
    return KvStore.open(kv, seed);
  },
};
