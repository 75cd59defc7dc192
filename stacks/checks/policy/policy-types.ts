/**
 * Policy as code: rules over the resources of one stack, read from a Terraform plan (`terraform
 * show -json`, values as AWS will receive them, provider defaults included) or, for stacks that
 * cannot be planned here (kubernetes, helm), from the synthesized JSON.
 */
import type { StackKind } from '../../infra/stack-contracts';

/** One resource as a rule sees it. Nested blocks are always arrays (see `blocks`). */
export interface PolicyResource {
  /** `aws_db_instance.postgres_primary_11FB0C6D` */
  readonly address: string;
  readonly type: string;
  /** Known values. In a plan, values computed at apply are absent and listed in `unknown`. */
  readonly values: Readonly<Record<string, unknown>>;
  /** Top-level attribute names whose value is only known after apply (plan input only). */
  readonly unknown: ReadonlySet<string>;
  /**
   * Plan input only: the attributes as the configuration writes them (the plan's `configuration`
   * section), where a value computed from another resource is its `${...}` expression, as in
   * synthesized JSON. A plan leaves such values unknown; this says what they will be made of.
   * Rules read values through `effectiveValues()`, which fills unknowns from here.
   */
  readonly configured?: Readonly<Record<string, unknown>>;
}

export interface PolicyInput {
  readonly stack: string;
  readonly kind: StackKind;
  readonly source: 'plan' | 'synth';
  readonly resources: readonly PolicyResource[];
  /**
   * Synth input only: each aws provider configuration's `default_tags`, by provider reference
   * (`aws`, `aws.us_east_1`). A plan merges them into `tags_all`; synthesized JSON does not.
   */
  readonly providerDefaultTags?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** A violation: which resource and what is wrong with it, in words a reviewer acts on. */
export interface Violation {
  readonly address: string;
  readonly message: string;
}

export interface PolicyRule {
  /** Our id, stable, used in waivers: `<AREA>-<NNN>`, e.g. `RDS-001`. */
  readonly id: string;
  readonly title: string;
  /** The equivalent checkov check, where one exists (e.g. `CKV_AWS_16`). */
  readonly checkov?: string;
  /** The equivalent trivy / tfsec check, where one exists (e.g. `AVD-AWS-0080`). */
  readonly trivy?: string;
  /** Stack kinds the rule applies to. */
  readonly appliesTo: readonly StackKind[];
  /** Violations in this stack; empty means the rule passes. */
  evaluate(input: PolicyInput): Violation[];
}

export type RuleOutcome = 'pass' | 'fail' | 'waived';

export interface RuleResult {
  readonly rule: Pick<PolicyRule, 'id' | 'title' | 'checkov' | 'trivy'>;
  readonly stack: string;
  readonly outcome: RuleOutcome;
  readonly violations: readonly Violation[];
  /** The location file's written reason, for waived rules. */
  readonly waiverReason?: string;
}
