import { z } from 'zod';

// Money is counted in integer micro-dollars (1 USD = 1 000 000): exact sums, and integers Redis can INCRBY.
// USD amounts appear only at the edges (the config file, the API) and are converted once.
export const MICROS_PER_USD = 1_000_000;

/** A USD amount with at most 6 decimal places (a micro-dollar), up to a billion. */
export const usdAmountSchema = z
  .number()
  .finite()
  .min(0)
  .max(1_000_000_000)
  .refine((usd) => Math.abs(usd * MICROS_PER_USD - Math.round(usd * MICROS_PER_USD)) < 1e-6, 'must have at most 6 decimal places');

export function usdToMicros(usd: number): bigint {
  return BigInt(Math.round(usd * MICROS_PER_USD));
}

/** For JSON: the nearest number to the exact decimal (reports also carry the exact micros). */
export function microsToUsd(micros: bigint): number {
  return Number(micros) / MICROS_PER_USD;
}

/** "$100.00", "$0.005", "$1,250.50": cents always shown, further digits only when they are not zero. */
export function formatUsd(micros: bigint): string {
  const negative = micros < 0n;
  const absolute = negative ? -micros : micros;
  const whole = absolute / BigInt(MICROS_PER_USD);
  const fraction = (absolute % BigInt(MICROS_PER_USD)).toString().padStart(6, '0').replace(/0{1,4}$/, '');
  return `${negative ? '-' : ''}$${whole.toLocaleString('en-US')}.${fraction.padEnd(2, '0')}`;
}
