/**
 * The guest and kitchen web client of one location, published to its CDN bucket under
 * WEB_CLIENT_PREFIX: one S3 object per published build file, with the content type and cache
 * control of contract/web-delivery.ts, plus the location's runtime config (`config.json`).
 *
 * - Each file is a cdktf asset: synth copies it into the stack's folder as
 *   `assets/<asset id>/<md5>/<name>` and `source` names that relative path, so the synthesized
 *   JSON is the same on every machine and in every git worktree, and Terraform (run in the stack
 *   folder by cdktf, or in a copy of it by the plan check) reads the file from there.
 * - `source_hash` is Terraform's `filemd5` of that copy: a changed file changes its object in the
 *   plan, an unchanged one plans no change, and every plan proves the file is where `source`
 *   says. (`etag` cannot be used: with SSE-KMS, S3's ETag is not the MD5 of the content.)
 * - Two `for_each` resources, keyed by the file's path (plan addresses read
 *   `...["assets/index-ChA6Y83j.js"]`): the hashed files under `assets/` (immutable, new names
 *   for new content), and the rest (index.html, the service worker, the manifest...). The rest
 *   waits for the hashed files and the runtime config (`depends_on`), so a new index.html is only
 *   served once the chunks it loads exist; Terraform deletes a build's old chunks after the
 *   objects that depended on them were replaced.
 * - Every object carries the provider's default tags; S3 takes at most 10 tags per object.
 */
import { Construct } from 'constructs';
import { S3Object } from '@cdktf/provider-aws/lib/s3-object';
import { CACHE_CONTROL_IMMUTABLE, WEB_CLIENT_PREFIX, WEB_RUNTIME_CONFIG_FILE, webObjectHeaders, type WebRuntimeConfig } from '../../../contract/web-delivery';
import { AssetType, Fn, TerraformAsset, TerraformIterator } from '../cdktf';
import type { Location } from '../config/location';
import type { WebClientBuild, WebClientFile } from '../config/web-client-build';
import { stackTags } from '../tags';
import type { CdnBucket } from './cdn-bucket';
import { webRuntimeConfigFor } from './web-client-delivery';

/** S3's limit on tags per object. */
export const S3_OBJECT_MAX_TAGS = 10;

export interface WebClientObjectsProps {
  /** The location's name in messages, its api host (runtime config) and its tags. */
  readonly location: Location;
  /** The bucket the objects go to; CloudFront serves them (CdnBucket's web client behaviours). */
  readonly cdn: CdnBucket;
  /** The build to publish (loadWebClientBuild). */
  readonly build: WebClientBuild;
  /**
   * What `config.json` tells the client.
   * @default webRuntimeConfigFor(location): the location's api over https and its websocket path over wss
   */
  readonly runtimeConfig?: WebRuntimeConfig;
  /**
   * The stack id whose default tags the objects carry (stackTags), for the tag count check.
   * @default `<location>-data`
   */
  readonly stackId?: string;
}

export class WebClientObjects extends Construct {
  /** Files under `assets/`, keyed by path. */
  readonly immutableFiles: S3Object;
  /** Every other file of the build, keyed by path; written after the others. */
  readonly revalidatedFiles: S3Object;
  readonly runtimeConfigObject: S3Object;
  /** Published paths (relative to the site root), the runtime config included. */
  readonly paths: readonly string[];

  constructor(scope: Construct, id: string, props: WebClientObjectsProps) {
    super(scope, id);
    const { location, cdn, build } = props;
    const runtimeConfig = props.runtimeConfig ?? webRuntimeConfigFor(location);
    const tagCount = Object.keys(stackTags(props.stackId ?? `${location.id}-data`, location)).length;
    if (tagCount > S3_OBJECT_MAX_TAGS) {
      throw new Error(
        `tags must be at most ${S3_OBJECT_MAX_TAGS} with the platform's location, stack and managed-by (S3 objects of the web client carry them and take ${S3_OBJECT_MAX_TAGS}), got ${tagCount} (location "${location.id}")`,
      );
    }
    if (build.files.length === 0) {
      throw new Error(`build must have files to publish, got none in ${build.dir} (location "${location.id}")`);
    }

    const entry = (file: WebClientFile) => {
      const asset = new TerraformAsset(this, `file-${file.path.replace(/\//g, '--')}`, { path: file.sourceFile, type: AssetType.FILE, assetHash: file.md5 });
      return [file.path, { source: asset.path, content_type: file.contentType, cache_control: file.cacheControl }] as const;
    };
    const objects = (objectsId: string, files: readonly WebClientFile[], dependsOn: S3Object[]) => {
      const each = TerraformIterator.fromMap(Object.fromEntries(files.map(entry)));
      return new S3Object(this, objectsId, {
        forEach: each,
        bucket: cdn.bucket.id,
        key: `${WEB_CLIENT_PREFIX}${each.key}`,
        source: each.getString('source'),
        sourceHash: Fn.filemd5(each.getString('source')),
        contentType: each.getString('content_type'),
        cacheControl: each.getString('cache_control'),
        // Uploaded only once the bucket encrypts with its KMS key by default.
        dependsOn: [cdn.bucketEncryption, ...dependsOn],
      });
    };

    const configHeaders = webObjectHeaders(WEB_RUNTIME_CONFIG_FILE);
    this.runtimeConfigObject = new S3Object(this, 'runtime-config', {
      bucket: cdn.bucket.id,
      key: `${WEB_CLIENT_PREFIX}${WEB_RUNTIME_CONFIG_FILE}`,
      content: `${JSON.stringify(runtimeConfig, null, 2)}\n`,
      contentType: configHeaders.contentType,
      cacheControl: configHeaders.cacheControl,
      dependsOn: [cdn.bucketEncryption],
    });
    const immutable = build.files.filter((f) => f.cacheControl === CACHE_CONTROL_IMMUTABLE);
    this.immutableFiles = objects('immutable-files', immutable, []);
    this.revalidatedFiles = objects(
      'revalidated-files',
      build.files.filter((f) => !immutable.includes(f)),
      [this.immutableFiles, this.runtimeConfigObject],
    );
    this.paths = [...build.files.map((f) => f.path), WEB_RUNTIME_CONFIG_FILE].sort();
  }
}
