// Load for a server that is replaced while it runs (handover, rolling restart): subscribers that are
// real reconnecting clients (the `eventsource` package resends Last-Event-ID), and a publisher at a
// steady rate that sends each event with an Idempotency-Key and retries a 503 or a failed connection
// with the same key (a retry of one that was published answers its id and publishes nothing), on a
// new connection each time so that a retry reaches whichever server now listens.
import { request } from 'node:http';
import { EventSource } from 'eventsource';

export interface Subscriber {
  es: EventSource;
  /** ids and data in arrival order */
  ids: string[];
  data: string[];
  resets: number;
  opens: number;
}

export function subscribe(url: string, count: number): Subscriber[] {
  return Array.from({ length: count }, () => {
    const es = new EventSource(url);
    const s: Subscriber = { es, ids: [], data: [], resets: 0, opens: 0 };
    es.addEventListener('message', (e) => {
      s.ids.push(e.lastEventId);
      s.data.push(e.data as string);
    });
    es.addEventListener('reset', () => s.resets++);
    es.addEventListener('open', () => s.opens++);
    return s;
  });
}

export interface PublishOutcome {
  /** data -> id, for every publish answered 202 */
  answered: Map<string, string>;
  /** data of publishes whose outcome is unknown (every attempt's connection failed before an answer) */
  unknown: string[];
  /** attempts whose connection failed before an answer (retried with the same key) */
  connectionErrors: number;
  /** each 503: when its request was sent and answered (ms, performance.now()) */
  refused: { sentAt: number; at: number; retryAfter: string | undefined }[];
  /** each 202: when answered */
  acceptedAt: number[];
}

function post(port: number, path: string, body: string, key: string): Promise<{ status: number; body: string; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-length': Buffer.byteLength(body), 'idempotency-key': key };
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, retryAfter: res.headers['retry-after'] }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Publishes `topic` events with data "0", "1", ... (key `<topic>-<data>`) one every `everyMs` until
 * `stop()` resolves the run: a 503 or a failed connection is retried at once with the same key,
 * anything else ends that event's attempts.
 */
export function steadyPublisher(port: number, topic: string, everyMs: number): { stop(): Promise<PublishOutcome> } {
  const out: PublishOutcome = { answered: new Map(), unknown: [], connectionErrors: 0, refused: [], acceptedAt: [] };
  let running = true;
  const loop = (async () => {
    for (let n = 0; running; n++) {
      const data = String(n);
      for (let attempt = 0; ; attempt++) {
        if (attempt === 500) {
          out.unknown.push(data);
          break;
        }
        const sentAt = performance.now();
        let r;
        try {
          r = await post(port, `/publish?topic=${topic}`, data, `${topic}-${data}`);
        } catch {
          out.connectionErrors++;
          await new Promise((resolve) => setTimeout(resolve, 2));
          continue;
        }
        if (r.status === 503) {
          out.refused.push({ sentAt, at: performance.now(), retryAfter: r.retryAfter });
          await new Promise((resolve) => setTimeout(resolve, 2));
          continue;
        }
        if (r.status !== 202) throw new Error(`publish ${data}: ${r.status} ${r.body}`);
        out.answered.set(data, (JSON.parse(r.body) as { id: string }).id);
        out.acceptedAt.push(performance.now());
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return out;
    },
  };
}

/** From the first refused publish's request to the first 202 after the last refusal (ms), or 0. */
export function refusedWindowMs(out: PublishOutcome): number {
  if (out.refused.length === 0) return 0;
  const last = out.refused.at(-1)!.at;
  const nextAccepted = out.acceptedAt.find((t) => t > last) ?? last;
  return nextAccepted - out.refused[0]!.sentAt;
}

const seqOf = (id: string): number => Number(id.slice(id.lastIndexOf('-') + 1));

/** What one subscriber got wrong against the answered publishes: missing, duplicated, out of order, never answered. */
export function deliveryProblems(
  s: Subscriber,
  answered: Map<string, string>,
): { missing: number; wrongId: number; duplicates: number; outOfOrder: number; unexpected: number } {
  const got = new Map(s.data.map((data, i) => [data, s.ids[i]!]));
  let missing = 0;
  let wrongId = 0;
  for (const [data, id] of answered) {
    if (!got.has(data)) missing++;
    else if (got.get(data) !== id) wrongId++;
  }
  let outOfOrder = 0;
  for (let i = 1; i < s.ids.length; i++) if (seqOf(s.ids[i]!) <= seqOf(s.ids[i - 1]!)) outOfOrder++;
  const unexpected = s.data.filter((data) => !answered.has(data)).length;
  return { missing, wrongId, duplicates: s.data.length - got.size, outOfOrder, unexpected };
}
