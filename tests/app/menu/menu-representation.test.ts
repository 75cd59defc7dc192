/** The menu as prepared for the wire (app/src/menu/menu-representation.ts): codings, headers, and what is prepared when. */
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { MENU_CACHE_CONTROL, menuRepresentation, negotiateMenuCoding } from '../../../app/src/menu/menu-representation';
import { etagOf, type CachedMenu } from '../../../app/src/menu/menu-service';

const cached = (name: string): CachedMenu => {
  const json = JSON.stringify({ restaurant_id: '1', currency: 'THB', categories: [{ id: '1', name, sort_order: 1, items: [] }] });
  return { json, etag: etagOf(json) };
};

describe('negotiateMenuCoding', () => {
  test.each([
    [undefined, 'identity'],
    ['', 'identity'],
    ['gzip, deflate, br', 'br'],
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip, deflate', 'gzip'],
    ['GZIP', 'gzip'],
    ['x-gzip', 'gzip'],
    ['deflate', 'identity'],
    ['identity', 'identity'],
    ['br;q=0, gzip', 'gzip'],
    ['br;q=0, gzip;q=0', 'identity'],
    ['br;q=0.001', 'br'],
    ['*', 'br'],
    ['*;q=0, gzip', 'gzip'],
    ['br;q=0, *', 'gzip'],
    ['gzip;q=bogus, deflate', 'identity'],
    [' gzip ; q=0.5 , br ; q=0 ', 'gzip'],
  ])('Accept-Encoding %j gets %s', (header, coding) => {
    expect(negotiateMenuCoding(header)).toBe(coding);
  });
});

describe('menuRepresentation', () => {
  test('every coding carries the same JSON, with its own length and encoding header, under the one ETag', () => {
    const menu = cached('Mains');
    const prepared = menuRepresentation(menu);
    expect(gunzipSync(prepared.bodies.gzip).toString('utf8')).toBe(menu.json);
    expect(brotliDecompressSync(prepared.bodies.br).toString('utf8')).toBe(menu.json);
    expect(prepared.bodies.identity.toString('utf8')).toBe(menu.json);
    for (const coding of ['identity', 'gzip', 'br'] as const) {
      expect(prepared.headers[coding]).toEqual({
        ETag: menu.etag,
        'Cache-Control': MENU_CACHE_CONTROL,
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': prepared.bodies[coding].length,
        ...(coding === 'identity' ? {} : { 'Content-Encoding': coding }),
      });
    }
    expect(prepared.notModifiedHeaders).toEqual({ ETag: menu.etag, 'Cache-Control': MENU_CACHE_CONTROL });
  });

  test('prepared once per cached value; a new value (after an invalidation) is prepared afresh', () => {
    const before = cached('Mains');
    expect(menuRepresentation(before)).toBe(menuRepresentation(before));
    const after = cached('Drinks');
    expect(menuRepresentation(after)).not.toBe(menuRepresentation(before));
    expect(menuRepresentation(after).etag).toBe(after.etag);
    expect(menuRepresentation(after).bodies.identity.toString('utf8')).toContain('Drinks');
  });
});
