// A short run (about two minutes) of `make bench` (BENCH_SMOKE=1) into a temporary directory, so the benchmark
// cannot rot: every scenario runs against the baseline and uWS SHARDS=1 with tiny loads (compression
// against its own four variants, nginx included; durability with and without the DATA_DIR log; the
// handover scenario its three ways of replacing a server), and the results it writes must be complete
// and sane. It never writes into results/.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = join(REPO, 'dist/bench/run.js');

function runBench(env: Record<string, string>, entry = ENTRY): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/**
 * Published, though not necessarily at the full rate: on a busy machine (CI runs this beside the
 * browser tests) a starved publisher falls behind its pacing. Every event accepted must still arrive.
 */
function expectPublished(p: { target: number; accepted: number }): void {
  expect(p.accepted).toBeGreaterThan(0);
  expect(p.accepted).toBeLessThanOrEqual(p.target);
}

interface Phase {
  scenario: string;
  variant: string;
  subscribers: number;
  connect: { connected: number; failed: number };
  published: { target: number; accepted: number };
  expected: number;
  received: number;
  deliveryRatio: number;
  orderViolations: number;
  malformed: number;
  latencyMs: { p50: number; p99: number; max: number; samples: number };
  server: { cpuSeconds: number; peakRssMiB: number };
  generator: { subscriberCpuSeconds: number };
}

