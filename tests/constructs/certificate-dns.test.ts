import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { Testing } from '../../stacks/infra/cdktf';
import type { Location } from '../../stacks/infra/config/location';
import type { HostedZone } from '../../stacks/infra/config/platform-settings';
import { ApiCertificate } from '../../stacks/infra/constructs/api-certificate';
import { CdnBucket } from '../../stacks/infra/constructs/cdn-bucket';
import { CertificateValidationRecords } from '../../stacks/infra/constructs/certificate-validation-records';
import { ACCOUNT_ID, blockOf, hostStack, refOf, resources } from '../support/stacks/data-fixtures';
import { sampleLocation } from '../support/stacks/sample-locations';
import { synthJson } from '../support/stacks/synth-json';

const ZONE: HostedZone = { domain: 'banrimkwae.com', zoneId: 'Z0123456789ABCDEFGHIJ' };

describe('certificates validated through a hosted zone', () => {
  const app = Testing.app();
  let stackCount = 0;

  function apiCertificate(location: Location, hostedZone?: HostedZone) {
    const { stack } = hostStack(app, `api-dns-${++stackCount}`, location);
    const certificate = new ApiCertificate(stack, 'api-certificate', { location, hostedZone });
    return { certificate, json: synthJson(stack) };
  }

  function cdn(location: Location, hostedZone?: HostedZone) {
    const { stack, usEast1 } = hostStack(app, `cdn-dns-${++stackCount}`, location);
    const bucket = new CdnBucket(stack, 'cdn', { location, accountId: ACCOUNT_ID, usEast1Provider: usEast1, hostedZone });
    new IamRole(stack, 'role', { name: 'test-role', assumeRolePolicy: '{}' });
    return { cdn: bucket, json: synthJson(stack) };
  }

  describe('ApiCertificate with the zone of domains.api', () => {
    const location = sampleLocation('sukhumvit-cafe');
    const { certificate, json } = apiCertificate(location, ZONE);
    const records = blockOf(json, certificate.validationDnsRecords!.records);

    test('one record per validation option, keyed by domain name, in the zone', () => {
      expect(records.for_each).toBe(`\${{ for key, val in tolist(${refOf(certificate.certificate, 'domain_validation_options').slice(2, -1)}): val.domain_name => val }}`);
      expect(records).toMatchObject({
        zone_id: ZONE.zoneId,
        name: '${each.value.resource_record_name}',
        type: '${each.value.resource_record_type}',
        records: ['${each.value.resource_record_value}'],
        ttl: 300,
        allow_overwrite: true,
      });
    });

    test('validation waits for exactly those records', () => {
      const validation = blockOf(json, certificate.validation);
      expect(validation.validation_record_fqdns).toBe(
        `\${[ for key, val in ${certificate.validationDnsRecords!.records.terraformResourceType}.${certificate.validationDnsRecords!.records.friendlyUniqueId}: val.fqdn]}`,
      );
    });
  });

  test('without a zone: no records, the validation waits for records made by hand', () => {
    const { certificate, json } = apiCertificate(sampleLocation('sukhumvit-cafe'));
    expect(certificate.validationDnsRecords).toBeUndefined();
    expect(resources(json, 'aws_route53_record')).toHaveLength(0);
    expect(blockOf(json, certificate.validation).validation_record_fqdns).toBeUndefined();
  });

  describe('CdnBucket with the zone of domains.cdn', () => {
    const location = sampleLocation('kanchanaburi-resort');
    const { cdn: bucket, json } = cdn(location, ZONE);

    test('the certificate is validated through records in the zone, by the us-east-1 validation resource', () => {
      const records = resources(json, 'aws_route53_record').filter((r) => r.for_each);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ zone_id: ZONE.zoneId, allow_overwrite: true });
      // Route 53 is global: the records need no us-east-1 provider; the validation does (ACM is regional).
      expect(records[0]!.provider).toBeUndefined();
      const validation = Object.values(json.resource.aws_acm_certificate_validation as Record<string, Record<string, unknown>>)[0]!;
      expect(validation.provider).toBe('aws.us_east_1');
      expect(String(validation.validation_record_fqdns)).toMatch(/^\$\{\[ for key, val in aws_route53_record\.cdn_certificate-validation-records_record_\w+: val\.fqdn\]\}$/);
    });

    test('domains.cdn is an IPv4 and IPv6 alias of the distribution', () => {
      expect(bucket.aliasRecords.map((r) => blockOf(json, r))).toEqual(
        (['A', 'AAAA'] as const).map((type) => ({
          zone_id: ZONE.zoneId,
          name: location.domains.cdn,
          type,
          alias: {
            name: refOf(bucket.distribution, 'domain_name'),
            zone_id: refOf(bucket.distribution, 'hosted_zone_id'),
            evaluate_target_health: false,
          },
        })),
      );
    });
  });

  test('CdnBucket without a zone creates no records', () => {
    const { cdn: bucket, json } = cdn(sampleLocation('kanchanaburi-resort'));
    expect(bucket.aliasRecords).toEqual([]);
    expect(resources(json, 'aws_route53_record')).toHaveLength(0);
  });

  describe('errors', () => {
    test('fails when the zone does not hold the host name (a suffix that is not a label boundary)', () => {
      const location = sampleLocation('sukhumvit-cafe');
      expect(() => apiCertificate(location, { domain: 'rimkwae.com', zoneId: 'Z1' })).toThrow(
        new Error('hostedZone must hold api.sukhumvit-cafe.banrimkwae.com, got the zone of "rimkwae.com" (Z1)'),
      );
    });

    test('fails when ttlSeconds is outside 60..86400', () => {
      const location = sampleLocation('sukhumvit-cafe');
      const { stack } = hostStack(app, `ttl-${++stackCount}`, location);
      const certificate = new ApiCertificate(stack, 'api-certificate', { location });
      expect(
        () =>
          new CertificateValidationRecords(stack, 'records', {
            certificate: certificate.certificate,
            hostedZone: ZONE,
            domainName: location.domains.api,
            ttlSeconds: 5,
          }),
      ).toThrow(new Error('ttlSeconds must be an integer in 60..86400, got 5 (certificate of api.sukhumvit-cafe.banrimkwae.com)'));
    });
  });
});
