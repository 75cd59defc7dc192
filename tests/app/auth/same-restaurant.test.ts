/**
 * The tenancy rule (app/src/auth/same-restaurant.ts): a token reaches only its own restaurant,
 * whatever its role, and `requireSameRestaurant` refuses through the same rule with the same error.
 */
import type { Request, Response } from 'express';
import type { AuthClaims, Role } from '../../../app/src/auth/claims';
import { ROLES } from '../../../app/src/auth/claims';
import { authenticate, requireSameRestaurant } from '../../../app/src/auth/middleware';
import { assertSameRestaurant } from '../../../app/src/auth/same-restaurant';
import { AppError } from '../../../app/src/errors';

const claimsOf = (role: Role, restaurantId = '7'): AuthClaims => ({
  sub: `${role}-1`,
  role,
  restaurant_id: restaurantId,
  ...(role === 'guest' ? { table_id: '12' } : {}),
});

/** What the function or the middleware threw, or undefined. */
function thrownBy(run: () => void): unknown {
  try {
    run();
    return undefined;
  } catch (error) {
    return error;
  }
}

function expectRefusal(error: unknown): void {
  expect(error).toBeInstanceOf(AppError);
  expect(error).toMatchObject({ code: 'forbidden', httpStatus: 403, message: 'this token belongs to another restaurant', headers: {} });
}

describe('assertSameRestaurant', () => {
  test.each(ROLES)('allows a %s token its own restaurant', (role) => {
    expect(() => assertSameRestaurant(claimsOf(role), '7')).not.toThrow();
  });

  test.each(ROLES)('fails when a %s token asks for another restaurant: 403 forbidden', (role) => {
    expectRefusal(thrownBy(() => assertSameRestaurant(claimsOf(role), '8')));
  });

  test('fails when the id only looks alike: ids are compared as the decimal strings the claims hold', () => {
    expectRefusal(thrownBy(() => assertSameRestaurant(claimsOf('manager', '7'), '70')));
    expectRefusal(thrownBy(() => assertSameRestaurant(claimsOf('manager', '70'), '7')));
  });
});

describe('requireSameRestaurant applies the same rule', () => {
  /** A response carrying `claims` the way `authenticate` stores them. */
  async function authenticated(claims: AuthClaims): Promise<Response> {
    const res = { locals: {} } as Response;
    const req = { get: () => 'Bearer aaa.bbb.ccc' } as unknown as Request;
    await authenticate(async () => claims)(req, res, () => undefined);
    return res;
  }
  const requestFor = (restaurantId: string) => ({ params: { restaurantId } }) as unknown as Request;

  test.each(ROLES)('passes a %s token on to its own restaurant', async (role) => {
    const res = await authenticated(claimsOf(role));
    const next = jest.fn();
    requireSameRestaurant()(requestFor('7'), res, next);
    expect(next).toHaveBeenCalledWith();
  });

  test.each(ROLES)('fails when a %s token asks for another restaurant, with the error assertSameRestaurant throws', async (role) => {
    const res = await authenticated(claimsOf(role));
    const next = jest.fn();
    const fromMiddleware = thrownBy(() => requireSameRestaurant()(requestFor('8'), res, next));
    expectRefusal(fromMiddleware);
    expect(fromMiddleware).toEqual(thrownBy(() => assertSameRestaurant(claimsOf(role), '8')));
    expect(next).not.toHaveBeenCalled();
  });

  test('fails when the parameter is a wildcard (its segments), even one that spells the restaurant id', async () => {
    const res = await authenticated(claimsOf('manager'));
    const next = jest.fn();
    const wildcard = { params: { restaurantId: ['7'] } } as unknown as Request;
    expectRefusal(thrownBy(() => requireSameRestaurant()(wildcard, res, next)));
    expect(next).not.toHaveBeenCalled();
  });
});
