/**
 * The nginx config the app stack ships (NginxGateway, Kubernetes mode) and the one the local
 * platform runs (static mode) must behave alike: after removing the upstream server lines, the
 * Kubernetes resolver, and where each nginx listens and writes its pid, logs and temp files, the
 * two files are identical line for line. The connection sizing the gateway derives from a
 * location's HPA bounds and seats (worker connections and files, the per-address websocket limit and
 * request burst) may carry other numbers on loopback, but the same directives.
 */
import { Testing } from '../../stacks/infra/cdktf';
import { LocationAppStack } from '../../stacks/infra/stack-kinds/location-app-stack';
import { dataFixture, LOCAL_BACKEND, platformFixture, TEST_IMAGE_TAG } from '../support/stacks/stack-outputs';
import { sampleLocations } from '../support/stacks/sample-locations';
import { WEB_DIST_DIR } from '../../app/web/build';
import { renderLocalNginxConfig } from '../../tools/local/local-nginx';
import { withoutLocalWebLocations } from '../../tools/local/local-web';

/** Lines allowed to differ: upstream members and host placement (not behaviour). */
const PLACEMENT_LINE = /^\s*(server\s+\S+(:\d+)?(\s.*)?;|resolver\s.*;|listen\s.*;|pid\s.*;|error_log\s.*;|access_log\s+\S+\s+json;|(client_body|proxy|fastcgi|uwsgi|scgi)_temp_path\s.*;)\s*$/;

/** Numbers sized from the location (`nginxConnectionSizing` in nginx-gateway.ts); the directive itself must stay. */
const SIZING_LINE = /^\s*(worker_connections \d+|worker_rlimit_nofile \d+|limit_conn ws_per_address \d+|limit_req zone=\w+ burst=\d+ nodelay);\s*$/;

/** The lines that differ between two files (a plain LCS diff), with their side. */
export function differingLines(a: string, b: string): { side: '-' | '+'; line: string }[] {
  const x = a.split('\n');
  const y = b.split('\n');
  const lcs: number[][] = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--) for (let j = y.length - 1; j >= 0; j--) lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: { side: '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    if (x[i] === y[j]) {
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push({ side: '-', line: x[i++]! });
    else out.push({ side: '+', line: y[j++]! });
  }
  while (i < x.length) out.push({ side: '-', line: x[i++]! });
  while (j < y.length) out.push({ side: '+', line: y[j++]! });
  return out;
}

function behaviouralDifferences(shipped: string, local: string): string[] {
  return differingLines(shipped, local)
    .filter((d) => !PLACEMENT_LINE.test(d.line) && !SIZING_LINE.test(d.line))
    .map((d) => `${d.side} ${d.line.trim()}`);
}

/** The sizing directives of a file, without their numbers. */
function sizingDirectives(config: string): string[] {
  return config
    .split('\n')
    .filter((line) => SIZING_LINE.test(line))
    .map((line) => line.trim().replace(/\d+/g, 'N').replace(/;$/, ''));
}

describe('nginx: the shipped config and the local one', () => {
  const location = sampleLocations()[0]!;
  const app = Testing.app();
  const stack = new LocationAppStack(app, `${location.id}-app`, {
    location,
    platform: platformFixture(location.region),
    data: dataFixture(location),
    backend: LOCAL_BACKEND,
    imageTag: TEST_IMAGE_TAG,
  });
  const shipped = stack.gateway.renderedConfig;
  // As the platform renders it: with the web client's locations, which the gateway does not serve
  // (CloudFront does, in a location; tools/local/local-web.ts and its test).
  const local = withoutLocalWebLocations(
    renderLocalNginxConfig({
      apiPorts: [41001, 41002, 41003],
      wsPorts: [42001, 42002, 42003],
      listenPort: 40999,
      statusListenPort: 40998,
      prefixDir: '/tmp/restaurant-local-x/nginx',
      web: { distDir: WEB_DIST_DIR, runtimeConfigFile: '/tmp/restaurant-local-x/web/config.json', host: '127.0.0.1:40999' },
    }),
  );

  test('differ only in upstream server lines and where nginx listens and writes', () => {
    expect(behaviouralDifferences(shipped, local)).toEqual([]);
  });

  test('both size connections with the same directives; only the numbers are the location\'s', () => {
    expect(sizingDirectives(shipped)).toEqual([
      'worker_rlimit_nofile N',
      'worker_connections N',
      'limit_req zone=requests_per_address burst=N nodelay',
      'limit_conn ws_per_address N',
      'limit_req zone=requests_per_address burst=N nodelay',
    ]);
    expect(sizingDirectives(local)).toEqual(sizingDirectives(shipped));
  });

  test('the upstream server lines do differ: Service names there, loopback ports here', () => {
    const diff = differingLines(shipped, local);
    expect(diff.filter((d) => d.side === '-' && /^\s*server\s/.test(d.line)).map((d) => d.line.trim())).toEqual([
      expect.stringMatching(/^server api\..*resolve/),
      expect.stringMatching(/^server ws\..*resolve/),
    ]);
    expect(diff.filter((d) => d.side === '+' && /^\s*server\s/.test(d.line)).length).toBe(6);
  });

  test('fails when the local config changes behaviour (another websocket timeout, another worker count)', () => {
    const drifted = renderLocalNginxConfig({ apiPorts: [41001], wsPorts: [42001], listenPort: 40999, statusListenPort: 40998, prefixDir: '/tmp/x', websocketHeartbeatIntervalMs: 60_000 });
    expect(behaviouralDifferences(shipped, drifted)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^- proxy_read_timeout 75s;/), expect.stringMatching(/^\+ proxy_read_timeout 180s;/)]),
    );
    expect(behaviouralDifferences(shipped, local.replace('worker_processes 1;', 'worker_processes auto;'))).toEqual(['- worker_processes 1;', '+ worker_processes auto;']);
  });
});
