// The clean-shutdown marker in DATA_DIR: present, the log was closed whole and the next start keeps
// its epoch; absent, the unsynced tail may be gone and a new epoch begins.
import { closeSync, existsSync, openSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasync } from './datasync.js';

const CLEAN = 'clean-shutdown';

export function markedClean(dir: string): boolean {
  return existsSync(join(dir, CLEAN));
}

/**
 * The marker that lets the next start keep `epoch`: written by a clean close, and by a server that
 * takes its log back from a handover that failed (nothing was written after its own close).
 */
export function markClean(dir: string, epoch: string): void {
  writeFileSync(join(dir, CLEAN), `${epoch}\n`);
  syncDir(dir);
}

/** fsync of the directory: a file created, renamed or deleted survives power loss only after it. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    datasync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Opening the log: from here a crash is unclean again. */
export function unmarkClean(dir: string): void {
  unlinkSync(join(dir, CLEAN));
  syncDir(dir);
}
