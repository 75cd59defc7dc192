/**
 * The plan summary as one sticky pull-request comment (`.github/workflows/plan.yml` posts it and
 * updates it in place, finding it by `PLAN_COMMENT_MARKER`). GitHub refuses a comment body over
 * 65,536 characters, so the comment is, in order of preference:
 *   1. the full summary;
 *   2. the summary with every passing location and region on one line (`renderMarkdown` with
 *      `collapsePassing`), pointing to the full summary in the workflow run's artifact;
 *   3. that, cut at a line boundary, with a pointer saying how much was cut.
 */
import { renderMarkdown, type PlanReport } from './plan-report';

/** Hidden in the rendered comment; the workflow finds its earlier comment by it. */
export const PLAN_COMMENT_MARKER = '<!-- restaurant-platform-plan -->';

/** The most characters GitHub accepts in an issue or pull-request comment body. */
export const GITHUB_COMMENT_LIMIT = 65_536;

/** The artifact `.github/workflows/plan.yml` uploads the plan files and the full summary as. */
export const PLAN_ARTIFACT_NAME = 'plan-summary';

export interface PlanCommentOptions {
  /**
   * The largest body, in UTF-16 code units (never fewer than the characters GitHub counts).
   * @default GITHUB_COMMENT_LIMIT
   */
  readonly limit?: number;
  /**
   * The workflow run whose artifact holds the full summary (`workflowRunUrl`).
   * @default - the pointer names the artifact without a link
   */
  readonly runUrl?: string;
}

export interface PlanComment {
  readonly body: string;
  readonly form: 'full' | 'collapsed' | 'truncated';
}

/** The URL of the current GitHub Actions run, from the variables every step gets; undefined elsewhere. */
export function workflowRunUrl(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repository, GITHUB_RUN_ID: runId } = env;
  return server && repository && runId ? `${server}/${repository}/actions/runs/${runId}` : undefined;
}

/** Where the full summary is, as a sentence. */
export function artifactPointer(runUrl: string | undefined, file = 'plan-summary.md', artifact = PLAN_ARTIFACT_NAME): string {
  const run = runUrl ? `[this workflow run](${runUrl})` : 'this workflow run';
  return `The full summary is \`${file}\` in the \`${artifact}\` artifact of ${run}.`;
}

/**
 * `text` when it fits in `limit`; otherwise its first lines, cut at a line boundary, an open
 * `<details>` closed, then `pointer` after a line saying how many characters were cut.
 */
export function fitToLimit(text: string, limit: number, pointer: string): { text: string; truncated: boolean } {
  if (text.length <= limit) return { text, truncated: false };
  // Room for the closing tag and the note; the count in the note has at most as many digits as text.length.
  const note = (cut: number) => `\n\n**Truncated here: ${cut.toLocaleString('en-US')} more characters.** ${pointer}\n`;
  const reserve = '\n</details>'.length + note(text.length).length;
  if (reserve >= limit) throw new Error(`limit ${limit} leaves no room for the truncation note (${reserve} characters)`);
  let kept = text.slice(0, limit - reserve);
  const lastNewline = kept.lastIndexOf('\n');
  if (lastNewline > 0) kept = kept.slice(0, lastNewline);
  const open = (kept.match(/<details>/g) ?? []).length - (kept.match(/<\/details>/g) ?? []).length;
  const closed = open > 0 ? `${kept}\n</details>` : kept;
  return { text: closed + note(text.length - kept.length), truncated: true };
}

/** The comment body: the marker, then the summary in the first form that fits. */
export function renderPlanComment(report: PlanReport, workDir: string, options: PlanCommentOptions = {}): PlanComment {
  const limit = options.limit ?? GITHUB_COMMENT_LIMIT;
  const head = `${PLAN_COMMENT_MARKER}\n`;
  const full = head + renderMarkdown(report, workDir);
  if (full.length <= limit) return { body: full, form: 'full' };

  const pointer = artifactPointer(options.runUrl);
  const collapsed = `${head}${renderMarkdown(report, workDir, { collapsePassing: true })}\n${pointer}\n`;
  if (collapsed.length <= limit) return { body: collapsed, form: 'collapsed' };
  return { body: fitToLimit(collapsed, limit, pointer).text, form: 'truncated' };
}
