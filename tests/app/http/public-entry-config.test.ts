/** The environment contract's public-entry settings: internal port, public origin, per-address limit. */
import { parseConfig } from '../../../app/src/config';
import { testEnvironment } from '../db/database-manager-fixtures';

describe('public entry settings', () => {
  test('defaults: probes and metrics on 9090, 4,000 requests per address per 10 s, no public origin', () => {
    const config = parseConfig(testEnvironment());
    expect(config).toMatchObject({ PORT: 8080, INTERNAL_PORT: 9090, CLIENT_RATE_LIMIT_REQUESTS: 4000, CLIENT_RATE_LIMIT_WINDOW_SECONDS: 10 });
    expect(config.PUBLIC_BASE_URL).toBeUndefined();
  });

  test.each<[string, Record<string, string>, string]>([
    ['INTERNAL_PORT is the public port', { PORT: '8080', INTERNAL_PORT: '8080' }, 'INTERNAL_PORT must differ from PORT (8080): the public port must not serve probes and metrics'],
    ['PUBLIC_BASE_URL is not http(s)', { PUBLIC_BASE_URL: 'ftp://api.example.com' }, 'PUBLIC_BASE_URL'],
    ['the per-address limit is 0', { CLIENT_RATE_LIMIT_REQUESTS: '0' }, 'CLIENT_RATE_LIMIT_REQUESTS'],
  ])('fails when %s', (_case, overrides, message) => {
    expect(() => parseConfig(testEnvironment(overrides))).toThrow(message);
  });

  test('takes an https public origin', () => {
    expect(parseConfig(testEnvironment({ PUBLIC_BASE_URL: 'https://api.sukhumvit-cafe.banrimkwae.com' })).PUBLIC_BASE_URL).toBe('https://api.sukhumvit-cafe.banrimkwae.com');
  });
});
