// The admin REST API as a test calls it: one request helper, so every suite speaks to it the same way.

export interface ApiReply<T> {
  status: number;
  contentType: string;
  headers: Headers;
  body: T;
}

/** `token: null` sends no Authorization header. JSON bodies are parsed; anything else is returned as text. */
export async function apiRequest<T>(
  baseUrl: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiReply<T>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...headers,
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  const parsed = /json/.test(contentType) && text ? JSON.parse(text) : text || undefined;
  return { status: response.status, contentType, headers: response.headers, body: parsed as T };
}

/** One connection's row of GET /api/v1/connections/health; fails the test when the list or the row is missing. */
export async function connectionHealth<T extends { name: string }>(baseUrl: string, token: string, name: string): Promise<T> {
  const { status, body } = await apiRequest<T[]>(baseUrl, token, 'GET', '/api/v1/connections/health');
  if (status !== 200) throw new Error(`GET /api/v1/connections/health answered ${status}`);
  const found = body.find((row) => row.name === name);
  if (!found) throw new Error(`no connection named ${name}`);
  return found;
}
