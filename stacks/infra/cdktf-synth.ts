/**
 * `App.synth()` without the work cdktf 0.21 repeats. Its synth resolves every element of every
 * stack three times: a "preparing" pass that only discovers cross-stack references (its result is
 * thrown away), the same resolution again for the stack document, and once more over the merged
 * document; and its resolver allocates a context with two closures for every value, token or not.
 * On 100 generated locations its synth took about 5 s of CPU and `synthApp` takes about 2 s, in an
 * `npm run synth` of 7.4 s and of 3.8 s (`npm run bench:synth` prints both paths).
 *
 * `synthApp` keeps each element's preparing result and uses it as the element's fragment, resolves
 * again only the parts of the merged document that were not resolved yet (the `//` metadata and
 * stack-level overrides), and returns plain values (strings without token markers, ordinary
 * numbers, objects and arrays of them) without the per-value context, handing everything else to
 * cdktf's resolver with the same options it would have had. Everything else (aspects, validations,
 * annotations, custom synthesis, file writes, the manifest) is cdktf's own `App.synth()`.
 *
 * Why that is the same output: an element's preparing and final resolutions differ only in that the
 * preparing one registers cross-stack references (`Reference.resolve` in cdktf's tfExpression.js)
 * and then returns the same value; preparing adds elements (outputs, remote states) but does not
 * change existing ones, and added elements are resolved as before. Resolving a resolved value
 * returns it unchanged, and top-level keys resolve independently. Aspects run after preparing and
 * may change elements, so an app with aspects is left to cdktf alone. `tests/synth/synthesize.test.ts`
 * compares every output file with cdktf's own synth. cdktf 0.21 is final: the private modules read
 * here will not move (a move to its fork renames them with the rest, see `cdktf.ts`).
 */
/* eslint-disable @typescript-eslint/no-require-imports */
import type { IConstruct } from 'constructs';
import { App, Aspects, TerraformOutput, TerraformStack, Token } from './cdktf';

interface ResolveOptions {
  readonly scope: IConstruct;
  readonly preparing: boolean;
  readonly resolver: unknown;
  readonly prefix?: string[];
  readonly previousContext?: unknown;
}
const cdktfResolve = (require('cdktf/lib/tokens/private/resolve') as { resolve: (value: unknown, options: ResolveOptions) => unknown }).resolve;
const { DefaultTokenResolver, StringConcat } = require('cdktf/lib/tokens/resolvable') as {
  DefaultTokenResolver: new (concat: unknown) => unknown;
  StringConcat: new () => unknown;
};
const { mapKeyMustResolveToString } = require('cdktf/lib/errors') as { mapKeyMustResolveToString: (path: string, key: string, resolved: unknown) => Error };
const { deepMerge } = require('cdktf/lib/util') as { deepMerge: (target: Record<string, unknown>, ...sources: unknown[]) => Record<string, unknown> };
const { TerraformElement } = require('cdktf/lib/terraform-element') as { TerraformElement: { isTerraformElement(x: unknown): boolean } };

/** The resolver cdktf's `_tokens.resolve` uses (stateless, so an instance of our own is the same). */
const TOKEN_RESOLVER = new DefaultTokenResolver(new StringConcat());
/** cdktf's own resolver gives up beyond this depth (a circular reference); so do we, through it. */
const MAX_DEPTH = 200;
/** Every encoded string, list and map token contains this (cdktf's tokens/private/encoding.js). */
const TOKEN_MARKER = 'TfToken[';
/** Encoded number tokens are doubles of magnitude 2^960 and more; nothing smaller can be one. */
const SMALLER_THAN_ANY_NUMBER_TOKEN = 1e280;

/** A key path as a linked list, turned into cdktf's `prefix` array only when cdktf needs it. */
interface KeyPath {
  readonly parent: KeyPath | undefined;
  readonly key: string;
  readonly depth: number;
}
/** The path of a value: its parent's path and its key there (none for the value resolve started from). */
function pathOf(parent: KeyPath | undefined, key: string | undefined): KeyPath | undefined {
  return key === undefined ? parent : { parent, key, depth: parent === undefined ? 1 : parent.depth + 1 };
}
function prefixOf(path: KeyPath | undefined): string[] {
  const keys: string[] = [];
  for (let p = path; p; p = p.parent) keys.push(p.key);
  return keys.reverse();
}

