/**
 * A stand-in for the company identity service on loopback: a key pair made at start, its public
 * JWKS at `/.well-known/jwks.json`, and `/dev-token` minting tokens for local use
 * (`?role=staff&restaurant_id=1`, guests add `&table_id=3`). Production tokens come from the real
 * identity service, which runs outside this repository (`IDENTITY_SERVICE` in
 * stacks/infra/constructs/container-environment.ts); this one exists only in tests and `npm run local`.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { authClaimsSchema } from '../../app/src/auth/claims';
import { IDENTITY_SERVICE, type IdentityProvider } from '../../stacks/infra/constructs/container-environment';
import { createTokenMint, type TokenMint } from '../services/token-mint';

export interface DevIdentity {
  readonly provider: IdentityProvider;
  readonly url: string;
  /** Signs a token for these claims (`sub` defaults to a name made from them). */
  token(claims: { role: string; restaurant_id: string; table_id?: string; sub?: string }, expiresIn?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startDevIdentity(): Promise<DevIdentity> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider: IdentityProvider = { issuer: url, audience: IDENTITY_SERVICE.audience, jwksUrl: `${url}/.well-known/jwks.json` };
  const mint: TokenMint = await createTokenMint();
  const token: DevIdentity['token'] = (claims, expiresIn = '12h') => {
    const { sub, ...rest } = claims;
    const subject = sub ?? `dev-${rest.role}-${rest.restaurant_id}${rest.table_id ? `-t${rest.table_id}` : ''}`;
    return mint.sign({ sub: subject, ...rest }, { issuer: provider.issuer, audience: provider.audience, expiresIn });
  };
  const jwks = JSON.stringify(mint.publicJwks);
  server.on('request', (req, res) => {
    const requestUrl = new URL(req.url ?? '/', url);
    if (requestUrl.pathname === '/.well-known/jwks.json') {
      res.setHeader('Content-Type', 'application/json').end(jwks);
      return;
    }
    if (requestUrl.pathname === '/dev-token') {
      const claims = Object.fromEntries(requestUrl.searchParams) as Record<string, string>;
      const parsed = authClaimsSchema.safeParse({ sub: claims.sub ?? 'dev', ...claims });
      if (!parsed.success) {
        res.statusCode = 400;
        res.end(`${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}\n`);
        return;
      }
      void token({ role: claims.role!, restaurant_id: claims.restaurant_id!, table_id: claims.table_id, sub: claims.sub }).then((t) => res.end(`${t}\n`));
      return;
    }
    res.statusCode = 404;
    res.end('not found\n');
  });
  return {
    provider,
    url,
    token,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
