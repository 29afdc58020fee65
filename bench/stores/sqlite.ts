// SQLite through better-sqlite3 (synchronous, on the calling thread): one row per event, one
// transaction per batch, WAL; synchronous=NORMAL for `write` (the WAL is synced at checkpoints
// only), FULL for `fsync` (the WAL is synced at every commit).
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// better-sqlite3 builds from source here (no prebuilt binary can be downloaded), about 4 minutes, so
// it is not a dependency of the project: `make bench-stores` installs it into .deps/sqlite/ first.
const SQLITE_DEPS = fileURLToPath(new URL('../../../.deps/sqlite/', import.meta.url));
const openDatabase = (file: string): Database.Database => {
  const Db = createRequire(SQLITE_DEPS)('better-sqlite3') as typeof Database;
  return new Db(file);
};
import { FIXED_EPOCH, type Batch, type Candidate, type Mode, type Store } from './store.js';

class Sqlite implements Store {
  readonly epoch = FIXED_EPOCH;
  readonly lastSeq: number;
  readonly seeded: number;
  private readonly db: Database.Database;
  private readonly insertBatch: (b: Batch) => void;

  constructor(dir: string, mode: Mode, seed: number) {
    this.db = openDatabase(join(dir, 'events.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${mode === 'fsync' ? 'FULL' : 'NORMAL'}`);
    this.db.exec('CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, ts INTEGER NOT NULL, bytes BLOB NOT NULL)');
    this.db.exec('CREATE INDEX IF NOT EXISTS events_topic ON events (topic, seq)');
    const insert = this.db.prepare('INSERT INTO events (seq, topic, ts, bytes) VALUES (?, ?, ?, ?)');
    this.insertBatch = this.db.transaction((b: Batch) => {
      for (const e of b.events) insert.run(e.seq, e.topic, b.at, e.bytes);
    });
    this.lastSeq = (this.db.prepare('SELECT max(seq) AS s FROM events').get() as { s: number | null }).s ?? 0;
    this.seeded = this.db.prepare('SELECT bytes FROM events WHERE seq > ? ORDER BY seq').raw().all(this.lastSeq - seed).length;
  }

  append(b: Batch): void {
    this.insertBatch(b);
  }

  async readTopic(topic: string, afterSeq: number): Promise<Uint8Array[]> {
    const rows = this.db.prepare('SELECT bytes FROM events WHERE topic = ? AND seq > ? ORDER BY seq').raw().all(topic, afterSeq) as [Buffer][];
    return rows.map((r) => r[0]);
  }

  async dropThrough(seq: number): Promise<void> {
    this.db.prepare('DELETE FROM events WHERE seq <= ?').run(seq);
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** the freed pages stay in the file (reused by later inserts) until VACUUM rewrites it */
  async reclaim(): Promise<void> {
    this.db.exec('VACUUM');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

export const sqlite: Candidate = {
  name: 'SQLite (better-sqlite3)',
  settings: 'WAL; write: synchronous=NORMAL, fsync: synchronous=FULL; table (seq INTEGER PRIMARY KEY, topic, ts, bytes BLOB), index (topic, seq); one transaction per batch',
  async open(dir, mode, seed) {
    return new Sqlite(dir, mode, seed);
  },
};
