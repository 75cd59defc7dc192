import { DEFAULT_WS_HEARTBEAT_INTERVAL_MS } from '../../contract/constants';
import { configSchema, ENVIRONMENT_VARIABLES, type ServiceRole } from '../../contract/environment';
import { Testing, TerraformStack, TerraformVariable, Token } from '../../stacks/infra/cdktf';
import { containerEnvironment, IDENTITY_SERVICE } from '../../stacks/infra/constructs/container-environment';
import type { LocationDataOutputs } from '../../stacks/infra/stack-contracts';
import { replaceTokens } from '../support/stacks/app-fixtures';
import { dataFixture } from '../support/stacks/stack-outputs';
import { sampleLocation, sampleLocations } from '../support/stacks/sample-locations';

const locations = sampleLocations();
const strictContract = configSchema.strict();

const COMMON = [
  'NODE_ENV', 'SERVICE_ROLE', 'LOCATION_ID', 'AWS_REGION',
  'DATABASE_PRIMARY_HOST', 'DATABASE_PORT', 'DATABASE_NAME', 'DATABASE_USER', 'DATABASE_AUTH', 'DATABASE_SSL',
  'REDIS_HOST', 'REDIS_PORT', 'REDIS_TLS', 'REDIS_AUTH', 'REDIS_USER', 'REDIS_IAM_CACHE_NAME',
  'JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_JWKS_URL',
];
const LONG_RUNNING = ['PORT', 'INTERNAL_PORT', 'SHUTDOWN_GRACE_MS', 'DATABASE_REPLICA_HOSTS'];
const EXPECTED_KEYS: Record<ServiceRole, string[]> = {
  api: [...COMMON, ...LONG_RUNNING, 'ASSET_BUCKET', 'CDN_BASE_URL', 'CDN_DISTRIBUTION_ID', 'IMAGE_STORAGE', 'PUBLIC_BASE_URL', 'CORS_ALLOWED_ORIGINS'],
  ws: [...COMMON, ...LONG_RUNNING, 'WS_HEARTBEAT_INTERVAL_MS'],
  migrate: COMMON,
  maintenance: COMMON,
  'db-bootstrap': [...COMMON, 'DATABASE_MASTER_SECRET_ARN'],
};
const ROLES: ServiceRole[] = ['api', 'ws', 'migrate', 'maintenance', 'db-bootstrap'];

function build(role: ServiceRole, locationId: string, data?: LocationDataOutputs) {
  const location = sampleLocation(locationId);
  return containerEnvironment({ role, location, data: data ?? dataFixture(location), shutdownGraceMs: 25000 });
}

describe('containerEnvironment: the app contract accepts it', () => {
  const cases = locations.flatMap((l) => ROLES.map((role) => [l.id, role] as const));

  test.each(cases)('%s %s: strict contract parse succeeds', (locationId, role) => {
    const result = strictContract.safeParse(build(role, locationId));
    expect(result.error?.issues ?? []).toEqual([]);
    expect(result.success).toBe(true);
  });

  test.each(cases)('%s %s: exactly the variables the role needs', (locationId, role) => {
    const env = build(role, locationId);
    expect(Object.keys(env).sort()).toEqual([...EXPECTED_KEYS[role]].sort());
    for (const name of Object.keys(env)) expect(ENVIRONMENT_VARIABLES).toContain(name);
  });

  test.each(locations.map((l) => [l.id]))('%s: production values (IAM auth, TLS, replicas from sizing)', (locationId) => {
    const location = sampleLocation(locationId);
    const parsed = configSchema.parse(build('api', locationId));
    expect(parsed).toMatchObject({
      NODE_ENV: 'production',
      SERVICE_ROLE: 'api',
      LOCATION_ID: location.id,
      AWS_REGION: location.region,
      PORT: 8080,
      INTERNAL_PORT: 9090,
      DATABASE_AUTH: 'iam',
      DATABASE_SSL: 'verify-full',
      REDIS_TLS: true,
      REDIS_AUTH: 'iam',
      CDN_BASE_URL: `https://${location.domains.cdn}`,
      // Image URLs are built from it, never from a request's Host header.
      PUBLIC_BASE_URL: `https://${location.domains.api}`,
      IMAGE_STORAGE: 's3',
      // The web client is served from the CDN: its pages, and only they, may call the api.
      CORS_ALLOWED_ORIGINS: [`https://${location.domains.cdn}`],
    });
    expect(parsed.DATABASE_REPLICA_HOSTS).toHaveLength(location.sizing.database.readReplicas);
  });
});

