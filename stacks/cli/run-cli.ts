/**
 * What every command-line entry under stacks/ does the same way around its own work: run its
 * main, report an error the user caused (a bad location file, a bad setting, a missing tool, a
 * mistyped command) by its message alone, report anything else with its stack, and set the exit
 * code. Each entry names its expected errors and their exit codes; the app side has the same for
 * its long-running entries in app/src/process-lifecycle.ts.
 */
import { inspect } from 'node:util';

/** An error class; its subclasses match too. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/** Errors the user caused: the message without a stack on stderr, then `exitCode`. */
export interface ExpectedError {
  readonly matches: (err: unknown) => boolean;
  readonly exitCode: number;
  /** What stderr shows. */
  readonly describe: (err: Error) => string;
}

export interface RunCliOptions {
  /**
   * The errors reported by their message; the first that matches applies.
   * @default [] - every error is unexpected
   */
  readonly expected?: readonly ExpectedError[];
  /**
   * The exit code after an unexpected error, which is printed with its stack.
   * @default 1 (what Node exits with on an uncaught exception)
   */
  readonly unexpectedExitCode?: number;
}

/** An entry's main: its exit code, or nothing for 0. */
export type CliMain = () => number | void | Promise<number | void>;

/**
 * Instances of `classes` (subclasses included) are expected: `describe(err)` on stderr (by
 * default the error's message), then `exitCode`.
 */
export function expectedError<C extends readonly ErrorClass[]>(
  classes: C,
  exitCode: number,
  describe: (err: InstanceType<C[number]>) => string = (err) => err.message,
): ExpectedError {
  return {
    matches: (err) => classes.some((c) => err instanceof c),
    exitCode,
    describe: (err) => describe(err as InstanceType<C[number]>),
  };
}

/** What `parseArgs` of node:util throws for an unknown option or a missing value: an `ERR_PARSE_ARGS_*` code, no class of its own. */
export function isParseArgsError(err: unknown): err is Error & { readonly code: string } {
  // By its code, not `instanceof Error`: Node's own errors come from another realm under jest.
  const code: unknown = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/**
 * Runs `main` (sync or async) and resolves with the exit code: what main returned (0 for
 * nothing), or the code of the error it threw after writing the error's report with `writeError`.
 */
export async function cliExitCode(main: CliMain, options: RunCliOptions = {}, writeError: (text: string) => void = (text) => console.error(text)): Promise<number> {
  try {
    return (await main()) ?? 0;
  } catch (err) {
    const expected = options.expected?.find((e) => e.matches(err));
    if (expected) {
      writeError(expected.describe(err as Error));
      return expected.exitCode;
    }
    writeError(inspect(err));
    return options.unexpectedExitCode ?? 1;
  }
}

/** Runs an entry's main (see `cliExitCode`) and sets `process.exitCode`; stderr gets the reports. */
export function runCli(main: CliMain, options: RunCliOptions = {}): void {
  void cliExitCode(main, options).then((code) => {
    process.exitCode = code;
  });
}
