import { Injectable, Logger } from '@nestjs/common';
import { LoadedConfigFile } from '@gatehouse/config';
import { ApplySummary, ConfigStateRepository, DesiredOrganization } from '@gatehouse/db';
import { ApiKeyService, displayPrefix, hashApiKeySecret } from '@gatehouse/identity';
import { ConnectionEvents } from '@gatehouse/connections';

// Converges the database onto the declarative config file; the file was fully validated (including every
// ${ENV} and secretEnv) before this runs, and the repository applies it in one transaction.
@Injectable()
export class ConfigApplier {
  private readonly logger = new Logger(ConfigApplier.name);

  constructor(
    private readonly state: ConfigStateRepository,
    private readonly events: ConnectionEvents,
    private readonly apiKeys: ApiKeyService,
  ) {}

  async apply(loaded: LoadedConfigFile): Promise<ApplySummary> {
    const desired: DesiredOrganization[] = loaded.config.organizations.map((organization) => ({
      slug: organization.slug,
      name: organization.name,
      members: organization.members,
      apiKeys: organization.apiKeys.map((key) => {
        const secret = loaded.secrets.get(key.secretEnv)!;
        return { name: key.name, role: key.role, access: key.access, secretHash: hashApiKeySecret(secret), prefix: displayPrefix(secret) };
      }),
      connections: organization.connections,
    }));
    const summary = await this.state.apply(desired);
    this.logger.log(
      `Applied ${loaded.file}: ${summary.created} created, ${summary.updated} updated, ${summary.deleted} deleted`,
    );
    await this.apiKeys.invalidateAll();
    // Replicas already running pick the change up; this process starts its registry afterwards anyway.
    await Promise.all(
      [...summary.changedConnectionIds, ...summary.removedConnectionIds].map((connectionId) =>
        this.events.publish({ type: 'changed', connectionId }),
      ),
    );
    return summary;
  }
}
