/**
 * The one place our code imports the CDK for Terraform core. cdktf 0.21 is its final release; the
 * maintained fork (CDK Terrain) is a package-and-import rename, so a move changes this file, the
 * provider package names in package.json, and the deep provider imports (a search-and-replace).
 * `cdktf-synth.ts` also reads cdktf's private modules (the resolver, the stack's synth steps) to
 * skip the synth work cdktf repeats; after a move, `tests/synth/synthesize.test.ts` says whether
 * it still writes what the fork's own synth writes.
 */
export {
  App,
  AssetType,
  Aspects,
  Fn,
  LocalBackend,
  S3Backend,
  TerraformAsset,
  TerraformIterator,
  TerraformOutput,
  TerraformStack,
  TerraformVariable,
  Testing,
  Token,
  dependable,
} from 'cdktf';
export type { IAspect, ITerraformDependable, TerraformProvider } from 'cdktf';

/**
 * cdktf records a full stack trace for every token it creates, only to enrich error messages
 * about unresolvable tokens. On our stacks that is over a third of synth time (measured with
 * `npm run bench:synth`), so the entry points switch it off; set `CDKTF_TOKEN_STACK_TRACES=1`
 * when debugging such an error. cdktf 0.21 is final, so this private module will not move.
 */
export function disableTokenStackTraces(env: Readonly<Record<string, string | undefined>>): void {
  if (env.CDKTF_TOKEN_STACK_TRACES === '1') return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const stackTrace = require('cdktf/lib/tokens/private/stack-trace') as { captureStackTrace: () => string[] };
  stackTrace.captureStackTrace = () => [];
}
