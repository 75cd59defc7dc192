/**
 * `npm run local`: the whole platform on loopback (see platform.ts), until Ctrl-C.
 * Prints the URLs, a staff token per restaurant, the web client's guest page (one table) and
 * kitchen screen with working tokens, and how to mint more, then one line `ready`.
 * SIGINT / SIGTERM stop everything in order; if this process is SIGKILLed, every child dies with
 * it (pdeathsig). Settings: LOCAL_NGINX_PORT (a free port), LOCAL_API_PROCESSES (3),
 * LOCAL_WS_PROCESSES (3), LOCAL_LOG_LEVEL (info).
 */
import { guestPageUrl, kitchenPageUrl } from './local-web';
import { startLocalPlatform, type LocalPlatform } from './platform';

async function main(): Promise<void> {
  const started = Date.now();
  const platform: LocalPlatform = await startLocalPlatform({
    nginxPort: process.env.LOCAL_NGINX_PORT ? Number(process.env.LOCAL_NGINX_PORT) : undefined,
    apiProcesses: Number(process.env.LOCAL_API_PROCESSES ?? 3),
    wsProcesses: Number(process.env.LOCAL_WS_PROCESSES ?? 3),
    logLevel: process.env.LOCAL_LOG_LEVEL ?? 'info',
    log: (line) => process.stdout.write(`${line}\n`),
  });
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    if (stopping) return;
    process.stdout.write(`\n${signal}: stopping nginx, api, ws, Redis and PostgreSQL...\n`);
    stopping = platform.stop().then(() => {
      process.stdout.write('stopped\n');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  const { cluster, redis, identity } = platform;
  const lines = [
    '',
    `api (through nginx)   ${platform.baseUrl}/v1/restaurants/<id>/menu`,
    `websocket             ${platform.wsUrl}  (Authorization: Bearer <token>, or subprotocols bearer + bearer.<token>)`,
    `api processes         ${platform.apis.map((a) => a.url).join('  ')}`,
    `  probes and metrics  ${platform.apis.map((a) => a.internalUrl).join('  ')}  (/metrics, /readyz, /healthz)`,
    `ws processes          ${platform.wss.map((w) => w.url).join('  ')}`,
    `  probes and metrics  ${platform.wss.map((w) => w.internalUrl).join('  ')}`,
    `PostgreSQL primary    ${cluster.url('primary')}`,
    `PostgreSQL replica    ${cluster.url('replica')}`,
    `Redis                 ${redis.url}`,
    `identity (dev)        ${identity.provider.jwksUrl}`,
    `nginx config          ${platform.nginxConfigFile}`,
    '',
    'restaurants and a staff token each (valid 12 h):',
  ];
  for (const r of platform.restaurants) {
    const token = await identity.token({ role: 'staff', restaurant_id: r.id });
    lines.push(`  ${r.id}  ${r.slug.padEnd(22)} ${r.tableIds.length} tables, ${r.menuItemIds.length} menu items`, `      ${token}`);
  }
  const first = platform.restaurants[0]!;
  const table = first.tableIds[0]!;
  const [guestToken, kitchenToken] = await Promise.all([
    identity.token({ role: 'guest', restaurant_id: first.id, table_id: table }),
    identity.token({ role: 'kitchen', restaurant_id: first.id }),
  ]);
  lines.push(
    '',
    `web client of ${first.slug} (the token rides in the URL fragment, as the identity service hands it over):`,
    `  guest, table ${table}   ${guestPageUrl(platform.baseUrl, first.id, table, guestToken)}`,
    `  kitchen screen   ${kitchenPageUrl(platform.baseUrl, first.id, kitchenToken)}`,
    '',
    'more tokens: roles staff, manager, kitchen, guest (guests need table_id):',
    `  curl '${identity.url}/dev-token?role=guest&restaurant_id=${first.id}&table_id=${first.tableIds[0]}'`,
    'try:',
    `  curl -H "Authorization: Bearer $TOKEN" ${platform.baseUrl}/v1/restaurants/${first.id}/menu`,
    '',
    `started in ${((Date.now() - started) / 1000).toFixed(1)} s; Ctrl-C stops everything`,
    'ready',
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`npm run local failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
