import { Module } from '@nestjs/common';
import { AuditSinksModule } from '@gatehouse/audit';
import { ConnectionsModule } from '@gatehouse/connections';
import { OverviewService } from './overview.service';

// Its own module: the overview reads the SIEM sinks' state, which the rest of governance has no need of.
@Module({
  imports: [AuditSinksModule, ConnectionsModule],
  providers: [OverviewService],
  exports: [OverviewService],
})
export class OverviewModule {}