describe('make bench (BENCH_SMOKE=1)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every scenario and writes sane JSON, markdown and charts to BENCH_RESULTS_DIR only', async () => {
    expect(existsSync(ENTRY), 'dist/bench/run.js is missing: build first (make test builds)').toBe(true);
    const { code, output } = await runBench({ BENCH_SMOKE: '1', BENCH_RESULTS_DIR: dir });
    expect(code, output).toBe(0);

    const files = readdirSync(dir);
    const json = files.filter((f) => f.endsWith('.json'));
    expect(json).toHaveLength(1);
    // written to the temporary folder, not to results/ (whose latest.md a real run may be refreshing)
    expect(existsSync(join(REPO, 'results', json[0]!))).toBe(false);
    expect(output).toContain(`wrote ${join(dir, json[0]!)}`);
    expect(files).toEqual(expect.arrayContaining(['latest.md', 'throughput.svg', 'latency.svg', 'cost.svg']));

    const results = JSON.parse(readFileSync(join(dir, json[0]!), 'utf8'));
    expect(results.complete).toBe(true);
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.machine.nodeVersion).toBe(process.version);

    // Tiny fan-out: every subscriber connects and receives every event, in order.
    const fanOut = results.runs.filter((r: Phase) => r.scenario === 'fan-out') as Phase[];
    expect(fanOut.map((r) => r.variant).sort()).toEqual(['baseline', 'uws-1']);
    for (const r of fanOut) {
      const subscribers = results.settings.fanOut.subscribers;
      expect(r.connect).toMatchObject({ connected: subscribers, failed: 0 });
      expectPublished(r.published);
      expect(r.expected).toBe(r.published.accepted * subscribers);
      expect(r.received).toBe(r.expected);
      expect(r.deliveryRatio).toBe(1);
      expect(r.orderViolations).toBe(0);
      expect(r.malformed).toBe(0);
      expect(r.latencyMs.samples).toBe(r.received);
      expect(r.latencyMs.p50).toBeGreaterThan(0);
      expect(r.latencyMs.p50).toBeLessThanOrEqual(r.latencyMs.p99);
      expect(r.latencyMs.p99).toBeLessThanOrEqual(r.latencyMs.max);
      expect(Number.isFinite(r.latencyMs.max)).toBe(true); // a figure, not a bound: timing lives in make bench
      expect(r.server.cpuSeconds).toBeGreaterThanOrEqual(0);
      expect(r.server.peakRssMiB).toBeGreaterThan(10);
    }

    const idle = results.runs.filter((r: { scenario: string }) => r.scenario === 'idle-memory');
    expect(idle).toHaveLength(2);
    for (const r of idle) {
      expect(r.connections).toBe(results.settings.idleMemory.connections);
      expect(r.rssAfterMiB).toBeGreaterThan(0);
    }
    const saturation = results.runs.filter((r: { scenario: string }) => r.scenario === 'saturation');
    expect(saturation).toHaveLength(2);
    for (const r of saturation) expect(r.steps.length).toBeGreaterThan(0);
    const publish = results.runs.filter((r: { scenario: string }) => r.scenario === 'publish-throughput' || r.scenario === 'publish-pipelined');
    // each variant and a bare uWS app (the floor) one publish at a time, then pipelined, then one
    // server in cluster mode on a fresh redis-server with the same connections and with many
    expect(publish.map((r: { scenario: string; variant: string; pipelining: number }) => `${r.scenario} ${r.variant} ${r.pipelining}`)).toEqual([
      'publish-throughput baseline 1',
      'publish-throughput uws-1 1',
      'publish-throughput floor 1',
      'publish-pipelined baseline 10',
      'publish-pipelined uws-1 10',
      'publish-pipelined floor 10',
      'publish-throughput uws-1-redis 1',
      'publish-throughput uws-1-redis-many 1',
    ]);
    for (const r of publish) {
      expect(r.accepted).toBeGreaterThan(0);
      expect(r.non2xx).toBe(0);
    }
    // Reconnect storm: every client closed from its side and back with its Last-Event-ID; the uWS
    // server resumes each one without a gap or a duplicate. The baseline (no history) may lose events,
    // and its counts must add up: every due delivery is either received or missing.
    const storm = results.runs.filter((r: { scenario: string }) => r.scenario === 'storm');
    expect(storm.map((r: { variant: string }) => r.variant).sort()).toEqual(['baseline', 'uws-1']);
    const stormSubscribers = results.settings.storm.subscribers;
    for (const r of storm) {
      expect(r.connect).toMatchObject({ connected: stormSubscribers, failed: 0 });
      expect(r).toMatchObject({ subscribers: stormSubscribers, closed: stormSubscribers, reconnected: stormSubscribers, failed: 0, withLastEventId: stormSubscribers });
      expectPublished(r.published);
      expect(r.published.notAccepted).toBe(0);
      expect(r.handshakeMs.samples).toBe(stormSubscribers);
      expect(r.handshakeMs.p50).toBeGreaterThan(0);
      expect(r.handshakeMs.p50).toBeLessThanOrEqual(r.handshakeMs.p99);
      expect(r.allBackMs).toBeGreaterThan(0);
      expect(Number.isFinite(r.allBackMs)).toBe(true);
      expect(r.allCaughtUpMs).toBeGreaterThanOrEqual(r.allBackMs);
      expect(r.expected).toBe(r.published.accepted * stormSubscribers);
      expect(r.received + r.missing.total - r.duplicates.total).toBe(r.expected);
      expect(r.orderViolations).toBe(0);
      expect(r.malformed).toBe(0);
      expect(r.storm.windowSeconds).toBeGreaterThan(0);
      expect(r.storm.serverCpuSeconds).toBeGreaterThanOrEqual(0);
    }
    const uwsStorm = storm.find((r: { variant: string }) => r.variant === 'uws-1');
    expect(uwsStorm.missing).toEqual({ total: 0, clients: 0, maxPerClient: 0 });
    expect(uwsStorm.duplicates).toEqual({ total: 0, clients: 0, maxPerClient: 0 });
    expect(uwsStorm.resets).toEqual({ total: 0, clients: 0 });
    expect(uwsStorm.received).toBe(uwsStorm.expected);
    expect(results.figures.find((f: { scenario: string; key: string }) => f.scenario === 'storm' && f.key === 'stormMissing').values).toMatchObject({ 'uws-1': 0 });

    // Replacing the server under load, three ways: every client's stream is closed by the old server
    // and every client is back, every publish is eventually accepted (refusals retried with the same
    // Idempotency-Key), the old process exits 0, and the counts add up. A handover and a restart on
    // the durable log lose, repeat and reset nothing; a memory-only restart resets every client.
    const replaced = results.runs.filter((r: { scenario: string }) => r.scenario === 'handover');
    expect(replaced.map((r: { variant: string }) => r.variant)).toEqual(['handover', 'restart', 'memory-restart']);
    const handoverSubscribers = results.settings.handover.subscribers;
    for (const r of replaced) {
      expect(r.connect).toMatchObject({ connected: handoverSubscribers, failed: 0 });
      expect(r).toMatchObject({ subscribers: handoverSubscribers, clientsClosed: handoverSubscribers, clientsBack: handoverSubscribers, clientsAway: 0 });
      expect(r.replacement.oldExit).toEqual({ code: 0, signal: null });
      // every event written is accepted in the end (how far the publisher fell behind its rate is a figure, not checked)
      expect(r.published.accepted).toBe(r.published.sent);
      expect(r.published.notAccepted).toBe(0);
      expect(r.expected).toBe(r.published.accepted * handoverSubscribers);
      expect(r.received + r.missing.total - r.duplicates.total).toBe(r.expected);
      expect(r.orderViolations).toBe(0);
      expect(r.malformed).toBe(0);
      expect(r.switchCpu.newServerCores).toBeGreaterThan(0); // its start-up, from T until everyone is back
    }
    for (const r of replaced.filter((x: { variant: string }) => x.variant !== 'memory-restart')) {
      expect(r.missing).toEqual({ total: 0, clients: 0, maxPerClient: 0 });
      expect(r.duplicates).toEqual({ total: 0, clients: 0, maxPerClient: 0 });
      expect(r.resets).toEqual({ total: 0, clients: 0 });
    }
    expect(replaced.find((r: { variant: string }) => r.variant === 'memory-restart').resets.clients).toBe(handoverSubscribers);
    expect(results.targets.find((t: { target: string }) => t.target.startsWith('Handover: 0 missing')).met).toBe(true);

    // Compression: every variant delivers every decoded event in order at each rate; gzip streams
    // (encode-once, node:http and nginx per connection) take fewer wire bytes than identity.
    const c = results.settings.compression;
    const loads = results.runs.filter((r: { scenario: string; measure: string }) => r.scenario === 'compression' && r.measure === 'load') as Array<Phase & { rate: number; wireBytesPerDelivery: number; segmentMs: number | null }>;
    expect(loads.map((r) => `${r.variant}@${r.rate}`)).toEqual(c.variants.flatMap((v: string) => c.rates.map((rate: number) => `${v}@${rate}`)));
    for (const r of loads) {
      expect(r.connect).toMatchObject({ connected: c.subscribers, failed: 0 });
      expectPublished(r.published);
      expect(r.received).toBe(r.published.accepted * c.subscribers);
      expect(r.orderViolations).toBe(0);
      expect(r.malformed).toBe(0);
      expect(r.latencyMs.samples).toBe(r.received);
      const identity = loads.find((x) => x.variant === 'identity' && x.rate === r.rate)!;
      if (r.variant !== 'identity') expect(r.wireBytesPerDelivery).toBeLessThan(identity.wireBytesPerDelivery);
      // the uWS server's own time per fan-out segment, read from its /metrics (JSON has no NaN: null for node:http)
      if (r.variant === 'baseline-gzip') expect(r.segmentMs).toBeNull();
      else expect(r.segmentMs).toBeGreaterThan(0);
    }
    const compressionIdle = results.runs.filter((r: { scenario: string; measure: string }) => r.scenario === 'compression' && r.measure === 'idle');
    expect(compressionIdle.map((r: { variant: string; connections: number }) => [r.variant, r.connections])).toEqual([
      ['identity', c.idleConnections],
      ['gzip', c.idleConnections],
    ]);

    // Durability: the fan-out load delivers everything with and without the log; publishes are
    // accepted in every mode, only the log syncs, and DURABILITY=fsync shares each fdatasync; the
    // retained log starts and its quiet topic resumes; the disk holds a little more than the SSE bytes.
    const durability = results.runs.filter((r: { scenario: string }) => r.scenario === 'durability');
    const measured = (measure: string) => durability.filter((r: { measure: string }) => r.measure === measure);
    const variants = (measure: string): string[] => measured(measure).map((r: { variant: string }) => r.variant);
    expect(variants('fan-out')).toEqual(['memory', 'write']);
    for (const r of measured('fan-out') as Phase[]) {
      expect(r.connect).toMatchObject({ connected: results.settings.fanOut.subscribers, failed: 0 });
      expect(r.received).toBe(r.published.accepted * results.settings.fanOut.subscribers);
      expect(r.orderViolations).toBe(0);
    }
    expect(variants('pipelined')).toEqual(['memory', 'write']);
    expect(variants('concurrent')).toEqual(['memory', 'write', 'fsync']);
    for (const r of [...measured('pipelined'), ...measured('concurrent')]) {
      expect(r.accepted).toBeGreaterThan(0);
      expect(r).toMatchObject({ non2xx: 0, errors: 0 });
      if (r.variant === 'memory') expect(r.fsyncs).toBe(0);
      if (r.variant === 'fsync') expect(r.publishesPerFsync).toBeGreaterThanOrEqual(1);
    }
    expect(variants('start-up')).toEqual(['empty', 'log-tail-in-memory', 'log-all-in-memory']);
    for (const r of measured('start-up')) {
      expect(r.startMs).toBeGreaterThan(0);
      expect(r.rssMiB).toBeGreaterThan(0);
      expect(r.resumeMs).toHaveLength(r.variant === 'empty' ? 0 : results.settings.durability.resumes);
    }
    const disk = measured('disk')[0];
    expect(disk.events).toBe(results.settings.durability.events);
    expect(disk.diskBytesPerEvent).toBeGreaterThan(disk.sseBytesPerEvent);

    expect(results.micro.length).toBeGreaterThanOrEqual(8);
    for (const m of results.micro) expect(m.nsPerOp).toBeGreaterThan(0);
    // fan-out CPU, full rate, p99, idle RSS; publishes/s and CPU per publish, plain and pipelined;
    // cluster publishes; four for compression (against identity); four for durability (against memory only); two for the handover
    expect(results.targets).toHaveLength(19);
    for (const t of results.targets.slice(9)) expect(t.met).toBeTypeOf('boolean');

    const md = readFileSync(join(dir, 'latest.md'), 'utf8');
    expect(md).toContain('| scenario | figure | baseline (node:http) | uWS SHARDS=1 |');
    expect(md).toContain('server CPU per delivery');
    expect(md).toContain('## Targets');
    expect(md).toMatch(/## Publishing\n\n- \*\*one publish at a time per connection:\*\* autocannon spent at least [\d.]+ µs of CPU per publish\..* A bare uWS app .* cost [\d.]+ µs of server CPU per publish/);
    expect(md).toMatch(/\| connections \| events\/s into Redis \|.*\n.*\n\| 10 \| [\d,]+ \|.*\n\| 100 \| [\d,]+ \|/);
    expect(md).toContain('Cluster mode: ≥ 20,000 events/s into one Redis');
    expect(md).toContain('## Reconnect storm');
    expect(md).toContain('| figure | baseline (node:http) | uWS SHARDS=1 |');
    // the uWS column of the storm table: no missing, no duplicate delivery, no reset frame
    expect(md).toMatch(/^\| \*\*missing deliveries\*\*[^|]*\| [^|]+ \| 0 \(0\) \|$/m);
    expect(md).toMatch(/^\| \*\*duplicate deliveries\*\*[^|]*\| [^|]+ \| 0 \(0\) \|$/m);
    expect(md).toMatch(/^\| reset frames \(clients\) \| [^|]+ \| 0 \(0\) \|$/m);
    expect(md).toContain('## Durability');
    expect(md).toMatch(/^\| 64 × one at a time \| `DATA_DIR`, `DURABILITY=fsync` \| [\d,]+ \| [\d.]+× \|/m);
    expect(md).toMatch(/^\*\*Disk per event:\*\* [\d.]+ bytes in the segment files against [\d.]+ bytes of SSE/m);
    expect(md).toContain('## Replacing the server under load');
    // handover and restart on the durable log: nothing missing, duplicated or reset; the old process exits 0 every time
    expect(md).toMatch(/^\| \*\*missing deliveries\*\*[^|]*\| 0 \(0\) \| 0 \(0\) \| [^|]+ \|$/m);
    expect(md).toMatch(/^\| \*\*duplicate deliveries\*\*[^|]*\| 0 \(0\) \| 0 \(0\) \| [^|]+ \|$/m);
    expect(md).toMatch(/^\| \*\*reset frames\*\* \(clients\) \| 0 \(0\) \| 0 \(0\) \| [^|]+ \|$/m);
    expect(md).toMatch(/^\| \*\*old process exit code\*\* \| 0 \| 0 \| 0 \|$/m);
    expect(md).toContain('## Compression');
    expect(md).toMatch(/^\| uWS, encode-once gzip \(COMPRESSION=gzip\) \| [\d,]+ \([\d,]+\) \| [\d.]+ \| [\d.]+× fewer \|/m);
    for (const svg of ['throughput.svg', 'latency.svg', 'cost.svg']) expect(readFileSync(join(dir, svg), 'utf8')).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  }, 420_000); // 2-3 minutes here, and the bench's own watchdog stops it at 6
});

