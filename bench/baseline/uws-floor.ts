// The floor of the publish figures: a bare uWebSockets.js app that reads a POST body and answers 202
// with an id, and does nothing else (no parsing, no sequencing, no threads). What it costs per request
// is what any server built on this uWS build pays on this machine before doing any work of its own.
// Prints `listening on http://HOST:PORT` like the other variants.
import { App, us_socket_local_port } from 'uWebSockets.js';

const HOST = process.env['HOST'] ?? '127.0.0.1';
const PORT = Number(process.env['PORT'] ?? 0);
let seq = 0;

App()
  .post('/*', (res) => {
    res.onAborted(() => {});
    res.onData((_chunk, last) => {
      if (last) res.cork(() => res.writeStatus('202 Accepted').writeHeader('content-type', 'application/json').end(`{"id":"000000000000-${++seq}"}`));
    });
  })
  .listen(HOST, PORT, (socket) => {
    if (!socket) throw new Error(`cannot listen on ${HOST}:${PORT}`);
    console.log(`listening on http://${HOST}:${us_socket_local_port(socket)}`);
  });
