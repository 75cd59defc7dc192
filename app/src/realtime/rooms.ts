/**
 * Rooms: which connections an order event reaches. A connection joins exactly one room, chosen from
 * its verified token claims (never from anything the client sends):
 *
 * - `staff`, `manager`: the restaurant room (every order event of their restaurant).
 * - `kitchen`: the kitchen room of its restaurant. A kitchen screen works the whole order queue,
 *   so today the kitchen room receives the same events as the restaurant room; it is a room of its
 *   own so kitchen-only filtering (e.g. dropping prices) never touches what staff see, and so its
 *   connections are counted apart. A kitchen principal does not also join the restaurant room:
 *   it would receive every event twice.
 * - `guest`: only the room of its own table; events of orders without a table never reach guests.
 *
 * Room keys embed the restaurant, so a table id can never collide across restaurants.
 */
import type { AuthClaims } from '../auth/claims';
import type { OrderEvent } from '../events/order-events';
import type { RoomKind } from './protocol';

export interface Room {
  readonly kind: RoomKind;
  readonly key: string;
  readonly restaurantId: string;
}

export function roomFor(claims: AuthClaims): Room {
  const restaurantId = claims.restaurant_id;
  switch (claims.role) {
    case 'staff':
    case 'manager':
      return { kind: 'restaurant', key: `restaurant:${restaurantId}`, restaurantId };
    case 'kitchen':
      return { kind: 'kitchen', key: `kitchen:${restaurantId}`, restaurantId };
    case 'guest':
      if (claims.table_id === undefined) throw new Error('guest claims without table_id (the claims schema requires it)');
      return { kind: 'table', key: `table:${restaurantId}:${claims.table_id}`, restaurantId };
  }
}

/** The keys of every room that receives `event`. */
export function roomKeysForEvent(event: Pick<OrderEvent, 'restaurant_id' | 'table_id'>): string[] {
  const keys = [`restaurant:${event.restaurant_id}`, `kitchen:${event.restaurant_id}`];
  if (event.table_id !== null) keys.push(`table:${event.restaurant_id}:${event.table_id}`);
  return keys;
}

/** Members by room, and how many members each restaurant has (the streams this instance reads). */
export class RoomRegistry<Member> {
  private readonly members = new Map<string, Set<Member>>();
  private readonly perRestaurant = new Map<string, number>();
  private readonly perKind = new Map<RoomKind, number>([
    ['restaurant', 0],
    ['kitchen', 0],
    ['table', 0],
  ]);

  /** Returns true when `member` is the first of its restaurant on this instance. */
  join(room: Room, member: Member): boolean {
    let set = this.members.get(room.key);
    if (!set) this.members.set(room.key, (set = new Set()));
    if (set.has(member)) return false;
    set.add(member);
    this.perKind.set(room.kind, (this.perKind.get(room.kind) ?? 0) + 1);
    const count = (this.perRestaurant.get(room.restaurantId) ?? 0) + 1;
    this.perRestaurant.set(room.restaurantId, count);
    return count === 1;
  }

  /** Returns true when `member` was the last of its restaurant on this instance. */
  leave(room: Room, member: Member): boolean {
    const set = this.members.get(room.key);
    if (!set?.delete(member)) return false;
    if (set.size === 0) this.members.delete(room.key);
    this.perKind.set(room.kind, (this.perKind.get(room.kind) ?? 1) - 1);
    const count = (this.perRestaurant.get(room.restaurantId) ?? 1) - 1;
    if (count === 0) this.perRestaurant.delete(room.restaurantId);
    else this.perRestaurant.set(room.restaurantId, count);
    return count === 0;
  }

  membersOf(key: string): ReadonlySet<Member> | undefined {
    return this.members.get(key);
  }

  restaurants(): string[] {
    return [...this.perRestaurant.keys()];
  }

  hasRestaurant(restaurantId: string): boolean {
    return this.perRestaurant.has(restaurantId);
  }

  countByKind(): ReadonlyMap<RoomKind, number> {
    return this.perKind;
  }

  all(): Member[] {
    return [...this.members.values()].flatMap((set) => [...set]);
  }
}
