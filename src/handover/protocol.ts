// The handover conversation between two servers on one DATA_DIR, over a Unix socket in it named
// after the owner's pid (the lock file names the owner, so a newcomer knows where to ask; each
// process's socket file is its own, so the old one's close never unlinks the new one's).
//   new -> old  {"type":"handover","pid":N,"port":P}     P: the PORT it will listen on
//   old -> new  {"type":"released","epoch","lastSeq"}   the log is complete and closed, lock released
//            or {"type":"refused","reason"}
//   new -> old  {"type":"ready"}                         listening with the log: the old one drains
//            or {"type":"failed","reason"}               (or the connection ends): the old one serves on
// One JSON message per line.
import type { Socket } from 'node:net';
import { join } from 'node:path';

export interface Released {
  epoch: string;
  /** the last sequence number in the log: the new process continues at the next */
  lastSeq: number;
}

export type ToOwner = { type: 'handover'; pid: number; port: number } | { type: 'ready' } | { type: 'failed'; reason: string };
export type FromOwner = ({ type: 'released' } & Released) | { type: 'refused'; reason: string };

/** One step of a handover in this process's log, with the wall-clock time (ms) to line both sides up. */
export function step(what: string): void {
  console.log(`handover ${(performance.timeOrigin + performance.now()).toFixed(1)}: ${what}`);
}

export function socketPath(dataDir: string, ownerPid: number): string {
  return join(dataDir, `handover-${ownerPid}.sock`);
}

export const SOCKET_NAME = /^handover-\d+\.sock$/;

export function send(socket: Socket, message: ToOwner | FromOwner): void {
  socket.write(`${JSON.stringify(message)}\n`);
}

/** Calls `onMessage` with each line's JSON; a line that is not JSON ends the conversation. */
export function readMessages<T>(socket: Socket, onMessage: (m: T) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let message: T;
      try {
        message = JSON.parse(line) as T;
      } catch {
        socket.destroy();
        return;
      }
      onMessage(message);
    }
    if (buffered.length > 4096) socket.destroy(); // not this protocol
  });
}
