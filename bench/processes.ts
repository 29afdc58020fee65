// Every process the bench starts (servers, load generators, micro-benchmark runners) is tracked here
// and killed when the bench exits, fails, is interrupted or overruns its time limit: a benchmark must
// never leave a server holding 10,000 sockets behind. Children started with `forkChild` also exit by
// themselves when their parent disappears (their IPC channel closes).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const children = new Set<ChildProcess>();
let installed = false;

function killAll(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill(signal);
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => killAll());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping every server and load generator`);
      killAll();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    console.error('bench failed:', err);
    killAll();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    console.error('bench failed:', err);
    killAll();
    process.exit(1);
  });
}

export function track(child: ChildProcess): ChildProcess {
  install();
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Kills everything after `seconds` (a bounded run: whatever hangs, the bench stops by itself). */
export function watchdog(seconds: number): void {
  install();
  setTimeout(() => {
    console.error(`bench: over its ${seconds} s limit (BENCH_TIMEOUT_SECONDS); stopping everything`);
    killAll();
    process.exit(3);
  }, seconds * 1000).unref();
}

/** Where a compiled bench module lives, from a path relative to dist/bench/. */
export function benchModule(relative: string): string {
  return fileURLToPath(new URL(relative, new URL('./', import.meta.url)));
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** A forked helper process that answers typed requests over IPC, one reply per request. */
export class ChildClient<Request extends { type: string }> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exited: string | undefined;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(`${name}: ${m.error}`));
    });
    child.on('exit', (code, signal) => {
      this.exited = `${name} exited (${signal ?? code})`;
      for (const p of this.pending.values()) p.reject(new Error(this.exited));
      this.pending.clear();
    });
  }

  static start<R extends { type: string }>(name: string, module: string, execArgv: string[] = []): ChildClient<R> {
    const child = track(fork(benchModule(module), [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    return new ChildClient<R>(name, child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  request<T>(message: Request): Promise<T> {
    if (this.exited !== undefined) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, message });
    });
  }

  /** Asks the child to exit, and kills it if it has not within a second. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 1000);
    await exited;
    clearTimeout(timer);
  }
}

/** The child side: answers each request with the handler's value (or error) and exits with its parent. */
export function serveParent<Request extends { type: string }>(handler: (message: Request) => unknown): void {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('this module runs as a bench child process (forked with IPC)');
  process.on('message', (m: { id: number; message: Request }) => {
    Promise.resolve()
      .then(() => handler(m.message))
      .then(
        (value) => send({ id: m.id, ok: true, value }),
        (err: unknown) => send({ id: m.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
}
