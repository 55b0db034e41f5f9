import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import type { AuditDownload } from './audit-query.service';

const logger = new Logger('AuditExport');

/**
 * Sends a download: its headers with the first chunk, then every chunk with backpressure (after a write the
 * socket cannot take, the next chunk, and so the next database batch, waits for 'drain'). A client that goes
 * away ends the walk: leaving the loop returns the generator, which stops querying.
 *
 * An error before the first write is rethrown, so the caller answers with a problem (no attachment headers
 * set yet). After it the status is gone, so the socket is destroyed: the chunked body then lacks its
 * terminating chunk and HTTP clients report the download as incomplete, not as a shorter valid-looking file.
 */
export async function streamDownload(response: ServerResponse, download: AuditDownload): Promise<void> {
  let closed = false;
  const onClose = () => (closed = true);
  response.once('close', onClose);
  try {
    for await (const chunk of download.chunks) {
      if (closed) break;
      if (!response.headersSent) {
        response.setHeader('Content-Type', download.contentType);
        response.setHeader('Content-Disposition', `attachment; filename="${download.filename}"`);
        response.setHeader('Cache-Control', 'no-store');
      }
      if (!response.write(chunk)) await drainOrClose(response);
      if (closed) break;
    }
    if (!closed) response.end();
  } catch (error) {
    if (!response.headersSent) throw error;
    logger.error({ err: error, errorId: randomUUID() }, 'Audit export failed mid-stream; aborting the download');
    response.destroy();
  } finally {
    response.off('close', onClose);
  }
}

function drainOrClose(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}
