import type { NextFunction, Request, Response } from 'express';
import { GatehouseError, isStorableText, unstorableTextAt } from '@gatehouse/config';

// Every door, after the body parsers and before any route: a request whose path, query or body carries text
// PostgreSQL cannot store is invalid input, answered 400 in its door's form (see ProblemFilter), whatever route or
// field it was meant for, including routes added later.
export function refuseUnstorableText(request: Request, _response: Response, next: NextFunction): void {
  const where = unstorablePath(request.path) ?? unstorableTextAt(request.query, 'query') ?? unstorableTextAt(request.body, 'body');
  if (!where) return next();
  next(GatehouseError.invalid(`Invalid text in ${where}: a NUL character or an unpaired UTF-16 surrogate is not accepted`));
}

// Routes see path segments percent-decoded; a segment that does not decode is the router's to refuse.
function unstorablePath(path: string): string | null {
  for (const segment of path.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      continue;
    }
    if (!isStorableText(decoded)) return 'the path';
  }
  return null;
}
