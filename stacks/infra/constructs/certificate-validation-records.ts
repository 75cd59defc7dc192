/**
 * The DNS records that validate an ACM certificate, created in the Route 53 hosted zone of its
 * host name, so `aws_acm_certificate_validation` finishes in the same apply (a minute or two)
 * instead of waiting up to 75 minutes for someone to create them by hand.
 *
 * One record per `domain_validation_options` entry, keyed by domain name: the names are known at
 * plan time (they come from the configuration), so `for_each` plans without the certificate. ACM
 * gives the same validation record to every certificate of a host name, so a replacement
 * certificate (`create_before_destroy`) finds its record already there: `allow_overwrite` lets
 * the new record take over the old one instead of failing on "already exists".
 */
import { AcmCertificate } from '@cdktf/provider-aws/lib/acm-certificate';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record';
import { Construct } from 'constructs';
import { TerraformIterator, Token } from '../cdktf';
import type { HostedZone } from '../config/platform-settings';

export interface CertificateValidationRecordsProps {
  readonly certificate: AcmCertificate;
  /** The zone that holds the certificate's host name (`hostedZoneFor` in the platform settings). */
  readonly hostedZone: HostedZone;
  /** The certificate's host name, checked to lie in `hostedZone`. */
  readonly domainName: string;
  /**
   * TTL of the validation records; ACM reads them once, and again at renewal.
   * @default 300
   */
  readonly ttlSeconds?: number;
}

export class CertificateValidationRecords extends Construct {
  readonly records: Route53Record;
  /** For `aws_acm_certificate_validation.validation_record_fqdns`: validation waits for these. */
  readonly fqdns: string[];

  constructor(scope: Construct, id: string, props: CertificateValidationRecordsProps) {
    super(scope, id);
    const { hostedZone, domainName } = props;
    const ttlSeconds = props.ttlSeconds ?? 300;
    if (!Token.isUnresolved(domainName) && domainName !== hostedZone.domain && !domainName.endsWith(`.${hostedZone.domain}`)) {
      throw new Error(`hostedZone must hold ${domainName}, got the zone of "${hostedZone.domain}" (${hostedZone.zoneId})`);
    }
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 60 || ttlSeconds > 86400) {
      throw new Error(`ttlSeconds must be an integer in 60..86400, got ${ttlSeconds} (certificate of ${domainName})`);
    }

    const option = TerraformIterator.fromComplexList(props.certificate.domainValidationOptions, 'domain_name');
    this.records = new Route53Record(this, 'record', {
      forEach: option,
      zoneId: hostedZone.zoneId,
      name: option.getString('resource_record_name'),
      type: option.getString('resource_record_type'),
      records: [option.getString('resource_record_value')],
      ttl: ttlSeconds,
      allowOverwrite: true,
    });
    this.fqdns = Token.asList(TerraformIterator.fromResources(this.records).pluckProperty('fqdn'));
  }
}
