/**
 * The structure check: how a stack whose providers cannot be installed here (kubernetes, helm)
 * still meets real Terraform. Its synthesized JSON is copied with every resource, data source and
 * ephemeral resource of such a provider turned into a built-in `terraform_data` stand-in (no
 * provider needed) named `<type>__<name>` (`data__<type>__<name>`, `ephemeral__<type>__<name>`)
 * that keeps the meta-arguments and carries, in `input`, every expression of the original body
 * with its references moved onto stand-ins (`kubernetes_namespace_v1.ns.metadata[0].name` becomes
 * `terraform_data.kubernetes_namespace_v1__ns.output.metadata[0].name`). `terraform validate` on
 * the copy then judges what the stack's structure decides: the form of `depends_on` and the other
 * meta-arguments, every referenced address, instance keys against `count`/`for_each`, and cycles.
 * It does not judge attribute names (`output` is dynamic): the typed cdktf bindings cover those.
 *
 * References to what stays (`data.terraform_remote_state`, `var.`, `local.`, resources of
 * installed providers) stay as written; outputs, locals and variables are kept with their
 * references rewritten. A reference to something that does not exist is left as written, so
 * Terraform names it as it is in the stack.
 */
import {
  isAttributeStep,
  isTemplate,
  rewriteMetaArgument,
  rewriteTemplate,
  rewriteTemplatesIn,
  type Reference,
  type ReferenceRewriter,
} from './expression-references';

export class StructureCheckError extends Error {
  constructor(message: string) {
    super(`structure check: ${message}`);
    this.name = 'StructureCheckError';
  }
}

type Json = Record<string, unknown>;
type Blocks = Record<string, Record<string, Json>>;

/** A synthesized stack, as far as the structure check reads it. */
export interface StructureCheckInput {
  readonly terraform?: Json;
  readonly provider?: Record<string, Json | Json[]>;
  readonly resource?: Blocks;
  readonly data?: Blocks;
  readonly ephemeral?: Blocks;
  readonly output?: Record<string, Json>;
  readonly locals?: Json;
  readonly variable?: Record<string, Json>;
}

export interface StructureCheckConfig {
  /** The stack as Terraform JSON, with stand-ins for the blocks of unavailable providers. */
  readonly config: Json;
  /** Each `terraform_data` stand-in's name and what it stands for (`kubernetes_job_v1.migrate`, `provider.helm`). */
  readonly standIns: ReadonlyMap<string, string>;
  /** How many resources, data sources and ephemeral resources became stand-ins. */
  readonly replacedBlocks: number;
}

/** Top-level blocks the rewrite understands; any other stops the check rather than pass unseen. */
const MODELLED_BLOCKS = new Set(['//', 'terraform', 'provider', 'resource', 'data', 'ephemeral', 'output', 'locals', 'variable']);
const SECTIONS = ['resource', 'data', 'ephemeral'] as const;
const META_ARGUMENTS = new Set(['//', 'count', 'for_each', 'depends_on', 'lifecycle', 'provider', 'provisioner', 'connection']);
/** What Terraform accepts as `provider`: a provider name, optionally a period and an alias. */
const PROVIDER_REFERENCE = /^([A-Za-z][A-Za-z0-9_-]*)(?:\.([A-Za-z_][A-Za-z0-9_-]*))?$/;
/** A stand-in with no input: its `output` is unknown at validate, like a dynamic block's iterator. */
const UNKNOWN_STAND_IN = 'structure_check__unknown';

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);
const blocksOf = (value: Json | Json[]): Json[] => (Array.isArray(value) ? value : [value]);

/** `.metadata[0].name` after `[0]` or `[*]`: onto the stand-in's `output`, after its instance key. */
function ontoOutput(steps: readonly string[]): string {
  const first = steps.findIndex(isAttributeStep);
  return first < 0 ? steps.join('') : [...steps.slice(0, first), '.output', ...steps.slice(first)].join('');
}

