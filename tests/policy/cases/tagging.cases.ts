import type { PolicyInput } from '../../../stacks/checks/policy/policy-types';
import { adding, compliantDataStack, compliantPlatformStack, edit, resource } from '../support/fixtures';
import type { FailingCase, PassingCase } from './failing-case';

const withDefaultTags = (stack: PolicyInput, provider: string, change: (tags: Record<string, string>) => Record<string, string>): PolicyInput => ({
  ...stack,
  providerDefaultTags: { ...stack.providerDefaultTags, [provider]: change({ ...stack.providerDefaultTags![provider] }) },
});

const SYNTH_TAGS = 'tags (with provider default_tags)';

export const TAGGING_CASES: FailingCase[] = [
  {
    rule: 'TAG-001',
    when: 'the us-east-1 provider has no owner default tag (only the certificate uses it)',
    input: withDefaultTags(compliantDataStack(), 'aws.us_east_1', ({ owner: _, ...tags }) => tags),
    messages: [`aws_acm_certificate.cdn: ${SYNTH_TAGS} lack owner; every taggable resource needs cost-center, owner for cost allocation`],
  },
  {
    rule: 'TAG-001',
    when: "a resource overrides cost-center with an empty value",
    input: edit(compliantPlatformStack(), 'aws_vpc.main', (v) => ({ ...v, tags: { Name: 'test-1', 'cost-center': '' } })),
    messages: [`aws_vpc.main: ${SYNTH_TAGS} lack cost-center; every taggable resource needs cost-center, owner for cost allocation`],
  },
  {
    rule: 'TAG-001',
    when: 'a taggable type that writes no tags gets no default tags (input without providerDefaultTags)',
    input: { ...compliantPlatformStack(), providerDefaultTags: undefined, resources: [resource('aws_kms_key.orphan', { enable_key_rotation: true })] },
    messages: [`aws_kms_key.orphan: ${SYNTH_TAGS} lack cost-center, owner; every taggable resource needs cost-center, owner for cost allocation`],
  },
  {
    rule: 'TAG-002',
    when: "a resource carries another location's tag",
    input: edit(compliantDataStack(), 'aws_kms_key.data', (v) => ({ ...v, tags: { location: 'elsewhere' } })),
    messages: [`aws_kms_key.data: ${SYNTH_TAGS} have location "elsewhere"; it must be "testville" so costs add up per location`],
  },
  {
    rule: 'TAG-002',
    when: 'the provider sets no location tag',
    input: { ...withDefaultTags(compliantDataStack(), 'aws', ({ location: _, ...tags }) => tags), resources: [resource('aws_sns_topic.alarms', { name: 'testville-alarms' })] },
    messages: [`aws_sns_topic.alarms: ${SYNTH_TAGS} lack location; it must be "testville" so costs add up per location`],
  },
];

export const TAGGING_PASSING: PassingCase[] = [
  {
    when: 'an untaggable resource (IAM role policy) without tags',
    input: adding(compliantDataStack(), resource('aws_iam_role_policy.app', { policy: '{}', role: '${aws_iam_role.monitoring.id}' })),
  },
];
