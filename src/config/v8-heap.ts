// The main thread's young generation stays at the size it starts with; a shard's is bounded where its
// worker starts (threads/shard-pool.ts). Left to grow (it doubles whenever more survives its
// collections than it holds), the main thread's reached 32 MiB while 14,300 streams connected to
// one of 7 servers, and kept it: 1.2 KiB per connection held (its presence tables grow with every
// topic, so much survives). What it allocates per publish or round dies young: the small nursery
// costs no measurable CPU (docs/benchmarks.md).
// A flag set at run time, so that no launch command needs one: V8 reads it whenever it would grow
// the space. A worker thread starting up resets V8's flags to the command line's, so the shard
// pool sets it again once each shard is up (test/unit/config/v8-heap.test.ts holds Node to both).
import { setFlagsFromString } from 'node:v8';

export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

keepYoungGenerationSmall();
