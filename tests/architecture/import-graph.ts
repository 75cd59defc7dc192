/**
 * The repository's module graph, read from the TypeScript sources with the compiler's own parser
 * (no type-checking, so a run over every folder takes about a second), and the two questions the
 * architecture test asks of it: which imports cross a forbidden boundary, and which files import
 * each other in a cycle.
 *
 * An edge is any module reference written in a file: `import` (type-only included), `export ...
 * from`, `import x = require()`, `require()`, `import()` and `jest.mock()`/`jest.requireActual()`.
 * Type-only imports count: they are erased at run time, but they still tie one module's meaning to
 * another's, and the cycle issue 13 set out to remove (config -> order-events -> logger -> config)
 * was made of type-only imports alone. Package imports (`zod`, `node:fs`) are not edges: only
 * relative paths that resolve to a file of the repository are.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

/** file (repository-relative, `/`-separated) -> the repository files it imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

export interface ImportEdge {
  readonly from: string;
  readonly to: string;
}

const SOURCE_EXTENSIONS = ['.ts', '.tsx', '.js', '.cjs', '.mjs'];
/** Resolution order of a specifier without extension, as TypeScript's node resolution tries it. */
const RESOLVE_SUFFIXES = ['', '.ts', '.tsx', '.d.ts', '.js', '.json', '/index.ts', '/index.js'];
const SKIPPED_FOLDERS = new Set(['node_modules', 'dist', 'cdktf.out', '__snapshots__']);

/** Every source file under `folders` (relative to `root`), build output and dependencies left out. */
export function sourceFiles(root: string, folders: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || SKIPPED_FOLDERS.has(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (SOURCE_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) files.push(toRelative(root, full));
    }
  };
  for (const folder of folders) {
    if (fs.existsSync(path.join(root, folder))) walk(path.join(root, folder));
  }
  return files.sort();
}

/** The module specifiers a source text references, in the order written. */
export function moduleSpecifiers(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, fileName.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      found.push(node.moduleReference.expression.text);
    } else if (ts.isCallExpression(node) && isModuleCall(node.expression) && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      found.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function isModuleCall(callee: ts.Expression): boolean {
  if (callee.kind === ts.SyntaxKind.ImportKeyword) return true;
  if (ts.isIdentifier(callee)) return callee.text === 'require';
  return (
    ts.isPropertyAccessExpression(callee) &&
    ts.isIdentifier(callee.expression) &&
    ((callee.expression.text === 'jest' && ['mock', 'requireActual', 'doMock'].includes(callee.name.text)) ||
      (callee.expression.text === 'require' && callee.name.text === 'resolve'))
  );
}

/** The repository file a relative specifier names, or undefined (a package, or nothing there). */
export function resolveSpecifier(root: string, fromFile: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.resolve(root, path.dirname(fromFile), specifier);
  for (const suffix of RESOLVE_SUFFIXES) {
    const candidate = base + suffix;
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return toRelative(root, candidate);
  }
  return undefined;
}

/** The graph of `files` (repository-relative); edges to files outside the set are kept too. */
export function buildImportGraph(root: string, files: readonly string[]): ImportGraph {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    const targets = moduleSpecifiers(file, text)
      .map((specifier) => resolveSpecifier(root, file, specifier))
      .filter((target): target is string => target !== undefined);
    graph.set(file, [...new Set(targets)].sort());
  }
  return graph;
}

export function edgesOf(graph: ImportGraph): ImportEdge[] {
  return [...graph].flatMap(([from, targets]) => targets.map((to) => ({ from, to })));
}

/** A rule: files under `from` may not import files under any of `to` (folder prefixes, `/`-ended). */
export interface BoundaryRule {
  readonly from: string;
  readonly to: readonly string[];
  /** Why, for the failure message. */
  readonly because: string;
}

/** Every edge that breaks a rule, as `<from> imports <to>: <because>`. */
export function boundaryViolations(graph: ImportGraph, rules: readonly BoundaryRule[]): string[] {
  const violations: string[] = [];
  for (const { from, to } of edgesOf(graph)) {
    for (const rule of rules) {
      if (from.startsWith(rule.from) && rule.to.some((folder) => to.startsWith(folder))) {
        violations.push(`${from} imports ${to}: ${rule.because}`);
      }
    }
  }
  return violations;
}

/**
 * The import cycles: every strongly connected component of more than one file, and every file
 * that imports itself (Tarjan's algorithm, iterative so a deep graph cannot overflow the stack).
 * Each cycle is its files sorted; cycles are sorted by their first file.
 */
export function findCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let counter = 0;

  const nodes = new Set<string>([...graph.keys(), ...[...graph.values()].flat()]);
  for (const start of nodes) {
    if (index.has(start)) continue;
    // Each frame: a node and how many of its successors have been visited.
    const frames: Array<{ node: string; next: number }> = [{ node: start, next: 0 }];
    index.set(start, counter);
    lowLink.set(start, counter);
    counter += 1;
    stack.push(start);
    onStack.add(start);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const successors = graph.get(frame.node) ?? [];
      if (frame.next < successors.length) {
        const successor = successors[frame.next]!;
        frame.next += 1;
        if (!index.has(successor)) {
          index.set(successor, counter);
          lowLink.set(successor, counter);
          counter += 1;
          stack.push(successor);
          onStack.add(successor);
          frames.push({ node: successor, next: 0 });
        } else if (onStack.has(successor)) {
          lowLink.set(frame.node, Math.min(lowLink.get(frame.node)!, index.get(successor)!));
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) lowLink.set(parent.node, Math.min(lowLink.get(parent.node)!, lowLink.get(frame.node)!));
      if (lowLink.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        if (component.length > 1 || successors.includes(frame.node)) cycles.push(component.sort());
      }
    }
  }
  return cycles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** One readable line per cycle: its files, then the imports inside it that close the loop. */
export function describeCycle(graph: ImportGraph, cycle: readonly string[]): string {
  const members = new Set(cycle);
  const inside = cycle.flatMap((from) => (graph.get(from) ?? []).filter((to) => members.has(to)).map((to) => `${from} -> ${to}`));
  return `${cycle.join(', ')} (${inside.join('; ')})`;
}

function toRelative(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}
