/**
 * Reads the process environment, once, with the environment contract's schema
 * (contract/environment.ts, which the `<location>-app` stack builds container environments
 * from). The only module that may read `process.env`.
 */
import type { z } from 'zod';
import { configSchema, ENVIRONMENT_VARIABLES } from '../../contract/environment';

/** The parsed environment: defaults applied, lists split, booleans and numbers converted. */
export type AppConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid environment: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses an environment (only the contract's variables; others such as PATH are ignored).
 * Throws ConfigError naming every bad variable. Values are never echoed: they may be secrets.
 */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): AppConfig {
  const known = new Set<string>(ENVIRONMENT_VARIABLES);
  const picked: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (known.has(name) && value !== undefined) picked[name] = value;
  }
  const result = configSchema.safeParse(picked);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`));
  }
  return result.data;
}

export function loadConfig(): AppConfig {
  return parseConfig(process.env);
}
