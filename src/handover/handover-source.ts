// The serving side of a handover: listens on its socket in DATA_DIR, one handover at a time. Asked,
// it releases the log (the caller stops intake and closes it complete), answers where the log ends,
// and waits: `ready` means the new process serves, so this one drains and exits; `failed`, the
// connection ending, or no answer within READY_TIMEOUT_MS means it did not, so this one reopens the
// log and serves on.
import { readdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { readMessages, send, step, SOCKET_NAME, socketPath, type Released, type ToOwner } from './protocol.js';

/** How long the new process may take from the release to listening (it recovers the log meanwhile). */
const READY_TIMEOUT_MS = 60_000;

export interface HandoverHooks {
  /** Stops intake, writes every event claimed, closes the log; throws with the reason it cannot (`port`: the new process's PORT). */
  release(port: number): Promise<Released>;
  /** The new process serves: stop listening, drain, exit. */
  handedOver(pid: number): void;
  /** The new process did not take over: reopen the log where it was released and serve on. */
  rollback(released: Released): Promise<void>;
}

export class HandoverSource {
  private inProgress: number | undefined;

  private constructor(private readonly server: Server) {}

  /** Listens on this process's socket; undefined (and a log line) where it cannot: restarts still work. */
  static async listen(dataDir: string, hooks: HandoverHooks): Promise<HandoverSource | undefined> {
    removeStaleSockets(dataDir);
    let source: HandoverSource | undefined;
    const server = createServer((socket) => source?.converse(socket, hooks));
    source = new HandoverSource(server);
    const path = socketPath(dataDir, process.pid);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, resolve);
      });
    } catch (err) {
      console.error(`handover: cannot listen on ${path} (${(err as Error).message}): a new server on this DATA_DIR will be refused`);
      return undefined;
    }
    return source;
  }

  close(): void {
    this.server.close();
  }

  private converse(socket: Socket, hooks: HandoverHooks): void {
    socket.on('error', () => {}); // the other side gone: 'close' decides
    let state: 'asked' | 'released' | 'settled' = 'asked';
    let pid = 0;
    let released: Released | undefined;
    const timer = setTimeout(() => socket.destroy(), READY_TIMEOUT_MS).unref();
    const rollback = (reason: string): void => {
      if (state !== 'released') return;
      state = 'settled';
      clearTimeout(timer);
      console.error(`handover to pid ${pid} failed (${reason}): this server takes its log back and serves on`);
      void hooks.rollback(released!).finally(() => (this.inProgress = undefined));
    };
    let closed = false;
    socket.on('close', () => {
      closed = true;
      rollback('the new process went away before it was serving');
    });
    readMessages<ToOwner>(socket, (m) => {
      if (m.type === 'handover' && state === 'asked' && pid === 0) {
        pid = m.pid;
        if (this.inProgress !== undefined) {
          state = 'settled';
          console.error(`handover: pid ${pid} asked while the handover to pid ${this.inProgress} is in progress: refused`);
          send(socket, { type: 'refused', reason: `a handover to pid ${this.inProgress} is already in progress` });
          return void socket.end();
        }
        this.inProgress = pid;
        step('asked');
        console.log(`handover: pid ${pid} asks for the log: publishes answer 503 until it serves`);
        hooks.release(m.port).then(
          (where) => {
            state = 'released';
            released = where;
            console.log(`handover: log released at epoch ${where.epoch}, seq ${where.lastSeq}`);
            if (closed) return rollback('the new process went away before it was serving');
            send(socket, { type: 'released', ...where });
          },
          (err: unknown) => {
            state = 'settled';
            this.inProgress = undefined;
            console.error(`handover: refused pid ${pid}: ${(err as Error).message}`);
            send(socket, { type: 'refused', reason: (err as Error).message });
            socket.end();
          },
        );
      } else if (m.type === 'ready' && state === 'released') {
        state = 'settled';
        clearTimeout(timer);
        step('ready received');
        console.log(`handover: pid ${pid} serves; this server stops listening and drains`);
        socket.end();
        hooks.handedOver(pid);
      } else if (m.type === 'failed') {
        rollback(m.reason);
      } else {
        socket.destroy();
      }
    });
  }
}

/** Sockets left by owners that are gone: this process holds the lock now. */
function removeStaleSockets(dataDir: string): void {
  for (const name of readdirSync(dataDir)) {
    if (!SOCKET_NAME.test(name)) continue;
    try {
      unlinkSync(join(dataDir, name));
    } catch {
      // gone already
    }
  }
}
