// The benches' knobs: environment variables read once at start, refused at once when they make no sense.

/** A positive number from `name`, else `fallback`. */
export function numberEnv(name, fallback) {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

/** Concurrency levels from `name` (comma-separated positive integers), else `fallback`. */
export function levelsEnv(name, fallback) {
  const levels = (process.env[name] ?? fallback).split(',').map(Number);
  if (levels.some((level) => !Number.isInteger(level) || level < 1)) throw new Error(`${name}: e.g. ${fallback}`);
  return levels;
}
