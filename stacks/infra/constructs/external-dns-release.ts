/**
 * ExternalDNS on a region's cluster: keeps each location's `domains.api` pointed at the NLB of its
 * nginx Service (the Service's `external-dns.alpha.kubernetes.io/hostname` annotation). Installed
 * by the addons stack only where the platform settings name the hosted zones of those names.
 *
 * The reviewed values file (`charts/external-dns/values.yaml`) is the same for every region; the
 * second values document here carries what differs: the zones it may touch (by id, so a zone of
 * the same name in another account or a private zone is never changed), the domains, and the
 * region. Tokens (role ARN, cluster name) go through helm `set`.
 */
import { Release, type ReleaseSet } from '@cdktf/provider-helm/lib/release';
import { Construct } from 'constructs';
import { stringify as stringifyYaml } from 'yaml';
import type { HostedZone } from '../config/platform-settings';
import { EXTERNAL_DNS_SERVICE_ACCOUNT } from './external-dns-role';
import { IRSA_ROLE_ANNOTATION_KEY } from './irsa-oidc-provider';

export interface ExternalDnsReleaseProps {
  /** Chart, repository and pinned version (ADDON_CHARTS in the addons stack). */
  readonly chart: { readonly chart: string; readonly repository: string; readonly version: string };
  /** `charts/external-dns/values.yaml`, read by the addons stack. */
  readonly values: string;
  readonly region: string;
  /** Owner id of the TXT ownership records: the cluster's name. */
  readonly clusterName: string;
  /** IRSA role trusted by `kube-system/external-dns` (`ExternalDnsRole` in the platform stack). */
  readonly roleArn: string;
  /** The zones it may change; at least one. */
  readonly hostedZones: readonly HostedZone[];
  /** The helm `set` list builder of the addons stack (every value typed string). */
  readonly setValues: (values: Readonly<Record<string, string>>) => ReleaseSet[];
}

/** The per-region values document: zone and domain filters, the region. */
export function externalDnsRegionValues(region: string, hostedZones: readonly HostedZone[]): string {
  const values = {
    domainFilters: hostedZones.map((zone) => zone.domain),
    extraArgs: ['--aws-zone-type=public', ...hostedZones.map((zone) => `--zone-id-filter=${zone.zoneId}`)],
    env: [{ name: 'AWS_DEFAULT_REGION', value: region }],
  };
  return `# Generated at synth time for ${region} (externalDnsRegionValues in stacks/infra/constructs/external-dns-release.ts).\n${stringifyYaml(values, { lineWidth: 0 })}`;
}

export class ExternalDnsRelease extends Construct {
  readonly release: Release;

  constructor(scope: Construct, id: string, props: ExternalDnsReleaseProps) {
    super(scope, id);
    if (props.hostedZones.length === 0) {
      throw new Error(`hostedZones must name at least one Route 53 zone, got none (ExternalDNS of ${props.region})`);
    }
    this.release = new Release(this, 'release', {
      name: 'external-dns',
      ...props.chart,
      namespace: EXTERNAL_DNS_SERVICE_ACCOUNT.namespace,
      createNamespace: false,
      values: [props.values, externalDnsRegionValues(props.region, props.hostedZones)],
      set: props.setValues({
        txtOwnerId: props.clusterName,
        'serviceAccount.name': EXTERNAL_DNS_SERVICE_ACCOUNT.name,
        [`serviceAccount.annotations.${IRSA_ROLE_ANNOTATION_KEY}`]: props.roleArn,
      }),
      wait: true,
      atomic: true,
      cleanupOnFail: true,
      timeout: 300,
      maxHistory: 10,
    });
  }
}
