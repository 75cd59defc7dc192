/**
 * The VPC of a region: public, private and database subnets in every availability zone the region's
 * locations use, internet egress through a NAT gateway per zone, and flow logs to CloudWatch Logs.
 *
 * Address plan of the /16 (zone slot k = the zone letter: a=0 ... f=5):
 *   private  /19 at x.y.(32k).0    pods take VPC addresses (VPC CNI), so these are the big ones
 *   public   /22 at x.y.(192+4k).0 load balancers and NAT gateways only
 *   database /24 at x.y.(224+k).0  RDS and ElastiCache; no route out of the VPC
 * Slots and construct ids come from the zone letter, never from a zone's position in the list, so
 * adding a zone adds its three subnets and leaves every existing subnet (and its CIDR) alone.
 */
import { DefaultSecurityGroup } from '@cdktf/provider-aws/lib/default-security-group';
import { Eip } from '@cdktf/provider-aws/lib/eip';
import { FlowLog } from '@cdktf/provider-aws/lib/flow-log';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway';
import { NatGateway } from '@cdktf/provider-aws/lib/nat-gateway';
import { Route } from '@cdktf/provider-aws/lib/route';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { Construct } from 'constructs';
import type { LogsKmsKey } from './logs-kms-key';

export interface NetworkProps {
  /** Prefix of resource names (IAM role, log group, Name tags); unique per account. */
  readonly name: string;
  readonly region: string;
  /** A /16 such as `10.10.0.0/16`; never change it on a live VPC (it replaces everything). */
  readonly cidrBlock: string;
  /** Zones of `region`, each ending in a letter a-f; sorted before use. */
  readonly availabilityZones: readonly string[];
  /** Key for the flow-log group; shared with the stack's other log groups. */
  readonly flowLogKey: LogsKmsKey;
  /** @default 90 */
  readonly flowLogRetentionDays?: number;
  /**
   * EKS cluster whose load balancers use these subnets: tags them `kubernetes.io/cluster/<name>`,
   * `kubernetes.io/role/elb` (public) and `kubernetes.io/role/internal-elb` (private).
   * @default - no Kubernetes tags
   */
  readonly kubernetesClusterName?: string;
}

/** The three subnets of one availability zone. */
export interface ZoneSubnets {
  readonly zone: string;
  readonly public: Subnet;
  readonly private: Subnet;
  readonly database: Subnet;
}

/** Six zone slots (a-f) fit the address plan; us-east-1 has the most zones, six. */
const ZONE_LETTERS = 'abcdef';
const SLASH_16 = /^(\d{1,3})\.(\d{1,3})\.0\.0\/16$/;

/** The subnet CIDRs of zone slot `slot` (0-5) in the /16 `a.b.0.0/16`. */
export function zoneSubnetCidrs(cidrBlock: string, slot: number): { public: string; private: string; database: string } {
  const match = SLASH_16.exec(cidrBlock);
  if (!match) throw new Error(`cidrBlock must be a /16 such as 10.10.0.0/16, got "${cidrBlock}"`);
  const prefix = `${match[1]}.${match[2]}`;
  return {
    private: `${prefix}.${32 * slot}.0/19`,
    public: `${prefix}.${192 + 4 * slot}.0/22`,
    database: `${prefix}.${224 + slot}.0/24`,
  };
}

export class Network extends Construct {
  readonly vpc: Vpc;
  /** Sorted zone names; every subnet list below follows this order. */
  readonly zones: readonly string[];
  readonly zoneSubnets: readonly ZoneSubnets[];
  readonly flowLog: FlowLog;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const flowLogRetentionDays = props.flowLogRetentionDays ?? 90;
    const zones = [...props.availabilityZones].sort();
    validate(id, props, zones);
    this.zones = zones;

