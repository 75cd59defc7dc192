import type { PolicyInput } from '../../../stacks/checks/policy/policy-types';

/** A stack that breaks one rule, and the exact violations the rule must report. */
export interface FailingCase {
  readonly rule: string;
  /** What is wrong, read as "fails when ...". */
  readonly when: string;
  readonly input: PolicyInput;
  readonly messages: readonly string[];
}

/** A stack that looks suspicious but that every rule must accept (an exemption, a default). */
export interface PassingCase {
  readonly when: string;
  readonly input: PolicyInput;
}
