/**
 * Runs a command as a child process and measures what a person waiting for it sees: wall time, and
 * the peak memory of its whole process tree (the node entry, tsx, every terraform and provider
 * process it starts). Memory is the sum of VmRSS over the child and its descendants, found through
 * the parent ids in `/proc/<pid>/stat` and sampled every `sampleMs`; pages shared between processes
 * count once per process, so the figure is an upper bound, and a process that lives shorter than
 * the sampling interval may be missed. Linux only (reads /proc).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

export interface TreeRunResult {
  readonly status: number | null;
  readonly wallS: number;
  readonly peakRssMiB: number;
  readonly stdout: string;
  readonly stderr: string;
}

function parentOf(pid: string): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: the fields after it start at the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
  } catch {
    return undefined; // gone between listing and reading
  }
}

function rssKiB(pid: string): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** VmRSS of `root` and all its descendants now, in KiB. */
export function treeRssKiB(root: number): number {
  const children = new Map<string, string[]>();
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const parent = parentOf(pid);
    if (parent) children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  let total = 0;
  const queue = [String(root)];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    total += rssKiB(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return total;
}

export function runMeasured(
  command: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly sampleMs?: number },
): Promise<TreeRunResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let peakKiB = 0;
    const sample = () => {
      if (child.pid !== undefined) peakKiB = Math.max(peakKiB, treeRssKiB(child.pid));
    };
    const timer = setInterval(sample, options.sampleMs ?? 200);
    sample();
    child.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.on('close', (status) => {
      clearInterval(timer);
      resolve({
        status,
        wallS: Number(process.hrtime.bigint() - started) / 1e9,
        peakRssMiB: peakKiB / 1024,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}
