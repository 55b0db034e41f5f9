import { diffLines } from 'diff';

/** One line of a unified diff. */
export interface DiffLine {
  kind: 'same' | 'added' | 'removed';
  text: string;
}

/** A line diff of two texts (jsdiff's Myers diff), one entry a line. */
export function lineDiff(before: string, after: string): DiffLine[] {
  return diffLines(before, after).flatMap((change) => {
    const kind: DiffLine['kind'] = change.added ? 'added' : change.removed ? 'removed' : 'same';
    return change.value.replace(/\n$/, '').split('\n').map((text) => ({ kind, text }));
  });
}

/** The changed lines with `context` unchanged lines around each change; longer unchanged runs are folded. */
export function hunks(lines: DiffLine[], context = 3): (DiffLine | { kind: 'folded'; count: number })[] {
  const near = lines.map((_, index) => lines.slice(Math.max(0, index - context), index + context + 1).some((line) => line.kind !== 'same'));
  const shown: (DiffLine | { kind: 'folded'; count: number })[] = [];
  lines.forEach((line, index) => {
    if (near[index]) return void shown.push(line);
    const last = shown[shown.length - 1];
    if (last?.kind === 'folded') last.count++;
    else shown.push({ kind: 'folded', count: 1 });
  });
  return shown;
}
