import { InvalidTenantIdError } from '../diagnostics/domainErrors';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** Entra accepts a tenant GUID or a verified domain; anything else is DSEX004 before any call. */
export function validateTenantId(tenantId: string): void {
  if (GUID.test(tenantId) || DOMAIN.test(tenantId)) return;
  const reason = /[^0-9a-z.-]/i.test(tenantId)
    ? 'it contains characters a tenant ID never has'
    : 'it is neither a GUID nor a domain name such as contoso.onmicrosoft.com';
  throw new InvalidTenantIdError(tenantId, reason);
}
