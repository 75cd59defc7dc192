/**
 * AWS regions a location may use, with their availability zone names. Kept as data (not looked up
 * with a data source) so synth and plan need no AWS credentials. Add a region here when onboarding
 * the first location in it.
 */
export const AWS_REGIONS: Readonly<Record<string, readonly string[]>> = {
  'us-east-1': ['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d', 'us-east-1e', 'us-east-1f'],
  'us-west-2': ['us-west-2a', 'us-west-2b', 'us-west-2c', 'us-west-2d'],
  'eu-west-1': ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
  'eu-west-2': ['eu-west-2a', 'eu-west-2b', 'eu-west-2c'],
  'eu-central-1': ['eu-central-1a', 'eu-central-1b', 'eu-central-1c'],
  'ap-southeast-1': ['ap-southeast-1a', 'ap-southeast-1b', 'ap-southeast-1c'],
  'ap-southeast-2': ['ap-southeast-2a', 'ap-southeast-2b', 'ap-southeast-2c'],
  'ap-southeast-7': ['ap-southeast-7a', 'ap-southeast-7b', 'ap-southeast-7c'],
  'ap-northeast-1': ['ap-northeast-1a', 'ap-northeast-1c', 'ap-northeast-1d'],
};

export function knownRegions(): string[] {
  return Object.keys(AWS_REGIONS).sort();
}

/** The AWS partition of a region, for ARNs of AWS managed policies. */
export function awsPartition(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}
