/**
 * The schema of the platform settings file (`platform.yaml` beside `locations/`). Structural and
 * per-value rules live here; rules that relate entries to each other (one admin per region, no
 * principal twice) or to the location files are in `platform-settings-loader.ts`.
 *
 * Regions are parsed one by one with `regionPlatformSettingsSchema`, so a problem in one region
 * is reported with its full path (`regions.eu-west-2.clusterAccess[0].access`) and the others are
 * still checked.
 */
import { z } from 'zod';
import { endpointCidrProblem, iamPrincipalArnProblem, s3BucketNameProblem, SECURITY_GROUP_ID_PATTERN, SECURITY_GROUP_ID_RULE } from './aws-identifiers';
import { CLUSTER_ACCESS_LEVELS } from './platform-settings';
import { knownRegions } from './regions';

/** A public DNS name: lowercase labels, no trailing dot (the same grammar as location host names). */
const DNS_NAME_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const HOSTED_ZONE_ID_PATTERN = /^Z[A-Z0-9]{1,31}$/;
/** Object key segments: the key becomes `<keyPrefix>/<stack>/terraform.tfstate`. */
const STATE_KEY_PREFIX_PATTERN = /^(?=.{1,200}$)[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;

/** A string refined by a check that returns "must ..." or nothing (see aws-identifiers.ts). */
const checkedString = (problemOf: (value: string) => string | undefined) =>
  z.string().superRefine((value, ctx) => {
    const problem = problemOf(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
  });

export const regionPlatformSettingsSchema = z
  .object({
    clusterEndpointAccess: z
      .object({
        cidrs: z.array(checkedString(endpointCidrProblem)).default([]),
        securityGroupIds: z.array(z.string().regex(SECURITY_GROUP_ID_PATTERN, SECURITY_GROUP_ID_RULE)).default([]),
      })
      .strict(),
    clusterAccess: z.array(
      z
        .object({
          principalArn: checkedString(iamPrincipalArnProblem),
          access: z.enum(CLUSTER_ACCESS_LEVELS),
        })
        .strict(),
    ),
  })
  .strict();

export const platformSettingsFileSchema = z
  .object({
    stateBackend: z
      .object({
        bucket: checkedString(s3BucketNameProblem),
        region: z.enum(knownRegions() as [string, ...string[]]),
        keyPrefix: z.string().regex(STATE_KEY_PREFIX_PATTERN, 'an S3 key prefix: lowercase letters, digits, ., _ and - in segments separated by /, without a leading or trailing /'),
      })
      .strict(),
    hostedZones: z.array(
      z
        .object({
          domain: z.string().regex(DNS_NAME_PATTERN, 'a lowercase DNS name without a trailing dot'),
          zoneId: z.string().regex(HOSTED_ZONE_ID_PATTERN, 'a Route 53 hosted zone id (Z followed by up to 31 upper-case letters and digits)'),
        })
        .strict(),
    ),
    /** Checked per region with `regionPlatformSettingsSchema`. */
    regions: z.record(z.string(), z.unknown()),
  })
  .strict();

export type PlatformSettingsFile = z.infer<typeof platformSettingsFileSchema>;
export type RegionPlatformSettingsFile = z.infer<typeof regionPlatformSettingsSchema>;
