/**
 * The local platform's nginx.conf, from the one renderer (`nginx/nginx-config.ts`) in static mode,
 * with the settings the app stack's NginxGateway passes in Kubernetes mode. What may differ between
 * the two files is checked by tests/local/nginx-contract.test.ts: the upstream server lines, and
 * where this nginx listens and writes (it shares the machine with other runs). On top, between
 * marker lines, the web client's locations: in a location CloudFront serves it, locally this nginx
 * does, on the api's origin (tools/local/local-web.ts).
 */
import * as path from 'node:path';
import { renderNginxConfig, type NginxStaticSpec } from '../../nginx/nginx-config';
import { NGINX_DEFAULT_RESOURCES } from '../../stacks/infra/constructs/nginx-gateway';
import { DEFAULT_WS_HEARTBEAT_INTERVAL_MS } from '../../contract/constants';
import { withLocalWebLocations, type LocalWebInput } from './local-web';

/**
 * NginxGateway's default worker_shutdown_timeout: termination grace 60 s - preStop 15 s - 5 s.
 * Not exported by the construct; the contract test fails if the two drift apart.
 */
export const GATEWAY_WORKER_SHUTDOWN_TIMEOUT_SECONDS = 40;

export interface LocalNginxInput {
  readonly apiPorts: readonly number[];
  readonly wsPorts: readonly number[];
  readonly listenPort: number;
  /** The loopback-only stub_status port (fixed at 8081 in the pod; free here, runs share the machine). */
  readonly statusListenPort: number;
  /** nginx's prefix directory: pid, logs and temp files go below it. */
  readonly prefixDir: string;
  /** @default DEFAULT_WS_HEARTBEAT_INTERVAL_MS (what the app stack passes) */
  readonly websocketHeartbeatIntervalMs?: number;
  /** Serve the web client too. @default - the api and websocket only */
  readonly web?: LocalWebInput;
}

export function localNginxSpec(input: LocalNginxInput): NginxStaticSpec {
  return {
    mode: 'static',
    apiServers: input.apiPorts.map((port) => ({ host: '127.0.0.1', port })),
    wsServers: input.wsPorts.map((port) => ({ host: '127.0.0.1', port })),
    websocketHeartbeatIntervalMs: input.websocketHeartbeatIntervalMs ?? DEFAULT_WS_HEARTBEAT_INTERVAL_MS,
    listenAddress: '127.0.0.1',
    listenPort: input.listenPort,
    statusListenPort: input.statusListenPort,
    // As NginxGateway: one worker per CPU of the container's limit, not per node CPU.
    workerProcesses: Math.max(1, Math.ceil(NGINX_DEFAULT_RESOURCES.cpuLimitMillicores / 1000)),
    workerShutdownTimeoutSeconds: GATEWAY_WORKER_SHUTDOWN_TIMEOUT_SECONDS,
    // As in production, where TLS ends at the NLB: the app sees the scheme its clients use there.
    forwardedProto: 'https',
    accessLogPath: path.join(input.prefixDir, 'access.log'),
    errorLogPath: path.join(input.prefixDir, 'error.log'),
    pidFile: path.join(input.prefixDir, 'nginx.pid'),
    tempDirectory: input.prefixDir,
  };
}

export function renderLocalNginxConfig(input: LocalNginxInput): string {
  const config = renderNginxConfig(localNginxSpec(input));
  return input.web ? withLocalWebLocations(config, input.web) : config;
}