/**
 * An `ignore_changes` entry onto the stand-in's `input`, in the form it was written. `input` is
 * dynamic, so any path under it passes Terraform's schema check, while Terraform still judges the
 * entry's form (a bare attribute path; an interpolation fails as it would in the original).
 * Keeping entries unchanged would fail on attribute names `terraform_data` lacks; dropping them
 * would leave their form unjudged.
 */
function ontoInput(entry: string): string {
  return entry.startsWith('${') ? `\${input.${entry.slice(2)}` : `input.${entry}`;
}

interface DeclaredProviders {
  readonly names: ReadonlySet<string>;
  readonly aliases: ReadonlySet<string>;
}

function declaredProviders(stack: StructureCheckInput): DeclaredProviders {
  const required = stack.terraform?.required_providers;
  const names = new Set([...Object.keys(isObject(required) ? required : {}), ...Object.keys(stack.provider ?? {})]);
  const aliases = new Set<string>();
  for (const [name, blocks] of Object.entries(stack.provider ?? {})) {
    for (const block of blocksOf(blocks)) if (typeof block.alias === 'string') aliases.add(`${name}.${block.alias}`);
  }
  return { names, aliases };
}

/** The provider a block belongs to: its `provider` argument's name, else its type's first word. */
function providerOf(type: string, provider: unknown): string {
  const m = typeof provider === 'string' ? PROVIDER_REFERENCE.exec(provider) : null;
  return m ? m[1]! : type.split('_')[0]!;
}

/** The stand-in drops `provider`, so the check Terraform would make of it is made here. */
function checkProviderReference(address: string, provider: unknown, declared: DeclaredProviders): void {
  if (provider === undefined) return;
  const m = typeof provider === 'string' ? PROVIDER_REFERENCE.exec(provider) : null;
  if (!m) {
    throw new StructureCheckError(
      `${address}: provider must be a provider name, optionally followed by a period and an alias (e.g. "kubernetes.west"), got ${JSON.stringify(provider)}`,
    );
  }
  // Without an alias, `required_providers` alone declares it: Terraform configures it empty.
  const known = m[2] === undefined ? declared.names.has(m[1]!) : declared.aliases.has(provider as string);
  if (!known) {
    const all = [...declared.names, ...declared.aliases].sort();
    throw new StructureCheckError(
      `${address}: provider "${provider as string}" names no provider declared in the stack (declared: ${all.length > 0 ? all.join(', ') : 'none'})`,
    );
  }
}

/**
 * The stack's Terraform JSON with stand-ins for every block of the `unavailable` providers
 * (local names, as in `required_providers`). Throws StructureCheckError, naming the block, for
 * what the stand-ins would hide from Terraform (a `provider` argument that names no declared
 * provider) and for top-level blocks it does not model.
 */
