/**
 * `npm run plan [-- <location-glob>...] [--out DIR] [--concurrency N] [--affected-since REF [--allow-removal]]`
 *
 * Synthesizes every stack (production settings untouched), then for the stacks of the matching
 * locations and their regions runs real Terraform in separate working folders: the AWS stacks
 * are fully planned (init, validate, plan, show -json) with plan-check settings, the stacks with
 * providers that cannot be installed here (kubernetes, helm) are structure-checked (init and
 * validate of a copy with `terraform_data` stand-ins). It evaluates the policy rules on each plan
 * (or on the synthesized JSON of stacks that were not planned), lists per planned stack the
 * changes that restart or fail over a database or cache node and when they take effect
 * (`disruptive-changes.ts`), estimates monthly cost and writes
 * `plan-summary.md` and `plan-summary.json`, which say which stacks were planned and which only
 * structure-checked, and `plan-comment.md`, the summary as a pull-request comment that fits
 * GitHub's limit (`plan-comment.ts`). Exits 1 when any init, validate, plan or policy rule fails,
 * naming the stack and the step or rule; 2 when it cannot run (no Terraform, bad input).
 *
 * `--affected-since REF` checks only the stacks whose synthesized JSON differs from the tree at REF
 * (or is new) and the stacks reading their outputs (`affected-stacks.ts`); stacks synthesized at REF
 * and gone now are listed as to be destroyed and fail the check unless `--allow-removal` is given.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { disableTokenStackTraces } from '../../infra/cdktf';
import { expectedError, runCli } from '../../cli/run-cli';
import { LocationConfigError } from '../../infra/config/location-config-error';
import { estimateMonthlyCost } from '../cost/cost-estimate';
import { checkWaiverIds, evaluatePolicies, unusedWaivers } from '../policy/policy-engine';
import { policyInputFromPlan, policyInputFromSynth } from '../policy/policy-resources';
import { ALL_RULES } from '../policy/rules';
import { SettingsError } from '../../settings-error';
import { loadSynthInputs, REPO_ROOT } from '../../synth-options';
import { stackJsonPath, synthesize } from '../../synthesize';
import { AffectedSinceError, compareSyntheses, synthesizeAlongsideRef, type AffectedStacks } from './affected-stacks';
import { serviceChanges } from './disruptive-changes';
import { matchLocations } from './location-glob';
import { renderPlanComment, workflowRunUrl } from './plan-comment';
import { coverageOf, failuresOf, renderMarkdown, reportJson, type PlanReport, type StackReport } from './plan-report';
import { runPlans } from './plan-runner';
import { findMirroredProviders, mirrorDirsFromEnvironment } from './provider-installation';
import { findTerraform, TerraformMissingError } from './terraform-cli';

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const started = Date.now();
  disableTokenStackTraces(process.env);
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string', default: path.join(REPO_ROOT, 'plan-out') },
      concurrency: { type: 'string' },
      'affected-since': { type: 'string' },
      'allow-removal': { type: 'boolean', default: false },
    },
  });
  if (values['allow-removal'] && values['affected-since'] === undefined) throw new UsageError('--allow-removal only applies with --affected-since <git-ref>');
  const workDir = path.resolve(values.out!);
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) {
    throw new UsageError(`--concurrency must be a positive integer, got "${values.concurrency}"`);
  }

  // Locations and platform settings, validated together (SettingsError or LocationConfigError).
  const { locations, ...options } = loadSynthInputs(process.env);
  for (const location of locations) checkWaiverIds(location.policyWaivers, location.sourceFile);
  const selected = new Set(matchLocations(locations.map((l) => l.id), positionals));
  if (selected.size === 0) {
    throw new UsageError(`no location matches ${positionals.map((g) => `"${g}"`).join(', ')} (locations: ${locations.map((l) => l.id).join(', ')})`);
  }
  const terraform = findTerraform(process.env);
  const mirrored = findMirroredProviders(mirrorDirsFromEnvironment(process.env));

  // All locations are synthesized: region stacks depend on every location of their region.
  // With --affected-since, a process of its own synthesizes the ref meanwhile (affected-stacks.ts).
  const synthOutdir = path.join(workDir, 'cdktf.out');
  const ref = values['affected-since'];
  const refOutdir = path.join(workDir, 'cdktf.out.affected-since');
  if (ref !== undefined) fs.rmSync(refOutdir, { recursive: true, force: true });
  const synthesizeHere = () => synthesize(locations, options, synthOutdir);
  const synthesis = ref === undefined ? await synthesizeHere() : await synthesizeAlongsideRef(ref, REPO_ROOT, refOutdir, process.env, synthesizeHere);
  const regions = new Set(locations.filter((l) => selected.has(l.id)).map((l) => l.region));
  const matching = synthesis.stacks.filter((s) => (s.location ? selected.has(s.location) : regions.has(s.region)));

  let affected: AffectedStacks | undefined;
  if (ref !== undefined) affected = compareSyntheses(ref, refOutdir, synthOutdir, synthesis.stacks.map((s) => s.stack));
  const affectedNames = new Set(affected?.affected.map((a) => a.stack));
  const stacks = affected ? matching.filter((s) => affectedNames.has(s.stack)) : matching;

  const plans = await runPlans({
    synthOutdir,
    workDir,
    stacks,
    terraformBin: terraform.bin,
    mirrored,
    providersFromRegistry: process.env.PLAN_PROVIDERS_FROM_REGISTRY === '1',
    concurrency,
    log: (line) => console.error(line),
  });

  const waiversOf = (locationId: string | undefined) => locations.find((l) => l.id === locationId)?.policyWaivers ?? [];
  const reports: StackReport[] = plans.map((plan) => {
    const planJson = plan.status === 'planned' ? JSON.parse(fs.readFileSync(plan.planJsonPath!, 'utf8')) : undefined;
    const input = planJson
      ? policyInputFromPlan(plan.stack.stack, plan.stack.kind, planJson)
      : policyInputFromSynth(plan.stack.stack, plan.stack.kind, JSON.parse(fs.readFileSync(stackJsonPath(synthOutdir, plan.stack.stack), 'utf8')));
    const policy = evaluatePolicies(input, ALL_RULES, waiversOf(plan.stack.location));
    const report: StackReport = { plan, policy, cost: estimateMonthlyCost(input.resources, plan.stack.region) };
    // Which planned changes restart or fail over a database or cache node, and when.
    return planJson ? { ...report, services: serviceChanges(planJson) } : report;
  });

  // Only locations whose stacks were checked can tell an unused waiver (not so with --affected-since).
  const unused = locations
    .filter((l) => selected.has(l.id) && stacks.some((s) => s.location === l.id))
    .flatMap((l) => unusedWaivers(reports.filter((r) => r.plan.stack.location === l.id).flatMap((r) => r.policy), l.policyWaivers).map((w) => ({ location: l.id, rule: w.rule })));
  const failures = failuresOf(reports);
  if (affected && affected.removed.length > 0 && !values['allow-removal']) {
    failures.push(`stacks removed since ${affected.ref} would be destroyed: ${affected.removed.join(', ')} (pass --allow-removal if that is intended)`);
  }
  const report: PlanReport = {
    ok: failures.length === 0,
    coverage: coverageOf(plans),
    terraformVersion: terraform.version,
    providerSources: mirrored.length > 0 ? mirrored.map((m) => `${m.address} ${m.versions.join('/')} from mirror ${m.mirrorDir}`) : ['registry'],
    wallSeconds: (Date.now() - started) / 1000,
    stacks: reports,
    unusedWaivers: unused,
    failures,
    ...(affected ? { affected } : {}),
  };
  const markdown = renderMarkdown(report, workDir);
  fs.writeFileSync(path.join(workDir, 'plan-summary.md'), markdown);
  fs.writeFileSync(path.join(workDir, 'plan-summary.json'), reportJson(report));
  fs.writeFileSync(path.join(workDir, 'plan-comment.md'), renderPlanComment(report, workDir, { runUrl: workflowRunUrl(process.env) }).body);
  console.log(markdown);
  if (!report.ok) {
    console.error(`plan check failed:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
    return 1;
  }
  return 0;
}

// 2 for whatever stops it, expected or not: 1 means the plans ran and something failed.
runCli(() => main(process.argv.slice(2)), {
  expected: [expectedError([LocationConfigError, SettingsError, TerraformMissingError, UsageError, AffectedSinceError], 2)],
  unexpectedExitCode: 2,
});
