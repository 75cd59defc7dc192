/**
 * app/Dockerfile, checked without a Docker engine: its text is parsed into stages, the image
 * layout (which repository file lands where) is derived from its COPY lines, and the commands the
 * app stack synthesizes are run against that layout. The bundles exist: jest's global setup ran
 * `npm run build:app`'s build.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUNTIME_NODE_MODULES } from '../../app/build';
import { Testing } from '../../stacks/infra/cdktf';
import { APP_CONTAINER_UID } from '../../stacks/infra/constructs/kubernetes-conventions';
import { LocationAppStack } from '../../stacks/infra/stack-kinds/location-app-stack';
import { allContainers, type FoundContainer } from '../support/stacks/app-fixtures';
import { synthJson } from '../support/stacks/synth-json';
import { dataFixture, LOCAL_BACKEND, platformFixture, TEST_IMAGE_TAG } from '../support/stacks/stack-outputs';
import { sampleLocations } from '../support/stacks/sample-locations';

const REPO = path.resolve(__dirname, '../..');
const DOCKERFILE = fs.readFileSync(path.join(REPO, 'app/Dockerfile'), 'utf8');
const DOCKERIGNORE = fs.readFileSync(path.join(REPO, '.dockerignore'), 'utf8');
const RDS_CA_BUNDLE_URL = 'https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem';

// ---- Dockerfile parsing ---------------------------------------------------------------------

interface Instruction {
  readonly keyword: string;
  readonly flags: Readonly<Record<string, string>>;
  /** The rest of the line after the flags. */
  readonly value: string;
}

interface Stage {
  readonly name: string;
  /** An image reference, or the name of an earlier stage. */
  readonly from: string;
  readonly instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const joined = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const flags: Record<string, string> = {};
    let value = rest;
    for (let flag = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(value); flag; flag = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(value)) {
      flags[flag[1]!] = flag[2] ?? 'true';
      value = value.slice(flag[0].length);
    }
    const instruction = { keyword: keyword.toUpperCase(), flags, value: value.trim() };
    if (instruction.keyword === 'FROM') {
      const [, from = '', name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.value) ?? [];
      stages.push({ name: name ?? String(stages.length), from, instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`${instruction.keyword} before the first FROM`);
      stages[stages.length - 1]!.instructions.push(instruction);
    }
  }
  return stages;
}

/** Arguments of an instruction: the JSON (exec) form, or whitespace-separated words. */
function words(instruction: Instruction): string[] {
  return instruction.value.startsWith('[') ? (JSON.parse(instruction.value) as string[]) : instruction.value.split(/\s+/);
}

/** One COPY/ADD source as it lands: a file at `imagePath`, or a folder's content under `imagePath/`. */
interface Mapping {
  readonly imagePath: string;
  readonly folder: boolean;
  /** `repo:<path>`, `url:<address>` or `stage:<name>:<absolute path>`. */
  readonly origin: string;
}

/** What a stage ends up with, following `FROM <earlier stage>` (USER, WORKDIR, ENV, ENTRYPOINT, CMD and files inherit). */
interface StageState {
  user?: string;
  workdir: string;
  env: Record<string, string>;
  entrypoint?: string[];
  cmd?: string[];
  /** In instruction order; a later mapping of the same path wins. */
  files: Mapping[];
}

