/**
 * A stand-in for `platform-<region>` in the data stack's tests: a few cheap, real AWS resources
 * (VPC, subnets, a security group, an OIDC provider) whose attributes are tokens, so the data
 * stack consumes PlatformOutputs exactly as it does in production, cross-stack references included.
 * Values the data stack does not read are literals.
 */
import type { Construct } from 'constructs';
import { IamOpenidConnectProvider } from '@cdktf/provider-aws/lib/iam-openid-connect-provider';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { applyBackend, type BackendConfig } from '../../../stacks/backend';
import { Fn, TerraformStack } from '../../../stacks/cdktf';
import type { PlatformOutputs } from '../../../stacks/stack-contracts';

export interface PlatformFixtureProps {
  readonly region: string;
  readonly availabilityZones: readonly string[];
  /** @default - a local backend in `.tfstate` */
  readonly backend?: BackendConfig;
}

export class PlatformFixtureStack extends TerraformStack implements PlatformOutputs {
  readonly region: string;
  readonly vpcId: string;
  readonly vpcCidrBlock: string;
  readonly privateSubnetIds: readonly string[];
  readonly databaseSubnetIds: readonly string[];
  readonly clusterName: string;
  readonly clusterEndpoint = 'https://FIXTURE.gr7.eks.amazonaws.com';
  readonly clusterCertificateAuthorityData = 'Zml4dHVyZQ==';
  readonly clusterSecurityGroupId: string;
  readonly oidcProviderArn: string;
  readonly oidcIssuerHostPath: string;
  readonly ecrRepositoryUrls = { api: '123456789012.dkr.ecr.fixture.amazonaws.com/api', ws: '123456789012.dkr.ecr.fixture.amazonaws.com/ws' };
  readonly pullThroughCacheUrls = {
    ecrPublic: '123456789012.dkr.ecr.fixture.amazonaws.com/ecr-public',
    kubernetes: '123456789012.dkr.ecr.fixture.amazonaws.com/k8s',
    quay: '123456789012.dkr.ecr.fixture.amazonaws.com/quay',
  };
  readonly alertmanagerRoleArn = 'arn:aws:iam::123456789012:role/fixture-alertmanager';

  constructor(scope: Construct, id: string, props: PlatformFixtureProps) {
    super(scope, id);
    applyBackend(this, id, props.backend ?? { kind: 'local', dir: '.tfstate' });
    new AwsProvider(this, 'aws', { region: props.region });
    this.region = props.region;
    this.clusterName = `${id}-cluster`;

    const vpc = new Vpc(this, 'vpc', { cidrBlock: '10.40.0.0/16' });
    const subnets = (tier: string, offset: number) =>
      props.availabilityZones.map(
        (zone, i) =>
          new Subnet(this, `${tier}-${zone}`, { vpcId: vpc.id, availabilityZone: zone, cidrBlock: `10.40.${offset + i}.0/24` }).id,
      );
    this.vpcId = vpc.id;
    this.vpcCidrBlock = vpc.cidrBlock;
    this.privateSubnetIds = subnets('private', 0);
    this.databaseSubnetIds = subnets('database', 10);
    this.clusterSecurityGroupId = new SecurityGroup(this, 'cluster-sg', { vpcId: vpc.id, name: `${id}-cluster` }).id;

    const oidc = new IamOpenidConnectProvider(this, 'oidc', {
      url: `https://oidc.eks.${props.region}.amazonaws.com/id/FIXTURE`,
      clientIdList: ['sts.amazonaws.com'],
    });
    this.oidcProviderArn = oidc.arn;
    this.oidcIssuerHostPath = Fn.replace(oidc.url, 'https://', '');
  }
}
