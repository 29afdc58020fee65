// Synchronous zlib on long-lived node:zlib contexts: raw deflate for src/fanout/gzip-group.ts, and
// gunzip for the bench's load generator, which decodes each read as it arrives.
import zlib from 'node:zlib';

const Z_SYNC_FLUSH = zlib.constants.Z_SYNC_FLUSH;

/**
 * A long-lived zlib context driven synchronously. node:zlib has no public API for that: its sync
 * path (_processChunk without a callback) closes the context after one call. This drives the same
 * native handle the way that path does (handle.writeSync, then the [availOut, availIn] state), and
 * keeps it open. Node 20 and 22 have the same handle API; a test covers it.
 */
interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
}
export interface SyncZlib {
  _handle: ZlibHandle | null;
  _writeState: Uint32Array;
}
export type SyncDeflate = zlib.DeflateRaw & SyncZlib;

const OUT = Buffer.allocUnsafe(64 * 1024);

/**
 * Runs the first `length` bytes of `input` through the context with `flush`, handing each piece of
 * output to `take` as `out[0, have)` (a buffer the next piece reuses: copy or decode it at once);
 * throws when zlib reports an error (corrupt input to an inflate).
 */
export function zlibEach(z: SyncZlib, input: Uint8Array, length: number, flush: number, take: (out: Buffer, have: number) => void): void {
  const handle = z._handle;
  if (handle === null) throw new Error('zlib context closed');
  const state = z._writeState;
  let inOff = 0;
  let inLen = length;
  for (;;) {
    handle.writeSync(flush, input, inOff, inLen, OUT, 0, OUT.length);
    // an error makes the handle's onerror destroy the stream at once, which drops the handle
    if (z._handle === null) throw new Error('zlib: invalid compressed data');
    const availOut = state[0]!;
    const availIn = state[1]!;
    const have = OUT.length - availOut;
    if (have > 0) take(OUT, have);
    inOff += inLen - availIn;
    inLen = availIn;
    if (availOut !== 0) break; // output buffer not filled: all input consumed and flushed
  }
}

/** zlibEach, the output copied into one Buffer. */
export function zlibSync(z: SyncZlib, input: Uint8Array, flush: number): Buffer {
  const pieces: Buffer[] = [];
  zlibEach(z, input, input.length, flush, (out, have) => pieces.push(Buffer.from(out.subarray(0, have))));
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}

export function newDeflate(level: number): SyncDeflate {
  // memLevel 8 and a 32 KiB window: ~256 KiB per group, none per subscriber
  const d = zlib.createDeflateRaw({ level, memLevel: 8, windowBits: 15 }) as SyncDeflate;
  d.on('error', (err) => {
    throw err; // a deflate error is a bug (no input can cause one); fail the shard, do not corrupt streams
  });
  return d;
}

/** One context per thread for out-of-step output: reset before every use, so it refers to nothing before. */
let scratch: SyncDeflate | undefined;
export function compressAlone(input: Uint8Array, level: number): Buffer {
  scratch ??= newDeflate(level);
  scratch.reset();
  return zlibSync(scratch, input, Z_SYNC_FLUSH);
}

