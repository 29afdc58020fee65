// Which part of its life a server is in, for /healthz (`phase`) and /metrics (`sse_phase`): serving,
// handing its durable log over to a newer process on the same DATA_DIR, or draining its streams.
import { GLOBAL_SLOT } from '../threads/shared-counters.js';

export const PHASES = ['serving', 'handing-over', 'draining'] as const;
export type Phase = (typeof PHASES)[number];

export function setPhase(global: Int32Array, phase: Phase): void {
  Atomics.store(global, GLOBAL_SLOT.PHASE, PHASES.indexOf(phase));
}

export function phaseOf(global: Int32Array): Phase {
  return PHASES[Atomics.load(global, GLOBAL_SLOT.PHASE)] ?? 'serving';
}
