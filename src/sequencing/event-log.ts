// Where an accepted event gets its place in the one global order. Two implementations: the local
// sequencer (one server) and the Redis event log (cluster mode); the composition root picks one.
import type { PublishItem } from '../intake/publish-request.js';

export interface EventLog {
  /** Resolves with the events' ids once they are sequenced (not once they are delivered). */
  publish(items: readonly PublishItem[]): Promise<string[]>;
}
