import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadLocations, locationsByRegion } from '../../stacks/infra/config/load-locations';
import { LocationConfigError } from '../../stacks/infra/config/location-config-error';

const REPO = path.join(__dirname, '../..');
const SAMPLES = path.join(REPO, 'locations');

function locationYaml(id: string, extra: Record<string, string> = {}): string {
  const fields: Record<string, string> = {
    id,
    displayName: `"${id}"`,
    region: 'ap-southeast-1',
    availabilityZones: '[ap-southeast-1a, ap-southeast-1b]',
    business: '{seats: 30, peakOrdersPerMinute: 20}',
    domains: `{api: api.${id}.example.com, cdn: cdn.${id}.example.com}`,
    tags: '{cost-center: cc-1, owner: platform-team}',
    alertEmail: 'ops@example.com',
    ...extra,
  };
  return Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n';
}

function tempDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locations-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

function errorOf(fn: () => unknown): LocationConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof LocationConfigError) return err;
    throw err;
  }
  throw new Error('expected a LocationConfigError');
}

describe('the shipped sample locations', () => {
  const locations = loadLocations(SAMPLES, { displayRoot: REPO });
  const byId = new Map(locations.map((l) => [l.id, l]));

  test('load, sorted by id, from YAML and JSON', () => {
    expect(locations.map((l) => l.id)).toEqual(['kanchanaburi-resort', 'london-shoreditch', 'sukhumvit-cafe']);
    expect(byId.get('london-shoreditch')!.sourceFile).toBe('locations/london-shoreditch.json');
  });

  test('include a small cafe without a read replica', () => {
    const cafe = byId.get('sukhumvit-cafe')!;
    expect(cafe.business.tier).toBe('small');
    expect(cafe.sizing.database.readReplicas).toBe(0);
  });

  test('include a large resort restaurant with several replicas', () => {
    const resort = byId.get('kanchanaburi-resort')!;
    expect(resort.business.tier).toBe('large');
    expect(resort.sizing.database.readReplicas).toBeGreaterThanOrEqual(2);
  });

  test('span at least two AWS regions', () => {
    expect([...locationsByRegion(locations).keys()]).toEqual(['ap-southeast-1', 'eu-west-2']);
  });
});

describe('loading a directory', () => {
  test('fails when two files use the same id', () => {
    const dir = tempDir({ 'dup-cafe.yaml': locationYaml('dup-cafe'), 'dup-cafe.json': JSON.stringify({}) });
    // The JSON file is rejected for its own problems; write a valid twin instead.
    fs.writeFileSync(
      path.join(dir, 'dup-cafe.json'),
      JSON.stringify({
        id: 'dup-cafe', displayName: 'Twin', region: 'ap-southeast-1', availabilityZones: ['ap-southeast-1a', 'ap-southeast-1b'],
        business: { seats: 30, peakOrdersPerMinute: 20 }, domains: { api: 'api.twin.example.com', cdn: 'cdn.twin.example.com' },
        tags: { 'cost-center': 'cc-1', owner: 'platform-team' }, alertEmail: 'ops@example.com',
      }),
    );
    const error = errorOf(() => loadLocations(dir, { displayRoot: dir }));
    expect(error.message).toBe('Invalid location config: dup-cafe.yaml: id must be unique, got "dup-cafe" which dup-cafe.json already uses');
  });

  test('fails when two locations claim the same public host name', () => {
    const dir = tempDir({
      'first-cafe.yaml': locationYaml('first-cafe'),
      'second-cafe.yaml': locationYaml('second-cafe', { domains: '{api: api.first-cafe.example.com, cdn: cdn.second-cafe.example.com}' }),
    });
    const error = errorOf(() => loadLocations(dir, { displayRoot: dir }));
    expect(error.message).toBe(
      'Invalid location config: second-cafe.yaml: domains.api must be unique, got "api.first-cafe.example.com" which first-cafe.yaml already uses',
    );
  });

  test('fails when a file is not a location file', () => {
    const dir = tempDir({ 'good-cafe.yaml': locationYaml('good-cafe'), 'notes.txt': 'hello' });
    const error = errorOf(() => loadLocations(dir, { displayRoot: dir }));
    expect(error.message).toBe('Invalid location config: notes.txt: is not a location file (expected .yaml, .yml, .json)');
  });

  test('fails with the problems of every bad file in one error', () => {
    const dir = tempDir({
      'alpha-cafe.yaml': locationYaml('alpha-cafe', { alertEmail: 'nope' }),
      'beta-cafe.yaml': locationYaml('beta-cafe', { region: 'moon-1' }),
      'gamma-cafe.yaml': locationYaml('gamma-cafe'),
    });
    const error = errorOf(() => loadLocations(dir, { displayRoot: dir }));
    expect(error.problems.map((p) => `${p.file}:${p.field}`)).toEqual(['alpha-cafe.yaml:alertEmail', 'beta-cafe.yaml:region']);
    expect(error.message.split('\n')[0]).toBe('Invalid location config (2 problems):');
  });

  test('fails when the directory holds no location', () => {
    const dir = tempDir({ 'README.md': '# notes' });
    expect(errorOf(() => loadLocations(dir, { displayRoot: path.dirname(dir) })).message).toBe(
      `Invalid location config: ${path.basename(dir)}: holds no location files; add one with \`npm run location:add\``,
    );
  });

  test('fails when the directory does not exist', () => {
    expect(errorOf(() => loadLocations('/nonexistent/locations', { displayRoot: '/nonexistent' })).message).toBe(
      'Invalid location config: locations: directory does not exist',
    );
  });
});
