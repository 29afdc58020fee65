// The `$presence` topic's rate bound: a topic's count is announced at most once per interval. The
// first change after a quiet interval goes out at once; changes within the interval wait for its end
// and only the newest count goes out (none if it is back to what was last announced). So a
// reconnect storm on one topic yields about one event per interval, whatever its size.
export class PresenceNotifier {
  private readonly state = new Map<string, { sent: number | undefined; pending: number | undefined; timer: NodeJS.Timeout }>();

  constructor(
    private readonly intervalMs: number,
    private readonly emit: (topic: string, subscribers: number) => void,
  ) {}

  /** The topic's count is now `subscribers`. */
  update(topic: string, subscribers: number): void {
    const st = this.state.get(topic);
    if (st !== undefined) {
      st.pending = subscribers;
      return;
    }
    this.send(topic, subscribers, undefined);
  }

  /** Topics waiting for their interval to end (for tests and shutdown). */
  get waiting(): number {
    return this.state.size;
  }

  stop(): void {
    for (const st of this.state.values()) clearTimeout(st.timer);
    this.state.clear();
  }

  private send(topic: string, subscribers: number, sent: number | undefined): void {
    if (subscribers !== sent) this.emit(topic, subscribers);
    const timer = setTimeout(() => {
      const st = this.state.get(topic)!;
      this.state.delete(topic);
      // Nothing new in the interval: forget the topic (the next change goes out at once).
      if (st.pending !== undefined && st.pending !== st.sent) this.send(topic, st.pending, st.sent);
    }, this.intervalMs);
    timer.unref();
    this.state.set(topic, { sent: subscribers, pending: undefined, timer });
  }
}
