import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  NGINX_CONTAINER_PORT,
  NGINX_CONTAINER_UID,
  NGINX_IMAGE,
  NGINX_MIN_VERSION_FOR_RESOLVE,
  NGINX_STATUS_PATH,
  NGINX_STATUS_PORT,
  EDGE_HEADERS,
  NGINX_ERRORS,
  NGINX_ERRORS_PATH,
  REQUEST_RATE_ZONE,
  renderNginxConfig,
  websocketProxyTimeoutSeconds,
  type NginxConfigSpec,
  type NginxKubernetesSpec,
  type NginxStaticSpec,
} from '../../nginx/nginx-config';
import {
  findNginxBinary,
  freePort,
  isAlive,
  startNginx,
  testNginxConfig,
  unprivilegedIdentity,
  type RunningNginx,
} from '../../tools/services/nginx-process';
import { exporterSamples, NGINX_EXPORTER_METRIC_NAMES, parseStubStatus } from '../../nginx/stub-status';

const HEARTBEAT_MS = 25_000;

function staticSpec(overrides: Partial<NginxStaticSpec> = {}): NginxStaticSpec {
  return {
    mode: 'static',
    websocketHeartbeatIntervalMs: HEARTBEAT_MS,
    apiServers: [
      { host: '127.0.0.1', port: 3000, weight: 3 },
      { host: '127.0.0.1', port: 3001, weight: 2 },
    ],
    wsServers: [
      { host: '127.0.0.1', port: 4000 },
      { host: '127.0.0.1', port: 4001 },
    ],
    ...overrides,
  };
}

function kubernetesSpec(overrides: Partial<NginxKubernetesSpec> = {}): NginxKubernetesSpec {
  return {
    mode: 'kubernetes',
    websocketHeartbeatIntervalMs: HEARTBEAT_MS,
    apiService: { dnsName: 'api.sukhumvit.svc.cluster.local', port: 3000 },
    wsService: { dnsName: 'ws.sukhumvit.svc.cluster.local', port: 3001 },
    resolver: '10.100.0.10',
    ...overrides,
  };
}

/** The body of the first `<header> { ... }` block, braces matched. */
function block(config: string, header: string): string {
  const start = config.indexOf(`${header} {`);
  if (start < 0) throw new Error(`no "${header} {" block in:\n${config}`);
  let depth = 0;
  for (let i = config.indexOf('{', start); i < config.length; i++) {
    if (config[i] === '{') depth++;
    if (config[i] === '}' && --depth === 0) return config.slice(config.indexOf('{', start) + 1, i);
  }
  throw new Error(`unterminated "${header}" block`);
}

