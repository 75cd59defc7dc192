/**
 * The tenancy rule: a token reaches only the restaurant it belongs to, whatever its role (a
 * manager of one restaurant is a stranger to the next). `requireSameRestaurant` applies it to a
 * path parameter; routes that validate their parameters first call it with the parsed id.
 */
import { forbidden } from '../errors';
import type { AuthClaims } from './claims';

/** Throws a 403 `forbidden` AppError unless `restaurantId` is the token's restaurant. */
export function assertSameRestaurant(claims: AuthClaims, restaurantId: string): void {
  if (restaurantId !== claims.restaurant_id) throw forbidden('this token belongs to another restaurant');
}