    this.vpc = new Vpc(this, 'vpc', {
      cidrBlock: props.cidrBlock,
      // Both are required for the EKS private endpoint and for RDS/ElastiCache DNS names.
      enableDnsSupport: true,
      enableDnsHostnames: true,
      tags: { Name: props.name },
    });

    // Adopting the default security group strips its allow-all rules; nothing may use it by accident.
    new DefaultSecurityGroup(this, 'default-security-group', { vpcId: this.vpc.id, tags: { Name: `${props.name}-default-unused` } });

    const internetGateway = new InternetGateway(this, 'internet-gateway', { vpcId: this.vpc.id, tags: { Name: props.name } });
    const publicRouteTable = new RouteTable(this, 'public-route-table', { vpcId: this.vpc.id, tags: { Name: `${props.name}-public` } });
    new Route(this, 'public-default-route', {
      routeTableId: publicRouteTable.id,
      destinationCidrBlock: '0.0.0.0/0',
      gatewayId: internetGateway.id,
    });
    // Database subnets only talk inside the VPC: no internet route in either direction.
    const databaseRouteTable = new RouteTable(this, 'database-route-table', { vpcId: this.vpc.id, tags: { Name: `${props.name}-database` } });

    const clusterTags: Record<string, string> = props.kubernetesClusterName
      ? { [`kubernetes.io/cluster/${props.kubernetesClusterName}`]: 'shared' }
      : {};

    this.zoneSubnets = zones.map((zone) => {
      const letter = zone.slice(-1);
      const cidrs = zoneSubnetCidrs(props.cidrBlock, ZONE_LETTERS.indexOf(letter));

      const publicSubnet = new Subnet(this, `public-subnet-${letter}`, {
        vpcId: this.vpc.id,
        availabilityZone: zone,
        cidrBlock: cidrs.public,
        // Load balancers and NAT gateways bring their own addresses; nothing else lives here.
        mapPublicIpOnLaunch: false,
        tags: {
          Name: `${props.name}-public-${letter}`,
          tier: 'public',
          ...clusterTags,
          ...(props.kubernetesClusterName ? { 'kubernetes.io/role/elb': '1' } : {}),
        },
      });
      new RouteTableAssociation(this, `public-route-table-association-${letter}`, {
        subnetId: publicSubnet.id,
        routeTableId: publicRouteTable.id,
      });

      // One NAT gateway per zone: a zone outage does not cut the other zones' nodes off from ECR,
      // the EKS API and AWS APIs, and no traffic pays cross-zone transfer to reach a NAT. The price
      // is one hourly NAT charge (about USD 32-45 a month, region-dependent) per zone instead of
      // one; a single shared NAT would save that but make one zone a single point of failure.
      const natAddress = new Eip(this, `nat-eip-${letter}`, { domain: 'vpc', tags: { Name: `${props.name}-nat-${letter}` } });
      const natGateway = new NatGateway(this, `nat-gateway-${letter}`, {
        allocationId: natAddress.allocationId,
        subnetId: publicSubnet.id,
        tags: { Name: `${props.name}-${letter}` },
        dependsOn: [internetGateway],
      });

      const privateSubnet = new Subnet(this, `private-subnet-${letter}`, {
        vpcId: this.vpc.id,
        availabilityZone: zone,
        cidrBlock: cidrs.private,
        tags: {
          Name: `${props.name}-private-${letter}`,
          tier: 'private',
          ...clusterTags,
          ...(props.kubernetesClusterName ? { 'kubernetes.io/role/internal-elb': '1' } : {}),
        },
      });
      const privateRouteTable = new RouteTable(this, `private-route-table-${letter}`, {
        vpcId: this.vpc.id,
        tags: { Name: `${props.name}-private-${letter}` },
      });
      new Route(this, `private-default-route-${letter}`, {
        routeTableId: privateRouteTable.id,
        destinationCidrBlock: '0.0.0.0/0',
        natGatewayId: natGateway.id,
      });
      new RouteTableAssociation(this, `private-route-table-association-${letter}`, {
        subnetId: privateSubnet.id,
        routeTableId: privateRouteTable.id,
      });

      const databaseSubnet = new Subnet(this, `database-subnet-${letter}`, {
        vpcId: this.vpc.id,
        availabilityZone: zone,
        cidrBlock: cidrs.database,
        tags: { Name: `${props.name}-database-${letter}`, tier: 'database' },
      });
      new RouteTableAssociation(this, `database-route-table-association-${letter}`, {
        subnetId: databaseSubnet.id,
        routeTableId: databaseRouteTable.id,
      });

      return { zone, public: publicSubnet, private: privateSubnet, database: databaseSubnet };
    });

