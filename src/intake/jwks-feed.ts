// The JWKS as the verifiers see it. The main thread fetches it once for the process (jwks-cache.ts)
// and hands every change to the shards (a 'jwks' message, and ShardInit for a new shard); a shard
// keeps its copy in a JwksMirror. With SHARDS=0 the verifier reads the cache itself. Both are a
// JwksFeed. Only plain JSON crosses threads: each thread builds its own key objects from it.
import type { JsonWebKey } from 'node:crypto';

/** A JWK as kept and handed around: the public members and how to pick it. */
export type PublicJwk = Pick<JsonWebKey, 'kty' | 'n' | 'e' | 'crv' | 'x' | 'y'> & { kid?: string; alg?: string };

export interface JwksState {
  /** the usable keys of the last good fetch; undefined until the JWKS has been reached once */
  readonly keys: readonly PublicJwk[] | undefined;
  /** while never reached: why (for /healthz and the log) */
  readonly problem: string | undefined;
  /** grows on every change, so a verifier rebuilds its key objects only then */
  readonly version: number;
}

export const JWKS_NOT_FETCHED: JwksState = { keys: undefined, problem: 'JWKS not fetched yet', version: 0 };

export interface JwksFeed {
  state(): JwksState;
  /**
   * A token names a kid the set does not have: fetch again now, unless a kid-triggered fetch ran in
   * the last 10 s. Resolves once the state is as fresh as it will get; never rejects.
   */
  refetch(): Promise<void>;
}

/** A shard's copy, updated by the main thread's messages; `ask` sends the refetch request there. */
export class JwksMirror implements JwksFeed {
  constructor(
    private current: JwksState,
    private readonly ask: () => Promise<void>,
  ) {}

  update(state: JwksState): void {
    if (state.version >= this.current.version) this.current = state;
  }

  state(): JwksState {
    return this.current;
  }

  refetch(): Promise<void> {
    return this.ask().catch(() => undefined);
  }
}
