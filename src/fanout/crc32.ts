// CRC-32 (the gzip trailer's, polynomial 0xEDB88320) in plain TypeScript: node:zlib exposes crc32
// only from Node 20.15 and 22.2 (engines: >=20). `crc32Combine` gives the CRC of A+B from the CRCs of A and B and B's length,
// so a compressed chunk shared by many subscribers has its CRC computed once and each subscriber's
// running CRC advances in O(log length), whatever the chunk's size (zlib's crc32_combine, x^2^n method).

const POLY = 0xedb88320;

const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  TABLE[n] = c;
}

/** CRC-32 of `bytes`, continuing from `crc` (0 for a new stream). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** a(x) * b(x) modulo the CRC polynomial, bit-reflected as the CRC is. */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^n) modulo the polynomial, n = 0..31 */
const X2N = new Uint32Array(32);
X2N[0] = 0x40000000; // x^1
for (let n = 1; n < 32; n++) X2N[n] = multModP(X2N[n - 1]!, X2N[n - 1]!);

/** x^(len * 8) modulo the polynomial: what appending `len` zero bytes multiplies a CRC by. */
export function crc32Shift(len: number): number {
  let p = 0x80000000; // x^0
  let k = 3;
  while (len > 0) {
    if (len % 2 === 1) p = multModP(X2N[k & 31]!, p);
    len = Math.floor(len / 2);
    k++;
  }
  return p;
}

/** CRC-32 of A followed by B, from crc32(A), crc32(B) and B's length. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB === 0) return crcA >>> 0;
  return (multModP(crc32Shift(lengthB), crcA) ^ crcB) >>> 0;
}

/** crc32Combine with B's shift (crc32Shift(lengthB)) computed once: one multiplication per subscriber. */
export function crc32CombineShifted(crcA: number, crcB: number, shiftB: number): number {
  return (multModP(shiftB, crcA) ^ crcB) >>> 0;
}
