import { isIP, isIPv4 } from 'node:net';

/**
 * Open-source nginx accepts `resolve` on upstream `server` lines from 1.27.3 on (before that it
 * was NGINX Plus only). Kubernetes mode depends on it, so the image below must not go older.
 */
export const NGINX_MIN_VERSION_FOR_RESOLVE = '1.27.3';

/**
 * Pinned image for the Kubernetes nginx container: stable 1.28 (>= the version above) built to
 * run as a non-root user, listening on an unprivileged port, writing only below /tmp. From NGINX's
 * Amazon ECR Public repository (the same image as Docker Hub's `nginxinc/nginx-unprivileged`), so
 * the cluster pulls it through the region's ECR pull-through cache (`cachedImage`).
 */
export const NGINX_IMAGE = 'public.ecr.aws/nginx/nginx-unprivileged:1.28.0-alpine';

/** The user (and group) id the unprivileged image runs as; use it for `runAsUser`/`fsGroup`. */
export const NGINX_CONTAINER_UID = 101;

/** Port the unprivileged image is built around; non-root processes cannot bind below 1024. */
export const NGINX_CONTAINER_PORT = 8080;

/**
 * Loopback-only port of nginx's own status server (`stub_status` at NGINX_STATUS_PATH). Only a
 * process in the same network namespace (the exporter sidecar) can reach it; nothing else listens
 * there, so the public server never answers status requests.
 */
export const NGINX_STATUS_PORT = 8081;
export const NGINX_STATUS_PATH = '/nginx-status';

/** The shared-memory zone counting `/ws` connections per client address (`limit_conn`). */
export const WEBSOCKET_ADDRESS_LIMIT_ZONE = 'ws_per_address';

/** What nginx tells a client refused by the per-address websocket limit to wait, in seconds. */
export const WEBSOCKET_ADDRESS_LIMIT_RETRY_AFTER_SECONDS = 30;

/** Ceiling for `worker_rlimit_nofile` (Linux's default `nr_open`); a container cannot raise its hard limit past it. */
export const MAX_WORKER_RLIMIT_NOFILE = 1048576;

/** nginx refuses a `limit_conn` number of 65536 or more ("connection limit must be less 65536"). */
export const MAX_LIMIT_CONN = 65535;

/** One upstream process reachable at a fixed address (static mode). */
export interface UpstreamServer {
  /** Hostname or IP address; loopback for the local platform. */
  readonly host: string;
  readonly port: number;
  /**
   * Relative share of new connections.
   * @default 1
   */
  readonly weight?: number;
}

/** A headless Service whose DNS name returns one address per ready pod. */
export interface KubernetesServiceTarget {
  /** Cluster DNS name, e.g. `api.<namespace>.svc.cluster.local`. */
  readonly dnsName: string;
  readonly port: number;
}

/** Allowed values of `forwardedProto`: the connection's own scheme, or https fixed. */
export const FORWARDED_PROTO_VALUES = ['$scheme', 'https'] as const;
export type ForwardedProto = (typeof FORWARDED_PROTO_VALUES)[number];

