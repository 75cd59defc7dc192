import { Testing } from '../../stacks/infra/cdktf';
import type { Location } from '../../stacks/infra/config/location';
import { ApiCertificate, type ApiCertificateKeyAlgorithm, type ApiCertificateProps } from '../../stacks/infra/constructs/api-certificate';
import { blockOf, hostStack, refOf } from '../support/stacks/data-fixtures';
import { SAMPLE_LOCATION_IDS, sampleLocation } from '../support/stacks/sample-locations';
import { synthJson } from '../support/stacks/synth-json';

describe('ApiCertificate', () => {
  const app = Testing.app();
  let stackCount = 0;

  function build(location: Location, props: Partial<ApiCertificateProps> = {}) {
    const { stack } = hostStack(app, `api-certificate-${++stackCount}`, location);
    const certificate = new ApiCertificate(stack, 'api-certificate', { location, ...props });
    return { certificate, json: synthJson(stack) };
  }

  describe('defaults', () => {
    test('an ECDSA P-256 certificate, like the CDN one', () => {
      const { certificate, json } = build(sampleLocation('sukhumvit-cafe'));
      expect(blockOf(json, certificate.certificate).key_algorithm).toBe('EC_prime256v1');
    });
  });

  describe.each(SAMPLE_LOCATION_IDS)('behaviour for %s', (id) => {
    const location = sampleLocation(id);
    const { certificate, json } = build(location);
    const cert = blockOf(json, certificate.certificate);
    const validation = blockOf(json, certificate.validation);

    test('covers exactly the api host name, validated by DNS', () => {
      expect(cert).toMatchObject({ domain_name: location.domains.api, validation_method: 'DNS' });
      expect(cert.subject_alternative_names).toBeUndefined();
      expect(certificate.domainName).toBe(location.domains.api);
    });

    test("is regional: the stack's default provider (the location region), never the us-east-1 alias", () => {
      expect(cert.provider).toBeUndefined();
      expect(validation.provider).toBeUndefined();
    });

    test('a replacement is issued before the old certificate is deleted', () => {
      expect(cert.lifecycle).toEqual({ create_before_destroy: true });
    });

    test('hands on the ARN only through the validation resource, so it resolves once issued', () => {
      expect(validation.certificate_arn).toBe(refOf(certificate.certificate, 'arn'));
      expect(validation.validation_record_fqdns).toBeUndefined();
    });
  });

  test.each<[ApiCertificateKeyAlgorithm]>([['EC_secp384r1'], ['RSA_2048']])('keyAlgorithm %s is applied', (keyAlgorithm) => {
    const { certificate, json } = build(sampleLocation('london-shoreditch'), { keyAlgorithm });
    expect(blockOf(json, certificate.certificate).key_algorithm).toBe(keyAlgorithm);
  });

  test('fails when keyAlgorithm is one ACM does not issue public certificates with', () => {
    expect(() => build(sampleLocation('sukhumvit-cafe'), { keyAlgorithm: 'RSA_1024' as ApiCertificateKeyAlgorithm })).toThrow(
      new Error('keyAlgorithm must be EC_prime256v1, EC_secp384r1, RSA_2048, got "RSA_1024" (location "sukhumvit-cafe")'),
    );
  });
});
