/**
 * What CloudFront runs and sends for the web client, and what config.json says: the viewer-request
 * function executed as CloudFront would (a handler over `event.request`), the CSP, the runtime
 * config, and the websocket path agreeing with the realtime server and the app stack's nginx.
 */
import * as vm from 'node:vm';
import { REALTIME_PATH } from '../../app/src/realtime/protocol';
import { WEB_CLIENT_PREFIX, WEB_SPA_ROUTE_PATTERNS } from '../../contract/web-delivery';
import { Testing } from '../../stacks/infra/cdktf';
import {
  routePrefix,
  WEBSOCKET_PATH,
  webClientContentSecurityPolicy,
  webClientViewerRequestCode,
  webRuntimeConfigFor,
} from '../../stacks/infra/constructs/web-client-delivery';
import { LocationAppStack } from '../../stacks/infra/stack-kinds/location-app-stack';
import { dataFixture, LOCAL_BACKEND, platformFixture, TEST_IMAGE_TAG } from '../support/stacks/stack-outputs';
import { sampleLocation } from '../support/stacks/sample-locations';

/** The function's handler, run in a fresh context the way CloudFront runs it: viewer URI in, origin URI out. */
function viewerRequest(code: string): (uri: string) => string {
  const context = vm.createContext({});
  vm.runInContext(code, context);
  const handler = context.handler as (event: { request: { uri: string; method: string } }) => { uri: string; method: string };
  return (uri) => {
    const request = handler({ request: { uri, method: 'GET' } });
    expect(request.method).toBe('GET');
    return request.uri;
  };
}

describe('webClientViewerRequestCode', () => {
  const route = viewerRequest(webClientViewerRequestCode());

  test.each([
    ['/', '/web/index.html'],
    ['/index.html', '/web/index.html'],
    ['/t/r-42/7', '/web/index.html'],
    ['/t/r-42/7/', '/web/index.html'],
    ['/kitchen/r-42', '/web/index.html'],
    ['/assets/index-Fx7aB2cD.js', '/web/assets/index-Fx7aB2cD.js'],
    ['/sw.js', '/web/sw.js'],
    ['/config.json', '/web/config.json'],
    ['/workbox-1a2b3c4d.js', '/web/workbox-1a2b3c4d.js'],
    ['/manifest.webmanifest', '/web/manifest.webmanifest'],
    // Not a client route: its object (S3 answers 403 for a key that does not exist).
    ['/t', '/web/t'],
    ['/kitchenette', '/web/kitchenette'],
  ])('%s is served from %s', (viewer, origin) => {
    expect(route(viewer)).toBe(origin);
  });

  test('the routes and the prefix come from the delivery contract', () => {
    expect(WEB_CLIENT_PREFIX).toBe('web/');
    expect(WEB_SPA_ROUTE_PATTERNS.map(routePrefix)).toEqual(['/t/', '/kitchen/']);
    const custom = viewerRequest(webClientViewerRequestCode('spa/', ['/menu/*']));
    expect([custom('/menu/x'), custom('/t/x'), custom('/')]).toEqual(['/spa/index.html', '/spa/t/x', '/spa/index.html']);
  });

  test('fits CloudFront Functions: under 10 KB, plain ES5 syntax for the handler', () => {
    const code = webClientViewerRequestCode();
    expect(Buffer.byteLength(code)).toBeLessThan(10 * 1024);
    expect(code).toMatch(/^function handler\(event\) \{$/m);
    expect(code).not.toMatch(/=>|\blet\b|\bconst\b/);
  });

  test('fails when a route pattern is not one segment followed by /*', () => {
    expect(() => webClientViewerRequestCode('web/', ['/t/*', '/kitchen'])).toThrow(
      'WEB_SPA_ROUTE_PATTERNS must be patterns like "/t/*" (one path segment, then "/*"), got "/kitchen" (contract/web-delivery.ts)',
    );
    expect(() => routePrefix('/t/*/x')).toThrow('got "/t/*/x"');
  });
});

describe('webClientContentSecurityPolicy', () => {
  const location = sampleLocation('sukhumvit-cafe');
  const directives = new Map(
    webClientContentSecurityPolicy(location)
      .split('; ')
      .map((d) => [d.split(' ')[0]!, d.split(' ').slice(1)] as const),
  );

  test('connects to the CDN itself and to exactly the location api over https and wss', () => {
    expect(directives.get('connect-src')).toEqual(["'self'", `https://${location.domains.api}`, `wss://${location.domains.api}`]);
  });

  test("scripts, styles, the worker and the manifest from the CDN only; never inline scripts; no framing", () => {
    for (const name of ['default-src', 'script-src', 'style-src', 'worker-src', 'manifest-src', 'font-src']) expect(directives.get(name)).toEqual(["'self'"]);
    expect(directives.get('img-src')).toEqual(["'self'", 'data:']);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(webClientContentSecurityPolicy(location)).not.toMatch(/unsafe|\*/);
  });

  test('names no host of another location', () => {
    const other = sampleLocation('london-shoreditch');
    expect(webClientContentSecurityPolicy(location)).not.toContain(other.domains.api);
  });
});

describe('webRuntimeConfigFor', () => {
  test("the location's api over https and its websocket path over wss", () => {
    const location = sampleLocation('kanchanaburi-resort');
    expect(webRuntimeConfigFor(location)).toEqual({
      apiBaseUrl: `https://${location.domains.api}`,
      websocketUrl: `wss://${location.domains.api}/ws`,
    });
  });

  test("the websocket path is the realtime server's and the one the app stack's nginx proxies", () => {
    expect(WEBSOCKET_PATH).toBe(REALTIME_PATH);
    const location = sampleLocation('sukhumvit-cafe');
    const stack = new LocationAppStack(Testing.app(), `${location.id}-app`, {
      location,
      platform: platformFixture(location.region),
      data: dataFixture(location),
      backend: LOCAL_BACKEND,
      imageTag: TEST_IMAGE_TAG,
    });
    expect(stack.gateway.renderedConfig).toMatch(new RegExp(`^\\s*location ${WEBSOCKET_PATH} \\{$`, 'm'));
  });
});
