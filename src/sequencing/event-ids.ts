// Event ids are `<epoch>-<seq>`: the epoch names one history (a server start, or a Redis log in
// cluster mode), so an id from an earlier history is recognised instead of mistaken for a recent one.
import { randomBytes } from 'node:crypto';

export function newEpoch(): string {
  // 6 random bytes as 12 hex characters: unique enough across restarts, within the contract's id alphabet
  return randomBytes(6).toString('hex');
}

export function formatId(epoch: string, seq: number): string {
  return `${epoch}-${seq}`;
}

export type ParsedId = { epoch: string; seq: number } | undefined;

const ID_SHAPE = /^([0-9a-z]{1,32})-(0|[1-9]\d{0,15})$/; // canonical decimal: one id, one spelling

/** Parses a Last-Event-ID; anything that is not one of our ids comes back undefined (a reset, never a 400). */
export function parseId(raw: string | undefined): ParsedId {
  if (raw === undefined) return undefined;
  const m = ID_SHAPE.exec(raw);
  if (!m) return undefined;
  const seq = Number(m[2]);
  return Number.isSafeInteger(seq) ? { epoch: m[1]!, seq } : undefined;
}
