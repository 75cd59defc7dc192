/**
 * The one place our code imports the CDK for Terraform core. cdktf 0.21 is its final release; the
 * maintained fork (CDK Terrain) is a package-and-import rename, so a move changes this file, the
 * provider package names in package.json, and the deep provider imports (a search-and-replace).
 */
export {
  App,
  Aspects,
  Fn,
  LocalBackend,
  S3Backend,
  TerraformOutput,
  TerraformStack,
  TerraformVariable,
  Testing,
  Token,
} from 'cdktf';
export type { IAspect, TerraformProvider } from 'cdktf';
