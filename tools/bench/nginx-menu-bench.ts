/**
 * The nginx phases of `npm run bench:api`: the cached menu through nginx against express
 * hello-world through the same nginx, so the ratio includes what the edge costs per request.
 *
 * "The same nginx": one nginx.conf rendered by nginx/nginx-config.ts as the local platform renders
 * it (tools/local/local-nginx.ts, the app stack's settings but the upstream lines, one worker as the
 * gateway's one-CPU limit gives), started twice with only the upstream port differing: in front of
 * the bench's api bundle, then in front of its hello-world. One change for the bench: the
 * per-address request limit (`limit_req`, 100/s by default) is lifted, because every request of
 * the load generator comes from 127.0.0.1.
 *
 * Both runs send what a browser sends, `Accept-Encoding: gzip, deflate, br`: the menu comes back
 * in the coding the api prepared once per menu version (app/src/menu/menu-representation.ts) and
 * nginx passes it on without compressing anything per request; hello-world's 17 bytes are under
 * nginx's gzip_min_length.
 */
import type autocannon from 'autocannon';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderNginxConfig } from '../../nginx/nginx-config';
import { localNginxSpec } from '../local/local-nginx';
import { freePort } from '../services/processes';
import { startNginx, unprivilegedIdentity, type RunningNginx } from '../services/nginx-process';

/** What browsers send; the menu's codings are picked from it. */
export const BROWSER_ACCEPT_ENCODING = 'gzip, deflate, br';

export interface NginxBenchInput<P> {
  readonly apiPort: number;
  readonly helloPort: number;
  /** `/v1/restaurants/<id>/menu` */
  readonly menuPath: string;
  /** A bearer header value per request (tokens of many subjects, as the direct menu run uses). */
  readonly authorization: () => string;
  /** The bench's warm-up plus measured run of one phase. */
  readonly measure: (name: string, options: autocannon.Options) => Promise<P>;
  /** Names nginx's master process (its workers follow) in the bench's CPU table. */
  readonly nameProcess: (pid: number, group: string) => void;
}

export interface NginxBenchResult<P> {
  readonly hello: P;
  readonly menu: P;
  /** Bytes of the menu body through nginx, and its Content-Encoding. */
  readonly menuBody: { readonly bytes: number; readonly contentEncoding: string };
}

/** An nginx as the local platform renders it, in front of one upstream port. */
async function nginxInFront(upstreamPort: number): Promise<{ url: string; nginx: RunningNginx; stop(): Promise<void> }> {
  const prefixDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-nginx-'));
  // nginx runs as nobody when we are root: its prefix (temp files, logs, pid) must be its own.
  const identity = unprivilegedIdentity();
  if (identity) fs.chownSync(prefixDir, identity.uid, identity.gid);
  const [listenPort, statusListenPort, unusedWsPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const spec = {
    ...localNginxSpec({ apiPorts: [upstreamPort], wsPorts: [unusedWsPort], listenPort, statusListenPort, prefixDir }),
    // One load generator address: the per-address limit would answer most of the run with 429.
    clientRequestsPerSecond: 10_000_000,
    clientRequestBurst: 10_000_000,
  };
  const configFile = path.join(prefixDir, 'nginx.conf');
  fs.writeFileSync(configFile, renderNginxConfig(spec));
  let nginx: RunningNginx;
  try {
    nginx = await startNginx({ prefixDir, configFile, port: listenPort, errorLogFile: path.join(prefixDir, 'error.log') });
  } catch (error) {
    fs.rmSync(prefixDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `http://127.0.0.1:${listenPort}`,
    nginx,
    stop: async () => {
      await nginx.stop();
      fs.rmSync(prefixDir, { recursive: true, force: true });
    },
  };
}

export async function measureThroughNginx<P>(input: NginxBenchInput<P>): Promise<NginxBenchResult<P>> {
  const headers = { 'accept-encoding': BROWSER_ACCEPT_ENCODING };

  const helloFront = await nginxInFront(input.helloPort);
  let hello: P;
  try {
    input.nameProcess(helloFront.nginx.pid, 'nginx (hello)');
    hello = await input.measure('hello-world through nginx', { url: `${helloFront.url}/hello`, headers });
  } finally {
    await helloFront.stop();
  }

  const apiFront = await nginxInFront(input.apiPort);
  try {
    input.nameProcess(apiFront.nginx.pid, 'nginx (menu)');
    const probe = await fetch(`${apiFront.url}${input.menuPath}`, { headers: { ...headers, authorization: input.authorization() } });
    // fetch decodes the body; the length on the wire is the Content-Length nginx passed on.
    await probe.arrayBuffer();
    if (probe.status !== 200) throw new Error(`menu GET through nginx answered ${probe.status}`);
    const menuBody = { bytes: Number(probe.headers.get('content-length') ?? 0), contentEncoding: probe.headers.get('content-encoding') ?? 'identity' };
    const menu = await input.measure('menu GET through nginx', {
      url: apiFront.url,
      requests: [{ method: 'GET', path: input.menuPath, setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...headers, authorization: input.authorization() } }) }],
    });
    return { hello, menu, menuBody };
  } finally {
    await apiFront.stop();
  }
}
