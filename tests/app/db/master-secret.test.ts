/**
 * The master login from Secrets Manager (app/src/db/master-secret.ts): parsing the secret's JSON,
 * and the real SDK client's GetSecretValue call against a local endpoint that answers as Secrets
 * Manager does (JSON 1.1 protocol).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseMasterSecret, secretsManagerMasterCredentials } from '../../../app/src/db/master-secret';

const ARN = 'arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:sukhumvit-cafe/rds/master-AbCdEf';
const PASSWORD = 'Zq8sV1c5TnA0pLw3Xe7RkM2yB6uH9dJf4GtQ0sNb';
/** The JSON postgres-with-replicas.ts writes into the secret. */
const SECRET = JSON.stringify({ username: 'platform_admin', password: PASSWORD, host: 'sukhumvit-cafe-postgres.abc.rds.amazonaws.com', port: 5432, dbname: 'restaurant' });

describe('parseMasterSecret', () => {
  test('reads username and password from the JSON the data stack writes', () => {
    expect(parseMasterSecret(SECRET, ARN)).toEqual({ username: 'platform_admin', password: PASSWORD });
  });

  test.each([
    ['no SecretString', undefined, `secret ${ARN} has no SecretString (a binary secret?); expected JSON {"username": ..., "password": ...}`],
    ['not JSON', `password=${PASSWORD}`, `secret ${ARN} is not JSON; expected JSON {"username": ..., "password": ...}`],
    ['a JSON string', JSON.stringify(PASSWORD), `secret ${ARN} does not hold the master login: (root) Invalid input: expected object, received string; expected JSON {"username": ..., "password": ...}`],
    ['no password', JSON.stringify({ username: 'platform_admin' }), `secret ${ARN} does not hold the master login: password Invalid input: expected string, received undefined; expected JSON {"username": ..., "password": ...}`],
    ['an empty username', JSON.stringify({ username: '', password: PASSWORD }), `secret ${ARN} does not hold the master login: username Too small: expected string to have >=1 characters; expected JSON {"username": ..., "password": ...}`],
  ])('fails when the secret holds %s, without quoting it', (_name, secretString, message) => {
    let error: Error | undefined;
    try {
      parseMasterSecret(secretString, ARN);
    } catch (caught) {
      error = caught as Error;
    }
    expect(error?.message).toBe(message);
    expect(error?.message).not.toContain(PASSWORD);
  });
});

describe('secretsManagerMasterCredentials', () => {
  let server: http.Server;
  let endpoint: string;
  const requests: { target?: string; authorization?: string; body: string }[] = [];
  let answer: { status: number; body: unknown } = { status: 200, body: {} };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        requests.push({ target: req.headers['x-amz-target'] as string, authorization: req.headers.authorization, body });
        res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => (requests.length = 0));

  const source = () =>
    secretsManagerMasterCredentials({
      region: 'ap-southeast-1',
      secretId: ARN,
      endpoint,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret-key' },
    });

  test('asks GetSecretValue for the secret, signed for secretsmanager in the region, and parses it', async () => {
    answer = { status: 200, body: { ARN, Name: 'sukhumvit-cafe/rds/master', SecretString: SECRET, VersionId: 'v1' } };
    const credentials = await source().read();
    expect(credentials).toEqual({ username: 'platform_admin', password: PASSWORD });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.target).toBe('secretsmanager.GetSecretValue');
    expect(JSON.parse(requests[0]!.body)).toEqual({ SecretId: ARN });
    expect(requests[0]!.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/ap-southeast-1\/secretsmanager\/aws4_request/);
  });

  test('names itself by the secret, not by its content', () => {
    expect(source().description).toBe(`Secrets Manager secret ${ARN}`);
  });

  test('fails naming the secret and the AWS error when access is denied', async () => {
    answer = { status: 400, body: { __type: 'AccessDeniedException', message: 'not authorized to perform: secretsmanager:GetSecretValue' } };
    await expect(source().read()).rejects.toThrow(`reading secret ${ARN} failed: AccessDeniedException: not authorized to perform: secretsmanager:GetSecretValue`);
  });
});
