// A JWKS endpoint on loopback (node:http), as an identity provider serves one: the test sets its keys,
// makes it fail (HTTP status) or go away entirely (the port closed) and come back on the same port,
// and counts the requests it answered.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface JwksServer {
  readonly url: string;
  readonly port: number;
  /** GET requests answered since start */
  readonly requests: number;
  /** the HTTP status to answer with (200 = the keys) */
  status: number;
  setKeys(keys: readonly object[]): void;
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
  const listen = async (): Promise<void> => {
    const s = createServer((req, res) => {
      requests++;
      if (self.status !== 200) return void res.writeHead(self.status).end('unavailable');
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(body);
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
    down: stop,
    up: listen,
    close: stop,
  };
  await listen();
  if (opts.listening === false) await stop();
  return self;
}