/** cdktf's NUMBER_TOKEN_REGEX (tokens/private/encoding.js) without the global flag, so testing it allocates nothing. */
const NUMBER_TOKEN = /[-|\d|.\+]+(e[-|\d|.|e|E|\+]+)/;

function isPlainString(s: string): boolean {
  return !s.includes(TOKEN_MARKER) && s !== Token.STRING_MAP_TOKEN_VALUE && s !== Token.ANY_MAP_TOKEN_VALUE && !NUMBER_TOKEN.test(s);
}
function isPlainNumber(n: number): boolean {
  return Math.abs(n) < SMALLER_THAN_ANY_NUMBER_TOKEN && n !== Token.NUMBER_MAP_TOKEN_VALUE;
}

function viaCdktf(value: unknown, scope: IConstruct, preparing: boolean, path: KeyPath | undefined, previousContext: unknown): unknown {
  return cdktfResolve(value, { scope, preparing, resolver: TOKEN_RESOLVER, prefix: prefixOf(path), previousContext });
}

/** List tokens are strings or numbers in a one-element list; cdktf resolves lists holding one. */
function mayHoldListToken(list: readonly unknown[]): boolean {
  for (const v of list) {
    if ((typeof v === 'string' && v.includes(TOKEN_MARKER)) || (typeof v === 'number' && !isPlainNumber(v))) return true;
  }
  return false;
}

/** Map tokens (a key with a marker), tokens (a resolve method) and constructs (an error) are cdktf's. */
function isPlainRecord(record: Record<string, unknown>, keys: readonly string[]): boolean {
  if (typeof record.resolve === 'function' || (record._children !== undefined && record._metadata !== undefined)) return false;
  for (const key of keys) {
    if (key.includes(TOKEN_MARKER)) return false;
  }
  return true;
}

/**
 * cdktf's `resolve` (tokens/private/resolve.js) for plain values, which it returns unchanged (and
 * objects and arrays rebuilt without undefined members); anything else goes to it, with the key
 * path and the enclosing resolve context it would have had at that point. Hot: no closures, and a
 * path object only for containers and for what goes to cdktf.
 */
function resolveValue(value: unknown, scope: IConstruct, preparing: boolean, parent: KeyPath | undefined, key: string | undefined, previousContext: unknown): unknown {
  if ((parent?.depth ?? 0) + (key === undefined ? 0 : 1) > MAX_DEPTH) return viaCdktf(value, scope, preparing, pathOf(parent, key), previousContext);
  switch (typeof value) {
    case 'undefined':
    case 'boolean':
      return value;
    case 'string':
      return isPlainString(value) ? value : viaCdktf(value, scope, preparing, pathOf(parent, key), previousContext);
    case 'number':
      return isPlainNumber(value) ? value : viaCdktf(value, scope, preparing, pathOf(parent, key), previousContext);
    case 'object':
      break;
    default:
      return viaCdktf(value, scope, preparing, pathOf(parent, key), previousContext);
  }
  if (value === null || value instanceof Date) return value;
  const path = pathOf(parent, key);
  if (Array.isArray(value)) {
    if (mayHoldListToken(value)) return viaCdktf(value, scope, preparing, path, previousContext);
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      const resolved = resolveValue(value[i], scope, preparing, path, `${i}`, previousContext);
      if (resolved !== undefined) out.push(resolved);
    }
    return out;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (!isPlainRecord(record, keys)) return viaCdktf(value, scope, preparing, path, previousContext);
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const resolvedKey = isPlainString(k) ? k : resolveValue(k, scope, preparing, path, undefined, previousContext);
    if (typeof resolvedKey !== 'string') throw mapKeyMustResolveToString(`/${prefixOf(path).join('/')}`, k, resolvedKey);
    const resolved = resolveValue(record[k], scope, preparing, path, k, previousContext);
    if (resolved !== undefined) out[resolvedKey] = resolved;
  }
  return out;
}

