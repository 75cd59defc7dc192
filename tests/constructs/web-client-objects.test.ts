/**
 * WebClientObjects and the build it publishes (loadWebClientBuild): one object per published file
 * with the contract's headers, sources that are relative paths into the stack folder (so a synth
 * in another folder or worktree gives the same JSON), and a changed build changing exactly the
 * changed files' entries. Plans with real Terraform: tests/plan/web-client-plan.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CACHE_CONTROL_IMMUTABLE, CACHE_CONTROL_REVALIDATE } from '../../contract/web-delivery';
import { normalizeStackJson } from '../../stacks/checks/plan/affected-stacks';
import { App } from '../../stacks/infra/cdktf';
import type { Location } from '../../stacks/infra/config/location';
import { loadWebClientBuild, WebClientBuildError, type WebClientBuild } from '../../stacks/infra/config/web-client-build';
import { CdnBucket } from '../../stacks/infra/constructs/cdn-bucket';
import { WebClientObjects } from '../../stacks/infra/constructs/web-client-objects';
import { ACCOUNT_ID, blockOf, hostStack, refOf } from '../support/stacks/data-fixtures';
import { type Json } from '../support/stacks/synth-json';
import { sampleLocation } from '../support/stacks/sample-locations';
import { FIXTURE_WEB_FILES, webClientFixture, webClientFixtureDir, writeWebClientFiles } from '../support/stacks/web-client-fixture';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'web-client-objects-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const cafe = sampleLocation('sukhumvit-cafe');
let synths = 0;

interface Synthesized {
  readonly objects: WebClientObjects;
  readonly cdn: CdnBucket;
  readonly json: Json;
  /** The stack's folder in the output. */
  readonly stackDir: string;
}

