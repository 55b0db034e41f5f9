import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ConnectionRegistry } from '@gatehouse/connections';
import { PrismaService, RedisService } from '@gatehouse/db';
import { CallTracker } from '@gatehouse/mcp';

const CHECK_TIMEOUT_MS = 2_000;

async function probe(check: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS))),
    ]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message.split('\n')[0] };
  } finally {
    clearTimeout(timer);
  }
}

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
    private readonly registry: ConnectionRegistry,
    private readonly tracker: CallTracker,
  ) {}

  /** Liveness: the process is up and serving HTTP. */
  @Get('healthz')
  @HttpCode(200)
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: PostgreSQL and Redis answer and we are not draining. Downstreams are reported, not required. */
  @Get('readyz')
  async readyz(@Res({ passthrough: true }) response: Response) {
    const [database, redis] = await Promise.all([
      probe(() => this.prisma.$queryRaw`SELECT 1`),
      probe(() => this.redis.client.ping()),
    ]);
    const connections = this.registry.summary();
    const protocolVersions: Record<string, number> = {};
    for (const { protocolVersion } of connections) {
      if (protocolVersion) protocolVersions[protocolVersion] = (protocolVersions[protocolVersion] ?? 0) + 1;
    }
    const ready = database.ok && redis.ok && !this.tracker.isDraining;
    response.status(ready ? 200 : 503);
    return {
      status: ready ? 'ready' : 'not_ready',
      draining: this.tracker.isDraining,
      database,
      redis,
      connections: {
        total: connections.length,
        connected: connections.filter((c) => c.state === 'connected').length,
        // Connected downstreams per negotiated MCP protocol version.
        protocolVersions,
        items: connections,
      },
    };
  }
}