describe('containerEnvironment: defaults', () => {
  test('JWT settings default to the company identity service', () => {
    const env = build('api', 'sukhumvit-cafe');
    expect(env).toMatchObject({
      JWT_ISSUER: IDENTITY_SERVICE.issuer,
      JWT_AUDIENCE: IDENTITY_SERVICE.audience,
      JWT_JWKS_URL: 'https://identity.banrimkwae.com/.well-known/jwks.json',
    });
  });

  test('the ws heartbeat defaults to the app default nginx also uses', () => {
    expect(build('ws', 'sukhumvit-cafe').WS_HEARTBEAT_INTERVAL_MS).toBe(String(DEFAULT_WS_HEARTBEAT_INTERVAL_MS));
  });

  test('only the bootstrap is told where the master secret is', () => {
    const location = sampleLocation('london-shoreditch');
    expect(build('db-bootstrap', location.id).DATABASE_MASTER_SECRET_ARN).toBe(dataFixture(location).database.masterSecretArn);
    expect(configSchema.parse(build('db-bootstrap', location.id))).toMatchObject({ SERVICE_ROLE: 'db-bootstrap', DATABASE_USER: 'restaurant_app', AWS_REGION: location.region });
    for (const role of ROLES.filter((r) => r !== 'db-bootstrap')) expect(build(role, location.id)).not.toHaveProperty('DATABASE_MASTER_SECRET_ARN');
  });

  test('a location without replicas gets an empty replica list (reads go to the primary)', () => {
    expect(build('api', 'sukhumvit-cafe').DATABASE_REPLICA_HOSTS).toBe('');
    expect(configSchema.parse(build('api', 'sukhumvit-cafe')).DATABASE_REPLICA_HOSTS).toEqual([]);
  });

  test('an identity provider can be passed', () => {
    const location = sampleLocation('london-shoreditch');
    const identity = { issuer: 'https://id.example.test', audience: 'test', jwksUrl: 'https://id.example.test/jwks.json' };
    const env = containerEnvironment({ role: 'migrate', location, data: dataFixture(location), identity });
    expect(env.JWT_ISSUER).toBe('https://id.example.test');
  });
});

