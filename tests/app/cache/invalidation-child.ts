/**
 * A second API process for the two-process invalidation test: caches one menu, then reports on
 * stdout (JSON lines) when another process's invalidation dropped its L1 copy, with its own clock.
 * Usage: tsx invalidation-child.ts <redisPort> <restaurantId>
 */
import { cacheKeys, CACHE_POLICIES } from '../../../app/src/cache/cache-keys';
import { startCacheProcess } from './cache-fixtures';

const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

async function main(): Promise<void> {
  const [port, restaurantId] = process.argv.slice(2);
  const proc = await startCacheProcess(Number(port));
  const key = cacheKeys.menu(restaurantId!);
  proc.bus.onRemoteInvalidation((message) => {
    if (message.key === key && !proc.cache.hasLocal(key)) say({ event: 'dropped', atMs: Date.now(), origin: message.origin });
  });
  const menu = await proc.cache.get(key, async () => ({ items: ['child copy'] }), CACHE_POLICIES.menu);
  say({ event: 'cached', menu, inL1: proc.cache.hasLocal(key) });
  const stop = () => void proc.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}

main().catch((err: Error) => {
  say({ event: 'error', message: err.message });
  process.exit(1);
});
