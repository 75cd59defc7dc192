/**
 * The local nginx serves the web client as CloudFront serves it in a location
 * (tools/local/local-web.ts): every published file of the build at its path with the content type
 * and Cache-Control the data stack gives its object (contract/web-delivery.ts), the app shell for
 * the client's routes, this run's `/config.json`, menu images from the api, and the production CSP.
 * A real nginx on the real build (jest's global setup builds it), a stub api behind it.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { WEB_DIST_DIR } from '../../app/web/build';
import { CACHE_CONTROL_IMMUTABLE, CACHE_CONTROL_REVALIDATE, isPublishedWebFile, webObjectHeaders } from '../../contract/web-delivery';
import { webClientContentSecurityPolicy } from '../../stacks/infra/constructs/web-client-delivery';
import { startNginx, type RunningNginx } from '../../tools/services/nginx-process';
import { chownRecursive, freePort } from '../../tools/services/processes';
import { renderLocalNginxConfig } from '../../tools/local/local-nginx';
import { LOCAL_WEB_BEGIN, localContentSecurityPolicy, withLocalWebLocations, withoutLocalWebLocations, writeLocalRuntimeConfig } from '../../tools/local/local-web';

let runDir: string;
let nginx: RunningNginx;
let api: http.Server;
let base: string;
let host: string;
const apiRequests: string[] = [];

function publishedFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const relative = `${prefix}${entry.name}`;
    if (!isPublishedWebFile(relative)) return [];
    return entry.isDirectory() ? publishedFiles(path.join(dir, entry.name), `${relative}/`) : [relative];
  });
}

beforeAll(async () => {
  runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-web-'));
  fs.chmodSync(runDir, 0o755);
  api = http.createServer((req, res) => {
    apiRequests.push(req.url ?? '');
    res.setHeader('Content-Type', 'image/jpeg');
    res.setHeader('Cache-Control', 'public, max-age=86400, immutable');
    res.end('jpeg bytes');
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const [port, statusPort] = await Promise.all([freePort(), freePort()]);
  host = `127.0.0.1:${port}`;
  base = `http://${host}`;
  const prefixDir = path.join(runDir, 'nginx');
  fs.mkdirSync(prefixDir);
  const runtimeConfigFile = path.join(runDir, 'web', 'config.json');
  writeLocalRuntimeConfig(runtimeConfigFile, { apiBaseUrl: base, websocketUrl: `ws://${host}/ws` });
  const configFile = path.join(prefixDir, 'nginx.conf');
  fs.writeFileSync(
    configFile,
    renderLocalNginxConfig({
      apiPorts: [(api.address() as { port: number }).port],
      wsPorts: [1],
      listenPort: port,
      statusListenPort: statusPort,
      prefixDir,
      web: { distDir: WEB_DIST_DIR, runtimeConfigFile, host },
    }),
  );
  chownRecursive(prefixDir, process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined);
  nginx = await startNginx({ prefixDir, configFile, port, errorLogFile: path.join(prefixDir, 'error.log') });
});

afterAll(async () => {
  await nginx?.stop();
  await new Promise((resolve) => api?.close(resolve));
  fs.rmSync(runDir, { recursive: true, force: true });
});

describe('the local nginx serves the build as CloudFront does', () => {
  test('every published file at its path, with the content type and Cache-Control of its object', async () => {
    const files = publishedFiles(WEB_DIST_DIR);
    expect(files).toEqual(expect.arrayContaining(['index.html', 'sw.js', expect.stringMatching(/^assets\/index-[\w-]+\.js$/), expect.stringMatching(/^assets\/index-[\w-]+\.css$/)]));
    expect(files.some((f) => f.startsWith('.vite'))).toBe(false);
    for (const file of files) {
      const response = await fetch(`${base}/${file}`);
      const body = Buffer.from(await response.arrayBuffer());
      const expected = webObjectHeaders(file);
      expect({ file, status: response.status, type: response.headers.get('content-type'), cache: response.headers.get('cache-control') }).toEqual({
        file,
        status: 200,
        type: expected.contentType,
        cache: expected.cacheControl,
      });
      expect(body.equals(fs.readFileSync(path.join(WEB_DIST_DIR, file)))).toBe(true);
    }
  });

  test('hashed assets are immutable for a year, the service worker and the shell are revalidated', async () => {
    const asset = publishedFiles(WEB_DIST_DIR).find((f) => f.startsWith('assets/'))!;
    expect((await fetch(`${base}/${asset}`)).headers.get('cache-control')).toBe(CACHE_CONTROL_IMMUTABLE);
    expect((await fetch(`${base}/sw.js`)).headers.get('cache-control')).toBe(CACHE_CONTROL_REVALIDATE);
    expect((await fetch(`${base}/index.html`)).headers.get('cache-control')).toBe(CACHE_CONTROL_REVALIDATE);
  });

  test.each(['/t/1/2', '/t/4/17/', '/kitchen/1', '/'])('%s answers with the app shell, no-cache, with the edge headers once each and the CSP', async (route) => {
    const response = await fetch(`${base}${route}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(fs.readFileSync(path.join(WEB_DIST_DIR, 'index.html'), 'utf8'));
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe(CACHE_CONTROL_REVALIDATE);
    expect(response.headers.get('content-security-policy')).toBe(localContentSecurityPolicy(host));
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
  });

  test('a missing asset is a 404, never the app shell', async () => {
    const response = await fetch(`${base}/assets/missing-0000.js`);
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain('<div id="root">');
  });

  test('revalidation: the shell answers 304 to its own ETag', async () => {
    const first = await fetch(`${base}/t/1/2`);
    await first.arrayBuffer();
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    expect((await fetch(`${base}/t/1/2`, { headers: { 'If-None-Match': etag! } })).status).toBe(304);
  });

  test('scripts are gzipped on the wire (their content type has a charset)', async () => {
    const asset = publishedFiles(WEB_DIST_DIR).find((f) => /^assets\/index-.*\.js$/.test(f))!;
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(`${base}/${asset}`, { headers: { 'Accept-Encoding': 'gzip' } }, resolve).on('error', reject));
    response.resume();
    expect(response.headers['content-encoding']).toBe('gzip');
  });

  test("/config.json is this run's runtime config, revalidated on every use", async () => {
    const response = await fetch(`${base}/config.json`);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('cache-control')).toBe(CACHE_CONTROL_REVALIDATE);
    expect(await response.json()).toEqual({ apiBaseUrl: base, websocketUrl: `ws://${host}/ws` });
  });

  test('menu images come from the api at the path CloudFront serves them on; the api keeps everything else', async () => {
    const image = await fetch(`${base}/menu-images/1/2/0123456789abcdef-320.jpg`);
    expect(image.status).toBe(200);
    expect(await image.text()).toBe('jpeg bytes');
    expect(apiRequests).toContain('/v1/menu-images/1/2/0123456789abcdef-320.jpg');
    await (await fetch(`${base}/v1/restaurants/1/menu`)).arrayBuffer();
    expect(apiRequests).toContain('/v1/restaurants/1/menu');
  });
});

describe('the local web blocks', () => {
  const render = () =>
    renderLocalNginxConfig({ apiPorts: [41001], wsPorts: [42001], listenPort: 40999, statusListenPort: 40998, prefixDir: '/tmp/restaurant-local-x/nginx' });
  const web = { distDir: WEB_DIST_DIR, runtimeConfigFile: '/tmp/restaurant-local-x/web/config.json', host: '127.0.0.1:40999' };

  test('sit between marker lines that remove them exactly', () => {
    const plain = render();
    const withWeb = withLocalWebLocations(plain, web);
    expect(withWeb).toContain(LOCAL_WEB_BEGIN);
    expect(withWeb).not.toBe(plain);
    expect(withoutLocalWebLocations(withWeb)).toBe(plain);
  });

  test('the CSP is the production one with the loopback origin and its schemes', () => {
    expect(localContentSecurityPolicy('127.0.0.1:40999')).toBe(
      webClientContentSecurityPolicy({ domains: { api: '127.0.0.1:40999', cdn: '127.0.0.1:40999' } }).replace('https://', 'http://').replace('wss://', 'ws://'),
    );
    expect(localContentSecurityPolicy('127.0.0.1:40999')).toContain('connect-src');
    expect(localContentSecurityPolicy('127.0.0.1:40999')).toMatch(/ws:\/\/127\.0\.0\.1:40999/);
  });

  test('fails when the rendered config has no api location to put them before', () => {
    expect(() => withLocalWebLocations(render().replace('location / {', 'location /api/ {'), web)).toThrow('local nginx: the rendered config has no `location / {` in its public server');
  });
});
