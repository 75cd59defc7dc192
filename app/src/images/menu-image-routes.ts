/**
 * The menu image routes under /v1 (thin: authorize, read the body, call the service).
 *
 * POST /restaurants/:restaurantId/menu-items/:itemId/image    staff, manager
 *   Body: the image bytes (JPEG, PNG or WebP, any Content-Type: the type is read from the bytes).
 *   200 with `srcset`-ready URLs per format (menu-image-service.ts, MenuItemImage).
 * GET  /menu-images/*                                          public, filesystem storage only
 *   The stored variants, with the Cache-Control the CDN would send. No token: like the CDN.
 *
 * The path is restaurant-scoped like every other menu route (menu-routes.ts), so the restaurant
 * check is the same `requireSameRestaurant` and happens before a byte of the body is read.
 *
 * Only this route reads a raw body, up to IMAGE_MAX_BYTES; the app-wide JSON parser (100 kb)
 * applies to JSON bodies only and leaves an image alone. Compressed request bodies
 * (Content-Encoding) are refused: images are compressed already, and inflating would let a small
 * request expand past the limit's intent.
 */
import { isIPv6 } from 'node:net';
import * as path from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { AppError } from '../errors';
import type { RouteKit } from '../http/app';
import { itemParams, parseInput } from '../menu/menu-schemas';
import { FILESYSTEM_IMAGE_ROUTE, type FilesystemImageStorage } from './filesystem-image-storage';
import { MENU_IMAGE_CACHE_CONTROL, MENU_IMAGES_PREFIX, parseVariantKey } from './image-keys';
import type { ImageStorage } from './image-storage';
import { createMenuImageService, type MenuImageService, type MenuImageServiceDependencies } from './menu-image-service';
import { imageTooLarge } from './upload-validation';

/** The routes need what the service needs, and where the API is reached. */
export type MenuImageRouteDependencies = MenuImageServiceDependencies & {
  /**
   * The API's public origin (PUBLIC_BASE_URL): the base of filesystem-storage image URLs. Never
   * the request's Host header, which any client can set (and a cache could then keep a poisoned
   * URL).
   * @default - the address and port this process accepted the connection on
   */
  readonly publicBaseUrl?: string;
};

/** `http://<address>:<port>` of the socket's local end: the process itself, not what the client claims. */
function ownOrigin(req: Request): string {
  const address = (req.socket.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  return `http://${isIPv6(address) ? `[${address}]` : address}:${req.socket.localPort}`;
}

interface BodyParserError {
  readonly type?: string;
}

/** express.raw for any content type, with its errors as AppErrors that name the limit. */
function imageBody(maxBytes: number): RequestHandler {
  const raw = express.raw({ type: () => true, limit: maxBytes, inflate: false });
  return (req, res, next) => {
    raw(req, res, (error?: unknown) => {
      const type = (error as BodyParserError | undefined)?.type;
      if (type === 'entity.too.large') return next(imageTooLarge(maxBytes));
      if (type === 'encoding.unsupported') return next(new AppError('unsupported_content_encoding', 'send the image without Content-Encoding', 415));
      next(error);
    });
  };
}

function isFilesystem(storage: ImageStorage): storage is FilesystemImageStorage {
  return storage.kind === 'filesystem';
}

export function registerMenuImageRoutes(v1: Router, kit: RouteKit, deps: MenuImageRouteDependencies): MenuImageService {
  const service = createMenuImageService(deps);

  const itemOfThisRestaurant: RequestHandler = (req, res, next) => {
    parseInput(itemParams, req.params, 'params');
    kit.requireSameRestaurant()(req, res, next);
  };

  v1.post(
    '/restaurants/:restaurantId/menu-items/:itemId/image',
    kit.authenticate,
    kit.rateLimit('write'),
    kit.requireRole('staff', 'manager'),
    itemOfThisRestaurant,
    imageBody(deps.limits.maxBytes),
    async (req: Request, res: Response) => {
      const { restaurantId, itemId } = parseInput(itemParams, req.params, 'params');
      const body: unknown = req.body;
      if (body !== undefined && !Buffer.isBuffer(body)) {
        // The app-wide JSON parser took it: the client labelled the image application/json.
        throw new AppError('unsupported_media_type', 'request body must be the image bytes, not JSON', 415);
      }
      res.json(await service.replaceImage(restaurantId, itemId, body, deps.publicBaseUrl ?? ownOrigin(req)));
    },
  );

  const storage = deps.storage;
  if (isFilesystem(storage)) {
    const directory = path.join(storage.directory, MENU_IMAGES_PREFIX);
    const onlyVariantKeys = (req: Request, _res: Response, next: NextFunction) => {
      // Nothing but files this module names (no temporary files, no directory listings).
      if (parseVariantKey(`${MENU_IMAGES_PREFIX}${req.path.replace(/^\//, '')}`)) next();
      else next('router');
    };
    const serve = express.static(directory, {
      index: false,
      redirect: false,
      dotfiles: 'deny',
      cacheControl: false,
      setHeaders: (res) => {
        res.set('Cache-Control', MENU_IMAGE_CACHE_CONTROL);
        res.set('X-Content-Type-Options', 'nosniff');
      },
    });
    v1.use(FILESYSTEM_IMAGE_ROUTE, onlyVariantKeys, serve);
  }

  return service;
}
