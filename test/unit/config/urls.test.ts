// Settings that are URLs (src/config/urls.ts): CORS_ORIGIN kept in the form browsers send in
// `Origin` (or refused when no browser could send it), JWKS_URL without credentials, and no URL's
// password in any message.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { normalisedOrigin, redactCredentials } from '../../../src/config/urls.js';
import { problemsOf } from '../../helpers/config-problems.js';

const corsProblem = (origin: string): string => `\`CORS_ORIGIN\` must list origins like https://app.example.com (no paths, no *), got \`${origin}\``;

describe('CORS_ORIGIN is kept as browsers send Origin', () => {
  it.each([
    ['https://B.Example.COM', 'https://b.example.com'],
    ['HTTPS://a.example.com', 'https://a.example.com'],
    ['https://b.example.com:443', 'https://b.example.com'],
    ['http://b.example.com:80', 'http://b.example.com'],
    ['https://a.example.com/', 'https://a.example.com'],
    ['http://[::1]:80', 'http://[::1]'],
    ['https://bücher.example', 'https://xn--bcher-kva.example'],
    ['http://localhost:3000', 'http://localhost:3000'],
  ])('%s is matched as %s', (given, origin) => {
    expect(loadConfig({ CORS_ORIGIN: given }).corsOrigins).toEqual([origin]);
  });

  it('lists an origin once however it was written', () => {
    expect(loadConfig({ CORS_ORIGIN: 'https://a.example.com, https://A.example.com:443/' }).corsOrigins).toEqual(['https://a.example.com']);
  });

  it.each(['https://*.example.com', 'https://a.com/x', 'https://a.com//', 'https://a.com?x=1', 'https://a.com#top', 'https://user@a.com', 'null', 'https://a.com:99999'])(
    '%s could never match an Origin: refused, naming the variable',
    (origin) => {
      expect(problemsOf({ CORS_ORIGIN: `https://ok.example.com,${origin}` })).toEqual([corsProblem(redactCredentials(origin))]);
      expect(normalisedOrigin(origin)).toBeUndefined();
    },
  );
});

describe('credentials in URLs', () => {
  it('redactCredentials masks the password (or a bare token) of every URL in a text', () => {
    expect(redactCredentials('at redis://user:s3cret@h:6379/0 and rediss://:pw@h2')).toBe('at redis://user:***@h:6379/0 and rediss://:***@h2');
    expect(redactCredentials('https://tok3n@idp.example.com/certs')).toBe('https://***@idp.example.com/certs');
    expect(redactCredentials('https://u:p@ss@idp.example.com/x')).toBe('https://u:***@idp.example.com/x');
    expect(redactCredentials('redis://127.0.0.1:6379 user@example.com')).toBe('redis://127.0.0.1:6379 user@example.com');
  });

  it('JWKS_URL with credentials is refused at start (fetch refuses such URLs), without echoing them', () => {
    for (const url of ['https://user:hunter2-pw@idp.example.com/certs', 'https://hunter2-pw@idp.example.com/certs']) {
      const problems = problemsOf({ JWKS_URL: url });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^`JWKS_URL` must not carry credentials/);
      expect(problems[0]).not.toContain('hunter2-pw');
    }
  });

  it('a refused JWKS_URL or REDIS_URL is shown without its password', () => {
    const problems = problemsOf({ JWKS_URL: 'ftp://u:hunter2-pw@idp.example.com/', REDIS_URL: 'http://u:hunter2-pw@h:1' });
    expect(problems).toEqual([
      '`REDIS_URL` must look like redis://host:port, got `http://u:***@h:1`',
      '`JWKS_URL` must be an http(s) URL like https://idp.example.com/.well-known/jwks.json, got `ftp://u:***@idp.example.com/`',
    ]);
  });

  it('REDIS_URL may carry credentials; one the Redis client cannot decode is refused, not a crash at start', () => {
    expect(loadConfig({ REDIS_URL: 'redis://user:s3cret@127.0.0.1:6379' }).redisUrl).toBe('redis://user:s3cret@127.0.0.1:6379');
    expect(problemsOf({ REDIS_URL: 'redis://user:s3cret%zz@127.0.0.1:6379' })).toEqual(['`REDIS_URL` must look like redis://host:port, got `redis://user:***@127.0.0.1:6379`']);
  });
});
