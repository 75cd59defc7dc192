import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { addLocation, newLocationYaml, nextSteps, UsageError } from '../../stacks/cli/location-add';
import { loadLocations } from '../../stacks/infra/config/load-locations';
import { LocationConfigError } from '../../stacks/infra/config/location-config-error';

const REPO = path.join(__dirname, '../..');
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'location-add-'));

describe('location:add', () => {
  test('writes a file that loads, with defaults for the tier', () => {
    const dir = tempDir();
    addLocation(dir, { id: 'patong-beach', region: 'ap-southeast-1', tier: 'medium' });
    const [location] = loadLocations(dir);
    expect(location).toMatchObject({
      id: 'patong-beach',
      displayName: 'Patong Beach',
      availabilityZones: ['ap-southeast-1a', 'ap-southeast-1b', 'ap-southeast-1c'],
      business: { tier: 'medium', seats: 120, peakOrdersPerMinute: 90 },
      domains: { api: 'api.patong-beach.banrimkwae.com', cdn: 'cdn.patong-beach.banrimkwae.com' },
      alertEmail: 'ops-patong-beach@banrimkwae.com',
    });
    expect(location!.sizing.database.readReplicas).toBe(1);
  });

  test('a small location starts in two zones', () => {
    expect(newLocationYaml({ id: 'tiny-cafe', region: 'eu-west-2' })).toContain('availabilityZones:\n  - eu-west-2a\n  - eu-west-2b\nbusiness:');
  });

  test('fails when the id already has a file, and leaves it unchanged', () => {
    const dir = tempDir();
    addLocation(dir, { id: 'patong-beach', region: 'ap-southeast-1' });
    const before = fs.readFileSync(path.join(dir, 'patong-beach.yaml'), 'utf8');
    expect(() => addLocation(dir, { id: 'patong-beach', region: 'eu-west-2' })).toThrow(
      new UsageError(`${path.join(dir, 'patong-beach.yaml')} already exists; edit it instead of adding "patong-beach" again`),
    );
    expect(fs.readFileSync(path.join(dir, 'patong-beach.yaml'), 'utf8')).toBe(before);
  });

  test.each([
    ['has two hyphens in a row', 'patong--beach',
      'id must not contain two hyphens in a row: AWS refuses "--" in the RDS and ElastiCache names made from the id, got "patong--beach"'],
    ['is longer than the AWS names made from it allow', 'patong-beach-and-kata-noi-bay',
      'id must be 3-28 characters long (AWS allows 40 for the ElastiCache user group id "<id>-redis-users"), got "patong-beach-and-kata-noi-bay"'],
    ['ends in a hyphen', 'patong-',
      'id must be a DNS-safe id: lowercase letters, digits and hyphens, starting with a letter and ending with a letter or digit, got "patong-"'],
  ])('fails when the id %s, writing nothing', (_what, id, message) => {
    const dir = tempDir();
    expect(() => addLocation(dir, { id, region: 'ap-southeast-1' })).toThrow(new UsageError(message));
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('the command exits 2 naming the AWS rule an id breaks', () => {
    const result = spawnSync(process.execPath, [path.join(REPO, 'node_modules/tsx/dist/cli.mjs'), 'stacks/cli/location-add.ts', 'patong--beach', '--region', 'ap-southeast-1', '--dir', tempDir()], {
      cwd: REPO,
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('error: id must not contain two hyphens in a row: AWS refuses "--" in the RDS and ElastiCache names made from the id, got "patong--beach"\nusage: npm run location:add');
  });

  test('next steps: synth, diff and deploy the location; the first of a region also needs its platform.yaml section', () => {
    const others = [{ id: 'sukhumvit-cafe', region: 'ap-southeast-1' }];
    expect(nextSteps('patong-beach', 'ap-southeast-1', [...others, { id: 'patong-beach', region: 'ap-southeast-1' }])).toEqual([
      'next: review the file, `npm run synth` to generate its stacks, then `npm run diff -- patong-beach` and `npm run deploy -- patong-beach`',
    ]);
    expect(nextSteps('times-square', 'us-east-1', [...others, { id: 'times-square', region: 'us-east-1' }])).toEqual([
      'next: review the file, `npm run synth` to generate its stacks, then `npm run diff -- times-square` and `npm run deploy -- times-square`',
      'times-square is the first location of us-east-1: add regions.us-east-1 to platform.yaml (clusterEndpointAccess and clusterAccess, README: "Platform settings") before synth',
    ]);
  });

  test('fails when the region is unknown', () => {
    expect(() => newLocationYaml({ id: 'patong-beach', region: 'mars-1' })).toThrow(/^--region must be one of ap-northeast-1, .*, got "mars-1"$/);
  });

  test('fails when a host name would clash with another location, writing nothing', () => {
    const dir = tempDir();
    addLocation(dir, { id: 'patong-beach', region: 'ap-southeast-1' });
    fs.renameSync(path.join(dir, 'patong-beach.yaml'), path.join(dir, 'old-name.yaml'));
    fs.writeFileSync(path.join(dir, 'old-name.yaml'), fs.readFileSync(path.join(dir, 'old-name.yaml'), 'utf8').replace('id: patong-beach', 'id: old-name'));
    expect(() => addLocation(dir, { id: 'patong-beach', region: 'ap-southeast-1' })).toThrow(LocationConfigError);
    expect(fs.readdirSync(dir)).toEqual(['old-name.yaml']);
  });

  test('the command exits 2 with usage on a bad tier', () => {
    const result = spawnSync('npx', ['tsx', 'stacks/cli/location-add.ts', 'ok-cafe', '--region', 'eu-west-2', '--tier', 'mega', '--dir', tempDir()], {
      cwd: REPO,
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('error: --tier must be one of small, medium, large, got "mega"');
    expect(result.stderr).toContain('usage: npm run location:add -- <id> --region <region>');
  });
});

describe('locations', () => {
  test('prints every sample location with its sizing, marking overrides', () => {
    const result = spawnSync('npx', ['tsx', 'stacks/cli/locations.ts'], { cwd: REPO, encoding: 'utf8' });
    expect(result.status).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^location\s+region\s+tier\s+seats\s+orders\/min\s+db class\s+replicas\s+redis\s+api pods\s+ws pods\s+nginx$/);
    expect(lines.find((l) => l.startsWith('kanchanaburi-resort'))).toMatch(/db\.r6g\.xlarge\s+4\*\s+cache\.r6g\.large x3\s+3-16\*/);
    expect(lines.find((l) => l.startsWith('sukhumvit-cafe'))).toMatch(/\s+0\s+cache\.t4g\.small x2\s+2-4\s+2-3\s+2$/);
    // Then the capacity verdict of each (stacks/checks/capacity/).
    const verdictHeader = lines.findIndex((l) =>
      /^location\s+orders\/min\s+api pods\s+api headroom\s+sim\. peak pods\s+ws headroom\s+venue on one ws pod \(ip_hash\)\s+capacity$/.test(l),
    );
    expect(verdictHeader).toBeGreaterThan(0);
    expect(lines.slice(verdictHeader).find((l) => l.startsWith('kanchanaburi-resort'))).toMatch(
      /^kanchanaburi-resort\s+480\s+3-16\s+[\d.]+x\s+\d+\s+[\d.]+x\s+252 \/ \d+ \([\d.]+x\) ok\s+ok$/,
    );
  });

  test('exits 1 naming the file when a location is bad', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'bad-cafe.yaml'), 'id: bad-cafe\n');
    const result = spawnSync('npx', ['tsx', 'stacks/cli/locations.ts', '--dir', dir], { cwd: REPO, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('bad-cafe.yaml: displayName is required');
  });
});
