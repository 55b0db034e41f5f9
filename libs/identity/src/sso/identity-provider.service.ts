import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { GatehouseError, identityProviderFields, RoleName } from '@gatehouse/config';
import { IdentityProviderRecord, IdentityProviderRepository } from '@gatehouse/db';
import { EgressPolicy } from '@gatehouse/egress';

export const identityProviderInputSchema = z
  .object({
    ...identityProviderFields,
    // Required when the organization has no provider yet; omitted to keep the stored one.
    clientSecret: z.string().min(1).max(2000).optional(),
  })
  .strict();

export type IdentityProviderInput = z.infer<typeof identityProviderInputSchema>;

/** What the API shows: never the secret. */
export interface IdentityProviderView {
  issuer: string;
  clientId: string;
  clientSecretSet: true;
  allowedDomains: string[];
  groupsClaim: string | null;
  roleMap: Record<string, RoleName>;
  defaultRole: RoleName;
  callbackUrl: string;
  configManaged: boolean;
}

// The organization's identity provider through the admin API; the config file manages its own (and wins).
@Injectable()
export class IdentityProviderService {
  constructor(
    private readonly providers: IdentityProviderRepository,
    private readonly egress: EgressPolicy,
  ) {}

  async get(organizationId: string, callbackUrl: string): Promise<IdentityProviderView> {
    const provider = await this.providers.findByOrganization(organizationId);
    if (!provider) throw GatehouseError.notFound('This organization has no identity provider');
    return view(provider, callbackUrl);
  }

  async save(organizationId: string, input: IdentityProviderInput, callbackUrl: string): Promise<IdentityProviderView> {
    const current = await this.providers.findByOrganization(organizationId);
    this.refuseConfigManaged(current);
    const clientSecret = input.clientSecret ?? current?.clientSecret;
    if (!clientSecret) throw GatehouseError.invalid('clientSecret is required when setting up an identity provider');
    // Said now rather than at the first sign-in; discovery is vetted again whenever it runs.
    const unreachable = await this.egress.problemWith(new URL(input.issuer).hostname);
    if (unreachable) throw GatehouseError.invalid(`issuer: ${unreachable}`);
    const saved = await this.providers.save(organizationId, { ...input, clientSecret }, false);
    return view(saved, callbackUrl);
  }

  async remove(organizationId: string): Promise<void> {
    const current = await this.providers.findByOrganization(organizationId);
    if (!current) throw GatehouseError.notFound('This organization has no identity provider');
    this.refuseConfigManaged(current);
    await this.providers.delete(organizationId);
  }

  private refuseConfigManaged(provider: IdentityProviderRecord | null): void {
    if (provider?.configManaged) {
      throw GatehouseError.conflict('This identity provider is managed by the config file; change it there');
    }
  }
}

function view(provider: IdentityProviderRecord, callbackUrl: string): IdentityProviderView {
  return {
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecretSet: true,
    allowedDomains: provider.allowedDomains,
    groupsClaim: provider.groupsClaim,
    roleMap: provider.roleMap,
    defaultRole: provider.defaultRole,
    callbackUrl,
    configManaged: provider.configManaged,
  };
}
