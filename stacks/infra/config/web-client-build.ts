/**
 * The guest and kitchen web client as the data stacks publish it: the published files of a build
 * folder (contract/web-delivery.ts: dot-folders and the runtime config left out), each with its
 * content type, cache control and a hash of its bytes. Plain data, read once per synth and shared
 * by every location's data stack.
 *
 * The build itself is not run here: stacks/synth-options.ts runs it (as a process, so stacks/
 * never imports app/) or takes a prebuilt folder from `WEB_CLIENT_DIR`.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isPublishedWebFile, WEB_BUILD_DIR, WEB_RUNTIME_CONFIG_FILE, webObjectHeaders } from '../../../contract/web-delivery';
import { SettingsError } from '../../settings-error';

/** The app shell: a folder without it is not a web client build. */
export const WEB_CLIENT_INDEX_FILE = 'index.html';

export interface WebClientFile {
  /** Relative to the build folder, `/`-separated: the viewer path and the key under WEB_CLIENT_PREFIX. */
  readonly path: string;
  /** Absolute path of the file the data stack copies into its Terraform folder. */
  readonly sourceFile: string;
  readonly contentType: string;
  readonly cacheControl: string;
  /** MD5 of the bytes (hex): what Terraform's `filemd5` answers for the copy it uploads. */
  readonly md5: string;
}

export interface WebClientBuild {
  /** The build folder, absolute. */
  readonly dir: string;
  /** Published files, sorted by path. */
  readonly files: readonly WebClientFile[];
}

/** A missing, empty or unpublishable web client build; entry points print it and stop. */
export class WebClientBuildError extends SettingsError {
  constructor(message: string) {
    super(message);
    this.name = 'WebClientBuildError';
  }
}

function filesUnder(dir: string, relative = ''): string[] {
  return fs.readdirSync(path.join(dir, relative), { withFileTypes: true }).flatMap((entry) => {
    const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) return filesUnder(dir, child);
    return entry.isFile() ? [child] : [];
  });
}

/**
 * Reads a build folder. Fails, naming the folder, when there is no build (no index.html) or a file
 * has no known content type. The build's own `config.json`, if it writes one for local runs, is
 * left out: each location's data stack writes its own (WebClientObjects).
 */
export function loadWebClientBuild(dir: string): WebClientBuild {
  const shown = path.relative(process.cwd(), dir) || dir;
  if (!fs.existsSync(path.join(dir, WEB_CLIENT_INDEX_FILE))) {
    throw new WebClientBuildError(`web client not built: run \`npm run build:web\` (no ${WEB_CLIENT_INDEX_FILE} in ${shown})`);
  }
  const files = filesUnder(dir)
    .filter((file) => isPublishedWebFile(file) && file !== WEB_RUNTIME_CONFIG_FILE)
    .sort()
    .map((file): WebClientFile => {
      let headers: ReturnType<typeof webObjectHeaders>;
      try {
        headers = webObjectHeaders(file);
      } catch (error) {
        throw new WebClientBuildError(`${(error as Error).message} (build folder ${shown})`);
      }
      const sourceFile = path.join(dir, file);
      const md5 = createHash('md5').update(fs.readFileSync(sourceFile)).digest('hex');
      return { path: file, sourceFile, md5, ...headers };
    });
  return { dir, files };
}

/** The default build folder of a checkout. */
export function defaultWebBuildDir(repoRoot: string): string {
  return path.join(repoRoot, WEB_BUILD_DIR);
}
