/**
 * The error handling every stacks/ entry shares (stacks/cli/run-cli.ts): an expected error is its
 * message and the entry's exit code, anything else its stack; the entries' own codes pass through.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { cliExitCode, expectedError, isParseArgsError, type CliMain, type RunCliOptions } from '../../stacks/cli/run-cli';
import { LocationConfigError } from '../../stacks/infra/config/location-config-error';
import { PlatformSettingsError } from '../../stacks/infra/config/platform-settings-error';
import { SettingsError } from '../../stacks/settings-error';

const REPO = path.resolve(__dirname, '../..');

class UsageError extends Error {}

/** The exit code and every text written to stderr. */
async function run(main: CliMain, options?: RunCliOptions): Promise<{ code: number; stderr: string[] }> {
  const stderr: string[] = [];
  const code = await cliExitCode(main, options, (text) => stderr.push(text));
  return { code, stderr };
}

const badLocation = () => new LocationConfigError([{ file: 'locations/bad-cafe.yaml', field: 'displayName', message: 'is required' }]);

describe('an entry that returns', () => {
  test.each([
    ['0', () => 0, 0],
    ['its failure code (capacity: 1 when a location cannot carry its peak)', () => 1, 1],
    ['a cdktf run\'s code (deploy)', () => 3, 3],
    ['nothing, which is 0 (main.ts)', () => undefined, 0],
    ['a promise of its code (plan-main)', async () => 2, 2],
    ['a promise of nothing', async () => undefined, 0],
  ])('exits with %s and writes nothing to stderr', async (_name, main: CliMain, expected) => {
    expect(await run(main, { expected: [expectedError([LocationConfigError], 5)], unexpectedExitCode: 6 })).toEqual({ code: expected, stderr: [] });
  });
});

describe('an expected error', () => {
  const options: RunCliOptions = { expected: [expectedError([LocationConfigError, SettingsError], 1)] };

  test('is its message alone, without a stack, and the exit code of its rule', async () => {
    expect(await run(() => { throw badLocation(); }, options)).toEqual({
      code: 1,
      stderr: ['Invalid location config: locations/bad-cafe.yaml: displayName is required'],
    });
  });

  test('matches subclasses: a PlatformSettingsError is a SettingsError', async () => {
    const err = new PlatformSettingsError([{ file: 'platform.yaml', field: 'regions', message: 'is required' }]);
    expect(await run(() => { throw err; }, options)).toEqual({ code: 1, stderr: ['Invalid platform settings: platform.yaml: regions is required'] });
  });

  test('thrown by an async main (a rejected promise) is reported the same way', async () => {
    expect(await run(async () => { throw new SettingsError('TF_BACKEND must be s3 or local, got "gcs"'); }, options)).toEqual({
      code: 1,
      stderr: ['TF_BACKEND must be s3 or local, got "gcs"'],
    });
  });

  test('is described by its rule when it has one (synth adds "Nothing was synthesized.")', async () => {
    const synth: RunCliOptions = { expected: [expectedError([LocationConfigError, SettingsError], 1, (err) => `${err.message}\nNothing was synthesized.`)] };
    expect(await run(() => { throw new SettingsError('APP_IMAGE_TAG is required'); }, synth)).toEqual({
      code: 1,
      stderr: ['APP_IMAGE_TAG is required\nNothing was synthesized.'],
    });
  });

  test('gets the describe of its own class: the problems of a LocationConfigError (location-add)', async () => {
    const rules: RunCliOptions = { expected: [expectedError([LocationConfigError], 1, (err) => err.problems.map((p) => `${p.file}: ${p.field} ${p.message}`).join('\n'))] };
    expect(await run(() => { throw badLocation(); }, rules)).toEqual({ code: 1, stderr: ['locations/bad-cafe.yaml: displayName is required'] });
  });

  test('takes the first rule that matches, so each kind keeps its own code (location-add: 1 bad file, 2 usage)', async () => {
    const rules: RunCliOptions = {
      expected: [
        expectedError([LocationConfigError], 1),
        { matches: (err) => err instanceof UsageError || isParseArgsError(err), exitCode: 2, describe: (err) => `error: ${err.message}\nusage: add <id>` },
        expectedError([Error], 7),
      ],
    };
    expect(await run(() => { throw badLocation(); }, rules)).toMatchObject({ code: 1 });
    expect(await run(() => { throw new UsageError('--region is required'); }, rules)).toEqual({ code: 2, stderr: ['error: --region is required\nusage: add <id>'] });
    expect(await run(() => { parseArgs({ args: ['--nope'], options: {} }); }, rules)).toMatchObject({ code: 2, stderr: [expect.stringMatching(/^error: Unknown option '--nope'/)] });
  });

  test('plan-main exits 2 for every error that stops it', async () => {
    const plan: RunCliOptions = { expected: [expectedError([LocationConfigError, SettingsError, UsageError], 2)], unexpectedExitCode: 2 };
    expect(await run(async () => { throw new UsageError('--concurrency must be a positive integer, got "0"'); }, plan)).toEqual({
      code: 2,
      stderr: ['--concurrency must be a positive integer, got "0"'],
    });
    expect(await run(async () => { throw new RangeError('bug'); }, plan)).toMatchObject({ code: 2 });
  });
});

