/**
 * Plan checks run without any deployed stack, so a downstream stack cannot read its upstream's
 * real outputs. They read a fixture state instead: for each output the downstream uses, a value
 * of the right shape chosen here from the upstream's output expression (`${aws_subnet.x.id}`
 * becomes a subnet id). The rules are explicit and an expression no rule covers stops the check,
 * naming the output, so a fixture never silently stands in for something it does not resemble.
 * The plan summary lists every fixture state file used.
 */
import { createHash } from 'node:crypto';

/** An AWS account id that cannot be real (reserved example id). */
export const FIXTURE_ACCOUNT_ID = '111111111111';

const REMOTE_OUTPUT = /data\.terraform_remote_state\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)/g;
const RESOURCE_EXPRESSION = /^\$\{(?:replace\()?(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_[\].]+)/;

export class FixtureError extends Error {}

interface FixtureRule {
  readonly matches: (type: string, attribute: string) => boolean;
  readonly value: (ctx: { type: string; name: string; region: string; hex: string }) => string;
}

const ID_PREFIXES: Record<string, string> = {
  aws_vpc: 'vpc', aws_subnet: 'subnet', aws_security_group: 'sg', aws_internet_gateway: 'igw', aws_nat_gateway: 'nat', aws_route_table: 'rtb',
};

/** Ordered: the first rule that matches decides. */
const RULES: readonly FixtureRule[] = [
  { matches: (t, a) => a === 'id' && t in ID_PREFIXES, value: (c) => `${ID_PREFIXES[c.type]}-0${c.hex.slice(0, 16)}` },
  { matches: (_t, a) => a === 'vpc_config[0].cluster_security_group_id', value: (c) => `sg-0${c.hex.slice(0, 16)}` },
  { matches: (_t, a) => a === 'cidr_block', value: () => '10.250.0.0/16' },
  { matches: (t, a) => t === 'aws_iam_openid_connect_provider' && a === 'arn', value: (c) => `arn:aws:iam::${FIXTURE_ACCOUNT_ID}:oidc-provider/oidc.eks.${c.region}.amazonaws.com/id/${c.hex.slice(0, 32).toUpperCase()}` },
  { matches: (t, a) => t === 'aws_eks_cluster' && a === 'identity[0].oidc[0].issuer', value: (c) => `https://oidc.eks.${c.region}.amazonaws.com/id/${c.hex.slice(0, 32).toUpperCase()}` },
  { matches: (t, a) => t === 'aws_eks_cluster' && a === 'endpoint', value: (c) => `https://${c.hex.slice(0, 32).toUpperCase()}.gr7.${c.region}.eks.amazonaws.com` },
  { matches: (t, a) => t === 'aws_eks_cluster' && a === 'certificate_authority[0].data', value: () => Buffer.from('plan-check fixture CA').toString('base64') },
  { matches: (_t, a) => a === 'name', value: (c) => `fixture-${c.name.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40)}` },
  { matches: (t, a) => t === 'aws_ecr_repository' && a === 'repository_url', value: (c) => `${FIXTURE_ACCOUNT_ID}.dkr.ecr.${c.region}.amazonaws.com/fixture/${c.hex.slice(0, 8)}` },
  // The app stack builds `<registry_id>.dkr.ecr.<region>.amazonaws.com/<prefix>/...` from these.
  { matches: (t, a) => t === 'aws_ecr_pull_through_cache_rule' && a === 'registry_id', value: () => FIXTURE_ACCOUNT_ID },
  { matches: (t, a) => t === 'aws_ecr_pull_through_cache_rule' && a === 'ecr_repository_prefix', value: (c) => `fixture-${c.hex.slice(0, 8)}` },
  // IAM ARNs have no region, and consumers check role ARNs by shape (the addons stack does).
  { matches: (t, a) => t === 'aws_iam_role' && a === 'arn', value: (c) => `arn:aws:iam::${FIXTURE_ACCOUNT_ID}:role/fixture-${c.hex.slice(0, 12)}` },
  { matches: (_t, a) => a === 'arn', value: (c) => `arn:aws:${c.type.split('_')[1]}:${c.region}:${FIXTURE_ACCOUNT_ID}:fixture/${c.hex.slice(0, 12)}` },
];

export interface FixtureOutput {
  readonly name: string;
  readonly value: string;
  readonly expression: string;
}

/** The outputs of `upstream` that `downstream` reads, keyed by remote-state data source name. */
export function referencedOutputs(downstream: object): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const [, source, output] of JSON.stringify(downstream).matchAll(REMOTE_OUTPUT)) {
    const set = found.get(source!) ?? new Set<string>();
    set.add(output!);
    found.set(source!, set);
  }
  return found;
}

/** Fixture values for the named outputs of an upstream stack, from its synthesized JSON. */
export function fixtureOutputs(
  upstreamStack: string,
  upstream: { output?: Record<string, { value?: unknown }> },
  outputNames: Iterable<string>,
  region: string,
): FixtureOutput[] {
  return [...outputNames].sort().map((name) => {
    const expression = upstream.output?.[name]?.value;
    if (typeof expression !== 'string') {
      throw new FixtureError(`plan check: ${upstreamStack} has no string output "${name}" to make a fixture from`);
    }
    const match = RESOURCE_EXPRESSION.exec(expression);
    const rule = match && RULES.find((r) => r.matches(match[1]!, match[3]!));
    if (!match || !rule) {
      throw new FixtureError(
        `plan check: no fixture rule for ${upstreamStack} output "${name}" (${expression}); add one to stacks/checks/plan/upstream-fixtures.ts`,
      );
    }
    const hex = createHash('sha256').update(`${upstreamStack}/${name}`).digest('hex');
    return { name, expression, value: rule.value({ type: match[1]!, name: match[2]!, region, hex }) };
  });
}

/** A Terraform state file (format 4) holding only outputs: what `terraform_remote_state` reads. */
export function fixtureState(outputs: readonly FixtureOutput[]): string {
  return JSON.stringify(
    {
      version: 4,
      terraform_version: '1.11.4',
      serial: 1,
      lineage: 'plan-check-fixture',
      outputs: Object.fromEntries(outputs.map((o) => [o.name, { value: o.value, type: 'string' }])),
      resources: [],
      check_results: null,
    },
    null,
    2,
  );
}
