// fdatasync of the log's files (segments and directory), counted in this process whichever EventLog
// made them (a handover that fails reopens the log): sse_event_log_fsyncs_total.
import { fdatasyncSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

let syncCount = 0;
export const logSyncs = (): number => syncCount;

export function datasync(fd: number): void {
  syncCount++;
  fdatasyncSync(fd);
}

/** Off the event loop (a handover's sync ahead). */
export function datasyncAsync(file: FileHandle): Promise<void> {
  syncCount++;
  return file.datasync();
}