/** Everything both modes render identically. */
export interface NginxCommonSpec {
  /**
   * The ws service's ping interval (`WS_HEARTBEAT_INTERVAL_MS` of the app); the `/ws` proxy
   * timeouts are derived from it, see `websocketProxyTimeoutSeconds`.
   */
  readonly websocketHeartbeatIntervalMs: number;
  /** @default NGINX_CONTAINER_PORT (8080) */
  readonly listenPort?: number;
  /**
   * IP address to bind, e.g. `127.0.0.1` for the local platform.
   * @default - every IPv4 address
   */
  readonly listenAddress?: string;
  /** @default 'auto' (one per CPU) */
  readonly workerProcesses?: number | 'auto';
  /**
   * How long a gracefully stopping nginx (SIGQUIT) waits for open connections before it closes
   * them. Without it, one open websocket keeps a stopping worker alive until something kills it;
   * with it, nginx ends the connections itself (clients reconnect to another instance) and exits.
   * In Kubernetes it must end before the pod's grace period does (see `nginx-gateway.ts`).
   * @default 20
   */
  readonly workerShutdownTimeoutSeconds?: number;
  /**
   * What nginx sends upstream as `X-Forwarded-Proto`. `$scheme` is the scheme of the connection
   * nginx itself accepted; behind a load balancer that terminates TLS that is always `http`, so
   * such a deployment passes `https` (the only scheme its clients can use).
   * @default '$scheme'
   */
  readonly forwardedProto?: ForwardedProto;
  /**
   * Connections per worker, client and upstream sides together (a websocket costs two). The
   * Kubernetes gateway sizes it from the ws HPA bounds (`nginx-gateway.ts`).
   * @default 4096
   */
  readonly workerConnections?: number;
  /**
   * Open files per worker (`worker_rlimit_nofile`): every connection is a descriptor, so at least
   * workerConnections. nginx raises its soft limit to this at start; it cannot go past the
   * container's hard limit (nginx then logs an alert and keeps the lower one).
   * @default - workerConnections + 1024 (logs, listeners, the resolver socket, and slack)
   */
  readonly workerRlimitNofile?: number;
  /**
   * Concurrent `/ws` connections one client address may hold on this nginx (`limit_conn`, keyed on
   * the client address nginx sees: the real one, the NLB preserves it). A restaurant's devices
   * share one public address behind its Wi-Fi, so this must hold a whole location's devices; the
   * gateway derives it from the location's seats. Over it, the upgrade is answered 429 with a JSON
   * body and Retry-After.
   * @default 100
   */
  readonly websocketConnectionsPerAddress?: number;
  /**
   * Requests per client connection before nginx closes it; raised from nginx's 1000 so load
   * generators and busy tablets are not forced to reconnect.
   * @default 10000
   */
  readonly clientKeepaliveRequests?: number;
  /**
   * Idle timeout of client connections. In front of nginx is an AWS Network Load Balancer: a
   * layer-4 balancer that keeps no connection pool of its own, but forgets a flow that stays idle
   * for 350 s (fixed for TLS listeners) and then answers its next packet with a reset. Staying well
   * below that, nginx ends idle keep-alive connections itself with an orderly close that the client
   * sees, instead of the client sending its next request into a flow the NLB has dropped.
   * @default 75
   */
  readonly clientKeepaliveTimeoutSeconds?: number;
  /**
   * Largest accepted request body, in nginx size syntax.
   * @default '10m' (menu image uploads)
   */
  readonly clientMaxBodySize?: string;
  /** @default 5 */
  readonly apiConnectTimeoutSeconds?: number;
  /**
   * How long nginx waits between two reads from (or writes to) the api before giving up.
   * @default 30
   */
  readonly apiReadTimeoutSeconds?: number;
  /**
   * Idle connections to the api kept open per worker.
   * @default 32
   */
  readonly upstreamKeepaliveConnections?: number;
  /** @default 10000 */
  readonly upstreamKeepaliveRequests?: number;
  /**
   * Idle timeout of pooled api connections. Must stay below the api server's keep-alive timeout
   * (Node's default is 5 s): if Node closes first, a request nginx sends on the closing socket
   * fails, and for a POST nginx may not retry it.
   * @default 4
   */
  readonly upstreamKeepaliveTimeoutSeconds?: number;
  /** @default 1024 */
  readonly gzipMinLengthBytes?: number;
  /**
   * Requests per second one client address may send through this nginx (`limit_req`, keyed on the
   * address nginx accepted the connection from: the client's own, since the NLB preserves it).
   * Checked before anything reaches the api, so a flood without a token, with forged tokens or to
   * unknown routes costs the api nothing; the api limits per address location-wide as well
   * (app/src/http/rate-limit.ts). Per nginx pod: the NLB spreads one address's connections over
   * every pod, so a location admits about this times its nginx replicas.
   * @default 100
   */
  readonly clientRequestsPerSecond?: number;
  /**
   * Requests above the rate one address may send at once before it meets 429 (`burst`, `nodelay`:
   * served at once, not queued). A guest opening the menu sends a handful; a restaurant's devices
   * behind one Wi-Fi address reconnecting after a deploy send more.
   * @default 200
   */
  readonly clientRequestBurst?: number;
  /**
   * Port of the status server, which listens on 127.0.0.1 only and serves `stub_status` at
   * NGINX_STATUS_PATH (read by the exporter sidecar). Must differ from listenPort.
   * @default NGINX_STATUS_PORT (8081)
   */
  readonly statusListenPort?: number;
  /**
   * Absolute path of the JSON access log.
   * @default '/dev/stdout'
   */
  readonly accessLogPath?: string;
  /**
   * Absolute path of the error log, or `stderr`.
   * @default 'stderr'
   */
  readonly errorLogPath?: string;
  /** @default '/tmp/nginx.pid' */
  readonly pidFile?: string;
  /**
   * Existing writable directory for request/response buffers spilled to disk.
   * @default '/tmp'
   */
  readonly tempDirectory?: string;
}

