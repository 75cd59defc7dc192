/**
 * A stand-in for `platform-<region>` in the data stack's tests: a few cheap, real AWS resources
 * (VPC, subnets, a security group, an OIDC provider) whose attributes are tokens, so the data
 * stack consumes PlatformOutputs exactly as it does in production, cross-stack references included.
 * Values the data stack does not read are `platformFixture`'s literals.
 */
import type { Construct } from 'constructs';
import { IamOpenidConnectProvider } from '@cdktf/provider-aws/lib/iam-openid-connect-provider';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { applyBackend, type BackendConfig } from '../../../stacks/infra/backend';
import { Fn, TerraformStack } from '../../../stacks/infra/cdktf';
import type { PlatformOutputs } from '../../../stacks/infra/stack-contracts';
import { platformFixture } from './stack-outputs';

export interface PlatformFixtureProps {
  readonly region: string;
  readonly availabilityZones: readonly string[];
  /** @default - a local backend in `.tfstate` */
  readonly backend?: BackendConfig;
}

export class PlatformFixtureStack extends TerraformStack {
  /** `platformFixture`'s literals, with the values the data stack reads from real resources here. */
  readonly outputs: PlatformOutputs;

  constructor(scope: Construct, id: string, props: PlatformFixtureProps) {
    super(scope, id);
    applyBackend(this, id, props.backend ?? { kind: 'local', dir: '.tfstate' });
    new AwsProvider(this, 'aws', { region: props.region });

    const vpc = new Vpc(this, 'vpc', { cidrBlock: '10.40.0.0/16' });
    const subnets = (tier: string, offset: number) =>
      props.availabilityZones.map(
        (zone, i) =>
          new Subnet(this, `${tier}-${zone}`, { vpcId: vpc.id, availabilityZone: zone, cidrBlock: `10.40.${offset + i}.0/24` }).id,
      );
    const oidc = new IamOpenidConnectProvider(this, 'oidc', {
      url: `https://oidc.eks.${props.region}.amazonaws.com/id/FIXTURE`,
      clientIdList: ['sts.amazonaws.com'],
    });
    this.outputs = platformFixture(props.region, {
      vpcId: vpc.id,
      vpcCidrBlock: vpc.cidrBlock,
      privateSubnetIds: subnets('private', 0),
      databaseSubnetIds: subnets('database', 10),
      clusterName: `${id}-cluster`,
      clusterSecurityGroupId: new SecurityGroup(this, 'cluster-sg', { vpcId: vpc.id, name: `${id}-cluster` }).id,
      oidcProviderArn: oidc.arn,
      oidcIssuerHostPath: Fn.replace(oidc.url, 'https://', ''),
    });
  }
}
