/**
 * `synthesizeAlongsideRef` (affected-stacks.ts): the ref's synth runs as a process of its own in a
 * temporary worktree while this process synthesizes the working tree, and both have finished, the
 * worktree gone, when it returns or throws. Tested in a small git repository whose `stacks/synth.ts`
 * stands in for the real one (it writes a marker into `--outdir`, or fails, as each commit says).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AffectedSinceError, synthesizeAlongsideRef } from '../../stacks/checks/plan/affected-stacks';

const REPO = path.join(__dirname, '../..');

const STAND_IN_SYNTH = (behaviour: string) => `import * as fs from 'node:fs';
import * as path from 'node:path';
const outdir = process.argv[process.argv.indexOf('--outdir') + 1]!;
fs.mkdirSync(outdir, { recursive: true });
fs.writeFileSync(path.join(outdir, 'started'), 'yes');
${behaviour}
`;
const WRITES = "fs.writeFileSync(path.join(outdir, 'synthesized'), process.cwd());";
const FAILS = "console.error('stand-in synth: no stacks at this ref'); process.exit(3);";

describe('synthesizeAlongsideRef', () => {
  let repo = '';
  let work = '';
  const git = (...args: string[]) => {
    const run = spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`git ${args.join(' ')}: ${run.stderr}`);
    return run.stdout.trim();
  };
  const commit = (behaviour: string) => {
    fs.writeFileSync(path.join(repo, 'stacks/synth.ts'), STAND_IN_SYNTH(behaviour));
    git('add', '-A');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'stand-in synth');
    return git('rev-parse', 'HEAD');
  };
  const worktrees = () => git('worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).length;
  let writing = '';
  let failing = '';

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'affected-alongside-'));
    repo = path.join(work, 'repo');
    fs.mkdirSync(path.join(repo, 'stacks'), { recursive: true });
    git('init', '--quiet');
    writing = commit(WRITES);
    failing = commit(FAILS);
    // After the commits: the worktrees get a link of their own to this repo's node_modules.
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(repo, 'node_modules'), 'dir');
  });
  afterAll(() => work && fs.rmSync(work, { recursive: true, force: true }));

  test('synthesizes the ref while this process synthesizes, returns this side, and removes the worktree', async () => {
    const refOut = path.join(work, 'ref-ok');
    const result = await synthesizeAlongsideRef(writing, repo, refOut, process.env, () => {
      // The ref's process starts before this side runs: it shows up while this side is still busy.
      const deadline = Date.now() + 60_000;
      while (!fs.existsSync(path.join(refOut, 'started')) && Date.now() < deadline);
      return fs.existsSync(path.join(refOut, 'started')) ? 'saw the ref synth running' : 'ref synth not started';
    });
    expect(result).toBe('saw the ref synth running');
    expect(fs.readFileSync(path.join(refOut, 'synthesized'), 'utf8')).toContain('plan-affected-since-');
    expect(worktrees()).toBe(1);
  }, 120_000);

  test('fails with the ref synth\'s own output when it fails, and removes the worktree', async () => {
    const attempt = synthesizeAlongsideRef(failing, repo, path.join(work, 'ref-fails'), process.env, () => 'this side is fine');
    await expect(attempt).rejects.toThrow(AffectedSinceError);
    await expect(attempt).rejects.toThrow(`synth at ${failing} (${failing.slice(0, 12)}) failed: stand-in synth: no stacks at this ref`);
    expect(worktrees()).toBe(1);
  }, 120_000);

  test('fails with this side\'s error when this side fails, after the ref synth finished and its worktree is gone', async () => {
    const refOut = path.join(work, 'ref-after-failure');
    await expect(
      synthesizeAlongsideRef(writing, repo, refOut, process.env, () => {
        throw new Error('location file unreadable');
      }),
    ).rejects.toThrow('location file unreadable');
    expect(fs.existsSync(path.join(refOut, 'synthesized'))).toBe(true);
    expect(worktrees()).toBe(1);
  }, 120_000);
});