/** Upstreams are headless Services re-resolved at run time, so new pods join as the HPA scales. */
export interface NginxKubernetesSpec extends NginxCommonSpec {
  readonly mode: 'kubernetes';
  readonly apiService: KubernetesServiceTarget;
  readonly wsService: KubernetesServiceTarget;
  /**
   * IP address of the cluster DNS Service (`kubectl -n kube-system get svc kube-dns`; on EKS
   * usually 10.100.0.10 or 172.20.0.10). A name is not accepted: nginx would need DNS to find DNS.
   */
  readonly resolver: string;
  /**
   * How long resolved pod addresses are trusted, overriding the record TTL.
   * @default 10
   */
  readonly resolverValidSeconds?: number;
}

/** Upstreams are fixed addresses, e.g. loopback ports of the local platform. */
export interface NginxStaticSpec extends NginxCommonSpec {
  readonly mode: 'static';
  readonly apiServers: readonly UpstreamServer[];
  readonly wsServers: readonly UpstreamServer[];
}

export type NginxConfigSpec = NginxKubernetesSpec | NginxStaticSpec;

/**
 * Seconds nginx lets a proxied websocket stay silent before closing it. The ws service pings
 * every heartbeat interval, so an open connection is never silent that long; three intervals
 * tolerate two lost pings, and the 10 s floor covers short intervals plus a GC pause.
 */
export function websocketProxyTimeoutSeconds(heartbeatIntervalMs: number): number {
  requirePositiveInteger('websocketHeartbeatIntervalMs', heartbeatIntervalMs);
  const intervalSeconds = Math.ceil(heartbeatIntervalMs / 1000);
  return Math.max(Math.ceil((3 * heartbeatIntervalMs) / 1000), intervalSeconds + 10);
}

/** Renders a complete, self-contained nginx.conf (no `include`s) for `nginx -c`. */
export function renderNginxConfig(spec: NginxConfigSpec): string {
  const common = resolveCommon(spec);
  const upstreams = spec.mode === 'kubernetes' ? kubernetesUpstreams(spec) : staticUpstreams(spec);
  return renderDocument(common, upstreams);
}

type ResolvedCommon = Required<Omit<NginxCommonSpec, 'listenAddress'>> & {
  readonly listenAddress: string | undefined;
  readonly websocketTimeoutSeconds: number;
};

/** The only part of the file that depends on the mode. */
interface ModeUpstreams {
  readonly resolverLines: readonly string[];
  readonly apiServerLines: readonly string[];
  readonly wsServerLines: readonly string[];
}

// A peer that fails 3 times is skipped for 30 s, so a crashed pod stops getting requests
// before its readiness probe takes it out of the Service.
const PEER_FAILURE_POLICY = 'max_fails=3 fail_timeout=30s';

function kubernetesUpstreams(spec: NginxKubernetesSpec): ModeUpstreams {
  const resolverValidSeconds = spec.resolverValidSeconds ?? 10;
  requireDnsName('apiService.dnsName', spec.apiService?.dnsName);
  requirePort('apiService.port', spec.apiService?.port);
  requireDnsName('wsService.dnsName', spec.wsService?.dnsName);
  requirePort('wsService.port', spec.wsService?.port);
  if (typeof spec.resolver !== 'string' || isIP(spec.resolver) === 0) {
    fail('resolver', 'be the IP address of the cluster DNS Service', spec.resolver);
  }
  requirePositiveInteger('resolverValidSeconds', resolverValidSeconds);

  const service = (target: KubernetesServiceTarget) =>
    `server ${target.dnsName}:${target.port} resolve ${PEER_FAILURE_POLICY};`;
  return {
    // ipv6=off: pods have IPv4 addresses here, and AAAA answers would only add lookups.
    resolverLines: [`resolver ${bracketIPv6(spec.resolver)} valid=${resolverValidSeconds}s ipv6=off;`],
    apiServerLines: [service(spec.apiService)],
    wsServerLines: [service(spec.wsService)],
  };
}

function staticUpstreams(spec: NginxStaticSpec): ModeUpstreams {
  const lines = (field: 'apiServers' | 'wsServers') => {
    const servers = spec[field];
    if (!Array.isArray(servers) || servers.length === 0) {
      fail(field, 'list at least 1 server', Array.isArray(servers) ? servers.length : servers);
    }
    const seen = new Set<string>();
    return servers.map((server, index) => {
      const at = `${field}[${index}]`;
      requireHost(`${at}.host`, server.host);
      requirePort(`${at}.port`, server.port);
      if (server.weight !== undefined) requirePositiveInteger(`${at}.weight`, server.weight);
      const address = `${bracketIPv6(server.host)}:${server.port}`;
      if (seen.has(address)) fail(at, 'not repeat an earlier server', address);
      seen.add(address);
      const weight = server.weight === undefined ? '' : ` weight=${server.weight}`;
      return `server ${address}${weight} ${PEER_FAILURE_POLICY};`;
    });
  };
  return { resolverLines: [], apiServerLines: lines('apiServers'), wsServerLines: lines('wsServers') };
}

