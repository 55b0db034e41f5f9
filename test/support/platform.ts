import { parseDocument } from 'yaml';
import { EVERYTHING, FIXTURE_SERVER } from './servers';

// What the tests' deployment operator allows, unless a test says otherwise: the loopback MCP servers and
// receivers the tests start (egress), server-everything and the fixture server as stdio commands that
// organization admins may create through the API, and limits past the suites' own loads (hundreds of calls at once
// from one key, the admin API polled every 50 ms). Tests of the defaults pass `platform: null` or their own.
const FIXTURE_ENV = ['FIXTURE_MODE', 'FIXTURE_MARKER', 'FIXTURE_STATE', 'FIXTURE_NAMES', 'FIXTURE_PAGE_SIZE', 'API_TOKEN'];

export const TEST_PLATFORM = {
  egress: { allow: ['127.0.0.1', '::1', 'localhost'] },
  stdio: {
    commands: [
      { command: process.execPath, args: [EVERYTHING, 'stdio'], description: 'server-everything' },
      { command: process.execPath, args: [FIXTURE_SERVER, 'stdio'], env: FIXTURE_ENV, description: 'the test fixture server' },
      // In any mode, with a tag argument the supervision tests find their own child processes by.
      { command: process.execPath, args: [FIXTURE_SERVER, '*', '*'], env: FIXTURE_ENV, description: 'the test fixture server, tagged' },
    ],
  },
  limits: {
    inFlightCallsPerCredential: 1_000,
    inFlightCallsPerOrganization: 1_000,
    apiRequestsPerCredential: { requests: 100_000, windowSeconds: 60 },
  },
};

/**
 * The config file's text with a platform section: `platform` when given (null: none, the product's defaults),
 * else TEST_PLATFORM unless the text declares its own.
 */
export function withPlatform(yaml: string | undefined, platform: object | null = TEST_PLATFORM): string {
  const document = parseDocument(yaml ?? '');
  const contents = (document.toJS() ?? {}) as Record<string, unknown>;
  if (platform === null || 'platform' in contents) return yaml ?? '';
  document.set('platform', document.createNode(platform));
  return document.toString();
}
