// A JWKS endpoint on loopback (node:http), as an identity provider serves one: the test sets its keys,
// makes it fail (HTTP status), hold its answers until it lets them go, or go away entirely (the port
// closed) and come back on the same port, and counts the requests it received.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface JwksServer {
  readonly url: string;
  readonly port: number;
  /** GET requests received since start */
  readonly requests: number;
  /** the HTTP status to answer with (200 = the keys) */
  status: number;
  setKeys(keys: readonly object[]): void;
  /** from now on, requests wait unanswered until the returned function is called */
  hold(): () => void;
  /** close the port: connections are refused */
  down(): Promise<void>;
  /** listen again on the same port */
  up(): Promise<void>;
  close(): Promise<void>;
}

/** Starts on `port` (0 = a free one); `listening: false` reserves the port and stays down. */
export async function startJwksServer(keys: readonly object[], opts: { port?: number; listening?: boolean } = {}): Promise<JwksServer> {
  let body = JSON.stringify({ keys });
  let requests = 0;
  let port = opts.port ?? 0;
  let server: Server | undefined;
  let held: Array<() => void> | undefined;
  const listen = async (): Promise<void> => {
    const s = createServer((req, res) => {
      requests++;
      const answer = (): void => {
        if (self.status !== 200) return void res.writeHead(self.status).end('unavailable');
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(body);
      };
      if (held === undefined) answer();
      else held.push(answer);
    });
    s.keepAliveTimeout = 1; // a closed server must not keep answering on kept-alive sockets
    await new Promise<void>((resolve, reject) => s.once('error', reject).listen(port, '127.0.0.1', resolve));
    port = (s.address() as AddressInfo).port;
    server = s;
  };
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  const self: JwksServer = {
    get url() {
      return `http://127.0.0.1:${port}/realms/test/protocol/openid-connect/certs`;
    },
    get port() {
      return port;
    },
    get requests() {
      return requests;
    },
    status: 200,
    setKeys(k) {
      body = JSON.stringify({ keys: k });
    },
    hold() {
      const waiting: Array<() => void> = (held = []);
      return () => {
        if (held === waiting) held = undefined;
        for (const answer of waiting) answer();
      };
    },
    down: stop,
    up: listen,
    close: stop,
  };
  await listen();
  if (opts.listening === false) await stop();
  return self;
}