function resolveCommon(spec: NginxCommonSpec & { readonly mode: string }): ResolvedCommon {
  if (spec.mode !== 'kubernetes' && spec.mode !== 'static') {
    fail('mode', 'be "kubernetes" or "static"', spec.mode);
  }
  const common: ResolvedCommon = {
    websocketHeartbeatIntervalMs: spec.websocketHeartbeatIntervalMs,
    websocketTimeoutSeconds: websocketProxyTimeoutSeconds(spec.websocketHeartbeatIntervalMs),
    listenPort: spec.listenPort ?? NGINX_CONTAINER_PORT,
    listenAddress: spec.listenAddress,
    workerProcesses: spec.workerProcesses ?? 'auto',
    workerConnections: spec.workerConnections ?? 4096,
    workerRlimitNofile: spec.workerRlimitNofile ?? (spec.workerConnections ?? 4096) + 1024,
    websocketConnectionsPerAddress: spec.websocketConnectionsPerAddress ?? 100,
    workerShutdownTimeoutSeconds: spec.workerShutdownTimeoutSeconds ?? 20,
    forwardedProto: spec.forwardedProto ?? '$scheme',
    clientKeepaliveRequests: spec.clientKeepaliveRequests ?? 10000,
    clientKeepaliveTimeoutSeconds: spec.clientKeepaliveTimeoutSeconds ?? 75,
    clientMaxBodySize: spec.clientMaxBodySize ?? '10m',
    apiConnectTimeoutSeconds: spec.apiConnectTimeoutSeconds ?? 5,
    apiReadTimeoutSeconds: spec.apiReadTimeoutSeconds ?? 30,
    upstreamKeepaliveConnections: spec.upstreamKeepaliveConnections ?? 32,
    upstreamKeepaliveRequests: spec.upstreamKeepaliveRequests ?? 10000,
    upstreamKeepaliveTimeoutSeconds: spec.upstreamKeepaliveTimeoutSeconds ?? 4,
    gzipMinLengthBytes: spec.gzipMinLengthBytes ?? 1024,
    clientRequestsPerSecond: spec.clientRequestsPerSecond ?? 100,
    clientRequestBurst: spec.clientRequestBurst ?? 200,
    statusListenPort: spec.statusListenPort ?? NGINX_STATUS_PORT,
    accessLogPath: spec.accessLogPath ?? '/dev/stdout',
    errorLogPath: spec.errorLogPath ?? 'stderr',
    pidFile: spec.pidFile ?? '/tmp/nginx.pid',
    tempDirectory: spec.tempDirectory ?? '/tmp',
  };

  requirePort('listenPort', common.listenPort);
  if (common.listenAddress !== undefined && isIP(common.listenAddress) === 0) {
    fail('listenAddress', 'be an IP address', common.listenAddress);
  }
  if (common.workerProcesses !== 'auto') {
    requirePositiveInteger('workerProcesses', common.workerProcesses, 'be "auto" or a positive integer');
  }
  for (const field of [
    'workerConnections',
    'workerRlimitNofile',
    'websocketConnectionsPerAddress',
    'workerShutdownTimeoutSeconds',
    'clientKeepaliveRequests',
    'clientKeepaliveTimeoutSeconds',
    'apiConnectTimeoutSeconds',
    'apiReadTimeoutSeconds',
    'upstreamKeepaliveConnections',
    'upstreamKeepaliveRequests',
    'upstreamKeepaliveTimeoutSeconds',
    'gzipMinLengthBytes',
    'clientRequestsPerSecond',
    'clientRequestBurst',
  ] as const) {
    requirePositiveInteger(field, common[field]);
  }
  if (common.websocketConnectionsPerAddress > MAX_LIMIT_CONN) {
    fail('websocketConnectionsPerAddress', `be a positive integer up to ${MAX_LIMIT_CONN}`, common.websocketConnectionsPerAddress);
  }
  if (common.workerRlimitNofile < common.workerConnections || common.workerRlimitNofile > MAX_WORKER_RLIMIT_NOFILE) {
    fail('workerRlimitNofile', `be at least workerConnections (${common.workerConnections}) and at most ${MAX_WORKER_RLIMIT_NOFILE}`, common.workerRlimitNofile);
  }
  if (!FORWARDED_PROTO_VALUES.includes(common.forwardedProto)) {
    fail('forwardedProto', `be ${FORWARDED_PROTO_VALUES.map((v) => JSON.stringify(v)).join(' or ')}`, common.forwardedProto);
  }
  if (typeof common.clientMaxBodySize !== 'string' || !/^\d+[kKmMgG]?$/.test(common.clientMaxBodySize)) {
    fail('clientMaxBodySize', 'be an nginx size such as "10m", "512k" or "1048576"', common.clientMaxBodySize);
  }
  requirePort('statusListenPort', common.statusListenPort);
  if (common.statusListenPort === common.listenPort) {
    fail('statusListenPort', `differ from listenPort (${common.listenPort})`, common.statusListenPort);
  }
  requireAbsolutePath('accessLogPath', common.accessLogPath);
  if (common.errorLogPath !== 'stderr') requireAbsolutePath('errorLogPath', common.errorLogPath, 'or "stderr"');
  requireAbsolutePath('pidFile', common.pidFile);
  requireAbsolutePath('tempDirectory', common.tempDirectory);
  return common;
}

