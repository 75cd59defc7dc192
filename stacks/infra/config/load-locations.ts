/**
 * Reads every location file in a directory, validates all of them, and returns them sorted by id,
 * or throws one LocationConfigError listing every problem in every file. Nothing downstream runs
 * on a partly valid set: one bad file stops the whole synth.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Location } from './location';
import { LocationConfigError, type LocationProblem } from './location-config-error';
import { locationFileSchema } from './location-schema';
import { resolveLocation } from './resolve-location';
import { problemsFromZod } from './zod-problems';

export const LOCATION_FILE_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;
/** Files that may sit in the locations directory without being location files. */
const IGNORED_FILES = new Set(['README.md']);

/** Parses one file's text; `file` is the path shown in messages (relative to the repo). */
export function parseLocationText(file: string, text: string): { ok: true; location: Location } | { ok: false; problems: LocationProblem[] } {
  const ext = path.extname(file);
  const expectedId = path.basename(file, ext);
  let raw: unknown;
  try {
    raw = ext === '.json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    const kind = ext === '.json' ? 'JSON' : 'YAML';
    const detail = (err as Error).message.split('\n')[0]!.replace(/:\s*$/, '');
    return { ok: false, problems: [{ file, field: '', message: `is not valid ${kind}: ${detail}` }] };
  }
  if (raw === null || raw === undefined || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, problems: [{ file, field: '', message: 'must be a mapping of location fields, got ' + (raw == null ? 'an empty file' : typeof raw) }] };
  }
  const parsed = locationFileSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) return { ok: false, problems: problemsFromZod(file, locationFileSchema, parsed.error) };
  return resolveLocation(file, expectedId, parsed.data);
}

/** Checks rules that span files: ids and public host names must be unique. */
export function crossFileProblems(locations: readonly Location[]): LocationProblem[] {
  const problems: LocationProblem[] = [];
  const ids = new Map<string, string>();
  const hosts = new Map<string, string>();
  for (const location of locations) {
    const firstFile = ids.get(location.id);
    if (firstFile) {
      problems.push({ file: location.sourceFile, field: 'id', message: `must be unique, got "${location.id}" which ${firstFile} already uses` });
    }
    ids.set(location.id, location.sourceFile);
    for (const key of ['api', 'cdn'] as const) {
      const host = location.domains[key];
      const owner = hosts.get(host);
      if (owner) {
        problems.push({ file: location.sourceFile, field: `domains.${key}`, message: `must be unique, got "${host}" which ${owner} already uses` });
      }
      hosts.set(host, location.sourceFile);
    }
  }
  return problems;
}

/**
 * Loads every location in `dir`. `displayRoot` makes file names in messages relative (default: cwd).
 */
export function loadLocations(dir: string, options: { displayRoot?: string } = {}): Location[] {
  const root = options.displayRoot ?? process.cwd();
  if (!fs.existsSync(dir)) {
    throw new LocationConfigError([{ file: path.relative(root, dir) || dir, field: '', message: 'directory does not exist' }]);
  }
  const problems: LocationProblem[] = [];
  const locations: Location[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    const shown = path.relative(root, full) || name;
    if (name.startsWith('.') || IGNORED_FILES.has(name) || fs.statSync(full).isDirectory()) continue;
    if (!(LOCATION_FILE_EXTENSIONS as readonly string[]).includes(path.extname(name))) {
      problems.push({ file: shown, field: '', message: `is not a location file (expected ${LOCATION_FILE_EXTENSIONS.join(', ')})` });
      continue;
    }
    const result = parseLocationText(shown, fs.readFileSync(full, 'utf8'));
    if (result.ok) locations.push(result.location);
    else problems.push(...result.problems);
  }
  problems.push(...crossFileProblems(locations));
  if (problems.length > 0) throw new LocationConfigError(problems);
  if (locations.length === 0) {
    throw new LocationConfigError([{ file: path.relative(root, dir) || dir, field: '', message: 'holds no location files; add one with `npm run location:add`' }]);
  }
  return locations.sort((a, b) => a.id.localeCompare(b.id));
}

/** Locations grouped by region, for the per-region platform and addons stacks. */
export function locationsByRegion(locations: readonly Location[]): Map<string, Location[]> {
  const byRegion = new Map<string, Location[]>();
  for (const location of locations) {
    const list = byRegion.get(location.region) ?? [];
    list.push(location);
    byRegion.set(location.region, list);
  }
  return new Map([...byRegion.entries()].sort(([a], [b]) => a.localeCompare(b)));
}
