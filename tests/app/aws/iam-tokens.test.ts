/**
 * IAM database tokens: signed offline with static credentials and checked two ways that do not
 * trust our code: an independent SigV4 verification written from the AWS specification below,
 * and (for RDS) byte equality with the official @aws-sdk/rds-signer for the same inputs.
 */
import { createHash, createHmac } from 'node:crypto';
import { Signer } from '@aws-sdk/rds-signer';
import { iamTokenProviders } from '../../../app/src/aws/iam-auth';
import { createElastiCacheIamTokenProvider } from '../../../app/src/aws/elasticache-iam-token';
import { createRdsIamTokenProvider, RDS_TOKEN_REUSE_MS } from '../../../app/src/aws/rds-iam-token';
import { parseConfig } from '../../../app/src/config';

// AWS's documented example key pair: not a secret.
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SIGNED_AT = Date.UTC(2026, 10, 28, 12, 30, 45);

/** SigV4 presigned-URL verification, from https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html */
function verifyPresigned(token: string, service: string, region: string, secret: string): { params: URLSearchParams; valid: boolean } {
  const url = new URL(`http://${token}`);
  const params = url.searchParams;
  const signature = params.get('X-Amz-Signature') ?? '';
  const amzDate = params.get('X-Amz-Date') ?? '';
  const scope = (params.get('X-Amz-Credential') ?? '').split('/').slice(1).join('/');
  const rfc3986 = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const canonicalQuery = [...params.entries()]
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [rfc3986(name), rfc3986(value)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const host = url.host;
  const emptyPayload = createHash('sha256').update('').digest('hex');
  const canonicalRequest = ['GET', '/', canonicalQuery, `host:${host}`, '', 'host', emptyPayload].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const [date] = scope.split('/');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  const expected = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  return { params, valid: expected === signature };
}

describe('RDS IAM token', () => {
  const endpoint = { host: 'sukhumvit-cafe-db.abc123.ap-southeast-1.rds.amazonaws.com', port: 5432, user: 'app' };

  test('is a SigV4 presigned connect request for rds-db, valid 15 minutes', async () => {
    const provider = createRdsIamTokenProvider({ region: 'ap-southeast-1', credentials: CREDENTIALS, now: () => SIGNED_AT });
    const token = await provider(endpoint);
    expect(token.startsWith(`${endpoint.host}:5432/?`)).toBe(true);
    const { params, valid } = verifyPresigned(token, 'rds-db', 'ap-southeast-1', CREDENTIALS.secretAccessKey);
    expect(valid).toBe(true);
    expect(params.get('Action')).toBe('connect');
    expect(params.get('DBUser')).toBe('app');
    expect(params.get('X-Amz-Expires')).toBe('900');
    expect(params.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20261128/ap-southeast-1/rds-db/aws4_request');
    expect(params.get('X-Amz-Date')).toBe('20261128T123045Z');
    // A wrong secret must not verify: the check above can fail.
    expect(verifyPresigned(token, 'rds-db', 'ap-southeast-1', 'another-secret').valid).toBe(false);
  });

  test('equals the official @aws-sdk/rds-signer token for the same inputs', async () => {
    jest.useFakeTimers({ now: SIGNED_AT, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const official = await new Signer({ region: 'ap-southeast-1', hostname: endpoint.host, port: endpoint.port, username: endpoint.user, credentials: CREDENTIALS }).getAuthToken();
      const ours = await createRdsIamTokenProvider({ region: 'ap-southeast-1', credentials: CREDENTIALS, now: () => SIGNED_AT })(endpoint);
      expect(ours).toBe(official);
    } finally {
      jest.useRealTimers();
    }
  });

  test('is reused for a while per endpoint and user, then re-signed', async () => {
    let now = SIGNED_AT;
    let calls = 0;
    const credentials = async () => {
      calls += 1;
      return CREDENTIALS;
    };
    const provider = createRdsIamTokenProvider({ region: 'ap-southeast-1', credentials, now: () => now });
    const first = await provider(endpoint);
    expect(await provider(endpoint)).toBe(first);
    expect(await provider({ ...endpoint, host: 'replica-1.example' })).not.toBe(first);
    now += RDS_TOKEN_REUSE_MS;
    const later = await provider(endpoint);
    expect(later).not.toBe(first);
    expect(calls).toBe(3);
  });

  test('a failed signing is not cached: the next connection tries again', async () => {
    let fail = true;
    const credentials = async () => {
      if (fail) throw new Error('no web identity token yet');
      return CREDENTIALS;
    };
    const provider = createRdsIamTokenProvider({ region: 'ap-southeast-1', credentials, now: () => SIGNED_AT });
    await expect(provider(endpoint)).rejects.toThrow('no web identity token yet');
    fail = false;
    await expect(provider(endpoint)).resolves.toContain('X-Amz-Signature=');
  });
});

describe('ElastiCache IAM token', () => {
  test('is a SigV4 presigned connect request for the replication group, signed for elasticache', async () => {
    const provider = createElastiCacheIamTokenProvider({ region: 'eu-west-2', cacheName: 'london-shoreditch-redis', credentials: CREDENTIALS, now: () => SIGNED_AT });
    const token = await provider({ host: 'master.london-shoreditch-redis.abc.euw2.cache.amazonaws.com', port: 6379, user: 'london-shoreditch-app' });
    // The signed host is the cache name, not the endpoint the client connects to.
    expect(token.startsWith('london-shoreditch-redis/?')).toBe(true);
    const { params, valid } = verifyPresigned(token, 'elasticache', 'eu-west-2', CREDENTIALS.secretAccessKey);
    expect(valid).toBe(true);
    expect(params.get('Action')).toBe('connect');
    expect(params.get('User')).toBe('london-shoreditch-app');
    expect(params.get('X-Amz-Expires')).toBe('900');
    expect(params.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20261128/eu-west-2/elasticache/aws4_request');
  });
});

describe('providers from the environment contract', () => {
  const base = {
    SERVICE_ROLE: 'api',
    LOCATION_ID: 'sukhumvit-cafe',
    DATABASE_PRIMARY_HOST: 'db.example',
    DATABASE_NAME: 'orders',
    DATABASE_USER: 'app',
    REDIS_HOST: 'redis.example',
    JWT_ISSUER: 'https://id.example',
    JWT_AUDIENCE: 'order-api',
    JWT_JWKS_URL: 'https://id.example/jwks.json',
  };

  test('iam for both (the production defaults) yields both signers', async () => {
    const config = parseConfig({ ...base, AWS_REGION: 'ap-southeast-1', REDIS_USER: 'sukhumvit-cafe-app', REDIS_IAM_CACHE_NAME: 'sukhumvit-cafe-redis' });
    const providers = iamTokenProviders(config, CREDENTIALS);
    expect(await providers.database?.({ host: 'db.example', port: 5432, user: 'app' })).toContain('DBUser=app');
    expect(await providers.redis?.({ host: 'redis.example', port: 6379, user: 'sukhumvit-cafe-app' })).toMatch(/^sukhumvit-cafe-redis\/\?Action=connect/);
  });

  test('password and no-auth Redis yield no signers', () => {
    const config = parseConfig({ ...base, DATABASE_AUTH: 'password', DATABASE_PASSWORD: 'local-only', REDIS_AUTH: 'none' });
    expect(iamTokenProviders(config)).toEqual({ database: undefined, redis: undefined });
  });

  test('the contract names what iam needs', () => {
    expect(() => parseConfig(base)).toThrow(/REDIS_USER is required when REDIS_AUTH=iam; REDIS_IAM_CACHE_NAME is required when REDIS_AUTH=iam; AWS_REGION is required when DATABASE_AUTH or REDIS_AUTH is iam/);
  });
});
