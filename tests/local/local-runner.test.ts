/**
 * `npm run local` as a user runs it: the runner prints `ready`, Ctrl-C (SIGINT) stops every process
 * it started, and a SIGKILLed runner leaves nothing running either (pdeathsig on every child).
 * One api and one ws process keep it quick; the platform code is the same as with three.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitFor } from '../../tools/services/processes';

jest.setTimeout(60_000);

const REPO = path.resolve(__dirname, '../..');

function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parents) if (parent === pid) found.push(child), walk(child);
  };
  walk(root);
  return found;
}

function alive(pid: number): boolean {
  try {
    // A zombie still answers kill(0); it is gone for our purpose.
    return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function startRunner(): Promise<{ child: ChildProcess; output: () => string; pids: number[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/local/local-main.ts'], {
    cwd: REPO,
    env: { ...process.env, LOCAL_API_PROCESSES: '1', LOCAL_WS_PROCESSES: '1', LOCAL_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await waitFor('the runner to print ready', async () => {
    if (child.exitCode !== null) throw new Error(`runner exited ${child.exitCode}:\n${output}`);
    return /^ready$/m.test(output);
  }, 45_000, () => output);
  return { child, output: () => output, pids: descendants(child.pid!) };
}

/**
 * The guest and kitchen URLs the runner prints open the web client (nginx answers the app shell)
 * and carry tokens the api accepts for that table and that kitchen.
 */
async function expectWorkingWebClientUrls(output: string): Promise<void> {
  const guest = /^ {2}guest, table (\d+) +(http:\/\/127\.0\.0\.1:\d+\/t\/(\d+)\/(\d+))#token=(\S+)$/m.exec(output);
  const kitchen = /^ {2}kitchen screen +(http:\/\/127\.0\.0\.1:\d+\/kitchen\/(\d+))#token=(\S+)$/m.exec(output);
  expect(guest).not.toBeNull();
  expect(kitchen).not.toBeNull();
  const [, table, guestPage, restaurant, tableInPath, guestToken] = guest!;
  const [, kitchenPage, kitchenRestaurant, kitchenToken] = kitchen!;
  expect([tableInPath, kitchenRestaurant]).toEqual([table, restaurant]);
  for (const page of [guestPage!, kitchenPage!]) {
    const shell = await fetch(page);
    expect(shell.status).toBe(200);
    expect(await shell.text()).toContain('<div id="root">');
  }
  const origin = new URL(guestPage!).origin;
  const whoami = async (token: string) => ((await (await fetch(`${origin}/v1/whoami`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { claims: unknown }).claims;
  expect(await whoami(guestToken!)).toMatchObject({ role: 'guest', restaurant_id: restaurant, table_id: table });
  expect(await whoami(kitchenToken!)).toMatchObject({ role: 'kitchen', restaurant_id: restaurant });
  expect(await (await fetch(`${origin}/config.json`)).json()).toEqual({ apiBaseUrl: origin, websocketUrl: `${origin.replace('http:', 'ws:')}/ws` });
}

test('prints the URLs, a staff token per restaurant and working web client URLs, and SIGINT stops everything it started', async () => {
  const runner = await startRunner();
  const locations = fs.readdirSync(path.join(REPO, 'locations')).filter((f) => /\.(ya?ml|json)$/.test(f));
  expect(runner.output()).toMatch(/^api \(through nginx\) +http:\/\/127\.0\.0\.1:\d+/m);
  expect(runner.output().match(/^ {6}eyJ[\w-]+\.[\w-]+\.[\w-]+$/gm)).toHaveLength(locations.length);
  // postgres x2 (+ their workers), redis, nginx master + worker, api, ws
  expect(runner.pids.length).toBeGreaterThanOrEqual(6);
  await expectWorkingWebClientUrls(runner.output());
  const exited = new Promise<number | null>((resolve) => runner.child.once('exit', resolve));
  runner.child.kill('SIGINT');
  expect(await exited).toBe(0);
  await waitFor('every child of the runner to exit', async () => runner.pids.every((p) => !alive(p)), 15_000, () => runner.pids.filter(alive).join(' '));
});

test('a SIGKILLed runner leaves nothing running', async () => {
  const runner = await startRunner();
  runner.child.kill('SIGKILL');
  await waitFor('every child of the killed runner to exit', async () => runner.pids.every((p) => !alive(p)), 15_000, () => runner.pids.filter(alive).join(' '));
});
