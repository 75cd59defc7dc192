/**
 * A small HTTP/1.1 client for load generation: keep-alive sockets per source address (loopback
 * is 127.0.0.0/8, so clients can come from many addresses, as nginx's ip_hash needs to spread
 * them), a timeout, and no exceptions: a failed request is a result with `status: 0`.
 */
import * as http from 'node:http';

export interface HttpResult {
  /** HTTP status, or 0 for a transport error / timeout. */
  readonly status: number;
  readonly body: string;
  readonly error?: string;
  readonly startedAt: number;
  readonly durationMs: number;
}

export class LoadHttpClient {
  private readonly agents = new Map<string, http.Agent>();
  private readonly base: URL;

  constructor(baseUrl: string, private readonly timeoutMs = 10_000, private readonly maxSocketsPerAddress = 64) {
    this.base = new URL(baseUrl);
  }

  private agent(localAddress: string): http.Agent {
    let agent = this.agents.get(localAddress);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, maxSockets: this.maxSocketsPerAddress, localAddress } as http.AgentOptions);
      this.agents.set(localAddress, agent);
    }
    return agent;
  }

  request(method: string, path: string, options: { headers?: Record<string, string>; body?: string; localAddress?: string } = {}): Promise<HttpResult> {
    const startedAt = Date.now();
    const t0 = performance.now();
    return new Promise<HttpResult>((resolve) => {
      let settled = false;
      const done = (status: number, body: string, error?: string) => {
        if (settled) return;
        settled = true;
        resolve({ status, body, error, startedAt, durationMs: performance.now() - t0 });
      };
      const headers: Record<string, string> = { ...options.headers };
      if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
      const req = http.request(
        { host: this.base.hostname, port: this.base.port, method, path, headers, agent: this.agent(options.localAddress ?? '127.0.0.1') },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done(res.statusCode ?? 0, Buffer.concat(chunks).toString()));
          res.on('error', (e) => done(0, '', e.message));
        },
      );
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`timeout after ${this.timeoutMs} ms`)));
      req.on('error', (e) => done(0, '', e.message));
      req.end(options.body);
    });
  }

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}
