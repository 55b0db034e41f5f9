import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Problem, TITLES } from './problem';

// Node answers a request it cannot parse (an unknown method, a malformed header or request line) with a bare 400 and
// no body; this answers the same status with problem JSON, so that even those say what was wrong.
const STATUS: Record<string, number> = { HPE_HEADER_OVERFLOW: 431, ERR_HTTP_REQUEST_TIMEOUT: 408, HPE_CHUNK_EXTENSIONS_OVERFLOW: 413 };

export function answerUnparsableRequests(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A connection reset or one already answering has nobody left to tell.
    if (error.code === 'ECONNRESET' || !socket.writable || (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const status = STATUS[error.code ?? ''] ?? 400;
    const title = TITLES[status] ?? 'Bad Request';
    const problem: Problem = { type: 'about:blank', title, status, detail: `The request is not valid HTTP/1.1 (${error.code ?? 'unparsable'})` };
    const body = JSON.stringify(problem);
    socket.end(
      `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
