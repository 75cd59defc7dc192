/** From the environment contract to pool settings: credentials, TLS, limits, options. No database needed. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../../app/src/config';
import { createDatabaseManager } from '../../../app/src/db/database-manager';
import { parseEndpoint, poolConfigFor, sessionOptions, sslOptions } from '../../../app/src/db/pg-pools';
import { recordingLogger, testEnvironment } from './database-manager-fixtures';

const settings = { applicationName: 'api-test-location' };
const endpoint = { host: 'replica-1.db.internal', port: 5432 };

describe('pool configuration', () => {
  test('takes limits, timeouts and identity from the contract', () => {
    const config = parseConfig(
      testEnvironment({
        DATABASE_POOL_MAX: '7',
        DATABASE_POOL_IDLE_TIMEOUT_MS: '1234',
        DATABASE_POOL_ACQUIRE_TIMEOUT_MS: '567',
        DATABASE_STATEMENT_TIMEOUT_MS: '890',
      }),
    );
    expect(poolConfigFor(config, endpoint, settings)).toMatchObject({
      host: 'replica-1.db.internal',
      port: 5432,
      database: 'restaurant',
      user: 'app',
      password: 'not-a-real-password',
      ssl: false,
      application_name: 'api-test-location',
      max: 7,
      idleTimeoutMillis: 1234,
      connectionTimeoutMillis: 567,
      statement_timeout: 890,
    });
  });

  test('session settings become the startup options; none leaves them unset; a bad name or value is refused by name', () => {
    const config = parseConfig(testEnvironment());
    expect(poolConfigFor(config, endpoint, { ...settings, sessionSettings: { 'restaurant.outbox_wakeup': 'local', 'app.x': 'a-1.b_2' } }).options).toBe(
      '-c restaurant.outbox_wakeup=local -c app.x=a-1.b_2',
    );
    expect(poolConfigFor(config, endpoint, settings).options).toBeUndefined();
    expect(sessionOptions({})).toBeUndefined();
    expect(() => sessionOptions({ work_mem: '64MB' })).toThrow('session setting "work_mem" must be a custom setting named prefix.name (lowercase)');
    expect(() => sessionOptions({ 'app.x': 'two words' })).toThrow('session setting app.x must be letters, digits, _ . or -, got "two words"');
  });

  test('DATABASE_AUTH=iam asks the provider for a token per connection, for that endpoint', async () => {
    const asked: unknown[] = [];
    const config = parseConfig(testEnvironment({ DATABASE_AUTH: 'iam', DATABASE_PASSWORD: '', AWS_REGION: 'ap-southeast-1' }));
    const pool = poolConfigFor(config, endpoint, {
      ...settings,
      iamTokenProvider: async (e) => {
        asked.push(e);
        return `token-${asked.length}`;
      },
    });
    expect(typeof pool.password).toBe('function');
    const password = pool.password as () => Promise<string>;
    expect(await password()).toBe('token-1');
    expect(await password()).toBe('token-2');
    expect(asked).toEqual([
      { host: 'replica-1.db.internal', port: 5432, user: 'app' },
      { host: 'replica-1.db.internal', port: 5432, user: 'app' },
    ]);
  });

  test('fails when DATABASE_AUTH=iam and no token provider is injected', () => {
    const config = parseConfig(testEnvironment({ DATABASE_AUTH: 'iam', DATABASE_PASSWORD: '', AWS_REGION: 'ap-southeast-1' }));
    expect(() => createDatabaseManager(config, { logger: recordingLogger() })).toThrow(
      new Error(
        'DATABASE_AUTH=iam needs an iamTokenProvider option in createDatabaseManager (process entries pass iamTokenProviders(config).database, see app/src/aws/iam-auth.ts)',
      ),
    );
  });

  describe('TLS', () => {
    let caDir: string;
    beforeAll(() => {
      caDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rds-ca-'));
      fs.writeFileSync(path.join(caDir, 'bundle.pem'), '-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n');
    });
    afterAll(() => fs.rmSync(caDir, { recursive: true, force: true }));

    test.each([
      ['verify-full', false, { rejectUnauthorized: true }],
      ['verify-full', true, { rejectUnauthorized: true, ca: '-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n' }],
      ['require', false, { rejectUnauthorized: false }],
      ['disable', false, false],
    ] as const)('DATABASE_SSL=%s (CA bundle given: %s)', (mode, withBundle, expected) => {
      const config = parseConfig(testEnvironment({ DATABASE_SSL: mode }));
      const pool = poolConfigFor(config, endpoint, { ...settings, caBundlePath: withBundle ? path.join(caDir, 'bundle.pem') : undefined });
      expect(pool.ssl).toEqual(expected);
    });

    test('the contract defaults to verify-full', () => {
      const env = testEnvironment();
      delete env.DATABASE_SSL;
      expect(poolConfigFor(parseConfig(env), endpoint, settings).ssl).toEqual({ rejectUnauthorized: true });
    });

    test('fails when the CA bundle cannot be read', () => {
      expect(() => sslOptions('verify-full', '/nonexistent/rds-bundle.pem')).toThrow(
        /^caBundlePath "\/nonexistent\/rds-bundle.pem" cannot be read \(DATABASE_SSL=verify-full\): ENOENT/,
      );
    });
  });

  test.each([
    ['db.internal', { host: 'db.internal', port: 5432 }],
    ['127.0.0.1:6543', { host: '127.0.0.1', port: 6543 }],
    ['[::1]:6543', { host: '::1', port: 6543 }],
    ['[::1]', { host: '::1', port: 5432 }],
  ])('endpoint %s', (text, expected) => {
    expect(parseEndpoint(text, 5432)).toEqual(expected);
  });

  test.each(['db:0', 'db:70000', 'db:', 'a:b:c', '::1'])('fails when the endpoint is %j', (text) => {
    expect(() => parseEndpoint(text, 5432)).toThrow(`database host must be "host" or "host:port" (port 1..65535), got ${JSON.stringify(text)}`);
  });
});

describe('manager options', () => {
  const config = parseConfig(testEnvironment());

  test('fails when the read-your-writes TTL could expire before a replica must have caught up', () => {
    expect(() => createDatabaseManager(config, { maxReplicaLagMs: 1000, healthCheckIntervalMs: 1000, readYourWritesTtlMs: 2000 })).toThrow(
      'readYourWritesTtlMs must exceed maxReplicaLagMs + healthCheckIntervalMs (2000), got 2000',
    );
  });

  test.each([
    ['healthCheckIntervalMs', 0],
    ['healthCheckTimeoutMs', -5],
    ['slowQueryMs', Number.NaN],
  ])('fails when %s is %p', (name, value) => {
    expect(() => createDatabaseManager(config, { [name]: value })).toThrow(`${name} must be a positive number, got ${value}`);
  });

  test('the defaults are valid and close() is idempotent without ever connecting', async () => {
    const manager = createDatabaseManager(parseConfig(testEnvironment({ DATABASE_REPLICA_HOSTS: 'replica-1.db.internal' })), { logger: recordingLogger() });
    expect(manager.poolStats()).toEqual([
      { role: 'primary', host: 'primary.db.internal:5432', total: 0, idle: 0, waiting: 0, errors: 0 },
      { role: 'replica', host: 'replica-1.db.internal:5432', total: 0, idle: 0, waiting: 0, errors: 0 },
    ]);
    expect(manager.replicaStatus()).toEqual([{ host: 'replica-1.db.internal:5432', healthy: false, reason: 'not checked yet' }]);
    await Promise.all([manager.close(), manager.close()]);
    await manager.close();
    await expect(manager.read('SELECT 1')).rejects.toThrow('the database manager is closed');
  });
});