function renderDocument(c: ResolvedCommon, upstreams: ModeUpstreams): string {
  const temp = (name: string) => `${c.tempDirectory.replace(/\/+$/, '')}/${name}`;
  const listen = c.listenAddress === undefined ? `${c.listenPort}` : `${bracketIPv6(c.listenAddress)}:${c.listenPort}`;
  const forwardedHeaders = [
    'proxy_set_header Host $host;',
    'proxy_set_header X-Real-IP $remote_addr;',
    // nginx is the first HTTP hop (the NLB forwards TCP and keeps the client's address), so a
    // client-sent X-Forwarded-For is replaced, never extended: the api keys limits on it.
    'proxy_set_header X-Forwarded-For $remote_addr;',
    `proxy_set_header X-Forwarded-Proto ${c.forwardedProto};`,
    'proxy_set_header X-Request-Id $request_id;',
  ];
  const logFields = [
    '"time":"$time_iso8601"',
    '"request_id":"$request_id"',
    '"remote_addr":"$remote_addr"',
    '"method":"$request_method"',
    // `$uri` is the path without the query string: browsers can send websocket credentials only
    // there (`/ws?access_token=...`), and a token must never reach the logs. `$request_uri` and
    // `$request` both carry the query string, so neither appears anywhere in this file.
    '"uri":"$uri"',
    '"status":$status',
    '"bytes_sent":$body_bytes_sent',
    '"request_time":$request_time',
    '"upstream_addr":"$upstream_addr"',
    '"upstream_response_time":"$upstream_response_time"',
    '"upstream_status":"$upstream_status"',
  ];

  const lines: string[] = [
    '# Rendered by nginx/nginx-config.ts: change the spec, not this file.',
    '# No `user` directive: the container already runs as a non-root user, and every path nginx',
    '# writes (pid, temp files) is configurable so the root filesystem can stay read-only.',
    `worker_processes ${c.workerProcesses};`,
    '# Every connection is a file descriptor: at least worker_connections per worker.',
    `worker_rlimit_nofile ${c.workerRlimitNofile};`,
    `pid ${c.pidFile};`,
    `error_log ${c.errorLogPath} warn;`,
    '# A graceful stop (SIGQUIT) closes connections still open after this, websockets included.',
    `worker_shutdown_timeout ${c.workerShutdownTimeoutSeconds}s;`,
    '',
    'events {',
    `    worker_connections ${c.workerConnections};`,
    '}',
    '',
    'http {',
    '    server_tokens off;',
    '    # nginx serves no files, so no mime.types: the file stays self-contained.',
    '    default_type application/octet-stream;',
    '',
    `    client_body_temp_path ${temp('client_temp')};`,
    `    proxy_temp_path ${temp('proxy_temp')};`,
    '    # Unused, but nginx creates these at startup and would otherwise try its compiled-in paths.',
    `    fastcgi_temp_path ${temp('fastcgi_temp')};`,
    `    uwsgi_temp_path ${temp('uwsgi_temp')};`,
    `    scgi_temp_path ${temp('scgi_temp')};`,
    '',
    `    log_format json escape=json '{${logFields.join(',')}}';`,
    `    access_log ${c.accessLogPath} json;`,
    '',
    `    keepalive_requests ${c.clientKeepaliveRequests};`,
    `    keepalive_timeout ${c.clientKeepaliveTimeoutSeconds}s;`,
    `    client_max_body_size ${c.clientMaxBodySize};`,
    '',
    '    gzip on;',
    `    gzip_min_length ${c.gzipMinLengthBytes};`,
    '    # Responses are proxied; without `any` nginx would skip everything that passed a proxy.',
    '    gzip_proxied any;',
    '    gzip_vary on;',
    '    gzip_types application/json application/javascript text/javascript text/css image/svg+xml;',
    '',
    '    map $http_upgrade $connection_upgrade {',
    '        default upgrade;',
    "        '' close;",
    '    }',
    '',
    '    # /ws connections per client address. A state takes 64 bytes, so 4m holds ~64,000 addresses;',
    '    # a full zone would refuse every new address, so it is far above any location\'s devices.',
    `    limit_conn_zone $binary_remote_addr zone=${WEBSOCKET_ADDRESS_LIMIT_ZONE}:4m;`,
    '',
    '    # Requests per client address (the real one: the NLB preserves it). 10m holds ~160,000',
    '    # addresses; a full zone refuses new ones, so it is far above any location\'s clients.',
    `    limit_req_zone $binary_remote_addr zone=${REQUEST_RATE_ZONE}:10m rate=${c.clientRequestsPerSecond}r/s;`,
    '',
    ...indent(1, upstreams.resolverLines),
    '    # The zone shares peer state (active connections, failures) across workers, so least_conn',
    '    # balances on the real totals; `resolve` in Kubernetes mode requires it as well.',
    '    upstream api {',
    '        zone api 64k;',
    '        least_conn;',
    ...indent(2, upstreams.apiServerLines),
    // keepalive must follow the balancing method, which it wraps.
    `        keepalive ${c.upstreamKeepaliveConnections};`,
    `        keepalive_requests ${c.upstreamKeepaliveRequests};`,
    `        keepalive_timeout ${c.upstreamKeepaliveTimeoutSeconds}s;`,
    '    }',
    '',
    '    # ip_hash only keeps a reconnecting client on the same pod (cheaper replay); correctness',
    '    # never depends on it, since every ws pod reads the same Redis Streams.',
    '    upstream ws {',
    '        zone ws 64k;',
    '        ip_hash;',
    ...indent(2, upstreams.wsServerLines),
    '    }',
    '',
    '    server {',
    `        listen ${listen};`,
    '        server_name _;',
    '',
    '        # The edge headers, on every response (nginx\'s own errors included). The api sends the',
    '        # request id and nosniff as well: hidden here, so each header arrives exactly once.',
    ...indent(2, EDGE_HEADER_LINES),
    ...indent(2, EDGE_HEADERS.map(([name]) => `proxy_hide_header ${name};`)),
    '',
    '        # Per client address, before anything reaches an upstream. info: below error_log\'s',
    '        # level, because an error_log line carries the query string (a websocket access_token);',
    '        # the access log records every refusal as a 429.',
    `        limit_req zone=${REQUEST_RATE_ZONE} burst=${c.clientRequestBurst} nodelay;`,
    '        limit_req_status 429;',
    '        limit_req_log_level info;',
    '',
    '        # nginx\'s own errors (a malformed request, a body or URI too large, an unknown method,',
    '        # the rate limit, an upstream down) in the API\'s JSON error format, keeping the status.',
    '        # Errors the api answers itself pass through untouched (proxy_intercept_errors is off).',
    '        # URIs, not named locations: a request whose line nginx could not parse has no URI, and',
    '        # nginx cannot redirect it to a named location (it answers 500 instead).',
    ...indent(2, NGINX_ERRORS.map((e) => `error_page ${e.status} ${NGINX_ERRORS_PATH}${e.status};`)),
    '',
    '        location / {',
    '            proxy_pass http://api;',
    '            # HTTP/1.1 without a Connection header lets the upstream keepalive pool reuse sockets.',
    '            proxy_http_version 1.1;',
    '            proxy_set_header Connection "";',
    ...indent(3, forwardedHeaders),
    `            proxy_connect_timeout ${c.apiConnectTimeoutSeconds}s;`,
    `            proxy_send_timeout ${c.apiReadTimeoutSeconds}s;`,
    `            proxy_read_timeout ${c.apiReadTimeoutSeconds}s;`,
    '            # Retries only requests nginx may repeat: `non_idempotent` stays off on purpose, so a',
    '            # POST that reached one pod is never replayed on another. Duplicate orders are',
    '            # prevented by the Idempotency-Key stored with the order, not by the load balancer.',
    '            proxy_next_upstream error timeout;',
    '            proxy_next_upstream_tries 2;',
    '            proxy_buffering on;',
    '            proxy_buffer_size 4k;',
    '            proxy_buffers 8 4k;',
    '            proxy_busy_buffers_size 8k;',
    '        }',
    '',
    '        location /ws {',
    '            # One address may hold this many websockets (a restaurant behind one Wi-Fi address);',
    '            # the ws service caps each token and table on top. info: below error_log\'s level,',
    '            # because an error_log line carries the request line, query string (a browser\'s',
    '            # access_token) included; the access log records each refusal as a 429 at',
    '            # /ws/_too-many-connections.',
    `            limit_conn ${WEBSOCKET_ADDRESS_LIMIT_ZONE} ${c.websocketConnectionsPerAddress};`,
    '            limit_conn_status 429;',
    '            limit_conn_log_level info;',
    '            # A restaurant\'s devices reconnect together when a ws pod restarts: the request-rate',
    '            # burst here (replacing the server\'s limit_req) admits as many upgrades at once as the',
    '            # address may hold sockets; limit_conn above still bounds how many stay open.',
    `            limit_req zone=${REQUEST_RATE_ZONE} burst=${Math.max(c.clientRequestBurst, c.websocketConnectionsPerAddress)} nodelay;`,
    '            # An error_page here replaces the server\'s whole list: repeat it, with 429 answered below.',
    ...indent(3, NGINX_ERRORS.filter((e) => e.status !== 429).map((e) => `error_page ${e.status} ${NGINX_ERRORS_PATH}${e.status};`)),
    '            error_page 429 /ws/_too-many-connections;',
    '            location = /ws/_too-many-connections {',
    '                internal;',
    '                # Refused by the server-wide request rate (limit_req), not by this connection limit.',
    '                if ($limit_conn_status != REJECTED) {',
    `                    rewrite ^ ${NGINX_ERRORS_PATH}429 last;`,
    '                }',
    '                default_type application/json;',
    '                # add_header here replaces the inherited ones: repeat them.',
    ...indent(4, EDGE_HEADER_LINES),
    `                add_header Retry-After ${WEBSOCKET_ADDRESS_LIMIT_RETRY_AFTER_SECONDS} always;`,
    `                return 429 '${apiErrorBody('too_many_connections', 'too many websocket connections from this address: close some, retry later')}\\n';`,
    '            }',
    '            proxy_pass http://ws;',
    '            proxy_http_version 1.1;',
    '            proxy_set_header Upgrade $http_upgrade;',
    '            proxy_set_header Connection $connection_upgrade;',
    ...indent(3, forwardedHeaders),
    `            proxy_connect_timeout ${c.apiConnectTimeoutSeconds}s;`,
    `            # Derived from the ${c.websocketHeartbeatIntervalMs} ms heartbeat: longer than any healthy silence.`,
    `            proxy_read_timeout ${c.websocketTimeoutSeconds}s;`,
    `            proxy_send_timeout ${c.websocketTimeoutSeconds}s;`,
    '            proxy_buffering off;',
    '        }',
    '',
    '        # Liveness of nginx itself: it must not fail when the api is down, or Kubernetes',
    '        # would restart the load balancer for an upstream problem.',
    '        location = /nginx-health {',
    '            access_log off;',
    '            default_type text/plain;',
    '            return 200 "ok\\n";',
    '        }',
    '',
    '        # Probes and metrics are for the kubelet and Prometheus, which reach pods on their',
    '        # internal port; the api\'s public port answers 404 for them too (defence in depth).',
    '        location ~* ^/(healthz|readyz|metrics)(/.*)?$ {',
    '            default_type application/json;',
    `            return 404 '${apiErrorBody('not_found', 'route not found')}\\n';`,
    '        }',
    ...NGINX_ERRORS.flatMap((e) => [
      '',
      `        location = ${NGINX_ERRORS_PATH}${e.status} {`,
      '            internal;',
      '            default_type application/json;',
      // add_header in a location replaces the inherited ones: repeat them with the extra header.
      ...(e.headers ? indent(3, [...EDGE_HEADER_LINES, ...Object.entries(e.headers).map(([name, value]) => `add_header ${name} ${value} always;`)]) : []),
      `            return ${e.sentStatus ?? e.status} '${apiErrorBody(e.code, e.message)}\\n';`,
      '        }',
    ]),
    '    }',
    '',
    '    # Status for the exporter sidecar: loopback only, on a port of its own, so the public',
    '    # server has no status location at all.',
    '    server {',
    `        listen 127.0.0.1:${c.statusListenPort};`,
    '        server_name _;',
    '        access_log off;',
    '',
    `        location = ${NGINX_STATUS_PATH} {`,
    '            stub_status;',
    '            allow 127.0.0.1;',
    '            deny all;',
    '        }',
    '',
    '        location / {',
    '            return 404;',
    '        }',
    '    }',
    '}',
  ];
  return `${lines.join('\n')}\n`;
}