export function structureCheckConfig(stack: StructureCheckInput, unavailable: ReadonlySet<string>): StructureCheckConfig {
  for (const key of Object.keys(stack)) {
    if (!MODELLED_BLOCKS.has(key)) throw new StructureCheckError(`top-level "${key}" blocks are not modelled; extend stacks/checks/plan/structure-check.ts`);
  }
  const declared = declaredProviders(stack);
  const standIns = new Map<string, string>();
  /** Address as referenced (`kubernetes_job_v1.x`, `data.t.n`) → stand-in name. */
  const standInOf = new Map<string, string>();
  for (const section of SECTIONS) {
    for (const [type, byName] of Object.entries(stack[section] ?? {})) {
      for (const [name, body] of Object.entries(byName)) {
        if (!unavailable.has(providerOf(type, body.provider))) continue;
        const address = `${section === 'resource' ? '' : `${section}.`}${type}.${name}`;
        checkProviderReference(address, body.provider, declared);
        const standIn = `${section === 'resource' ? '' : `${section}__`}${type}__${name}`;
        if (standIns.has(standIn) || stack.resource?.terraform_data?.[standIn] !== undefined) {
          throw new StructureCheckError(`${address}: its stand-in name terraform_data.${standIn} is already taken`);
        }
        standIns.set(standIn, address);
        standInOf.set(address, standIn);
      }
    }
  }
  const replacedBlocks = standIns.size;

  const standInReference: ReferenceRewriter = ({ root, steps }) => {
    const [first, second] = steps;
    const scoped = (root === 'data' || root === 'ephemeral') && second !== undefined && isAttributeStep(first!) && isAttributeStep(second);
    const address = scoped ? `${root}${first}${second}` : first !== undefined && isAttributeStep(first) ? `${root}${first}` : undefined;
    const standIn = address === undefined ? undefined : standInOf.get(address);
    return standIn === undefined ? undefined : `terraform_data.${standIn}${ontoOutput(steps.slice(scoped ? 2 : 1))}`;
  };
  const selfOntoOutput: ReferenceRewriter = (ref) => (ref.root === 'self' ? `self${ontoOutput(ref.steps)}` : standInReference(ref));
  const metaArgument = (entry: unknown) => (typeof entry === 'string' ? rewriteMetaArgument(entry, standInReference) : entry);

  let unknownUsed = false;
  /**
   * References in a stand-in's `input`. A dynamic block's iterator becomes an unknown value (its
   * content has moved out of the block). References to what is kept and may be ephemeral go
   * through `ephemeralasnull`: the original may pass them to a write-only argument, `input` is not
   * one, and for values that are not ephemeral the function changes nothing.
   */
  const inputReference =
    (iterators: ReadonlySet<string>): ReferenceRewriter =>
    (ref: Reference) => {
      if (iterators.has(ref.root)) {
        unknownUsed = true;
        return `terraform_data.${UNKNOWN_STAND_IN}.output${ref.steps.join('')}`;
      }
      const moved = standInReference(ref);
      if (moved !== undefined) return moved;
      return ['ephemeral', 'var', 'local'].includes(ref.root) ? `ephemeralasnull(${ref.text})` : undefined;
    };

  const inputOf = (body: Json): string[] => {
    const found: string[] = [];
    const walk = (value: unknown, iterators: ReadonlySet<string>): void => {
      if (typeof value === 'string') {
        if (isTemplate(value)) found.push(rewriteTemplate(value, inputReference(iterators)));
      } else if (Array.isArray(value)) {
        for (const v of value) walk(v, iterators);
      } else if (isObject(value)) {
        for (const [key, v] of Object.entries(value)) {
          if (key === 'dynamic' && isObject(v) && Object.values(v).every((d) => blocksOf(d as Json).every((b) => isObject(b) && 'content' in b))) {
            for (const [label, blocks] of Object.entries(v)) {
              for (const { iterator, for_each: forEach, ...rest } of blocksOf(blocks as Json)) {
                walk(forEach, iterators);
                walk(rest, new Set([...iterators, typeof iterator === 'string' ? iterator : label]));
              }
            }
          } else {
            walk(v, iterators);
          }
        }
      }
    };
    for (const [key, value] of Object.entries(body)) if (!META_ARGUMENTS.has(key)) walk(value, new Set());
    return [...new Set(found)];
  };

  const standInLifecycle = (lifecycle: unknown): unknown =>
    !isObject(lifecycle)
      ? lifecycle
      : Object.fromEntries(
          Object.entries(lifecycle).map(([key, value]) => {
            if (key === 'ignore_changes' && Array.isArray(value)) return [key, value.map((e) => (typeof e === 'string' ? ontoInput(e) : e))];
            if (key === 'replace_triggered_by' && Array.isArray(value)) return [key, value.map(metaArgument)];
            if (key === 'precondition' || key === 'postcondition') return [key, rewriteTemplatesIn(value, selfOntoOutput)];
            return [key, value];
          }),
        );

  const standInBlock = (body: Json): Json => {
    const block: Json = {};
    if (body['//'] !== undefined) block['//'] = body['//'];
    if (body.count !== undefined) block.count = rewriteTemplatesIn(body.count, standInReference);
    if (body.for_each !== undefined) block.for_each = rewriteTemplatesIn(body.for_each, standInReference);
    if (body.depends_on !== undefined) block.depends_on = Array.isArray(body.depends_on) ? body.depends_on.map(metaArgument) : body.depends_on;
    if (body.lifecycle !== undefined) block.lifecycle = standInLifecycle(body.lifecycle);
    // terraform_data takes provisioners too; `self` there means the stand-in, whose output is dynamic.
    for (const key of ['provisioner', 'connection']) if (body[key] !== undefined) block[key] = rewriteTemplatesIn(body[key], selfOntoOutput);
    const input = inputOf(body);
    if (input.length > 0) block.input = input;
    return block;
  };

  /** A block that stays (resources of installed providers, outputs): references onto stand-ins. */
  const keptBlock = (body: Json): Json =>
    Object.fromEntries(
      Object.entries(body).map(([key, value]) => {
        if (key === 'provider') return [key, value];
        if (key === 'depends_on' && Array.isArray(value)) return [key, value.map(metaArgument)];
        if (key === 'lifecycle' && isObject(value)) {
          return [key, Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'replace_triggered_by' && Array.isArray(v) ? v.map(metaArgument) : rewriteTemplatesIn(v, standInReference)]))];
        }
        return [key, rewriteTemplatesIn(value, standInReference)];
      }),
    );

  const config: Json = {};
  if ('//' in stack) config['//'] = (stack as { '//'?: unknown })['//'];
  if (stack.terraform !== undefined) {
    const { required_providers: required, ...terraform } = stack.terraform;
    const kept = Object.entries(isObject(required) ? required : {}).filter(([name]) => !unavailable.has(name));
    config.terraform = kept.length > 0 ? { ...terraform, required_providers: Object.fromEntries(kept) } : terraform;
  }
  const standInBlocks: Record<string, Json> = {};
  const providers: Record<string, Json[]> = {};
  for (const [name, blocks] of Object.entries(stack.provider ?? {})) {
    if (!unavailable.has(name)) {
      providers[name] = blocksOf(blocks).map((b) => rewriteTemplatesIn(b, standInReference) as Json);
      continue;
    }
    // The provider goes, but what its configuration references must still exist.
    for (const block of blocksOf(blocks)) {
      const alias = typeof block.alias === 'string' ? block.alias : undefined;
      const input = inputOf(block);
      if (input.length === 0) continue;
      const standIn = `provider__${name}${alias ? `__${alias}` : ''}`;
      standIns.set(standIn, `provider.${name}${alias ? `.${alias}` : ''}`);
      standInBlocks[standIn] = { input };
    }
  }
  if (Object.keys(providers).length > 0) config.provider = providers;
  if (stack.variable !== undefined) config.variable = stack.variable;
  if (stack.locals !== undefined) config.locals = rewriteTemplatesIn(stack.locals, standInReference);

  const keptBlocks = new Map<string, Blocks>();
  for (const section of SECTIONS) {
    const kept: Blocks = {};
    for (const [type, byName] of Object.entries(stack[section] ?? {})) {
      for (const [name, body] of Object.entries(byName)) {
        const standIn = standInOf.get(`${section === 'resource' ? '' : `${section}.`}${type}.${name}`);
        if (standIn !== undefined) standInBlocks[standIn] = standInBlock(body);
        else (kept[type] ??= {})[name] = keptBlock(body);
      }
    }
    keptBlocks.set(section, kept);
  }
  if (unknownUsed) standInBlocks[UNKNOWN_STAND_IN] = {};
  for (const section of SECTIONS) {
    const blocks = keptBlocks.get(section)!;
    if (section === 'resource' && Object.keys(standInBlocks).length > 0) blocks.terraform_data = { ...blocks.terraform_data, ...standInBlocks };
    if (Object.keys(blocks).length > 0) config[section] = blocks;
  }
  if (stack.output !== undefined) {
    config.output = Object.fromEntries(Object.entries(stack.output).map(([name, body]) => [name, keptBlock(body)]));
  }
  return { config, standIns, replacedBlocks };
}