function stageState(stages: readonly Stage[], name: string): StageState {
  const stage = stages.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage "${name}"`);
  const parent = stages.find((s) => s.name === stage.from);
  const inherited = parent ? stageState(stages, parent.name) : undefined;
  const state: StageState = inherited ? { ...inherited, env: { ...inherited.env }, files: [...inherited.files] } : { workdir: '/', env: {}, files: [] };
  const absolute = (p: string) => path.posix.resolve(state.workdir, p);
  for (const instruction of stage.instructions) {
    const args = words(instruction);
    switch (instruction.keyword) {
      case 'WORKDIR':
        state.workdir = absolute(instruction.value);
        break;
      case 'USER':
        state.user = instruction.value;
        break;
      case 'ENV':
        for (const [, key, value] of instruction.value.matchAll(/(\w+)=(\S+)/g)) state.env[key!] = value!;
        break;
      case 'ENTRYPOINT':
        state.entrypoint = args;
        state.cmd = undefined;
        break;
      case 'CMD':
        state.cmd = args;
        break;
      case 'RUN':
        // `npm ci` writes the locked dependencies: the repository's node_modules (as installed here).
        if (/\bnpm ci\b/.test(instruction.value)) state.files.push({ imagePath: absolute('node_modules'), folder: true, origin: 'repo:node_modules' });
        break;
      case 'COPY':
      case 'ADD': {
        const sources = args.slice(0, -1);
        const destinationArg = args[args.length - 1]!;
        const destination = absolute(destinationArg);
        const intoFolder = destinationArg.endsWith('/') || sources.length > 1;
        const from = instruction.flags.from;
        for (const source of sources) {
          const url = /^https?:\/\//.test(source);
          const origin = from ? `stage:${from}:${path.posix.resolve(stageState(stages, from).workdir, source)}` : url ? `url:${source}` : `repo:${path.posix.normalize(source).replace(/\/$/, '')}`;
          const folder = !url && (source.endsWith('/') || (!from && fs.existsSync(path.join(REPO, source)) && fs.statSync(path.join(REPO, source)).isDirectory()));
          const imagePath = folder || !intoFolder ? destination : path.posix.join(destination, url ? path.posix.basename(new URL(source).pathname) : path.posix.basename(source));
          state.files.push({ imagePath, folder, origin });
        }
        break;
      }
      default:
        break;
    }
  }
  return state;
}

/**
 * Where an image path of `stage` comes from, followed through `COPY --from` down to the repository
 * or a URL; undefined when the layout does not have it. A build stage's app/dist is the repository's
 * app/dist: its `RUN npm run build:app` writes what jest's global setup wrote here.
 */
function resolveImagePath(stages: readonly Stage[], stage: string, imagePath: string): string | undefined {
  const { files } = stageState(stages, stage);
  for (const mapping of [...files].reverse()) {
    let rest: string | undefined;
    if (imagePath === mapping.imagePath) rest = '';
    else if (mapping.folder && imagePath.startsWith(`${mapping.imagePath}/`)) rest = imagePath.slice(mapping.imagePath.length + 1);
    if (rest === undefined) continue;
    const join = (base: string) => (rest ? path.posix.join(base, rest) : base);
    if (mapping.origin.startsWith('repo:')) return `repo:${join(mapping.origin.slice(5))}`;
    if (mapping.origin.startsWith('url:')) return rest ? undefined : mapping.origin;
    const [, from, source] = /^stage:([^:]+):(.*)$/.exec(mapping.origin)!;
    return resolveImagePath(stages, from!, join(source!));
  }
  return undefined;
}

function existsInImage(stages: readonly Stage[], stage: string, imagePath: string): boolean {
  const origin = resolveImagePath(stages, stage, imagePath);
  if (origin === undefined) return false;
  if (origin.startsWith('url:')) return true;
  return fs.existsSync(path.join(REPO, origin.slice(5)));
}

// ---- .dockerignore (moby patternmatcher semantics: last match wins, a pattern also matches the path's parents) --

function ignoredByDockerignore(text: string, file: string): boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negated = l.startsWith('!');
      const pattern = path.posix.normalize((negated ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/$/, '');
      const regex = pattern
        .split(/(\*\*\/?|\*|\?)/)
        .map((part) => (part.startsWith('**') ? '(?:.*/)?' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('');
      return { negated, regex: new RegExp(`^${regex}$`) };
    });
  const parts = path.posix.normalize(file).split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((c) => rule.regex.test(c))) ignored = !rule.negated;
  }
  return ignored;
}

// ---- the checks --------------------------------------------------------------------------------

/** The problems of a Dockerfile: pinned bases, numeric non-root users, COPY sources, default commands. */
function dockerfileProblems(text: string, ignore: string): string[] {
  const stages = parseDockerfile(text);
  const names = new Set(stages.map((s) => s.name));
  const problems: string[] = [];
  for (const stage of stages) {
    if (names.has(stage.from)) continue;
    const pinned = /@sha256:[0-9a-f]{64}$/.test(stage.from) || /^[^:@]+:\d+\.\d+\.\d+(-[a-z0-9.-]+)?$/.test(stage.from);
    if (!pinned) problems.push(`stage ${stage.name}: base image ${stage.from} is not pinned to a full version or digest`);
    for (const instruction of stage.instructions.filter((i) => i.keyword === 'COPY' && !i.flags.from)) {
      for (const source of words(instruction).slice(0, -1)) {
        if (!fs.existsSync(path.join(REPO, source))) problems.push(`stage ${stage.name}: COPY source ${source} does not exist`);
        else if (ignoredByDockerignore(ignore, source.replace(/\/$/, ''))) problems.push(`stage ${stage.name}: COPY source ${source} is excluded by .dockerignore`);
      }
    }
    for (const instruction of stage.instructions.filter((i) => (i.keyword === 'COPY' || i.keyword === 'ADD') && i.flags.from)) {
      const from = instruction.flags.from!;
      for (const source of words(instruction).slice(0, -1)) {
        if (!existsInImage(stages, from, path.posix.resolve(stageState(stages, from).workdir, source))) {
          problems.push(`stage ${stage.name}: COPY --from=${from} source ${source} is not in stage ${from} (after npm run build:app)`);
        }
      }
    }
  }
  for (const target of finalStages(stages)) {
    const state = stageState(stages, target);
    const uid = /^(\d+)(?::(\d+))?$/.exec(state.user ?? '');
    if (!uid || Number(uid[1]) === 0 || (uid[2] !== undefined && Number(uid[2]) === 0)) {
      problems.push(`target ${target}: USER must be a numeric non-root uid[:gid], got ${state.user ?? '(none: root)'}`);
    }
    const argv = [...(state.entrypoint ?? []), ...(state.cmd ?? [])];
    const script = scriptOf(argv);
    if (argv[0] !== 'node' || script === undefined || !existsInImage(stages, target, path.posix.resolve(state.workdir, script))) {
      problems.push(`target ${target}: default command ${JSON.stringify(argv)} does not run a file of the image`);
    }
  }
  return problems;
}

/** Stages nothing else builds on: the images one can build (`--target`). */
function finalStages(stages: readonly Stage[]): string[] {
  const parents = new Set(stages.map((s) => s.from));
  const copiedFrom = new Set(stages.flatMap((s) => s.instructions.map((i) => i.flags.from).filter((f): f is string => f !== undefined)));
  return stages.map((s) => s.name).filter((n) => !parents.has(n) && !copiedFrom.has(n));
}

/** The script `node [options] <script> [args]` runs. */
function scriptOf(argv: readonly string[]): string | undefined {
  return argv.slice(1).find((a) => !a.startsWith('-'));
}

// ---- tests -------------------------------------------------------------------------------------

const stages = parseDockerfile(DOCKERFILE);

test('the Dockerfile has no problems', () => {
  expect(dockerfileProblems(DOCKERFILE, DOCKERIGNORE)).toEqual([]);
});

test('the checks find a floating base, a root user, a missing COPY source and a command without its file', () => {
  const bad = [
    'FROM node:22 AS build',
    'WORKDIR /build',
    'COPY app/ app/',
    'COPY no-such-dir/ x/',
    'RUN npm run build:app',
    'FROM node:22.23.3-bookworm-slim',
    'WORKDIR /app',
    'COPY --from=build /build/app/dist/ /app/dist/',
    'COPY --from=build /build/app/not-built.js /app/',
    'USER root',
    'CMD ["node", "dist/nothing-main.js"]',
  ].join('\n');
  expect(dockerfileProblems(bad, DOCKERIGNORE)).toEqual([
    'stage build: base image node:22 is not pinned to a full version or digest',
    'stage build: COPY source no-such-dir/ does not exist',
    'stage 1: COPY --from=build source /build/app/not-built.js is not in stage build (after npm run build:app)',
    'target 1: USER must be a numeric non-root uid[:gid], got root',
    'target 1: default command ["node","dist/nothing-main.js"] does not run a file of the image',
  ]);
});

test('.dockerignore keeps the build inputs and drops the rest', () => {
  for (const kept of ['package.json', 'package-lock.json', 'tsconfig.json', 'contract', 'contract/environment.ts', 'app', 'app/build.ts', 'app/src/api-main.ts', 'app/src/db/migrations']) {
    expect([kept, ignoredByDockerignore(DOCKERIGNORE, kept)]).toEqual([kept, false]);
  }
  for (const dropped of ['node_modules/pg/package.json', 'app/dist/api-main.js', 'stacks/main.ts', 'tests/app/bundle.test.ts', '.git/HEAD', 'cdktf.out/manifest.json']) {
    expect([dropped, ignoredByDockerignore(DOCKERIGNORE, dropped)]).toEqual([dropped, true]);
  }
});

/** Repository files (not node_modules) the bundles in app/dist were built from, read from their source maps. */
function bundledSourceFiles(): string[] {
  const sources = new Set<string>();
  for (const map of fs.readdirSync(path.join(REPO, 'app/dist')).filter((name) => name.endsWith('.js.map'))) {
    const parsed = JSON.parse(fs.readFileSync(path.join(REPO, 'app/dist', map), 'utf8')) as { sources: string[] };
    for (const source of parsed.sources) {
      const file = path.posix.normalize(path.posix.join('app/dist', source));
      if (!file.startsWith('node_modules/')) sources.add(file);
    }
  }
  return [...sources].sort();
}

/** The files of `sources` the first (build) stage of a Dockerfile lacks, or that .dockerignore keeps out of the context. */
function sourcesMissingFromBuild(text: string, ignore: string, sources: readonly string[]): string[] {
  const parsed = parseDockerfile(text);
  const build = parsed[0]!.name;
  const workdir = stageState(parsed, build).workdir;
  return sources.filter((file) => !existsInImage(parsed, build, path.posix.join(workdir, file)) || ignoredByDockerignore(ignore, file));
}

test('the build stage holds every source file the bundles were built from (their source maps), none kept out by .dockerignore', () => {
  const sources = bundledSourceFiles();
  expect(sources).toEqual(expect.arrayContaining(['app/src/api-main.ts', 'contract/environment.ts']));
  expect(sourcesMissingFromBuild(DOCKERFILE, DOCKERIGNORE, sources)).toEqual([]);
});

test('fails when the build stage lacks a folder the bundles import, or .dockerignore keeps it out', () => {
  const sources = ['app/src/api-main.ts', 'contract/environment.ts'];
  const withoutContract = DOCKERFILE.replace(/^COPY contract\/ contract\/\n/m, '');
  expect(withoutContract).not.toBe(DOCKERFILE);
  expect(sourcesMissingFromBuild(withoutContract, DOCKERIGNORE, sources)).toEqual(['contract/environment.ts']);
  expect(sourcesMissingFromBuild(DOCKERFILE, DOCKERIGNORE.replace(/^!contract\/\n/m, ''), sources)).toEqual(['contract/environment.ts']);
});

test('the build stage is Node 22 and builds with npm ci and npm run build:app', () => {
  const build = stages[0]!;
  expect(build.from).toMatch(/^node:22\.\d+\.\d+-bookworm-slim$/);
  const runs = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.value);
  expect(runs).toEqual(expect.arrayContaining([expect.stringMatching(/^npm ci\b/), 'npm run build:app']));
});

test.each(['api', 'ws'])('target %s runs as the uid the app stack sets, with the RDS CA bundle and no npm', (target) => {
  const state = stageState(stages, target);
  expect(state.user).toBe(`${APP_CONTAINER_UID}:${APP_CONTAINER_UID}`);
  expect(state.env.NODE_EXTRA_CA_CERTS).toBeDefined();
  expect(resolveImagePath(stages, target, state.env.NODE_EXTRA_CA_CERTS!)).toBe(`url:${RDS_CA_BUNDLE_URL}`);
  const runtime = stages.find((s) => s.name === 'runtime')!;
  expect(runtime.instructions.some((i) => i.keyword === 'RUN' && i.value.startsWith('rm -rf') && i.value.includes('/usr/local/bin/npm'))).toBe(true);
  expect(finalStages(stages)).toContain(target);
});

test('the runtime ships exactly the node_modules the bundles leave external (RUNTIME_NODE_MODULES), from npm ci', () => {
  const runtime = stageState(stages, 'runtime');
  const shipped = runtime.files.filter((f) => f.imagePath.startsWith('/app/node_modules/')).map((f) => f.imagePath.slice('/app/node_modules/'.length));
  expect(shipped.sort()).toEqual([...RUNTIME_NODE_MODULES].sort());
  for (const module of RUNTIME_NODE_MODULES) {
    expect(resolveImagePath(stages, 'runtime', `/app/node_modules/${module}/package.json`) ?? resolveImagePath(stages, 'runtime', `/app/node_modules/${module}`)).toMatch(/^repo:node_modules\//);
  }
  // Every external a bundle requires is either optional (required in a try/catch) or shipped.
  expect(RUNTIME_NODE_MODULES).toContain('sharp');
});

test.each([
  ['api', 'dist/api-main.js'],
  ['ws', 'dist/ws-main.js'],
])('target %s starts %s by default', (target, script) => {
  const state = stageState(stages, target);
  expect(scriptOf([...(state.entrypoint ?? []), ...(state.cmd ?? [])])).toBe(script);
  expect(existsInImage(stages, target, path.posix.join(state.workdir, script))).toBe(true);
});

describe('the commands the app stack synthesizes', () => {
  const location = sampleLocations()[0]!;
  const stack = new LocationAppStack(Testing.app(), `${location.id}-app`, {
    location,
    platform: platformFixture(location.region),
    data: dataFixture(location),
    backend: LOCAL_BACKEND,
    imageTag: TEST_IMAGE_TAG,
  });
  const repositories = platformFixture(location.region).ecrRepositoryUrls;
  /** The containers of our image, with the Dockerfile target their repository is built from. */
  const appContainers: [string, FoundContainer & { target: string }][] = allContainers(synthJson(stack)).flatMap((found) => {
    const target = Object.entries(repositories).find(([, url]) => found.container.image === `${url}:${TEST_IMAGE_TAG}`)?.[0];
    return target ? [[`${found.kind}/${found.workload}`, { ...found, target }] as [string, FoundContainer & { target: string }]] : [];
  });

  test('cover the api and ws Deployments, the migration Job and the CronJobs', () => {
    expect(appContainers.map(([name]) => name.split('/')[0]).sort()).toEqual(expect.arrayContaining(['CronJob', 'Deployment', 'Deployment', 'Job']));
  });

  test.each(appContainers)('%s runs node on a file of the image, as the uid the image has', (_name, found) => {
    const state = stageState(stages, found.target);
    // Kubernetes: `command` replaces ENTRYPOINT (and drops CMD), `args` replaces CMD.
    const command: string[] | undefined = found.container.command;
    const args: string[] | undefined = found.container.args;
    const argv = [...(command ?? state.entrypoint ?? []), ...(args ?? (command ? [] : (state.cmd ?? [])))];
    expect(argv[0]).toBe('node');
    const script = scriptOf(argv);
    expect(script).toBeDefined();
    expect([script, existsInImage(stages, found.target, path.posix.resolve(state.workdir, script!))]).toEqual([script, true]);
    expect(found.container.security_context[0]?.run_as_user ?? found.container.security_context.run_as_user).toBe(String(APP_CONTAINER_UID));
    for (const hook of found.container.lifecycle?.pre_stop ?? []) expect(hook.exec.command[0]).toBe('node');
  });
});