const resolve = (scope: IConstruct, value: unknown, preparing = false) => resolveValue(value, scope, preparing, undefined, undefined, undefined);

/** The members of cdktf's TerraformStack and TerraformElement this module reads or replaces. */
interface StackInternals extends IConstruct {
  readonly cdktfVersion?: string;
  readonly rawOverrides: Record<string, unknown>;
  readonly synthesizer: { readonly hclOutput?: boolean };
  ensureBackendExists(): unknown;
  prepareStack(): void;
  toTerraform(): Record<string, unknown>;
}
interface ElementInternals extends IConstruct {
  toTerraform(): unknown;
  toMetadata(): unknown;
  readonly friendlyUniqueId: string;
}

/** The stack's elements in cdktf's order (`terraformElements` in terraform-stack.js). */
function elementsOf(node: IConstruct, into: ElementInternals[] = []): ElementInternals[] {
  if (TerraformElement.isTerraformElement(node)) into.push(node as ElementInternals);
  for (const c of node.node.children) {
    if (!TerraformStack.isStack(c)) elementsOf(c, into);
  }
  return into;
}

/** cdktf's `TerraformStack.toTerraform`, taking each element's fragment from `prepared` when it has one. */
function stackDocument(stack: StackInternals, prepared: Map<ElementInternals, unknown>): Record<string, unknown> {
  const metadata: Record<string, unknown> = {
    version: stack.cdktfVersion,
    stackName: stack.node.id,
    backend: 'local',
    cloud: undefined,
    ...(Object.keys(stack.rawOverrides).length > 0 ? { overrides: { stack: Object.keys(stack.rawOverrides) } } : {}),
  };
  const elements = elementsOf(stack);
  for (const element of elements) deepMerge(metadata, resolve(stack, element.toMetadata()));
  const outputs: Record<string, unknown> = {};
  for (const element of elements) {
    if (!TerraformOutput.isTerraformOutput(element)) continue;
    const nested = element.node.path
      .split('/')
      .reduceRight<Record<string, unknown>>((inner, part) => (Object.keys(inner).length === 0 ? { [part]: element.friendlyUniqueId } : { [part]: inner }), {});
    deepMerge(outputs, nested);
  }
  const document: Record<string, unknown> = { '//': { metadata, outputs } };
  for (const element of elements) {
    // A fragment is used once: another toTerraform of the stack resolves afresh, as cdktf does.
    const fragment = prepared.has(element) ? prepared.get(element) : resolve(stack, element.toTerraform());
    prepared.delete(element);
    deepMerge(document, fragment);
  }
  deepMerge(document, stack.rawOverrides);
  const unresolved = new Set(['//', ...Object.keys(stack.rawOverrides)]);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(document)) {
    const final = unresolved.has(key) ? resolve(stack, value) : value;
    if (final !== undefined) out[key] = final;
  }
  return out;
}

/** Writes what `app.synth()` writes, faster (see the header); falls back to it when an aspect is registered. */
export function synthApp(app: App): void {
  const constructs = app.node.findAll();
  const stacks = constructs.filter((c) => TerraformStack.isStack(c)) as unknown as StackInternals[];
  if (constructs.some((c) => Aspects.of(c).all.length > 0) || stacks.some((s) => s.synthesizer.hclOutput)) {
    app.synth();
    return;
  }
  const prepared = new Map<ElementInternals, unknown>();
  for (const stack of stacks) {
    // Own properties shadow cdktf's methods for this app's stacks only; App.synth calls them.
    stack.prepareStack = () => {
      stack.ensureBackendExists();
      for (const element of elementsOf(stack)) prepared.set(element, resolve(stack, element.toTerraform(), true));
    };
    stack.toTerraform = () => stackDocument(stack, prepared);
  }
  app.synth();
}
