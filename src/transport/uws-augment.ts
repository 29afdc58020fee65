// uWebSockets.js has these at run time, but its typings (uws-pack 20.0.8) lack them.
import type { TemplatedApp } from 'uWebSockets.js';

declare module 'uWebSockets.js' {
  interface TemplatedApp {
    /** Opaque handle of an app, to hand to another thread's acceptor. */
    getDescriptor(): number;
    /** Accepted sockets are handed round-robin to the child apps. */
    addChildAppDescriptor(descriptor: number): TemplatedApp;
    removeChildAppDescriptor(descriptor: number): TemplatedApp;
  }
}

export type { TemplatedApp };
