/**
 * Express middleware: `authenticate` verifies the bearer token and stores the claims on
 * `res.locals`; `requireRole` and `requireSameRestaurant` authorize. Errors are AppErrors: 401 with
 * `WWW-Authenticate` for a missing or invalid token, 403 for a valid token without the right.
 */
import type { RequestHandler, Response } from 'express';
import { forbidden, unauthorized } from '../errors';
import type { AuthClaims, Role } from './claims';
import { assertSameRestaurant } from './same-restaurant';

const CLAIMS = Symbol('auth claims');
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;

/** The compact token of an `Authorization: Bearer <jwt>` header, or undefined for anything else. */
export function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header.trim())?.[1];
}

/** The verified claims of this request; throws 401 when `authenticate` did not run or failed. */
export function authClaims(res: Response): AuthClaims {
  const claims = optionalAuthClaims(res);
  if (!claims) throw unauthorized();
  return claims;
}

/** The verified claims when `authenticate` ran on this request, else undefined. */
export function optionalAuthClaims(res: Response): AuthClaims | undefined {
  return (res.locals as Record<symbol, AuthClaims | undefined>)[CLAIMS];
}

export function authenticate(verify: (token: string) => Promise<AuthClaims>): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    if (!header) throw unauthorized();
    const token = bearerToken(header);
    if (!token) throw unauthorized('authorization must be a bearer token', true);
    (res.locals as Record<symbol, AuthClaims>)[CLAIMS] = await verify(token);
    next();
  };
}

export function requireRole(...roles: Role[]): RequestHandler {
  if (roles.length === 0) throw new Error('requireRole needs at least one role');
  return (_req, res, next) => {
    const { role } = authClaims(res);
    if (!roles.includes(role)) throw forbidden(`role ${role} may not do this (allowed: ${roles.join(', ')})`);
    next();
  };
}

/** 403 unless the path parameter `paramName` is the token's restaurant. */
export function requireSameRestaurant(paramName = 'restaurantId'): RequestHandler {
  return (req, res, next) => {
    const claims = authClaims(res);
    const requested = req.params[paramName];
    if (requested === undefined) throw new Error(`requireSameRestaurant: route has no :${paramName} parameter`);
    // A `*name` parameter holds the segments it matched; as the path they spell it has a "/", so it
    // is never a restaurant id and is refused like one.
    assertSameRestaurant(claims, typeof requested === 'string' ? requested : `/${requested.join('/')}`);
    next();
  };
}