function directives(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

describe('renderNginxConfig defaults', () => {
  const config = renderNginxConfig(staticSpec());
  const httpBlock = directives(block(config, 'http'));

  test('pins an image new enough for `resolve`, running as a non-root uid', () => {
    const [major, minor, patch] = /:(\d+)\.(\d+)\.(\d+)-/.exec(NGINX_IMAGE)!.slice(1).map(Number);
    const [minMajor, minMinor, minPatch] = NGINX_MIN_VERSION_FOR_RESOLVE.split('.').map(Number);
    expect(major * 1e6 + minor * 1e3 + patch).toBeGreaterThanOrEqual(minMajor * 1e6 + minMinor * 1e3 + minPatch);
    expect(NGINX_IMAGE).toMatch(/^public\.ecr\.aws\/nginx\/nginx-unprivileged:/);
    expect(NGINX_CONTAINER_UID).toBeGreaterThan(0);
  });

  test('runs without root: no user directive, pid and temp files under /tmp', () => {
    expect(config).not.toMatch(/^\s*user\s/m);
    expect(directives(config)).toEqual(expect.arrayContaining(['pid /tmp/nginx.pid;']));
    expect(httpBlock).toEqual(
      expect.arrayContaining([
        'client_body_temp_path /tmp/client_temp;',
        'proxy_temp_path /tmp/proxy_temp;',
        'fastcgi_temp_path /tmp/fastcgi_temp;',
        'uwsgi_temp_path /tmp/uwsgi_temp;',
        'scgi_temp_path /tmp/scgi_temp;',
      ]),
    );
  });

  test('uses the documented defaults', () => {
    expect(directives(config)).toEqual(
      expect.arrayContaining(['worker_processes auto;', 'error_log stderr warn;', 'worker_shutdown_timeout 20s;', 'worker_connections 4096;']),
    );
    // A main-context directive: before the events and http blocks.
    expect(config.indexOf('worker_shutdown_timeout')).toBeLessThan(config.indexOf('events {'));
    expect(httpBlock).toEqual(
      expect.arrayContaining([
        'server_tokens off;',
        'access_log /dev/stdout json;',
        'keepalive_requests 10000;',
        'keepalive_timeout 75s;',
        'client_max_body_size 10m;',
      ]),
    );
    expect(directives(block(config, 'server'))).toEqual(
      expect.arrayContaining([`listen ${NGINX_CONTAINER_PORT};`, 'server_name _;']),
    );
  });

  test('applies overrides', () => {
    const custom = renderNginxConfig(
      staticSpec({
        workerProcesses: 2,
        workerConnections: 1024,
        listenPort: 18080,
        listenAddress: '127.0.0.1',
        clientMaxBodySize: '25m',
        clientKeepaliveRequests: 500,
        accessLogPath: '/var/log/nginx/access.log',
        errorLogPath: '/var/log/nginx/error.log',
        pidFile: '/run/nginx/nginx.pid',
        tempDirectory: '/var/cache/nginx/',
        workerShutdownTimeoutSeconds: 40,
        forwardedProto: 'https',
      }),
    );
    expect(directives(custom)).toEqual(
      expect.arrayContaining([
        'worker_processes 2;',
        'worker_shutdown_timeout 40s;',
        'proxy_set_header X-Forwarded-Proto https;',
        'worker_connections 1024;',
        'pid /run/nginx/nginx.pid;',
        'error_log /var/log/nginx/error.log warn;',
        'listen 127.0.0.1:18080;',
        'client_max_body_size 25m;',
        'keepalive_requests 500;',
        'access_log /var/log/nginx/access.log json;',
        'proxy_temp_path /var/cache/nginx/proxy_temp;',
      ]),
    );
  });
});

describe('api upstream and route', () => {
  const config = renderNginxConfig(staticSpec());

  test('balances with least_conn over weighted servers with failure limits and keepalive', () => {
    expect(directives(block(config, 'upstream api'))).toEqual([
      'zone api 64k;',
      'least_conn;',
      'server 127.0.0.1:3000 weight=3 max_fails=3 fail_timeout=30s;',
      'server 127.0.0.1:3001 weight=2 max_fails=3 fail_timeout=30s;',
      'keepalive 32;',
      'keepalive_requests 10000;',
      'keepalive_timeout 4s;',
    ]);
  });

  test('omits weight when none is given', () => {
    const unweighted = renderNginxConfig(staticSpec({ apiServers: [{ host: 'localhost', port: 3000 }] }));
    expect(directives(block(unweighted, 'upstream api'))).toContain('server localhost:3000 max_fails=3 fail_timeout=30s;');
  });

  test('proxies with HTTP/1.1 keepalive, forwarded headers, request id and the required buffers', () => {
    const location = directives(block(config, 'location /'));
    expect(location).toEqual(
      expect.arrayContaining([
        'proxy_pass http://api;',
        'proxy_http_version 1.1;',
        'proxy_set_header Connection "";',
        'proxy_set_header Host $host;',
        'proxy_set_header X-Real-IP $remote_addr;',
        'proxy_set_header X-Forwarded-For $remote_addr;',
        'proxy_set_header X-Forwarded-Proto $scheme;',
        'proxy_set_header X-Request-Id $request_id;',
        'proxy_connect_timeout 5s;',
        'proxy_read_timeout 30s;',
        'proxy_buffering on;',
        'proxy_buffer_size 4k;',
        'proxy_buffers 8 4k;',
        'proxy_busy_buffers_size 8k;',
      ]),
    );
    expect(directives(block(config, 'server'))).toContain('add_header X-Request-Id $request_id always;');
  });

  test.each<[NginxStaticSpec['forwardedProto'], string]>([
    [undefined, '$scheme'],
    ['$scheme', '$scheme'],
    ['https', 'https'],
  ])('forwardedProto %s sends X-Forwarded-Proto %s on the api and the websocket route', (forwardedProto, value) => {
    const rendered = renderNginxConfig(staticSpec({ forwardedProto }));
    for (const route of ['location /', 'location /ws']) {
      const headers = directives(block(rendered, route)).filter((line) => line.startsWith('proxy_set_header X-Forwarded-Proto'));
      expect(headers).toEqual([`proxy_set_header X-Forwarded-Proto ${value};`]);
    }
  });

  test('retries only on connection errors and timeouts, never non-idempotent requests', () => {
    const location = directives(block(config, 'location /'));
    expect(location).toContain('proxy_next_upstream error timeout;');
    expect(directives(config).join('\n')).not.toMatch(/non_idempotent/);
  });
});

describe('websocket upstream and route', () => {
  const config = renderNginxConfig(staticSpec());

  test('pins clients with ip_hash', () => {
    expect(directives(block(config, 'upstream ws'))).toEqual([
      'zone ws 64k;',
      'ip_hash;',
      'server 127.0.0.1:4000 max_fails=3 fail_timeout=30s;',
      'server 127.0.0.1:4001 max_fails=3 fail_timeout=30s;',
    ]);
  });

  test('forwards the upgrade with a Connection header mapped from Upgrade', () => {
    expect(directives(block(config, 'map $http_upgrade $connection_upgrade'))).toEqual([
      'default upgrade;',
      "'' close;",
    ]);
    expect(directives(block(config, 'location /ws'))).toEqual(
      expect.arrayContaining([
        'proxy_pass http://ws;',
        'proxy_http_version 1.1;',
        'proxy_set_header Upgrade $http_upgrade;',
        'proxy_set_header Connection $connection_upgrade;',
        'proxy_set_header X-Forwarded-For $remote_addr;',
        'proxy_set_header X-Request-Id $request_id;',
        'proxy_buffering off;',
      ]),
    );
  });

  test.each([
    [1, 11],
    [1_000, 11],
    [4_500, 15],
    [10_000, 30],
    [25_000, 75],
    [59_999, 180],
    [300_000, 900],
  ])('a %i ms heartbeat gives a %i s read timeout, longer than the heartbeat', (heartbeatMs, expectedSeconds) => {
    const location = directives(block(renderNginxConfig(staticSpec({ websocketHeartbeatIntervalMs: heartbeatMs })), 'location /ws'));
    const readTimeoutSeconds = Number(/^proxy_read_timeout (\d+)s;$/.exec(location.find((l) => l.startsWith('proxy_read_timeout'))!)![1]);

    expect(readTimeoutSeconds).toBe(expectedSeconds);
    expect(readTimeoutSeconds).toBe(websocketProxyTimeoutSeconds(heartbeatMs));
    expect(readTimeoutSeconds * 1000).toBeGreaterThanOrEqual(heartbeatMs + 10_000);
    expect(readTimeoutSeconds * 1000).toBeGreaterThanOrEqual(3 * heartbeatMs);
    expect(location).toContain(`proxy_send_timeout ${expectedSeconds}s;`);
  });
});

describe('http features', () => {
  const config = renderNginxConfig(staticSpec());
  const httpBlock = directives(block(config, 'http'));

  test('compresses JSON, JS, CSS and SVG, proxied responses included', () => {
    expect(httpBlock).toEqual(
      expect.arrayContaining([
        'gzip on;',
        'gzip_min_length 1024;',
        'gzip_proxied any;',
        'gzip_types application/json application/javascript text/javascript text/css image/svg+xml;',
      ]),
    );
  });

  test('logs one JSON object per request with the upstream fields', () => {
    const format = /log_format json escape=json '(.*)';/.exec(config)![1];
    const numeric = new Set(['status', 'body_bytes_sent', 'request_time']);
    const sample = format.replace(/\$([a-z0-9_]+)/g, (_, name: string) => (numeric.has(name) ? '1' : 'x'));

    expect(Object.keys(JSON.parse(sample))).toEqual([
      'time',
      'request_id',
      'remote_addr',
      'method',
      'uri',
      'status',
      'bytes_sent',
      'request_time',
      'upstream_addr',
      'upstream_response_time',
      'upstream_status',
    ]);
  });

  test('answers /nginx-health from nginx itself', () => {
    expect(directives(block(config, 'location = /nginx-health'))).toEqual([
      'access_log off;',
      'default_type text/plain;',
      'return 200 "ok\\n";',
    ]);
  });

  test('serves stub_status on a loopback-only server of its own, and nothing else there', () => {
    const servers = config.split(/^    server \{$/m).slice(1);
    expect(servers).toHaveLength(2);
    const [publicServer, statusServer] = servers as [string, string];
    expect(publicServer).not.toContain('stub_status');
    expect(publicServer).not.toContain(NGINX_STATUS_PATH);
    expect(directives(statusServer).slice(0, 3)).toEqual([`listen 127.0.0.1:${NGINX_STATUS_PORT};`, 'server_name _;', 'access_log off;']);
    expect(directives(block(config, `location = ${NGINX_STATUS_PATH}`))).toEqual(['stub_status;', 'allow 127.0.0.1;', 'deny all;']);
  });

  test('the status port is configurable', () => {
    expect(renderNginxConfig(staticSpec({ statusListenPort: 9001 }))).toMatch(/^\s*listen 127\.0\.0\.1:9001;$/m);
  });

  test('never logs the query string: no $request_uri or $request anywhere, $uri in the log format', () => {
    for (const rendered of [config, renderNginxConfig(kubernetesSpec())]) {
      expect(rendered).not.toMatch(/\$request_uri|\$request\b/);
      expect(/log_format json escape=json '(.*)';/.exec(rendered)![1]).toContain('"uri":"$uri"');
    }
  });
});

describe('public entry hardening', () => {
  const config = renderNginxConfig(staticSpec());
  const server = directives(block(config, 'server'));

  test('HSTS, nosniff and one request id on every response; the upstream copies are hidden', () => {
    expect(server).toEqual(
      expect.arrayContaining([
        'add_header X-Request-Id $request_id always;',
        'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;',
        'add_header X-Content-Type-Options nosniff always;',
        'proxy_hide_header X-Request-Id;',
        'proxy_hide_header Strict-Transport-Security;',
        'proxy_hide_header X-Content-Type-Options;',
      ]),
    );
    expect(EDGE_HEADERS.map(([name]) => name)).toEqual(['X-Request-Id', 'Strict-Transport-Security', 'X-Content-Type-Options']);
  });

  test('limits requests per client address: 100/s with a burst of 200 by default, 429 when over', () => {
    expect(directives(block(config, 'http'))).toContain(`limit_req_zone $binary_remote_addr zone=${REQUEST_RATE_ZONE}:10m rate=100r/s;`);
    expect(server).toEqual(expect.arrayContaining([`limit_req zone=${REQUEST_RATE_ZONE} burst=200 nodelay;`, 'limit_req_status 429;', 'limit_req_log_level info;']));
    const tuned = renderNginxConfig(staticSpec({ clientRequestsPerSecond: 7, clientRequestBurst: 9 }));
    expect(tuned).toContain('rate=7r/s;');
    expect(tuned).toContain('burst=9 nodelay;');
  });

  test("every status nginx answers itself has an internal JSON location in the API's error format", () => {
    for (const error of NGINX_ERRORS) {
      expect(server).toContain(`error_page ${error.status} ${NGINX_ERRORS_PATH}${error.status};`);
      const location = directives(block(config, `location = ${NGINX_ERRORS_PATH}${error.status}`));
      expect(location.slice(0, 2)).toEqual(['internal;', 'default_type application/json;']);
      const body = /^return (\d{3}) '(.*)\\n';$/.exec(location.at(-1)!)!;
      expect(Number(body[1])).toBe(error.sentStatus ?? error.status);
      expect(JSON.parse(body[2]!)).toEqual({ error: { code: error.code, message: error.message, requestId: '$request_id' } });
    }
    expect(NGINX_ERRORS.map((e) => e.status)).toEqual(expect.arrayContaining([400, 405, 413, 414, 429, 500, 502, 503, 504]));
    const tooMany = directives(block(config, `location = ${NGINX_ERRORS_PATH}429`));
    expect(tooMany).toEqual(expect.arrayContaining(['add_header Retry-After 1 always;', 'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;']));
  });

  test('refuses the internal endpoints in any case and with a trailing path', () => {
    const refusal = directives(block(config, 'location ~* ^/(healthz|readyz|metrics)(/.*)?$'));
    expect(refusal).toEqual(['default_type application/json;', `return 404 '{"error":{"code":"not_found","message":"route not found","requestId":"$request_id"}}\\n';`]);
  });
});

describe('server modes', () => {
  const UPSTREAM_SERVER_LINES = /^\s*(server |resolver )/;
  const withoutServerLines = (config: string) =>
    config
      .split('\n')
      .filter((line) => !UPSTREAM_SERVER_LINES.test(line))
      .join('\n');

  test('kubernetes mode re-resolves headless Services through the cluster DNS', () => {
    const config = renderNginxConfig(kubernetesSpec({ resolverValidSeconds: 5 }));
    expect(directives(block(config, 'http'))).toContain('resolver 10.100.0.10 valid=5s ipv6=off;');
    expect(directives(block(config, 'upstream api'))).toEqual(
      expect.arrayContaining(['zone api 64k;', 'server api.sukhumvit.svc.cluster.local:3000 resolve max_fails=3 fail_timeout=30s;']),
    );
    expect(directives(block(config, 'upstream ws'))).toEqual(
      expect.arrayContaining(['zone ws 64k;', 'server ws.sukhumvit.svc.cluster.local:3001 resolve max_fails=3 fail_timeout=30s;']),
    );
  });

  test('kubernetes mode trusts resolved addresses for 10 s by default and brackets an IPv6 resolver', () => {
    expect(renderNginxConfig(kubernetesSpec())).toMatch(/^\s*resolver 10\.100\.0\.10 valid=10s ipv6=off;$/m);
    expect(renderNginxConfig(kubernetesSpec({ resolver: 'fd00::a' }))).toMatch(/^\s*resolver \[fd00::a\] valid=10s ipv6=off;$/m);
  });

  test('static mode lists fixed addresses and needs no resolver', () => {
    const config = renderNginxConfig(staticSpec());
    expect(config).not.toMatch(/^\s*resolver /m);
    expect(config).not.toMatch(/ resolve[ ;]/);
  });

  test('the two modes differ only in upstream server and resolver lines', () => {
    const common = {
      listenPort: 8081,
      statusListenPort: 9001,
      clientMaxBodySize: '20m',
      workerShutdownTimeoutSeconds: 40,
      forwardedProto: 'https' as const,
    };
    const kubernetes = renderNginxConfig(kubernetesSpec(common));
    const local = renderNginxConfig(staticSpec(common));

    expect(kubernetes).not.toEqual(local);
    expect(withoutServerLines(kubernetes)).toEqual(withoutServerLines(local));
  });

  test.each<[string, Partial<NginxKubernetesSpec>, Partial<NginxStaticSpec>]>([
    ['listenPort', { listenPort: 8082 }, { listenPort: 8083 }],
    ['forwardedProto', { forwardedProto: 'https' }, {}],
    ['workerShutdownTimeoutSeconds', { workerShutdownTimeoutSeconds: 40 }, {}],
  ])('the comparison notices a difference outside the server lines (%s)', (_field, kubernetesOverrides, staticOverrides) => {
    const kubernetes = renderNginxConfig(kubernetesSpec(kubernetesOverrides));
    const local = renderNginxConfig(staticSpec(staticOverrides));
    expect(withoutServerLines(kubernetes)).not.toEqual(withoutServerLines(local));
  });
});

describe('spec validation', () => {
  test.each<[string, NginxConfigSpec, string]>([
    ['apiServers is empty', staticSpec({ apiServers: [] }), 'nginx: apiServers must list at least 1 server, got 0'],
    ['wsServers is empty', staticSpec({ wsServers: [] }), 'nginx: wsServers must list at least 1 server, got 0'],
    [
      'the heartbeat interval is negative',
      staticSpec({ websocketHeartbeatIntervalMs: -5 }),
      'nginx: websocketHeartbeatIntervalMs must be a positive integer, got -5',
    ],
    ['listenPort is out of range', staticSpec({ listenPort: 70000 }), 'nginx: listenPort must be an integer port in 1..65535, got 70000'],
    ['the request rate is 0', staticSpec({ clientRequestsPerSecond: 0 }), 'nginx: clientRequestsPerSecond must be a positive integer, got 0'],
    ['the burst is fractional', staticSpec({ clientRequestBurst: 2.5 }), 'nginx: clientRequestBurst must be a positive integer, got 2.5'],
    [
      'a server port is 0',
      staticSpec({ wsServers: [{ host: '127.0.0.1', port: 0 }] }),
      'nginx: wsServers[0].port must be an integer port in 1..65535, got 0',
    ],
    [
      'a weight is not a positive integer',
      staticSpec({ apiServers: [{ host: '127.0.0.1', port: 3000 }, { host: '127.0.0.1', port: 3001, weight: 1.5 }] }),
      'nginx: apiServers[1].weight must be a positive integer, got 1.5',
    ],
    [
      'a host is not a hostname or IP address',
      staticSpec({ apiServers: [{ host: 'local host;', port: 3000 }] }),
      'nginx: apiServers[0].host must be a hostname or IP address, got "local host;"',
    ],
    [
      'a server is listed twice',
      staticSpec({ apiServers: [{ host: '127.0.0.1', port: 3000 }, { host: '127.0.0.1', port: 3000, weight: 2 }] }),
      'nginx: apiServers[1] must not repeat an earlier server, got "127.0.0.1:3000"',
    ],
    [
      'a service name is empty',
      kubernetesSpec({ apiService: { dnsName: '', port: 3000 } }),
      'nginx: apiService.dnsName must be a DNS name such as "api.<namespace>.svc.cluster.local", got ""',
    ],
    [
      'the resolver is a DNS name',
      kubernetesSpec({ resolver: 'kube-dns.kube-system.svc.cluster.local' }),
      'nginx: resolver must be the IP address of the cluster DNS Service, got "kube-dns.kube-system.svc.cluster.local"',
    ],
    [
      'resolverValidSeconds is 0',
      kubernetesSpec({ resolverValidSeconds: 0 }),
      'nginx: resolverValidSeconds must be a positive integer, got 0',
    ],
    ['workerProcesses is 0', staticSpec({ workerProcesses: 0 }), 'nginx: workerProcesses must be "auto" or a positive integer, got 0'],
    [
      'workerShutdownTimeoutSeconds is 0',
      staticSpec({ workerShutdownTimeoutSeconds: 0 }),
      'nginx: workerShutdownTimeoutSeconds must be a positive integer, got 0',
    ],
    [
      'forwardedProto is neither "$scheme" nor "https"',
      staticSpec({ forwardedProto: 'http' as unknown as NginxStaticSpec['forwardedProto'] }),
      'nginx: forwardedProto must be "$scheme" or "https", got "http"',
    ],
    [
      'clientMaxBodySize is not an nginx size',
      staticSpec({ clientMaxBodySize: '10 MB' }),
      'nginx: clientMaxBodySize must be an nginx size such as "10m", "512k" or "1048576", got "10 MB"',
    ],
    [
      'the status port is out of range',
      staticSpec({ statusListenPort: 70000 }),
      'nginx: statusListenPort must be an integer port in 1..65535, got 70000',
    ],
    [
      'the status port is the public port',
      staticSpec({ listenPort: 8081 }),
      'nginx: statusListenPort must differ from listenPort (8081), got 8081',
    ],
    [
      'a log path is relative',
      staticSpec({ accessLogPath: 'logs/access.log' }),
      'nginx: accessLogPath must be an absolute path of letters, digits and ._/-, got "logs/access.log"',
    ],
    [
      'a path would break out of its directive',
      staticSpec({ errorLogPath: '/tmp/e.log; user root' }),
      'nginx: errorLogPath must be an absolute path of letters, digits and ._/- or "stderr", got "/tmp/e.log; user root"',
    ],
  ])('fails when %s', (_case, spec, message) => {
    expect(() => renderNginxConfig(spec)).toThrow(new Error(message));
  });

  test('fails when the mode is unknown', () => {
    const spec = { ...staticSpec(), mode: 'docker' } as unknown as NginxConfigSpec;
    expect(() => renderNginxConfig(spec)).toThrow(new Error('nginx: mode must be "kubernetes" or "static", got "docker"'));
  });

  test('accepts hostnames, IPv6 loopback and the boundary ports', () => {
    const config = renderNginxConfig(
      staticSpec({
        listenPort: 65535,
        apiServers: [{ host: 'api-1.local', port: 1 }],
        wsServers: [{ host: '::1', port: 65535 }],
      }),
    );
    expect(config).toContain('server api-1.local:1 max_fails=3 fail_timeout=30s;');
    expect(config).toContain('server [::1]:65535 max_fails=3 fail_timeout=30s;');
  });
});

describe('real nginx', () => {
  const tempDirs: string[] = [];
  const makeTempDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nginx-config-test-'));
    tempDirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  function writeStaticConfig(dir: string, overrides: Partial<NginxStaticSpec>): string {
    const file = path.join(dir, 'nginx.conf');
    const config = renderNginxConfig(
      staticSpec({
        pidFile: path.join(dir, 'nginx.pid'),
        tempDirectory: dir,
        accessLogPath: path.join(dir, 'access.log'),
        errorLogPath: path.join(dir, 'error.log'),
        ...overrides,
      }),
    );
    fs.writeFileSync(file, config);
    return file;
  }

  test('fails when nginx is missing, with the command that installs it', () => {
    const emptyDir = makeTempDir();
    expect(() => findNginxBinary([emptyDir])).toThrow(
      new Error('nginx not found on PATH: install it with "apt-get install -y nginx-light"'),
    );
  });

  test.each<[string, Partial<NginxStaticSpec>]>([
    ['the defaults', {}],
    ['X-Forwarded-Proto https and a 40 s shutdown timeout', { forwardedProto: 'https', workerShutdownTimeoutSeconds: 40 }],
  ])('nginx -t accepts the static rendering without warnings: %s', (_case, overrides) => {
    const dir = makeTempDir();
    const file = writeStaticConfig(dir, {
      listenPort: 18080,
      statusListenPort: 18081,
      wsServers: [{ host: '127.0.0.1', port: 4000, weight: 2 }, { host: '::1', port: 4001 }],
      ...overrides,
    });

    const result = testNginxConfig(dir, file);

    expect(result.output).toContain('test is successful');
    expect(result.output).not.toMatch(/\[(warn|emerg|alert|crit)\]/);
    expect(result.status).toBe(0);
  });

  test('nginx -t rejects a broken rendering (the check can fail)', () => {
    const dir = makeTempDir();
    const file = writeStaticConfig(dir, { listenPort: 18080 });
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('least_conn;', 'least_conn'));

    const result = testNginxConfig(dir, file);

    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/\[emerg\]/);
  });

  describe('traffic through a running nginx', () => {
    interface Upstream {
      readonly server: http.Server;
      readonly port: number;
      readonly requests: http.IncomingHttpHeaders[];
      readonly sockets: Set<string>;
    }
    const upgrades: http.IncomingHttpHeaders[] = [];
    const upgradedSockets = new Set<net.Socket>();
    /** Headers of every api request, in arrival order across both upstreams. */
    const apiRequests: http.IncomingHttpHeaders[] = [];
    let apiA: Upstream;
    let apiB: Upstream;
    let wsServer: http.Server;
    let nginx: RunningNginx | undefined;
    let nginxPort: number;
    let statusPort: number;
    let dir: string;

    async function listen(server: http.Server): Promise<number> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as net.AddressInfo).port;
    }

    async function startApi(name: string): Promise<Upstream> {
      const requests: http.IncomingHttpHeaders[] = [];
      const sockets = new Set<string>();
      const server = http.createServer((request, response) => {
        requests.push(request.headers);
        apiRequests.push(request.headers);
        sockets.add(`${request.socket.remoteAddress}:${request.socket.remotePort}`);
        response.setHeader('content-type', 'application/json');
        // Above gzip_min_length, so compression is observable.
        response.end(JSON.stringify({ server: name, padding: 'x'.repeat(4096) }));
      });
      return { server, port: await listen(server), requests, sockets };
    }

    function get(
      requestPath: string,
      headers: http.OutgoingHttpHeaders = {},
      port: number = nginxPort,
    ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
      return new Promise((resolve, reject) => {
        const request = http.get({ host: '127.0.0.1', port, path: requestPath, headers, agent: false }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        });
        request.on('error', reject);
      });
    }

    async function eventually<T>(probe: () => T | undefined, timeoutMs = 2_000): Promise<T | undefined> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = probe();
        if (value !== undefined || Date.now() > deadline) return value;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    beforeAll(async () => {
      findNginxBinary();
      apiA = await startApi('a');
      apiB = await startApi('b');
      wsServer = http.createServer((_request, response) => {
        response.statusCode = 426;
        response.end();
      });
      wsServer.on('upgrade', (request: http.IncomingMessage, socket: net.Socket) => {
        upgrades.push(request.headers);
        upgradedSockets.add(socket);
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
        socket.on('data', (chunk) => socket.write(chunk));
      });
      const wsPort = await listen(wsServer);

      dir = makeTempDir();
      const identity = unprivilegedIdentity();
      if (identity) fs.chownSync(dir, identity.uid, identity.gid);
      nginxPort = await freePort();
      statusPort = await freePort();
      const configFile = writeStaticConfig(dir, {
        listenPort: nginxPort,
        statusListenPort: statusPort,
        listenAddress: '127.0.0.1',
        workerProcesses: 1,
        apiServers: [
          { host: '127.0.0.1', port: apiA.port },
          { host: '127.0.0.1', port: apiB.port },
        ],
        wsServers: [{ host: '127.0.0.1', port: wsPort }],
      });
      nginx = await startNginx({ prefixDir: dir, configFile, port: nginxPort, errorLogFile: path.join(dir, 'error.log') });
    });

    afterAll(async () => {
      const pids = nginx?.processIds() ?? [];
      await nginx?.stop();
      // Upgraded sockets leave the http server's bookkeeping, so closeAllConnections misses them.
      for (const socket of upgradedSockets) socket.destroy();
      for (const server of [apiA?.server, apiB?.server, wsServer]) {
        if (!server) continue;
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      expect(pids.filter(isAlive)).toEqual([]);
    });

    test('runs nginx as a non-root user', () => {
      const uidLine = fs.readFileSync(`/proc/${nginx!.pid}/status`, 'utf8').split('\n').find((line) => line.startsWith('Uid:'))!;
      const [real, effective] = uidLine.split(/\s+/).slice(1).map(Number);
      expect(real).not.toBe(0);
      expect(effective).not.toBe(0);
    });

    test('spreads api requests over both upstreams, reusing upstream connections', async () => {
      const responses = [];
      for (let i = 0; i < 20; i++) responses.push(await get(`/orders?i=${i}`));

      expect(responses.map((response) => response.status)).toEqual(Array(20).fill(200));
      expect(apiA.requests.length).toBeGreaterThan(0);
      expect(apiB.requests.length).toBeGreaterThan(0);
      expect(apiA.requests.length + apiB.requests.length).toBe(20);
      expect(apiA.sockets.size + apiB.sockets.size).toBeLessThan(20);
    });

    test('forwards the client address (replacing a forged X-Forwarded-For) and request id, and returns the id to the client once', async () => {
      const response = await get('/menu', { 'x-forwarded-for': '203.0.113.7' });
      const received = apiRequests.at(-1)!;

      expect(response.status).toBe(200);
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
      expect(received['x-request-id']).toBe(response.headers['x-request-id']);
      expect(received['x-forwarded-for']).toBe('127.0.0.1');
      expect(received['x-real-ip']).toBe('127.0.0.1');
      expect(received['x-forwarded-proto']).toBe('http');
      expect(received.connection).toBeUndefined();
    });

    test('gzips proxied JSON for clients that accept it', async () => {
      const response = await get('/menu', { 'accept-encoding': 'gzip' });
      expect(response.headers['content-encoding']).toBe('gzip');
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    });

    test('writes JSON access log lines with the upstream that answered', async () => {
      const response = await get('/log-probe');
      const requestId = response.headers['x-request-id'];
      // nginx logs once the response is sent, which may be just after the client has read it.
      const entry = await eventually(() =>
        fs
          .readFileSync(path.join(dir, 'access.log'), 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .find((candidate) => candidate.request_id === requestId),
      );

      expect(entry).toMatchObject({ method: 'GET', uri: '/log-probe', status: 200, upstream_status: '200' });
      expect([`127.0.0.1:${apiA.port}`, `127.0.0.1:${apiB.port}`]).toContain(entry?.upstream_addr);
    });

    test('answers /nginx-health from nginx itself', async () => {
      const health = await get('/nginx-health');

      expect(health.status).toBe(200);
      expect(health.headers['content-type']).toBe('text/plain');
      expect(health.body.toString()).toBe('ok\n');
    });

    test('serves stub_status on the loopback status port only; the public port proxies that path to the api', async () => {
      const status = await get(NGINX_STATUS_PATH, {}, statusPort);
      expect(status.status).toBe(200);
      expect(parseStubStatus(status.body.toString()).active).toBeGreaterThanOrEqual(1);
      expect((await get('/anything-else', {}, statusPort)).status).toBe(404);

      const before = apiRequests.length;
      const publicStatus = await get(NGINX_STATUS_PATH);
      expect(JSON.parse(publicStatus.body.toString())).toMatchObject({ server: expect.any(String) });
      expect(apiRequests.length).toBe(before + 1);
    });

    test('stub_status yields every field of the exporter table, and counts the requests it served', async () => {
      const first = parseStubStatus((await get(NGINX_STATUS_PATH, {}, statusPort)).body.toString());
      await get('/counted');
      const second = parseStubStatus((await get(NGINX_STATUS_PATH, {}, statusPort)).body.toString());

      const samples = exporterSamples(second);
      expect(Object.keys(samples).sort()).toEqual([...NGINX_EXPORTER_METRIC_NAMES].sort());
      for (const value of Object.values(samples)) expect(Number.isInteger(value) && value >= 0).toBe(true);
      // The /counted request and the second status read itself, at least.
      expect(second.requests - first.requests).toBeGreaterThanOrEqual(2);
      expect(second.accepts).toBeGreaterThan(first.accepts);
      expect(second.handled).toBe(second.accepts);
    });

    test('never writes a query-string token to the access log, for /ws or any other path', async () => {
      const secret = 'eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl';
      const plain = await get(`/orders?access_token=${secret}&x=1`);
      const socket = net.connect(nginxPort, '127.0.0.1');
      let upgradeRequestId: string | undefined;
      try {
        const head = await new Promise<string>((resolve, reject) => {
          let received = '';
          socket.on('data', (chunk: Buffer) => {
            received += chunk.toString();
            if (received.includes('\r\n\r\n')) resolve(received);
          });
          socket.once('error', reject);
          socket.write(`GET /ws?access_token=${secret} HTTP/1.1\r\nHost: orders.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
        });
        expect(head.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
        upgradeRequestId = /x-request-id: ([0-9a-f]{32})/i.exec(head)?.[1];
      } finally {
        socket.destroy();
      }
      // A websocket is logged when it closes; wait for both lines, then look at the whole file.
      const ids = [plain.headers['x-request-id'], upgradeRequestId];
      const lines = await eventually(() => {
        const entries = fs
          .readFileSync(path.join(dir, 'access.log'), 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .filter((entry) => ids.includes(entry.request_id as string));
        return entries.length === 2 ? entries : undefined;
      });

      expect(lines?.map((entry) => entry.uri).sort()).toEqual(['/orders', '/ws']);
      expect(fs.readFileSync(path.join(dir, 'access.log'), 'utf8')).not.toContain(secret);
    });

    test('the token check can fail: the same request through a config logging $request_uri leaks the token', async () => {
      const leakyDir = makeTempDir();
      const identity = unprivilegedIdentity();
      if (identity) fs.chownSync(leakyDir, identity.uid, identity.gid);
      const port = await freePort();
      const file = writeStaticConfig(leakyDir, {
        listenPort: port,
        statusListenPort: await freePort(),
        listenAddress: '127.0.0.1',
        workerProcesses: 1,
        apiServers: [{ host: '127.0.0.1', port: apiA.port }],
      });
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"uri":"$uri"', '"uri":"$request_uri"'));
      const leaky = await startNginx({ prefixDir: leakyDir, configFile: file, port, errorLogFile: path.join(leakyDir, 'error.log') });
      try {
        const response = await get('/orders?access_token=leaked-token-123', {}, port);
        const requestId = response.headers['x-request-id'];
        const logged = await eventually(() => fs.readFileSync(path.join(leakyDir, 'access.log'), 'utf8').split('\n').find((line) => line.includes(String(requestId))));
        expect(logged).toContain('leaked-token-123');
      } finally {
        await leaky.stop();
      }
    });

    test('upgrades /ws to the websocket upstream and relays bytes both ways', async () => {
      const socket = net.connect(nginxPort, '127.0.0.1');
      try {
        let received = Buffer.alloc(0);
        const waitFor = (predicate: (text: string) => boolean) =>
          new Promise<string>((resolve, reject) => {
            const check = () => {
              if (predicate(received.toString())) {
                socket.off('data', onData);
                resolve(received.toString());
              }
            };
            const onData = (chunk: Buffer) => {
              received = Buffer.concat([received, chunk]);
              check();
            };
            socket.on('data', onData);
            socket.once('error', reject);
            check();
          });

        socket.write('GET /ws?table=7 HTTP/1.1\r\nHost: orders.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
        const head = await waitFor((text) => text.includes('\r\n\r\n'));
        expect(head.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');

        received = Buffer.alloc(0);
        socket.write('order 42 ready');
        expect(await waitFor((text) => text === 'order 42 ready')).toBe('order 42 ready');

        const upgrade = upgrades.at(-1)!;
        expect(upgrade.upgrade).toBe('websocket');
        expect(upgrade.connection).toBe('upgrade');
        expect(upgrade['x-forwarded-for']).toBe('127.0.0.1');
        expect(upgrade['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
      } finally {
        socket.destroy();
      }
    });
  });

  describe('graceful stop (SIGQUIT, the stop signal of the nginx image)', () => {
    let wsServer: http.Server;
    let wsPort: number;
    const upgradedSockets = new Set<net.Socket>();
    const clients = new Set<net.Socket>();
    const started: RunningNginx[] = [];

    beforeAll(async () => {
      findNginxBinary();
      wsServer = http.createServer((_request, response) => {
        response.statusCode = 426;
        response.end();
      });
      // Accepts the upgrade and then stays silent: an idle websocket, as a quiet table's tablet holds.
      wsServer.on('upgrade', (_request: http.IncomingMessage, socket: net.Socket) => {
        upgradedSockets.add(socket);
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      });
      await new Promise<void>((resolve) => wsServer.listen(0, '127.0.0.1', resolve));
      wsPort = (wsServer.address() as net.AddressInfo).port;
    });

    afterAll(async () => {
      for (const nginx of started) await nginx.stop();
      for (const socket of [...clients, ...upgradedSockets]) socket.destroy();
      wsServer.closeAllConnections();
      await new Promise((resolve) => wsServer.close(resolve));
    });

    /** A running nginx with one websocket open through it, and a promise of that socket's close. */
    async function nginxHoldingAWebsocket(workerShutdownTimeoutSeconds: number) {
      const dir = makeTempDir();
      const identity = unprivilegedIdentity();
      if (identity) fs.chownSync(dir, identity.uid, identity.gid);
      const port = await freePort();
      const configFile = writeStaticConfig(dir, {
        listenPort: port,
        statusListenPort: await freePort(),
        listenAddress: '127.0.0.1',
        workerProcesses: 1,
        workerShutdownTimeoutSeconds,
        apiServers: [{ host: '127.0.0.1', port: wsPort }],
        wsServers: [{ host: '127.0.0.1', port: wsPort }],
      });
      const nginx = await startNginx({ prefixDir: dir, configFile, port, errorLogFile: path.join(dir, 'error.log') });
      started.push(nginx);

      const client = net.connect(port, '127.0.0.1');
      clients.add(client);
      client.on('error', () => undefined);
      const closed = new Promise<number>((resolve) => client.once('close', () => resolve(Date.now())));
      const switched = new Promise<string>((resolve) => client.once('data', (chunk: Buffer) => resolve(chunk.toString())));
      client.write('GET /ws HTTP/1.1\r\nHost: orders.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      expect((await switched).split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
      return { nginx, closed };
    }

    async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
      const deadline = Date.now() + timeoutMs;
      while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
      return condition();
    }

    test('nginx closes a websocket still open after worker_shutdown_timeout and exits', async () => {
      const { nginx, closed } = await nginxHoldingAWebsocket(1);
      const pids = nginx.processIds();
      const signalledAt = Date.now();
      process.kill(nginx.pid, 'SIGQUIT');

      const closedAt = await closed;
      expect(await waitUntil(() => !pids.some(isAlive), 5_000)).toBe(true);
      // Graceful first: the connection lived on for the timeout, then nginx itself ended it.
      expect(closedAt - signalledAt).toBeGreaterThanOrEqual(900);
      expect(closedAt - signalledAt).toBeLessThan(4_000);
    });

    test('an open websocket keeps a stopping nginx alive until the timeout (the check can fail)', async () => {
      const { nginx, closed } = await nginxHoldingAWebsocket(60);
      let closedEarly = false;
      void closed.then(() => (closedEarly = true));
      process.kill(nginx.pid, 'SIGQUIT');

      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(isAlive(nginx.pid)).toBe(true);
      expect(closedEarly).toBe(false);
    });
  });
});