    this.flowLog = this.createFlowLog(props, flowLogRetentionDays);
  }

  get publicSubnets(): Subnet[] {
    return this.zoneSubnets.map((z) => z.public);
  }

  get privateSubnets(): Subnet[] {
    return this.zoneSubnets.map((z) => z.private);
  }

  get databaseSubnets(): Subnet[] {
    return this.zoneSubnets.map((z) => z.database);
  }

  /** Every accepted and rejected flow of the VPC, for incident investigation and security review. */
  private createFlowLog(props: NetworkProps, retentionDays: number): FlowLog {
    const key = props.flowLogKey;
    const logGroup = key.createLogGroup(this, 'flow-log-group', { name: `/aws/vpc-flow-logs/${props.name}`, retentionDays });

    const role = new IamRole(this, 'flow-log-role', {
      name: `${props.name}-vpc-flow-logs`,
      description: `Delivers VPC flow logs of ${props.name} to CloudWatch Logs`,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'vpc-flow-logs.amazonaws.com' },
            Action: 'sts:AssumeRole',
            // Only flow logs of this account may use the role (confused-deputy protection).
            Condition: {
              StringEquals: { 'aws:SourceAccount': key.accountId },
              ArnLike: { 'aws:SourceArn': `arn:${key.partition}:ec2:${props.region}:${key.accountId}:vpc-flow-log/*` },
            },
          },
        ],
      }),
    });
    const rolePolicy = new IamRolePolicy(this, 'flow-log-role-policy', {
      name: 'deliver-to-flow-log-group',
      role: role.id,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
            Resource: [logGroup.arn, `${logGroup.arn}:*`],
          },
          // DescribeLogGroups supports no resource-level permission.
          { Effect: 'Allow', Action: 'logs:DescribeLogGroups', Resource: '*' },
        ],
      }),
    });

    return new FlowLog(this, 'flow-log', {
      vpcId: this.vpc.id,
      trafficType: 'ALL',
      logDestinationType: 'cloud-watch-logs',
      logDestination: logGroup.arn,
      iamRoleArn: role.arn,
      // The default 10-minute aggregation: shorter windows write more records and cost more.
      maxAggregationInterval: 600,
      tags: { Name: props.name },
      dependsOn: [rolePolicy],
    });
  }
}

function validate(id: string, props: NetworkProps, zones: readonly string[]): void {
  if (!SLASH_16.test(props.cidrBlock)) {
    throw new Error(`cidrBlock must be a /16 such as 10.10.0.0/16, got "${props.cidrBlock}" (network "${id}")`);
  }
  if (zones.length === 0) {
    throw new Error(`availabilityZones must list at least one zone of ${props.region}, got none (network "${id}")`);
  }
  zones.forEach((zone, i) => {
    const letter = zone.slice(props.region.length);
    if (!zone.startsWith(props.region) || letter.length !== 1 || !ZONE_LETTERS.includes(letter)) {
      throw new Error(
        `availabilityZones must be zones of ${props.region} ending in a letter a-f (the address plan has six zone slots), got "${zone}" (network "${id}")`,
      );
    }
    if (zones[i - 1] === zone) {
      throw new Error(`availabilityZones must not repeat a zone, got "${zone}" twice (network "${id}")`);
    }
  });
}
