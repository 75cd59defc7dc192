/** Tags every taggable resource carries: the location's cost-allocation tags plus ours. */
import type { Location } from './config/location';

export function stackTags(stackId: string, location?: Location): Record<string, string> {
  return {
    ...(location?.tags ?? {}),
    ...(location ? { location: location.id } : {}),
    stack: stackId,
    'managed-by': 'cdktf',
  };
}

/** Region-wide stacks serve several locations; they carry the shared platform cost centre. */
export const PLATFORM_COST_TAGS: Readonly<Record<string, string>> = {
  'cost-center': 'cc-0001-platform',
  owner: 'platform-team',
};
