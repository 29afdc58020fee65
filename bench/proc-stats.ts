// What the kernel says about a process and the machine (Linux /proc): CPU seconds of a whole process
// (utime + stime: every thread, so worker-thread shards are included), of one thread, its RSS and peak
// RSS, the machine-wide busy fraction, and a description of the machine for the results file.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';

/** Clock ticks per second of utime/stime (USER_HZ); 100 on every Linux we know of. */
const CLK_TCK = ((): number => {
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(v) && v > 0 ? v : 100;
  } catch {
    return 100;
  }
})();

export interface CpuTimes {
  user: number;
  system: number;
}

/** utime and stime in seconds of a process (all threads) or, with `tid`, of one of its threads. */
export function cpuTimes(pid: number, tid?: number): CpuTimes {
  const path = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  const text = readFileSync(path, 'utf8');
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
  return { user: Number(fields[11]) / CLK_TCK, system: Number(fields[12]) / CLK_TCK };
}

/** utime + stime in seconds of a process (all threads) or, with `tid`, of one of its threads. */
export function cpuSeconds(pid: number, tid?: number): number {
  const t = cpuTimes(pid, tid);
  return t.user + t.system;
}

export interface ThreadTimes {
  /** seconds on a CPU */
  cpu: number;
  /** seconds runnable but waiting for a CPU (run queue): other threads or processes had the cores */
  wait: number;
}

/**
 * On-CPU and run-queue seconds of each thread of a process, by thread id, from
 * /proc/<pid>/task/<tid>/schedstat (nanoseconds, where utime/stime count 10 ms ticks), falling back
 * to utime + stime (no wait figure) where the kernel has no schedstat.
 */
export function threadTimes(pid: number): Map<number, ThreadTimes> {
  const out = new Map<number, ThreadTimes>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const v = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
      if (v.length >= 2 && v.every(Number.isFinite)) out.set(Number(tid), { cpu: v[0]! / 1e9, wait: v[1]! / 1e9 });
      else out.set(Number(tid), { cpu: cpuSeconds(pid, Number(tid)), wait: 0 });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** Every process below `pid` (children, their children...), from /proc/<pid>/task/<tid>/children. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    try {
      for (const tid of readdirSync(`/proc/${p}/task`)) {
        const children = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim();
        if (children === '') continue;
        for (const c of children.split(/\s+/).map(Number)) {
          out.push(c);
          queue.push(c);
        }
      }
    } catch {
      // gone
    }
  }
  return out;
}

export interface MemoryStats {
  /** resident set now (bytes) */
  rss: number;
  /** peak resident set over the process's life (bytes), VmHWM */
  hwm: number;
}

export function memory(pid: number): MemoryStats {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** Jiffies the whole machine spent busy and in total, from the first line of /proc/stat. */
export interface MachineTicks {
  busy: number;
  total: number;
}

export function machineTicks(): MachineTicks {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Fraction of all cores busy between two readings (0..1), whoever used them. */
export function machineBusy(a: MachineTicks, b: MachineTicks): number {
  const total = b.total - a.total;
  return total > 0 ? (b.busy - a.busy) / total : 0;
}

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  nodeVersion: string;
  kernel: string;
  memoryGiB: number;
  openFilesLimit: string;
}

export function machineInfo(): MachineInfo {
  let cpuModel = 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    // not Linux: keep 'unknown'
  }
  let kernel = 'unknown';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // ignore
  }
  let openFilesLimit = 'unknown';
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) openFilesLimit = `${m[1]} soft / ${m[2]} hard`;
  } catch {
    // ignore
  }
  return {
    cores: availableParallelism(),
    cpuModel,
    nodeVersion: process.version,
    kernel,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    openFilesLimit,
  };
}

/** The kernel's TCP counters behind a connection storm, for this network namespace (every process in it, not one). */
export interface TcpCounters {
  /** SYNs or handshake ACKs dropped because a listening socket's accept queue was full (TcpExt ListenOverflows) */
  listenOverflows: number;
  /** every SYN dropped by a listening socket, overflows included (TcpExt ListenDrops) */
  listenDrops: number;
  /** SYNs sent again by connecting sockets (TcpExt TCPSynRetrans): each costs the client 1 s, then 3, 7, 15... */
  synRetransmits: number;
  /** SYN queue full, answered with a SYN cookie (TcpExt TCPReqQFullDoCookies) */
  synCookies: number;
}

export function tcpCounters(): TcpCounters {
  const out: TcpCounters = { listenOverflows: 0, listenDrops: 0, synRetransmits: 0, synCookies: 0 };
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
    if (lines.length < 2) return out;
    const names = lines[0]!.trim().split(/\s+/);
    const values = lines[1]!.trim().split(/\s+/).map(Number);
    const get = (name: string): number => values[names.indexOf(name)] ?? 0;
    out.listenOverflows = get('ListenOverflows');
    out.listenDrops = get('ListenDrops');
    out.synRetransmits = get('TCPSynRetrans');
    out.synCookies = get('TCPReqQFullDoCookies');
  } catch {
    // not Linux: zeros
  }
  return out;
}