describe('make bench-c100k (BENCH_QUICK=1)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-c100k-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds 2,000 subscribers over 2 server processes on one port, and loses nothing when one is killed', async () => {
    const entry = join(REPO, 'dist/bench/c100k.js');
    const { code, output } = await runBench({ BENCH_QUICK: '1', BENCH_RESULTS_DIR: dir }, entry);
    expect(code, output).toBe(0);
    const files = readdirSync(dir);
    expect(files).toEqual(expect.arrayContaining(['c100k-latest.md']));
    const json = files.filter((f) => f.startsWith('c100k-') && f.endsWith('.json'));
    expect(json).toHaveLength(1);
    const results = JSON.parse(readFileSync(join(dir, json[0]!), 'utf8'));
    expect(results.machine.nodeVersion).toBe(process.version);
    expect(results.scales).toHaveLength(1);
    const s = results.scales[0];
    expect(s).toMatchObject({ subscribers: 2_000, servers: 2, generators: 2 });
    expect(s.connect).toMatchObject({ connected: 2_000, failed: 0 });
    // both processes on the one port got connections from the kernel
    expect(s.connect.perServer).toHaveLength(2);
    for (const p of s.connect.perServer) expect(p.connections).toBeGreaterThan(0);
    // 1,000 connections a process: the RSS they add is within what a GC gives back, either sign
    expect(Number.isFinite(s.memory.kibPerConnection)).toBe(true);
    expect(Number.isFinite(s.memory.kibPerConnectionSettled)).toBe(true);
    expect(s.phases.map((p: { name: string }) => p.name)).toEqual(['broadcast 1/s', 'broadcast 10/s', '100 topics, 200/s']);
    for (const p of s.phases) {
      expect(p.accepted).toBeGreaterThan(0);
      expect(p.received).toBe(p.expected);
      expect(p.orderViolations).toBe(0);
      expect(p.latencyMs.p50).toBeLessThanOrEqual(p.latencyMs.p99);
      expect(p.serverCpuSeconds).toBeGreaterThan(0);
      expect(p.serverKernelSeconds).toBeGreaterThanOrEqual(0);
    }
    // the killed server's subscribers are back on the other one, resumed with their Last-Event-ID
    expect(s.kill.reconnected).toBeGreaterThan(0);
    expect(s.kill.withLastEventId).toBe(s.kill.reconnected);
    expect(s.kill.openAfter).toBe(2_000);
    expect(s.kill).toMatchObject({ missing: 0, duplicates: 0 });
    expect(s.kill.due).toBeGreaterThan(0);
    const md = readFileSync(join(dir, 'c100k-latest.md'), 'utf8');
    expect(md).toContain('| figure | 2,000 subscribers |');
    expect(md).toMatch(/^- MET: a killed server's subscribers all back/m);
  }, 120_000);
});
