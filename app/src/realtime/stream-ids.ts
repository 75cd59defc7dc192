/**
 * Redis Stream entry ids (`<milliseconds>-<sequence>`, both unsigned 64-bit decimals). Ids are
 * compared as numbers, never as strings (`"9-0" > "10-0"` as strings), without converting to
 * JavaScript numbers (a sequence may exceed 2^53).
 */
import { z } from 'zod';

/** Before every entry a stream can hold: the position of an empty or not yet created stream. */
export const STREAM_START_ID = '0-0';

const STREAM_ID_PATTERN = /^(0|[1-9][0-9]{0,19})-(0|[1-9][0-9]{0,19})$/;

/** A complete stream id as clients send it back (`last_id`). */
export const streamIdSchema = z.string().regex(STREAM_ID_PATTERN, 'must be a stream id like 1718000000000-0');

export function isStreamId(value: string): boolean {
  return STREAM_ID_PATTERN.test(value);
}

function compareDecimal(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Negative when `a` is before `b`, 0 when equal, positive when after. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = '0', aSeq = '0'] = a.split('-');
  const [bMs = '0', bSeq = '0'] = b.split('-');
  return compareDecimal(aMs, bMs) || compareDecimal(aSeq, bSeq);
}

/** The Redis server time (milliseconds since the epoch) at which the entry was added. */
export function streamIdTimeMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}
