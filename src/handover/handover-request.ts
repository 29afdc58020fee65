// The starting side of a handover: DATA_DIR's lock is held by a live server, so ask it, over its
// socket, to release the log. Once released, this process owns the history from where it ended and
// says `ready` when it listens (the old one then drains and exits) or `failed` (it serves on).
import { connect, type Socket } from 'node:net';
import { DataDirError } from '../eventlog/lock.js';
import type { EventLog } from '../eventlog/event-log.js';
import { readMessages, send, socketPath, type FromOwner, type Released, type ToOwner } from './protocol.js';

/** From asking to the release: the old server stops intake and writes what it holds, milliseconds. */
const RELEASE_TIMEOUT_MS = 30_000;

export class HandoverRequest {
  private answered = false;

  private constructor(
    private readonly socket: Socket,
    readonly from: number,
    readonly released: Released,
  ) {
    // The old server gave up waiting and takes its log back: this one must not serve it too.
    socket.on('close', () => {
      if (this.answered) return;
      console.error(`handover: pid ${from} ended the handover before this server was serving; stopping`);
      process.exit(2);
    });
  }

  /** Asks `ownerPid` for DATA_DIR's log; DataDirError with the reason when it cannot or will not. */
  static async ask(dataDir: string, ownerPid: number, port: number): Promise<HandoverRequest> {
    const path = socketPath(dataDir, ownerPid);
    const socket = connect(path);
    const released = await new Promise<Released>((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(new DataDirError(`DATA_DIR ${dataDir} is in use by another server (pid ${ownerPid}), and ${why}`));
      };
      const timer = setTimeout(() => fail(`it did not release the log within ${RELEASE_TIMEOUT_MS} ms`), RELEASE_TIMEOUT_MS);
      socket.on('error', (err) => fail(`its handover socket ${path} cannot be reached (${err.message})`));
      socket.on('close', () => fail('it ended the handover without releasing the log'));
      socket.on('connect', () => send(socket, { type: 'handover', pid: process.pid, port }));
      readMessages<FromOwner>(socket, (m) => {
        if (m.type === 'refused') return fail(`it refused the handover: ${m.reason}`);
        clearTimeout(timer);
        socket.removeAllListeners('close');
        socket.removeAllListeners('error');
        socket.on('error', () => {}); // it may be gone by the time we answer: nothing left to tell it
        resolve({ epoch: m.epoch, lastSeq: m.lastSeq });
      });
    });
    return new HandoverRequest(socket, ownerPid, released);
  }

  /**
   * Owns the released log (its lock is free now), read already up to where it was being written:
   * takes the tail and checks it ends where the old server said; otherwise tells it to take the
   * log back and throws DataDirError.
   */
  own(log: EventLog): void {
    try {
      log.own(this.released);
    } catch (err) {
      this.failed((err as Error).message);
      if (err instanceof DataDirError) throw new DataDirError(`handover from pid ${this.from} failed: ${err.message}`);
      throw err;
    }
  }

  /** This process listens with the log: the old one stops listening and drains. */
  ready(): void {
    this.answer({ type: 'ready' });
  }

  /** This process cannot serve: the old one takes its log back. */
  private failed(reason: string): void {
    this.answer({ type: 'failed', reason });
  }

  private answer(message: ToOwner): void {
    this.answered = true;
    send(this.socket, message);
    this.socket.end();
  }
}
