/**
 * PostgreSQL WAL positions (`pg_lsn`). The text form is two hex numbers, `X/Y`: the high and low
 * 32 bits of one unsigned 64-bit byte position. Neither string comparison ('0/10' < '0/9') nor
 * float arithmetic (2^53) orders them correctly, so positions are parsed into a bigint and compared
 * with the ordinary operators.
 */
export type WalPosition = bigint;

const PG_LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const LOW_32_BITS = 0xffffffffn;
const MAX_POSITION = (1n << 64n) - 1n;

/** The largest position: a token at this position keeps a key's reads on the primary until it expires. */
export const MAX_WAL_POSITION: WalPosition = MAX_POSITION;

/** Parses `pg_lsn` text ('16/B374D848'). Throws on anything else: a position is never guessed. */
export function parseWalPosition(text: string): WalPosition {
  const match = PG_LSN_TEXT.exec(text);
  if (!match) throw new Error(`not a pg_lsn: ${JSON.stringify(text)} (expected "X/Y", two hex numbers of 1 to 8 digits)`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** Formats a position the way PostgreSQL prints a `pg_lsn`, so `formatWalPosition(parseWalPosition(s))` round-trips. */
export function formatWalPosition(position: WalPosition): string {
  if (position < 0n || position > MAX_POSITION) throw new Error(`WAL position out of range: ${position}`);
  return `${(position >> 32n).toString(16).toUpperCase()}/${(position & LOW_32_BITS).toString(16).toUpperCase()}`;
}