/** Where nginx's own error responses live (internal locations: a client request there is a 404). */
export const NGINX_ERRORS_PATH = '/_nginx-errors/';

/** The request-rate zone (`limit_req`), per client address. */
export const REQUEST_RATE_ZONE = 'requests_per_address';

/** What nginx's own 429 tells a client to wait: the limit refills every second. */
export const REQUEST_RATE_RETRY_AFTER_SECONDS = 1;

/**
 * Headers on every response of the public server. HSTS: clients reach the API over TLS only (the
 * NLB's 443); a year, as browsers' preload rules expect. nosniff: every body is JSON (or an image
 * with its type), never to be guessed.
 */
export const EDGE_HEADERS: readonly (readonly [name: string, value: string])[] = [
  ['X-Request-Id', '$request_id'],
  ['Strict-Transport-Security', '"max-age=31536000; includeSubDomains"'],
  ['X-Content-Type-Options', 'nosniff'],
];
const EDGE_HEADER_LINES = EDGE_HEADERS.map(([name, value]) => `add_header ${name} ${value} always;`);

interface NginxError {
  readonly status: number;
  /** What the client gets, when nginx's internal status differs (494 is sent as 400). */
  readonly sentStatus?: number;
  readonly code: string;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Every status nginx answers by itself on the public server, with the API's error code for it
 * (app/src/errors.ts and app/src/http/error-handler.ts use the same codes where both answer).
 */
export const NGINX_ERRORS: readonly NginxError[] = [
  { status: 400, code: 'bad_request', message: 'malformed request' },
  // Only for nginx's own 404s (its internal error locations); the api's pass through.
  { status: 404, code: 'not_found', message: 'route not found' },
  { status: 405, code: 'method_not_allowed', message: 'method not allowed' },
  { status: 408, code: 'request_timeout', message: 'request not received in time' },
  { status: 411, code: 'length_required', message: 'request body needs a Content-Length' },
  { status: 413, code: 'payload_too_large', message: 'request body is too large' },
  { status: 414, code: 'uri_too_long', message: 'request URI is too long' },
  { status: 429, code: 'rate_limited', message: 'too many requests', headers: { 'Retry-After': String(REQUEST_RATE_RETRY_AFTER_SECONDS) } },
  { status: 494, sentStatus: 400, code: 'header_too_large', message: 'request headers are too large' },
  { status: 500, code: 'internal', message: 'internal error' },
  { status: 501, code: 'not_implemented', message: 'request uses a feature nginx does not implement (Transfer-Encoding)' },
  { status: 502, code: 'unavailable', message: 'service unavailable, retry later' },
  { status: 503, code: 'unavailable', message: 'service unavailable, retry later' },
  { status: 504, code: 'unavailable', message: 'service did not answer in time, retry later' },
  { status: 505, code: 'http_version_not_supported', message: 'HTTP version not supported' },
];

/** `{"error":{"code","message","requestId"}}` for a `return` directive (single-quoted there). */
function apiErrorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message, requestId: '$request_id' } });
}

