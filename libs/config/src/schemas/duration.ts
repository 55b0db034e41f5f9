import { z } from 'zod';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** "90s", "60m", "1h", "7d" → seconds. Config files say durations the way people do. */
export const durationSchema = z
  .string()
  .regex(/^[1-9]\d{0,6}[smhd]$/, 'must be a duration such as 90s, 60m, 1h or 7d')
  .transform((value) => Number(value.slice(0, -1)) * UNIT_SECONDS[value.slice(-1) as keyof typeof UNIT_SECONDS]);
