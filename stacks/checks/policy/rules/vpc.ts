/** VPCs (`aws_vpc`): flow logs and the default security group. */
import type { PolicyRule } from '../policy-types';
import { AWS_STACKS, blocks, companionsOf, eachResource, effectiveValues, shown } from './helpers';

export const VPC_RULES: readonly PolicyRule[] = [
  {
    id: 'VPC-001',
    title: 'VPCs log all traffic (flow logs)',
    checkov: 'CKV2_AWS_11',
    appliesTo: AWS_STACKS,
    // Needs an aws_flow_log whose vpc_id refers to the VPC (unknown at plan time: its configured
    // reference is read) with traffic_type "ALL".
    evaluate: eachResource(['aws_vpc'], (vpc, _values, input) => {
      const flowLogs = companionsOf(input, 'aws_flow_log', 'vpc_id', vpc, 'id');
      if (flowLogs.length === 0) return 'has no aws_flow_log; record the VPC\'s traffic for incident response';
      return flowLogs.some((f) => effectiveValues(f).traffic_type === 'ALL')
        ? undefined
        : `flow logs record traffic_type ${flowLogs.map((f) => shown(effectiveValues(f).traffic_type)).join(', ')}; record "ALL"`;
    }),
  },
  {
    id: 'VPC-002',
    title: "VPCs' default security groups allow no traffic",
    checkov: 'CKV2_AWS_12',
    appliesTo: AWS_STACKS,
    // AWS gives every VPC a default security group that allows all traffic between its members and
    // all egress. Managing it with an aws_default_security_group without ingress or egress rules
    // removes them (absent rule blocks mean none; a plan leaves them unknown and unwritten).
    evaluate: eachResource(['aws_vpc'], (vpc, _values, input) => {
      const defaults = companionsOf(input, 'aws_default_security_group', 'vpc_id', vpc, 'id');
      if (defaults.length === 0) return 'has no aws_default_security_group; manage the default security group with no rules so nothing can use it';
      const withRules = defaults.filter((g) => blocks(effectiveValues(g).ingress).length > 0 || blocks(effectiveValues(g).egress).length > 0);
      return withRules.length === 0 ? undefined : `default security group ${withRules.map((g) => g.address).join(', ')} has rules; remove every ingress and egress rule`;
    }),
  },
];
