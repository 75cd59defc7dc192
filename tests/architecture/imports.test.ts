/**
 * The module layout of issue 13, checked on the sources as they are: the services (`app/`) and the
 * stacks that deploy them (`stacks/`, with the nginx renderer `nginx/`) meet only in `contract/`,
 * `contract/` is a leaf, and no file imports itself back through others, anywhere in the repo.
 *
 * Type-only imports count as edges (import-graph.ts says why): the cycle this test was written
 * against, config -> order-events -> logger -> config, was made of them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  type BoundaryRule,
  boundaryViolations,
  buildImportGraph,
  describeCycle,
  findCycles,
  type ImportGraph,
  moduleSpecifiers,
  sourceFiles,
} from './import-graph';

const REPO = path.resolve(__dirname, '../..');
const FOLDERS = ['app', 'contract', 'nginx', 'stacks', 'tools', 'tests'];

const LAYOUT_RULES: readonly BoundaryRule[] = [
  { from: 'stacks/', to: ['app/'], because: 'stacks/ reaches the services only through contract/' },
  { from: 'nginx/', to: ['app/'], because: 'nginx/ reaches the services only through contract/' },
  {
    from: 'app/',
    to: ['stacks/', 'nginx/', 'tools/', 'tests/'],
    because: 'the services import only app/ and contract/ (the image build copies nothing else: app/Dockerfile)',
  },
  {
    from: 'contract/',
    to: ['app/', 'stacks/', 'nginx/', 'tools/', 'tests/'],
    because: 'contract/ is the leaf both sides import; it imports only itself and packages',
  },
];

const graph = buildImportGraph(REPO, sourceFiles(REPO, FOLDERS));

describe('the import graph of the repository', () => {
  test('is read from every folder, with the contract between the services and the stacks', () => {
    for (const folder of FOLDERS.filter((f) => fs.existsSync(path.join(REPO, f)))) {
      expect([...graph.keys()].some((file) => file.startsWith(`${folder}/`))).toBe(true);
    }
    expect(graph.get('app/src/config.ts')).toContain('contract/environment.ts');
    expect(graph.get('stacks/infra/constructs/container-environment.ts')).toEqual(expect.arrayContaining(['contract/constants.ts', 'contract/environment.ts']));
    // A type-only import is an edge.
    expect(graph.get('app/src/logger.ts')).toContain('app/src/config.ts');
  });

  test.each(LAYOUT_RULES.map((rule) => [rule.from, rule.to.join(', '), rule] as const))('no file under %s imports %s', (_from, _to, rule) => {
    expect(boundaryViolations(graph, [rule])).toEqual([]);
  });

  test('has no import cycle', () => {
    expect(findCycles(graph).map((cycle) => describeCycle(graph, cycle))).toEqual([]);
  });
});

describe('the checks fail on a bad layout', () => {
  test('fails when files import each other in a loop: every cycle with its files, self-imports included, nothing else', () => {
    const tiny: ImportGraph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts', 'd.ts']],
      ['d.ts', ['d.ts']],
      ['e.ts', ['a.ts', 'f.ts']],
      ['f.ts', []],
    ]);
    expect(findCycles(tiny)).toEqual([['a.ts', 'b.ts', 'c.ts'], ['d.ts']]);
    expect(describeCycle(tiny, ['a.ts', 'b.ts', 'c.ts'])).toBe('a.ts, b.ts, c.ts (a.ts -> b.ts; b.ts -> c.ts; c.ts -> a.ts)');
  });

  test('fails when an import closing a loop is added to the repository graph', () => {
    const withCycle = new Map(graph);
    withCycle.set('contract/constants.ts', [...(graph.get('contract/constants.ts') ?? []), 'contract/environment.ts']);
    expect(findCycles(withCycle).map((cycle) => describeCycle(withCycle, cycle))).toContain(
      'contract/constants.ts, contract/environment.ts (contract/constants.ts -> contract/environment.ts; contract/environment.ts -> contract/constants.ts)',
    );
  });

  describe('on real files', () => {
    let root: string;
    beforeAll(() => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'import-graph-'));
      const files: Record<string, string> = {
        'app/src/config.ts': "import { z } from 'zod';\nimport { SCHEMA } from '../../contract/environment';\nexport const c = [z, SCHEMA];\n",
        'contract/environment.ts': "import type { AppConfig } from '../app/src/config';\nexport const SCHEMA = 1;\nexport type T = AppConfig;\n",
        'stacks/constructs/container-environment.ts': "export { parseConfig } from '../../app/src/config';\n",
        'stacks/stacks/app-stack.ts': "const lazy = () => import('../constructs/container-environment');\nconst config = require('../../app/src/config');\nexport { lazy, config };\n",
        'stacks/config/index.ts': 'export {};\n',
        'stacks/cli.ts': "import type {} from './config';\n",
      };
      for (const [file, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        fs.writeFileSync(path.join(root, file), text);
      }
    });
    afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

    test('fails when stacks/ imports app/ (export-from and require count) or contract/ imports app/', () => {
      const small = buildImportGraph(root, sourceFiles(root, ['app', 'contract', 'stacks']));
      expect(small.get('stacks/cli.ts')).toEqual(['stacks/config/index.ts']);
      expect(boundaryViolations(small, LAYOUT_RULES)).toEqual([
        'contract/environment.ts imports app/src/config.ts: contract/ is the leaf both sides import; it imports only itself and packages',
        'stacks/constructs/container-environment.ts imports app/src/config.ts: stacks/ reaches the services only through contract/',
        'stacks/stacks/app-stack.ts imports app/src/config.ts: stacks/ reaches the services only through contract/',
      ]);
      expect(findCycles(small)).toEqual([['app/src/config.ts', 'contract/environment.ts']]);
    });
  });

  test('every form of module reference is read', () => {
    const text = [
      "import a from './a';",
      "import type { B } from './b';",
      "import './c';",
      "export { d } from './d';",
      "export type * from './e';",
      "import f = require('./f');",
      "const g = require('./g');",
      "const h = import('./h');",
      "jest.mock('./i');",
      "type J = import('./j').J;",
      "const notAnImport = './k';",
    ].join('\n');
    expect(moduleSpecifiers('x.ts', text)).toEqual(['./a', './b', './c', './d', './e', './f', './g', './h', './i', './j']);
  });
});
