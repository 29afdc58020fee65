// A durable event log in a fresh temporary directory, for unit tests on real files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventLogOptions } from '../../src/eventlog/event-log.js';

/** Options for a log in a new temporary directory; `remove()` deletes it. */
export function tempLog(over: Partial<EventLogOptions> = {}): { options: EventLogOptions; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'eventlog-'));
  const options: EventLogOptions = { dir, durability: 'write', fsyncMs: 1_000, segmentBytes: 1 << 20, maxEvents: 1_000, maxAgeMs: 0, maxBytes: 0, ...over };
  return { options, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
