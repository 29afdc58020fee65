// uWS reads UWS_HTTP_MAX_HEADERS_SIZE once, when its native module loads, and answers a larger
// request head with its own 431 HTML page. Its default (4 KiB) is too small for an 8 KiB token in a
// header, a cookie or the query, so this module raises it to 16 KiB unless the operator set it. It
// must run before anything imports uWebSockets.js: src/server.ts imports it first. (Worker shards
// share the module the main thread loaded, so the value holds for them too.) The value is checked
// with the other variables by loadConfig (src/config/access-control.ts).
export const UWS_HEADERS_SIZE_DEFAULT = 16_384;
/** an 8 KiB token plus the request line and ordinary headers */
export const MIN_HEADERS_SIZE = 12_288;

export function raiseUwsHeaderLimit(env: NodeJS.ProcessEnv = process.env): void {
  if ((env['UWS_HTTP_MAX_HEADERS_SIZE'] ?? '').trim() === '') env['UWS_HTTP_MAX_HEADERS_SIZE'] = String(UWS_HEADERS_SIZE_DEFAULT);
}

raiseUwsHeaderLimit();
