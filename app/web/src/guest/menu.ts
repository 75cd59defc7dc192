/**
 * The menu as `GET /v1/restaurants/:restaurantId/menu` returns it (MenuDocument in
 * app/src/menu/menu-service.ts: available items only, grouped by category, prices in cents).
 */
import type { MenuDocument } from '../../../src/menu/menu-service';

export type Menu = MenuDocument;
export type MenuItem = MenuDocument['categories'][number]['items'][number];

export function menuPath(restaurantId: string): string {
  return `/v1/restaurants/${encodeURIComponent(restaurantId)}/menu`;
}

export function itemsById(menu: Menu): Map<string, MenuItem> {
  return new Map(menu.categories.flatMap((c) => c.items.map((item) => [item.id, item] as const)));
}

/** `price_cents` in the restaurant's currency, in the reader's locale. */
export function formatPrice(cents: number, currency: string): string {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}
