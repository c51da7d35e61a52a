import type { Resource } from './types';

/**
 * Failures the pipelines detect themselves, before or instead of a call. Each carries the facts its
 * rule needs to word the transaction message, so the classifier never parses our own prose.
 */
export abstract class DomainError extends Error {
  abstract readonly kind: string;
}

export class IncompleteCredentialsError extends DomainError {
  readonly kind = 'incomplete-credentials';
  constructor(readonly missing: readonly string[]) {
    super(`Incomplete Exchange credentials: ${missing.join(', ')} missing.`);
    this.name = 'IncompleteCredentialsError';
  }
}

export class InvalidTenantIdError extends DomainError {
  readonly kind = 'invalid-tenant-id';
  constructor(
    readonly tenantId: string,
    readonly reason: string,
  ) {
    super(`The tenant ID '${tenantId}' is malformed: ${reason}`);
    this.name = 'InvalidTenantIdError';
  }
}

export class IntegrationDisabledError extends DomainError {
  readonly kind = 'integration-disabled';
  constructor(readonly resources: readonly Resource[]) {
    super(
      resources.length === 0
        ? 'No resources were assigned to this appointment'
        : `Exchange integration is disabled for ${resources.map((r) => `${r.name} (${r.number})`).join(', ')}`,
    );
    this.name = 'IntegrationDisabledError';
  }
}

export class NoMappingEntryError extends DomainError {
  readonly kind = 'no-mapping-entry';
  constructor(
    readonly appointmentId: string,
    readonly resource: Resource,
  ) {
    super(`No mapping entry for appointment ${appointmentId} and resource ${resource.name} (${resource.number})`);
    this.name = 'NoMappingEntryError';
  }
}

export class ConnectorNotFoundError extends DomainError {
  readonly kind = 'connector-not-found';
  constructor(
    readonly tenantId: string,
    readonly connectorId: string,
  ) {
    super(`Connector '${connectorId}' does not exist for tenant '${tenantId}'`);
    this.name = 'ConnectorNotFoundError';
  }
}

export class EmptyBackOfficeResponseError extends DomainError {
  readonly kind = 'empty-back-office-response';
  constructor(readonly what: string) {
    super(what);
    this.name = 'EmptyBackOfficeResponseError';
  }
}

/** The connector is flagged as not allowed to send; `connectorType` picks DSWBHK001 or DSCFG001. */
export class ConnectorNotAllowedError extends DomainError {
  readonly kind = 'not-allowed';
  constructor(readonly connectorType: string) {
    super(`The ${connectorType} connector is not allowed to send appointments to its back office.`);
    this.name = 'ConnectorNotAllowedError';
  }
}

export class MissingConnectorFieldError extends DomainError {
  readonly kind = 'missing-connector-field';
  constructor(readonly field: string) {
    super(`The connector configuration has no ${field}.`);
    this.name = 'MissingConnectorFieldError';
  }
}

/** Stored type unknown (DSCFG005), or known but not what the target needs (DSWBHK003 for webhooks). */
export class WrongConnectorTypeError extends DomainError {
  readonly kind = 'wrong-connector-type';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`The connector type '${actual}' cannot be cast to ${expected}.`);
    this.name = 'WrongConnectorTypeError';
  }
}

/** `field` names which address: the webhook URL (DSWBHK002) or another endpoint override (DSCFG007). */
export class MalformedUrlError extends DomainError {
  readonly kind = 'malformed-url';
  constructor(
    readonly field: 'webhookUrl' | string,
    readonly url: string,
    readonly reason: string,
  ) {
    super(`The ${field} '${url}' is ${reason}.`);
    this.name = 'MalformedUrlError';
  }
}

export class UnreadableCredentialsError extends DomainError {
  readonly kind = 'unreadable-credentials';
  constructor(readonly reason: string) {
    super(`The stored credentials cannot be read: ${reason}`);
    this.name = 'UnreadableCredentialsError';
  }
}

/** The message body is not an appointment message we understand (DSCFG004). */
export class SchemaMismatchError extends DomainError {
  readonly kind = 'schema-mismatch';
  constructor(readonly reason: string) {
    super(`The appointment message does not match the schema: ${reason}`);
    this.name = 'SchemaMismatchError';
  }
}

/** A partner answered outside 2xx; `attempts` > 1 means transient retries were exhausted. */
export class PartnerHttpError extends DomainError {
  readonly kind = 'partner-http';
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly bodySnippet: string,
    readonly attempts: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(`Status code: ${status}.`);
    this.name = 'PartnerHttpError';
  }
}
