/**
 * The public certificate of a location's order API (`domains.api`): a regional ACM certificate
 * that the Network Load Balancer in front of nginx terminates TLS with (`nginx-gateway.ts`).
 *
 * - Regional: an NLB takes certificates from its own region only (CloudFront's come from
 *   us-east-1, see `cdn-bucket.ts`); the construct uses the stack's default aws provider.
 * - DNS validation, as for the CDN's certificate. With `hostedZone` (the platform settings name
 *   the Route 53 zone of `domains.api`) the validation records are created here and the apply
 *   waits a minute or two; without it they are a stack output, and the first deploy waits (up to
 *   75 minutes) in the validation resource until someone creates them (README: Deploying).
 *   `certificateArn` is the validation resource's, so the app stack is only ever handed an issued
 *   certificate; a load balancer listener cannot use one that is still pending validation.
 * - `create_before_destroy`: a replacement (another `domains.api`, another key algorithm) is
 *   issued before the old certificate goes. The old one is still on the NLB listener, which the
 *   app stack's Service owns, so its deletion fails (after the provider's 20 minutes of retries)
 *   until the app stack has been applied with the new ARN; the next apply of the data stack then
 *   deletes it.
 */
import { Construct } from 'constructs';
import { AcmCertificate } from '@cdktf/provider-aws/lib/acm-certificate';
import { AcmCertificateValidation } from '@cdktf/provider-aws/lib/acm-certificate-validation';
import type { Location } from '../config/location';
import type { HostedZone } from '../config/platform-settings';
import { CertificateValidationRecords } from './certificate-validation-records';

/** Key algorithms ACM issues public certificates with (RequestCertificate). */
export const API_CERTIFICATE_KEY_ALGORITHMS = ['EC_prime256v1', 'EC_secp384r1', 'RSA_2048'] as const;
export type ApiCertificateKeyAlgorithm = (typeof API_CERTIFICATE_KEY_ALGORITHMS)[number];

export interface ApiCertificateProps {
  /** The host name (`domains.api`) and naming. */
  readonly location: Location;
  /**
   * Key algorithm. NLB TLS listeners accept ECDSA certificates; P-256 is what the CDN's
   * certificate uses, and the API's clients are the same browsers and tablets.
   * @default 'EC_prime256v1'
   */
  readonly keyAlgorithm?: ApiCertificateKeyAlgorithm;
  /**
   * The Route 53 zone that holds `domains.api`.
   * @default - no records: the validation records are left to whoever runs the zone
   */
  readonly hostedZone?: HostedZone;
}

export class ApiCertificate extends Construct {
  readonly certificate: AcmCertificate;
  readonly validation: AcmCertificateValidation;
  /** ARN of the certificate once issued: resolves only after DNS validation has succeeded. */
  readonly certificateArn: string;
  /** The DNS records (name, type, value) that validate the certificate, for the stack output. */
  readonly validationRecords: AcmCertificate['domainValidationOptions'];
  readonly domainName: string;
  /** Present when the construct was given the hosted zone. */
  readonly validationDnsRecords?: CertificateValidationRecords;

  constructor(scope: Construct, id: string, props: ApiCertificateProps) {
    super(scope, id);
    const { location } = props;
    const keyAlgorithm = props.keyAlgorithm ?? 'EC_prime256v1';
    if (!API_CERTIFICATE_KEY_ALGORITHMS.includes(keyAlgorithm)) {
      throw new Error(`keyAlgorithm must be ${API_CERTIFICATE_KEY_ALGORITHMS.join(', ')}, got "${String(keyAlgorithm)}" (location "${location.id}")`);
    }
    this.domainName = location.domains.api;

    this.certificate = new AcmCertificate(this, 'certificate', {
      domainName: this.domainName,
      validationMethod: 'DNS',
      keyAlgorithm,
      lifecycle: { createBeforeDestroy: true },
    });
    if (props.hostedZone) {
      this.validationDnsRecords = new CertificateValidationRecords(this, 'validation-records', {
        certificate: this.certificate,
        hostedZone: props.hostedZone,
        domainName: this.domainName,
      });
    }
    this.validation = new AcmCertificateValidation(this, 'validation', {
      certificateArn: this.certificate.arn,
      ...(this.validationDnsRecords ? { validationRecordFqdns: this.validationDnsRecords.fqdns } : {}),
    });
    this.certificateArn = this.validation.certificateArn;
    this.validationRecords = this.certificate.domainValidationOptions;
  }
}