describe('an unexpected error', () => {
  const options: RunCliOptions = { expected: [expectedError([LocationConfigError], 1)] };

  test('is printed with its stack and exits 1 by default (as an uncaught exception does)', async () => {
    const err = new TypeError('cannot read properties of undefined');
    const result = await run(() => { throw err; }, options);
    expect(result.code).toBe(1);
    expect(result.stderr).toHaveLength(1);
    expect(result.stderr[0]).toContain(err.stack);
  });

  test('from an async main is printed with its stack, with the unexpected exit code when the entry sets one', async () => {
    const err = new Error('terraform show returned no JSON');
    const result = await run(async () => { await Promise.resolve(); throw err; }, { ...options, unexpectedExitCode: 2 });
    expect(result.code).toBe(2);
    expect(result.stderr[0]).toContain(err.stack);
  });

  test('includes the error\'s cause', async () => {
    const err = new Error('synth failed', { cause: new Error('disk full') });
    const result = await run(() => { throw err; });
    expect(result.stderr[0]).toContain('disk full');
  });

  test('may be something other than an Error', async () => {
    expect(await run(() => { throw 'plain string'; }, options)).toEqual({ code: 1, stderr: ["'plain string'"] });
  });

  test('is every error when the entry expects none (deploy)', async () => {
    const result = await run(() => { throw badLocation(); });
    expect(result.code).toBe(1);
    expect(result.stderr[0]).toContain('at ');
  });
});

describe('isParseArgsError', () => {
  test('is true for what parseArgs throws on an unknown option or a missing value', () => {
    const thrown = (args: string[]) => {
      try {
        parseArgs({ args, options: { out: { type: 'string' } } });
      } catch (err) {
        return err;
      }
      throw new Error('parseArgs accepted the arguments');
    };
    expect(isParseArgsError(thrown(['--nope']))).toBe(true);
    expect(isParseArgsError(thrown(['--out']))).toBe(true);
  });

  test.each([
    ['a TypeError without a code', new TypeError('x')],
    ['an error with another code', Object.assign(new Error('x'), { code: 'ENOENT' })],
    ['null', null],
    ['undefined', undefined],
  ])('is false for %s', (_name, value) => {
    expect(isParseArgsError(value)).toBe(false);
  });
});

describe('runCli', () => {
  /** Runs `code` (TypeScript importing runCli) in a child process, as an entry runs. */
  const entry = (code: string) =>
    spawnSync(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), '-e', `import { expectedError, runCli } from './stacks/cli/run-cli';\n${code}`], {
      cwd: REPO,
      encoding: 'utf8',
    });

  test('sets the process exit code to what main returns', () => {
    const result = entry('runCli(async () => 3);');
    expect([result.status, result.stderr]).toEqual([3, '']);
  });

  test('sets the exit code of an expected error after its message', () => {
    const result = entry(`runCli(() => { throw new RangeError('--dir does not exist'); }, { expected: [expectedError([RangeError], 2)] });`);
    expect([result.status, result.stderr]).toEqual([2, '--dir does not exist\n']);
  });

  test('exits 1 after the stack of an unexpected error', () => {
    const result = entry(`runCli(() => { throw new Error('boom'); });`);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^Error: boom\n {4}at /);
  });
});
