// The problems loadConfig reports for an environment, for the config unit tests.
import { expect } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

/** The problems loadConfig reports for `env`, or [] when it accepts it. */
export function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
}