/** Synthesizes a stack holding the CDN and the published build, as `npm run synth` writes it (assets copied). */
function synthesize(build: WebClientBuild, location: Location = cafe): Synthesized {
  const outdir = path.join(work, `out-${++synths}`);
  const app = new App({ outdir });
  const { stack, usEast1 } = hostStack(app, `${location.id}-data`, location);
  const cdn = new CdnBucket(stack, 'cdn', { location, accountId: ACCOUNT_ID, usEast1Provider: usEast1 });
  const objects = new WebClientObjects(stack, 'web-client', { location, cdn, build });
  app.synth();
  const stackDir = path.join(outdir, 'stacks', `${location.id}-data`);
  return { objects, cdn, json: JSON.parse(fs.readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')), stackDir };
}

/** The `for_each` map of both file resources, merged: path -> { source, content_type, cache_control }. */
function entries(s: Synthesized): Record<string, Json> {
  return { ...blockOf(s.json, s.objects.immutableFiles).for_each, ...blockOf(s.json, s.objects.revalidatedFiles).for_each };
}

describe('loadWebClientBuild', () => {
  test('publishes every file but dot-folders and the build\'s own config.json, with the contract\'s headers', () => {
    const build = webClientFixture();
    expect(build.files.map((f) => [f.path, f.contentType, f.cacheControl])).toEqual([
      ['assets/GuestPage-Qw3rTy12.js', 'text/javascript; charset=utf-8', CACHE_CONTROL_IMMUTABLE],
      ['assets/index-Fx7aB2cD.js', 'text/javascript; charset=utf-8', CACHE_CONTROL_IMMUTABLE],
      ['assets/index-Zx9cV8bN.css', 'text/css; charset=utf-8', CACHE_CONTROL_IMMUTABLE],
      ['index.html', 'text/html; charset=utf-8', CACHE_CONTROL_REVALIDATE],
      ['manifest.webmanifest', 'application/manifest+json', CACHE_CONTROL_REVALIDATE],
      ['sw.js', 'text/javascript; charset=utf-8', CACHE_CONTROL_REVALIDATE],
    ]);
    // md5sum of the fixture's sw.js: what Terraform's filemd5 answers for the uploaded copy.
    expect(build.files.find((f) => f.path === 'sw.js')!.md5).toBe('83ab4fe58fa3b413f8e550a1ac9b4338');
  });

  test('fails when the folder holds no build, naming it and the command', () => {
    const empty = fs.mkdtempSync(path.join(work, 'empty-'));
    expect(() => loadWebClientBuild(empty)).toThrow(WebClientBuildError);
    expect(() => loadWebClientBuild(empty)).toThrow(`web client not built: run \`npm run build:web\` (no index.html in ${path.relative(process.cwd(), empty)})`);
  });

  test('fails when a file has no known content type', () => {
    const dir = webClientFixtureDir({ ...FIXTURE_WEB_FILES, 'assets/font-Ab12.ttf': 'x' });
    expect(() => loadWebClientBuild(dir)).toThrow(
      `web client file assets/font-Ab12.ttf: no content type known for its extension; add it to contract/web-delivery.ts (build folder ${path.relative(process.cwd(), dir)})`,
    );
  });
});

describe('WebClientObjects', () => {
  const fixture = synthesize(webClientFixture());
  const { json, objects, cdn } = fixture;

  describe('defaults', () => {
    test('one object per published file, keyed by its path, under web/ with its content type and cache control', () => {
      const build = webClientFixture();
      const byPath = entries(fixture);
      expect(Object.keys(byPath).sort()).toEqual(build.files.map((f) => f.path));
      for (const file of build.files) {
        expect(byPath[file.path]).toMatchObject({ content_type: file.contentType, cache_control: file.cacheControl });
      }
      for (const files of [objects.immutableFiles, objects.revalidatedFiles]) {
        expect(blockOf(json, files)).toMatchObject({
          bucket: refOf(cdn.bucket, 'id'),
          key: 'web/${each.key}',
          source: '${each.value.source}',
          source_hash: '${filemd5(each.value.source)}',
          content_type: '${each.value.content_type}',
          cache_control: '${each.value.cache_control}',
        });
      }
      expect(Object.keys(blockOf(json, objects.immutableFiles).for_each).every((p) => p.startsWith('assets/'))).toBe(true);
      expect(objects.paths).toEqual([...build.files.map((f) => f.path), 'config.json'].sort());
    });

    test("config.json points the client at the location's api and websocket, revalidated like index.html", () => {
      expect(blockOf(json, objects.runtimeConfigObject)).toMatchObject({
        key: 'web/config.json',
        content_type: 'application/json',
        cache_control: CACHE_CONTROL_REVALIDATE,
      });
      expect(JSON.parse(blockOf(json, objects.runtimeConfigObject).content)).toEqual({
        apiBaseUrl: 'https://api.sukhumvit-cafe.banrimkwae.com',
        websocketUrl: 'wss://api.sukhumvit-cafe.banrimkwae.com/ws',
      });
    });

    test('objects wait for the bucket key; index.html and the worker wait for the chunks and config.json they load', () => {
      const encryption = `${cdn.bucketEncryption.terraformResourceType}.${cdn.bucketEncryption.friendlyUniqueId}`;
      const address = (o: { terraformResourceType: string; friendlyUniqueId: string }) => `${o.terraformResourceType}.${o.friendlyUniqueId}`;
      expect(blockOf(json, objects.immutableFiles).depends_on).toEqual([encryption]);
      expect(blockOf(json, objects.runtimeConfigObject).depends_on).toEqual([encryption]);
      expect(blockOf(json, objects.revalidatedFiles).depends_on).toEqual([encryption, address(objects.immutableFiles), address(objects.runtimeConfigObject)]);
    });
  });

  describe('errors', () => {
    test('fails when the build has no file to publish', () => {
      const app = new App({ outdir: path.join(work, 'empty-build') });
      const { stack, usEast1 } = hostStack(app, 'sukhumvit-cafe-data', cafe);
      const cdn = new CdnBucket(stack, 'cdn', { location: cafe, accountId: ACCOUNT_ID, usEast1Provider: usEast1 });
      expect(() => new WebClientObjects(stack, 'web-client', { location: cafe, cdn, build: { dir: '/builds/none', files: [] } })).toThrow(
        'build must have files to publish, got none in /builds/none (location "sukhumvit-cafe")',
      );
    });

    test('fails when the location has more tags than S3 objects take with the platform\'s', () => {
      const tagged: Location = { ...cafe, tags: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`tag-${i}`, 'x'])) };
      const app = new App({ outdir: path.join(work, 'tags') });
      const { stack, usEast1 } = hostStack(app, 'sukhumvit-cafe-data', tagged);
      const cdn = new CdnBucket(stack, 'cdn', { location: tagged, accountId: ACCOUNT_ID, usEast1Provider: usEast1 });
      expect(() => new WebClientObjects(stack, 'web-client', { location: tagged, cdn, build: webClientFixture() })).toThrow(
        'tags must be at most 10 with the platform\'s location, stack and managed-by (S3 objects of the web client carry them and take 10), got 11 (location "sukhumvit-cafe")',
      );
    });
  });

  describe('behaviour', () => {
    test('sources are relative paths into the stack folder holding a copy of each file, named by its MD5', () => {
      for (const [file, entry] of Object.entries(entries(fixture))) {
        const source = entry.source as string;
        expect(path.isAbsolute(source)).toBe(false);
        const md5 = webClientFixture().files.find((f) => f.path === file)!.md5;
        expect(source).toMatch(new RegExp(`^assets/[^/]+/${md5}/${path.basename(file).replace(/\./g, '\\.')}$`));
        expect(fs.readFileSync(path.join(fixture.stackDir, source), 'utf8')).toBe(FIXTURE_WEB_FILES[file]);
      }
    });

    test('the same build from another folder (another machine, a git worktree) synthesizes the same JSON', () => {
      const again = synthesize(webClientFixture());
      expect(normalizeStackJson(again.json)).toEqual(normalizeStackJson(json));
      expect(fixture.stackDir).not.toBe(again.stackDir);
    });

    test('a changed build changes exactly the entries of the files that changed, and no other resource', () => {
      const next = writeWebClientFiles(webClientFixtureDir(), {
        'index.html': FIXTURE_WEB_FILES['index.html']!.replace('index-Fx7aB2cD.js', 'index-Nw4eRt56.js'),
        'assets/index-Nw4eRt56.js': 'import("./GuestPage-Qw3rTy12.js"); // v2\n',
        'sw.js': 'self.addEventListener("install", () => self.skipWaiting()); // v2\n',
      });
      fs.rmSync(path.join(next, 'assets/index-Fx7aB2cD.js'));
      const changed = synthesize(loadWebClientBuild(next));
      const [before, after] = [entries(fixture), entries(changed)];

      const differing = [...new Set([...Object.keys(before), ...Object.keys(after)])]
        .filter((file) => JSON.stringify(before[file]) !== JSON.stringify(after[file]))
        .sort();
      expect(differing).toEqual(['assets/index-Fx7aB2cD.js', 'assets/index-Nw4eRt56.js', 'index.html', 'sw.js']);
      expect(after['assets/index-Fx7aB2cD.js']).toBeUndefined();
      expect(before['assets/index-Nw4eRt56.js']).toBeUndefined();
      // Changed content, changed copy: the source path carries the MD5 that filemd5 will answer.
      expect(after['index.html'].source).not.toBe(before['index.html'].source);

      // Everything else in the stack is untouched.
      const withoutFiles = (s: Synthesized) => {
        const copy = normalizeStackJson(s.json) as Json;
        for (const files of [s.objects.immutableFiles, s.objects.revalidatedFiles]) delete copy.resource.aws_s3_object[files.friendlyUniqueId].for_each;
        return copy;
      };
      expect(withoutFiles(changed)).toEqual(withoutFiles(fixture));
    });
  });
});
