import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compressAlone, newDeflate, zlibEach, zlibSync, type SyncZlib } from '../../../src/fanout/deflate-sync.js';

const { Z_SYNC_FLUSH, Z_NO_FLUSH } = zlib.constants;
const SYNC_MARKER = Buffer.from([0x00, 0x00, 0xff, 0xff]); // an empty stored block ends every sync flush
const text = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => `event ${i % 97} of the ticker\n`).join('').slice(0, n));
const inflate = (pieces: Buffer[]): Buffer => zlib.inflateRawSync(Buffer.concat(pieces), { finishFlush: Z_SYNC_FLUSH });

describe('zlibSync on a long-lived deflate context', () => {
  it('each sync-flushed piece decodes in order, as one stream, and the context stays open', () => {
    const d = newDeflate(6);
    const inputs = [text(100), text(5_000), text(300)];
    const pieces = inputs.map((input) => zlibSync(d, input, Z_SYNC_FLUSH));
    for (const piece of pieces) expect(piece.subarray(-4)).toEqual(SYNC_MARKER);
    expect(inflate(pieces)).toEqual(Buffer.concat(inputs));
    // nothing new since the last flush: nothing to send
    expect(zlibSync(d, Buffer.alloc(0), Z_SYNC_FLUSH)).toHaveLength(0);
    d.close();
  });

  it('a piece after the first refers back to earlier input: it is smaller, and does not decode alone', () => {
    const d = newDeflate(6);
    const first = zlibSync(d, text(4_000), Z_SYNC_FLUSH);
    const second = zlibSync(d, text(4_000), Z_SYNC_FLUSH);
    expect(second.length).toBeLessThan(first.length / 4);
    expect(() => zlib.inflateRawSync(second, { finishFlush: Z_SYNC_FLUSH })).toThrow();
    d.close();
  });

  it('output larger than its 64 KiB buffer comes back whole (incompressible 160 KiB)', () => {
    const d = newDeflate(1);
    const input = randomBytes(160 * 1024);
    const piece = zlibSync(d, input, Z_SYNC_FLUSH);
    expect(piece.length).toBeGreaterThan(64 * 1024);
    expect(inflate([piece]).equals(input)).toBe(true); // not toEqual: a deep compare of 160 KiB takes seconds
    d.close();
  });

  it('Z_NO_FLUSH holds input back until a later flush', () => {
    const d = newDeflate(6);
    const held = zlibSync(d, text(200), Z_NO_FLUSH);
    const flushed = zlibSync(d, Buffer.alloc(0), Z_SYNC_FLUSH);
    expect(inflate([held, flushed])).toEqual(text(200));
    d.close();
  });

  it('refuses a closed context', () => {
    const d = newDeflate(6);
    d.close();
    expect(() => zlibSync(d, text(10), Z_SYNC_FLUSH)).toThrow('zlib context closed');
  });
});

describe('zlibEach', () => {
  it('reads only the first `length` bytes and hands over pieces that must be copied at once', () => {
    const d = newDeflate(6);
    const input = text(1_000);
    const pieces: Buffer[] = [];
    zlibEach(d, input, 600, Z_SYNC_FLUSH, (out, have) => pieces.push(Buffer.from(out.subarray(0, have))));
    expect(inflate(pieces)).toEqual(input.subarray(0, 600));
    d.close();
  });

  it('drives an inflate context too: a gzip stream decoded read by read, split anywhere', () => {
    const original = text(20_000);
    const gz = zlib.gzipSync(original);
    const z = zlib.createGunzip() as zlib.Gunzip & SyncZlib;
    z.on('error', () => {}); // zlibEach throws where the bytes are fed
    let out = '';
    for (let at = 0; at < gz.length; at += 777) {
      const read = gz.subarray(at, at + 777);
      zlibEach(z, read, read.length, Z_SYNC_FLUSH, (piece, have) => (out += piece.toString('latin1', 0, have)));
    }
    expect(out).toBe(original.toString('latin1'));
    z.close();
  });

  it('throws on corrupt input to an inflate, and the context is closed after it', () => {
    const z = zlib.createInflateRaw() as zlib.InflateRaw & SyncZlib;
    z.on('error', () => {});
    const junk = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(() => zlibEach(z, junk, junk.length, Z_SYNC_FLUSH, () => {})).toThrow('zlib: invalid compressed data');
    expect(() => zlibEach(z, junk, junk.length, Z_SYNC_FLUSH, () => {})).toThrow('zlib context closed');
  });
});

describe('compressAlone', () => {
  it('decodes without anything before it, even after other input went through its context', () => {
    const input = text(3_000);
    const first = compressAlone(input, 6);
    compressAlone(text(9_000), 6);
    const again = compressAlone(input, 6);
    expect(again).toEqual(first);
    expect(zlib.inflateRawSync(again, { finishFlush: Z_SYNC_FLUSH })).toEqual(input);
    expect(again.subarray(-4)).toEqual(SYNC_MARKER);
  });

  it('is also right inside a stream: a subscriber that joins late can be sent it, then the shared pieces', () => {
    const alone = compressAlone(text(500), 6);
    expect(zlib.inflateRawSync(alone, { finishFlush: Z_SYNC_FLUSH })).toEqual(text(500));
  });
});
