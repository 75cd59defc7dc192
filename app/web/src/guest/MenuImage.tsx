/**
 * A menu item's photo from the variants the API made (app/src/images/image-variants.ts: each width
 * in AVIF, WebP and JPEG; `menu_items.image_keys` maps `avif-640` to an object key). `<picture>`
 * offers AVIF, then WebP, then JPEG, each with every width in `srcset`, and `sizes` tells the
 * browser how wide the image is laid out, so it fetches one file: the narrowest one that fills
 * the slot at the screen's density.
 *
 * No layout shift: `width`/`height` give the box its aspect ratio before a byte arrives, and the
 * stylesheet lays every photo out at that ratio (`object-fit: cover`), whatever the upload's.
 * Below-the-fold photos are `loading="lazy"`; the first ones (the likely LCP element) are eager
 * with high fetch priority.
 *
 * The objects are served by the CDN at `/<key>` (the `menu-images/*` behaviour), next to this app:
 * the same origin as the page, so the URLs are root-relative. The local platform's nginx serves the
 * same paths (tools/local/local-web.ts).
 */
import type { VariantFormat } from '../../../src/images/image-keys';

/** The layout width of a photo: the column (max 40rem) less the page's 1rem padding on each side. */
export const MENU_IMAGE_SIZES = '(min-width: 40rem) 38rem, calc(100vw - 2rem)';
/** The box every photo is laid out in (16:9); its pixel size only names the ratio. */
export const MENU_IMAGE_BOX = { width: 640, height: 360 } as const;

const FORMATS: readonly { format: VariantFormat; type: string }[] = [
  { format: 'avif', type: 'image/avif' },
  { format: 'webp', type: 'image/webp' },
];
const VARIANT_NAME = /^(avif|webp|jpeg)-([1-9][0-9]*)$/;

interface Variant {
  readonly width: number;
  readonly url: string;
}

/** The variants of `image_keys` per format, narrowest first. */
export function variantsByFormat(imageKeys: Readonly<Record<string, string>>): Map<VariantFormat, Variant[]> {
  const byFormat = new Map<VariantFormat, Variant[]>();
  for (const [name, key] of Object.entries(imageKeys)) {
    const match = VARIANT_NAME.exec(name);
    if (!match) continue;
    const format = match[1] as VariantFormat;
    const list = byFormat.get(format) ?? [];
    list.push({ width: Number(match[2]), url: `/${key.replace(/^\/+/, '')}` });
    byFormat.set(format, list);
  }
  for (const list of byFormat.values()) list.sort((a, b) => a.width - b.width);
  return byFormat;
}

const srcset = (variants: readonly Variant[]) => variants.map((v) => `${v.url} ${v.width}w`).join(', ');

export function MenuImage(props: { imageKeys: Readonly<Record<string, string>>; alt: string; eager: boolean }) {
  const variants = variantsByFormat(props.imageKeys);
  const fallback = variants.get('jpeg') ?? variants.get('webp') ?? variants.get('avif');
  if (!fallback || fallback.length === 0) return null;
  // The `src` for browsers without srcset: a middle width, not the largest.
  const src = fallback[Math.min(1, fallback.length - 1)]!.url;
  return (
    <picture>
      {FORMATS.map(({ format, type }) => {
        const list = variants.get(format);
        return list && list.length > 0 ? <source key={format} type={type} srcSet={srcset(list)} sizes={MENU_IMAGE_SIZES} /> : null;
      })}
      {/* `loading` and `sizes` before the sources: an image with a src and no loading yet may start loading at once. */}
      <img
        className="menu-photo"
        alt={props.alt}
        width={MENU_IMAGE_BOX.width}
        height={MENU_IMAGE_BOX.height}
        loading={props.eager ? 'eager' : 'lazy'}
        fetchPriority={props.eager ? 'high' : 'auto'}
        decoding="async"
        sizes={MENU_IMAGE_SIZES}
        srcSet={srcset(fallback)}
        src={src}
      />
    </picture>
  );
}
