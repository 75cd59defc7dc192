/** The part of s3rver 3.x (no type declarations of its own) the image tests use. */
declare module 's3rver' {
  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory: string;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
  }
  class S3rver {
    constructor(options: S3rverOptions);
    /** Resolves with the bound address (`port` is the real one when 0 was asked for). */
    run(): Promise<{ address: string; family: string; port: number }>;
    close(): Promise<void>;
  }
  export = S3rver;
}