describe('containerEnvironment: values from other stacks (tokens)', () => {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'tokens');
  const str = (id: string) => new TerraformVariable(stack, id, { type: 'string' }).stringValue;
  const location = sampleLocation('kanchanaburi-resort');
  const fixture = dataFixture(location);
  const data: LocationDataOutputs = {
    ...fixture,
    database: {
      ...fixture.database,
      primaryHost: str('db_primary'),
      replicaHosts: new TerraformVariable(stack, 'db_replicas', { type: 'list(string)' }).listValue,
      port: new TerraformVariable(stack, 'db_port', { type: 'number' }).numberValue,
    },
    redis: { ...fixture.redis, primaryHost: str('redis_primary') },
    assets: { ...fixture.assets, cdnDomainName: str('cdn_domain') },
  };

  test('tokens pass through, and the replica list is joined in Terraform', () => {
    const env = containerEnvironment({ role: 'api', location, data, shutdownGraceMs: 25000 });
    expect(Token.isUnresolved(env.DATABASE_PRIMARY_HOST)).toBe(true);
    expect(Token.isUnresolved(env.DATABASE_PORT)).toBe(true);
    expect(Token.isUnresolved(env.DATABASE_REPLICA_HOSTS)).toBe(true);
    expect(env.CDN_BASE_URL).toMatch(/^https:\/\/\$\{TfToken\[/);
  });

  test('with tokens replaced by plausible literals, the strict contract accepts it', () => {
    for (const role of ROLES) {
      const env = containerEnvironment({ role, location, data, shutdownGraceMs: 25000 });
      const literal = Object.fromEntries(
        Object.entries(env).map(([k, v]) => [k, replaceTokens(v, k.endsWith('_PORT') ? '5432' : 'resolved.fixture.internal')]),
      );
      expect(strictContract.safeParse(literal).success).toBe(true);
    }
  });
});

describe('containerEnvironment: the contract check can fail', () => {
  test('an unknown variable is refused by the strict contract', () => {
    const env = { ...build('api', 'sukhumvit-cafe'), DATABASE_HOST: 'db' };
    expect(strictContract.safeParse(env).success).toBe(false);
  });

  test('a missing required variable is refused', () => {
    const { JWT_ISSUER: _dropped, ...env } = build('ws', 'sukhumvit-cafe');
    expect(strictContract.safeParse(env).success).toBe(false);
  });

  test('the master secret in another role is refused, and the bootstrap without it', () => {
    const leaked = { ...build('api', 'sukhumvit-cafe'), DATABASE_MASTER_SECRET_ARN: build('db-bootstrap', 'sukhumvit-cafe').DATABASE_MASTER_SECRET_ARN };
    expect(strictContract.safeParse(leaked).error?.issues.map((i) => `${i.path.join('.')} ${i.message}`)).toEqual([
      'DATABASE_MASTER_SECRET_ARN is only for SERVICE_ROLE=db-bootstrap',
    ]);
    const { DATABASE_MASTER_SECRET_ARN: _dropped, ...missing } = build('db-bootstrap', 'sukhumvit-cafe');
    expect(strictContract.safeParse(missing).error?.issues.map((i) => `${i.path.join('.')} ${i.message}`)).toEqual([
      'DATABASE_MASTER_SECRET_ARN is required when SERVICE_ROLE=db-bootstrap',
    ]);
    const notAnArn = { ...build('db-bootstrap', 'sukhumvit-cafe'), DATABASE_MASTER_SECRET_ARN: 'sukhumvit-cafe/rds/master' };
    expect(strictContract.safeParse(notAnArn).error?.issues.map((i) => `${i.path.join('.')} ${i.message}`)).toEqual([
      'DATABASE_MASTER_SECRET_ARN must be a Secrets Manager secret ARN',
    ]);
  });
});

describe('containerEnvironment: errors', () => {
  const location = sampleLocation('sukhumvit-cafe');
  const data = dataFixture(location);

  test('fails when a long-running role has no shutdownGraceMs', () => {
    expect(() => containerEnvironment({ role: 'ws', location, data })).toThrow(
      'shutdownGraceMs is required for role "ws", got undefined (location "sukhumvit-cafe")',
    );
  });

  test('fails when shutdownGraceMs is not a positive integer', () => {
    expect(() => containerEnvironment({ role: 'api', location, data, shutdownGraceMs: 0 })).toThrow(
      'shutdownGraceMs must be a positive integer, got 0 (location "sukhumvit-cafe")',
    );
  });

  test('fails when the role is not one of the contract', () => {
    expect(() => containerEnvironment({ role: 'worker' as ServiceRole, location, data })).toThrow(
      'role must be one of api, ws, migrate, maintenance, db-bootstrap, got "worker" (location "sukhumvit-cafe")',
    );
  });

  test('fails when the heartbeat is not a positive integer', () => {
    expect(() => containerEnvironment({ role: 'migrate', location, data, websocketHeartbeatIntervalMs: 1.5 })).toThrow(
      'websocketHeartbeatIntervalMs must be a positive integer, got 1.5 (location "sukhumvit-cafe")',
    );
  });
});
