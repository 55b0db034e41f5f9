import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { GatehouseError } from '@gatehouse/config';
import { Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { LiveEvents, MAX_STREAMS_PER_CREDENTIAL } from '../dashboard/live-events';

// A comment line now and then keeps proxies from closing an idle stream, and tells the client it is alive.
const KEEPALIVE_MS = 15_000;
const STREAM_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' };

// Server-sent events for open dashboards: `approval` events (id and status) as requests are made and decided.
@ApiTags('events')
@Controller('api/v1/events')
export class EventsController {
  constructor(private readonly live: LiveEvents) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Approval' })
  @ApiOkResponse({ description: 'A text/event-stream of `approval` events: {"id", "status"}', content: { 'text/event-stream': { schema: { type: 'string' } } } })
  stream(@CurrentPrincipal() principal: Principal, @Req() request: Request, @Res() response: Response): void {
    // HEAD (which Express routes here too) gets the head of the stream and nothing that never ends.
    if (request.method === 'HEAD') {
      response.writeHead(200, STREAM_HEADERS).end();
      return;
    }
    const stop = this.live.listen(principal, (event) => response.write(`event: ${event.type}\ndata: ${JSON.stringify({ id: event.id, status: event.status })}\n\n`));
    if (!stop) throw GatehouseError.rateLimited(`At most ${MAX_STREAMS_PER_CREDENTIAL} event streams at once per person or key; close one (another tab) first`, 5);
    response.writeHead(200, STREAM_HEADERS);
    response.write(': connected\n\n');
    const keepalive = setInterval(() => response.write(': keepalive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    response.on('close', () => {
      clearInterval(keepalive);
      stop();
    });
  }
}
