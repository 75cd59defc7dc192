/**
 * A temporary git repository holding this checkout's code (committed and uncommitted files, as
 * `git ls-files` lists them; ignored ones such as build outputs are left out) with a generated
 * fleet in place of the sample locations, committed, and a link to this checkout's node_modules
 * (as tests/plan/affected-since.test.ts builds its clone). `npm run plan` runs in it as in a
 * business's own repository.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeGeneratedFleet } from '../synth/generated-locations';

function git(cwd: string, args: readonly string[]): string {
  const run = spawnSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`git ${args.join(' ')} in ${cwd} failed: ${run.stderr}`);
  return run.stdout;
}

export interface FleetRepo {
  readonly dir: string;
  /** The ids of its locations, `bench-000` on. */
  readonly ids: readonly string[];
}

/**
 * Creates `dir` with `count` generated locations, or only those of them whose ids `keep` lists
 * (the same files, byte for byte, as in the full fleet).
 */
export function createFleetRepo(sourceRepo: string, dir: string, count: number, keep?: readonly string[]): FleetRepo {
  fs.mkdirSync(dir, { recursive: true });
  const files = git(sourceRepo, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])
    .split('\0')
    .filter((f) => f && !f.startsWith('locations/') && f !== 'platform.yaml' && fs.existsSync(path.join(sourceRepo, f)));
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(path.join(sourceRepo, file), path.join(dir, file));
  }
  const fleet = writeGeneratedFleet(dir, count);
  let ids = fleet.ids;
  if (keep) {
    for (const id of ids.filter((i) => !keep.includes(i))) fs.rmSync(path.join(fleet.locationsDir, `${id}.yaml`));
    ids = ids.filter((i) => keep.includes(i));
  }
  git(dir, ['init', '--quiet', '--initial-branch=main']);
  git(dir, ['add', '-A']);
  git(dir, ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'commit', '--quiet', '-m', `fleet of ${ids.length} generated locations`]);
  // After the commit: `node_modules/` in .gitignore matches folders, not a link to one.
  fs.symlinkSync(path.join(sourceRepo, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return { dir, ids };
}
