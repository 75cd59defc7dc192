/**
 * Per-process capacity measured by the benches on a reference machine, the input of the capacity
 * check. Figures live in `measured-capacity.json` next to this file (committed, with the command and
 * date that produced them) and are refreshed by hand from `npm run bench:api` (its CPU-seconds
 * table) and `npm run bench:ws` (both in tools/bench/) when the service changes. On the 2-core reference machine the api
 * shares its cores with PostgreSQL, Redis and the load generator, which makes CPU per request a
 * little worse than on a pod of its own: the figures err on the safe side.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';

const positive = z.number().positive();

export const measuredCapacitySchema = z
  .object({
    /** Where the figures come from: command, date, machine. */
    source: z.object({ command: z.string().min(1), measuredOn: z.iso.date(), machine: z.string().min(1) }).strict(),
    /**
     * Requests per CPU-second of one api process: the bench divides the responses of a run by the
     * CPU time the api process used in it (from /proc), which is steadier on a shared machine than
     * requests per wall-clock second.
     */
    api: z
      .object({
        /** Order creates (idempotency key, prices, one transaction, stream event). */
        orderCreatesPerCpuSecond: positive,
        /** Cached menu reads (token check, rate limit, L1 hit). */
        cachedReadsPerCpuSecond: positive,
      })
      .strict(),
    ws: z
      .object({
        /** Resident memory per open connection, in KiB. */
        memoryPerConnectionKiB: positive,
        /** Resident memory of an idle ws process, in MiB. */
        baselineMemoryMiB: positive,
      })
      .strict(),
  })
  .strict();

export type MeasuredCapacity = z.infer<typeof measuredCapacitySchema>;

export const MEASURED_CAPACITY_FILE = path.join(__dirname, 'measured-capacity.json');

export function loadMeasuredCapacity(file = MEASURED_CAPACITY_FILE): MeasuredCapacity {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: cannot read the measured capacity: ${(error as Error).message}`);
  }
  const result = measuredCapacitySchema.safeParse(raw);
  if (!result.success) {
    throw new Error(`${file}: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`);
  }
  return result.data;
}

let committed: MeasuredCapacity | undefined;

/** The committed figures (MEASURED_CAPACITY_FILE), read once per process: the sizing of every location reads them. */
export function committedMeasuredCapacity(): MeasuredCapacity {
  committed ??= loadMeasuredCapacity();
  return committed;
}