function indent(level: number, lines: readonly string[]): string[] {
  return lines.map((line) => `${'    '.repeat(level)}${line}`);
}

function bracketIPv6(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

function fail(field: string, requirement: string, value: unknown): never {
  throw new Error(`nginx: ${field} must ${requirement}, got ${formatValue(value)}`);
}

function formatValue(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function requirePositiveInteger(field: string, value: unknown, requirement = 'be a positive integer'): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(field, requirement, value);
}

function requirePort(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    fail(field, 'be an integer port in 1..65535', value);
  }
}

const DNS_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const DNS_NAME = new RegExp(`^(?=.{1,253}$)${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);

function requireDnsName(field: string, value: unknown): void {
  if (typeof value !== 'string' || !DNS_NAME.test(value) || isIPv4(value)) {
    fail(field, 'be a DNS name such as "api.<namespace>.svc.cluster.local"', value);
  }
}

function requireHost(field: string, value: unknown): void {
  if (typeof value !== 'string' || (isIP(value) === 0 && !DNS_NAME.test(value))) {
    fail(field, 'be a hostname or IP address', value);
  }
}

function requireAbsolutePath(field: string, value: unknown, alternative = ''): void {
  // Also keeps the value from breaking out of its directive (no spaces, quotes, `;`, braces).
  if (typeof value !== 'string' || !/^\/[A-Za-z0-9._\/-]*$/.test(value)) {
    fail(field, `be an absolute path of letters, digits and ._/-${alternative ? ` ${alternative}` : ''}`, value);
  }
}
