// The one place uWS apps are made and listen: HTTP or HTTPS from the config, the acceptor that hands
// sockets to worker shards, and the listen socket.
import * as uWS from 'uWebSockets.js';
import type { Config } from '../config/config.js';
import { shed } from './responses.js';
import './uws-augment.js';

export function createApp(config: Config): uWS.TemplatedApp {
  return config.tlsCertFile !== undefined
    ? uWS.SSLApp({ cert_file_name: config.tlsCertFile, key_file_name: config.tlsKeyFile! })
    : uWS.App();
}

export interface Listening {
  readonly port: number;
  /** stops accepting; open connections stay */
  close(): void;
}

export function listen(app: uWS.TemplatedApp, host: string, port: number): Promise<Listening> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (socket) => {
      if (!socket) return reject(new Error(`cannot listen on ${host}:${port}`));
      resolve({ port: uWS.us_socket_local_port(socket), close: () => uWS.us_listen_socket_close(socket) });
    });
  });
}

/** The app that accepts connections and hands each to one of the worker shards' apps. */
export interface Acceptor {
  readonly app: uWS.TemplatedApp;
  addShard(descriptor: number): void;
  removeShard(descriptor: number): void;
}

/**
 * SHARDS >= 1: an app that only accepts and hands each socket to a worker shard's app, round-robin.
 * It answers a request itself only while it has no shard (all being replaced): shed, not 404.
 */
export function createAcceptor(config: Config): Acceptor {
  const app = createApp(config);
  app.any('/*', (res, req) => shed(res, req.getHeader('accept'), [], 'UNAVAILABLE', config.retryMs));
  return {
    app,
    addShard: (descriptor) => void app.addChildAppDescriptor(descriptor),
    removeShard: (descriptor) => void app.removeChildAppDescriptor(descriptor),
  };
}
