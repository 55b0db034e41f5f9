import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import { securityHeaders } from './security-headers';

function recordingResponse() {
  const headers = new Map<string, string>();
  const removed: string[] = [];
  const response = {
    setHeader: (name: string, value: string) => headers.set(name.toLowerCase(), String(value)),
    removeHeader: (name: string) => removed.push(name),
  } as unknown as ServerResponse;
  return { response, headers, removed };
}

describe('securityHeaders', () => {
  it('sets exactly what helmet sets with the same options, and removes what it removes', () => {
    const options = { contentSecurityPolicy: { useDefaults: true } } as const;
    const byHelmet = recordingResponse();
    helmet(options)({} as IncomingMessage, byHelmet.response, () => undefined);
    const once = securityHeaders(options);
    const byList = recordingResponse();
    once.set(byList.response);
    expect(byHelmet.headers.size).toBeGreaterThan(8);
    expect([...byList.headers]).toEqual([...byHelmet.headers]);
    expect(byList.removed).toEqual(byHelmet.removed);
  });
});
