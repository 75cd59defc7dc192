/**
 * Restaurant settings under /v1:
 *
 * GET   /restaurants/:restaurantId/settings    every role of that restaurant (screens read it on load)
 * PATCH /restaurants/:restaurantId/settings    manager { ordering_open?, tax_rate_percent?, service_charge_percent?, opening_hours? }
 */
import type { Router } from 'express';
import { authClaims } from '../auth/middleware';
import { assertSameRestaurant } from '../auth/same-restaurant';
import type { RouteKit } from '../http/app';
import { parseInput, restaurantParams } from '../http/input';
import { settingsPatch } from './settings-schemas';
import { createSettingsService, type SettingsService, type SettingsServiceDependencies } from './settings-service';

export function registerSettingsRoutes(v1: Router, kit: RouteKit, deps: SettingsServiceDependencies): SettingsService {
  const service = createSettingsService(deps);
  const path = '/restaurants/:restaurantId/settings';

  v1.get(path, kit.authenticate, kit.rateLimit('read'), async (req, res) => {
    const { restaurantId } = parseInput(restaurantParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    res.json(await service.get(restaurantId));
  });

  v1.patch(path, kit.authenticate, kit.rateLimit('write'), kit.requireRole('manager'), async (req, res) => {
    const { restaurantId } = parseInput(restaurantParams, req.params, 'params');
    assertSameRestaurant(authClaims(res), restaurantId);
    const patch = parseInput(settingsPatch, req.body ?? {}, 'body');
    res.json(await service.update(restaurantId, patch));
  });

  return service;
}
