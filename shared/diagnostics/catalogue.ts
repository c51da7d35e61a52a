import type { CatalogueEntry } from './types';

/**
 * The single source of truth for every diagnostic code. Codes are append-only: add new entries, never
 * renumber or reuse one (test/golden/issued-codes.json pins every issued code's Status and retry class).
 * Exchange and webhook texts follow ../shared/spec word for word where the spec words them.
 */
export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    code: 'DSEX001',
    title: 'Expired client secret',
    status: 'InvalidBackOfficeSettings',
    retry: 'fix-config',
    family: 'exchange',
    meaning:
      'The client secret of the Exchange App Registration has expired. Microsoft Entra ID returns AADSTS7000222 and the connector records a rejected credential carrying the offending Client ID.',
    action: [
      'Open the Azure portal and navigate to the Exchange app registration.',
      'Under Certificates & secrets, generate a new client secret. Copy the secret value immediately - it is only shown once.',
      'Update the secret on the Exchange configuration page under the Microsoft Entra ID section.',
    ],
    note: 'Client secrets expire after 6, 12, or 24 months. Set a reminder to rotate them before they expire.',
  },
  {
    code: 'DSEX002',
    title: 'Invalid client secret',
    status: 'InvalidBackOfficeSettings',
    retry: 'fix-config',
    family: 'exchange',
    meaning:
      'Microsoft Entra ID rejected the client secret: AADSTS7000215 (invalid_client). The value stored on the connector is not a current secret of the app registration - often the secret ID was pasted instead of its value.',
    action: [
      'In the Azure portal, open the Exchange app registration, Certificates & secrets, and create a new client secret (or find the current one).',
      'Paste the secret VALUE (not the secret ID) on the Exchange configuration page under the Microsoft Entra ID section and save.',
    ],
  },
  {
    code: 'DSEX003',
    title: 'Unknown client ID',
    status: 'InvalidBackOfficeSettings',
    retry: 'fix-config',
    family: 'exchange',
    meaning:
      'Microsoft Entra ID does not know the Client ID in the connected tenant: AADSTS700016. The app registration was deleted, belongs to another tenant, or the ID was mistyped.',
    action: [
      'Copy the Application (client) ID from the Overview page of the Exchange app registration in the tenant you connect to.',
      'Set it on the Exchange configuration page under the Microsoft Entra ID section and save.',
    ],
  },
  {
    code: 'DSEX004',
    title: 'Unknown or malformed tenant ID',
    status: 'InvalidBackOfficeSettings',
    retry: 'fix-config',
    family: 'exchange',
    meaning:
      'The Tenant ID is not a tenant Microsoft Entra ID knows: AADSTS90002 / AADSTS900023, or the value fails validation locally (it must be a GUID or a verified domain such as contoso.onmicrosoft.com).',
    action: [
      'Copy the Directory (tenant) ID from the Overview page of the Microsoft Entra ID tenant that holds the mailboxes.',
      'Set it on the Exchange configuration page under the Microsoft Entra ID section and save.',
    ],
  },
  {
    code: 'DSEX005',
    title: 'Other rejected credentials',
    status: 'InvalidBackOfficeSettings',
    retry: 'fix-config',
    family: 'exchange',
    meaning:
      'Microsoft Entra ID rejected the credentials with an AADSTS code other than the ones above (for example a disabled application or a blocked sign-in). The transaction message carries the AADSTS code and its description.',
    action: [
      'Look the AADSTS code up in the Microsoft Entra ID error reference and correct the app registration or the connector values accordingly.',
      'Save the Exchange configuration; the retry job replays the affected appointments on its next pass.',
    ],
  },
  {
    code: 'DSEX006',
    title: 'Incomplete credentials',
    status: 'InvalidBackOfficeSettings',
    retry: 'fix-config',
    family: 'exchange',
    meaning:
      'One or more of the required values - Client ID, Client Secret, Tenant ID - is missing on the Exchange configuration. The connector refuses to call Graph without all three.',
    action: ['Fill in every required field on the Exchange configuration page and save.'],
  },
  {
    code: 'DSEX010',
    title: 'Credentials rejected after the call',
    status: 'Skipped',
    retry: 'fix-config',
    family: 'exchange',
    meaning:
      'Graph accepted the request shape but rejected the token at call time. Usually a permission issue rather than a missing value - distinct from the configuration failures above, which fire before any call goes out.',
    action: [
      'In the Azure AD app, confirm that the application permissions (Calendars.ReadWrite, MailboxSettings.ReadWrite, User.Read.All) are present and that Grant admin consent has been clicked.',
    ],
  },
  {
    code: 'DSEX011',
    title: 'Exchange integration disabled',
    status: 'Skipped',
    retry: 'fix-config',
    family: 'exchange',
    meaning:
      'None of the resources on the appointment have Exchange enabled, so there is no mailbox to write to. The message lists the affected resources (Resource (No) pairs), or "No resources were assigned to this appointment" when the appointment has no assignments at all.',
    action: [
      'If the resource is meant to sync to Exchange, enable Exchange integration on the resource record. If not, the Skipped status is correct and no action is needed.',
    ],
  },
  {
    code: 'DSEX012',
    title: 'Invalid user in the directory',
    status: 'Skipped',
    retry: 'fix-config',
    family: 'exchange',
    meaning:
      "The resource's e-mail address does not match any user in the Microsoft Entra ID directory of the connected tenant, or the user has no Exchange Online mailbox. Graph returns no match for that UPN.",
    action: [
      "Verify that the resource's e-mail address corresponds to a real, licensed mailbox user in the tenant. Typos and disabled accounts are the usual causes.",
    ],
  },
  {
    code: 'DSEX020',
    title: 'No mapping entry',
    status: 'EmptyBackOffice',
    retry: 'retried',
    family: 'exchange',
    meaning:
      'The connector tried to look up the Exchange event that previously corresponded to a Dime.Scheduler appointment and resource pair, and no mapping record was found. The originating Exchange event was already deleted, or the mapping table was reset without re-syncing.',
    action: [
      "In most cases this self-heals on the next sync because the next event creation re-establishes the mapping. If the appointment keeps failing, force a full re-sync of that resource's calendar.",
    ],
  },
  {
    code: 'DSEX021',
    title: 'Event already deleted',
    status: 'Skipped',
    retry: 'n/a',
    family: 'exchange',
    meaning:
      'A delete was requested for an Exchange event that no longer exists. The transaction is Skipped; the desired end state (no event) is already true.',
    action: ['Nothing. The row is kept for the record and is never replayed.'],
  },
  {
    code: 'DSEX030',
    title: 'Access denied by the Azure AD app',
    status: 'Failed',
    retry: 'retried',
    family: 'exchange',
    meaning:
      'The Azure AD app does not have sufficient permissions to write events to the target calendar. The connector records the underlying Graph message after the canned "The Azure AD app does not have sufficient permissions to write events to the calendar." prefix.',
    action: [
      'In the Azure portal, open the Exchange app registration and go to API permissions.',
      'Make sure Calendars.ReadWrite is granted as an Application permission (not Delegated).',
      'Click Grant admin consent for [Your Organization].',
      'Replay the failed transaction from the Errors page.',
    ],
  },
  {
    code: 'DSEX040',
    title: 'Microsoft Graph transient',
    status: 'Failed',
    retry: 'retried',
    family: 'exchange',
    meaning:
      'Graph or the transport layer returned a transient signal - HTTP 429, 503, 504, socket / DNS hiccups, or request timeouts. The message reads Transient error from Microsoft Graph: <inner>. Will retry on the next sync attempt..',
    action: [
      'Nothing in the normal case. The transaction is left on Failed so the retry job picks it up on the next pass. If the rate of transients spikes, check the Microsoft 365 service health dashboard and tenant-level Graph throttling.',
    ],
  },
  {
    code: 'DSWBHK001',
    title: 'Webhook not allowed',
    status: 'BackOfficeNotAllowed',
    retry: 'fix-config',
    family: 'webhook',
    meaning: 'The connector is flagged as not allowed to send appointments to a back-office.',
    action: ['In the connector settings, enable Send appointment to web service.'],
  },
  {
    code: 'DSWBHK002',
    title: 'Empty or malformed URL',
    status: 'WrongUrl',
    retry: 'fix-config',
    family: 'webhook',
    meaning: "The connector's web-service address is empty or malformed.",
    action: ['Set a valid https://... URL for the webhook endpoint in the connector settings.'],
  },
  {
    code: 'DSWBHK003',
    title: 'Wrong connector type',
    status: 'InvalidBackOfficeType',
    retry: 'fix-config',
    family: 'webhook',
    meaning:
      'The connector type cannot be cast to Webhook - typically a stale row from an older connector definition.',
    action: [
      'Recreate the connector with type Webhook. The status column is the signal; raw text is suppressed in the transaction message.',
    ],
  },
  {
    code: 'DSWBHK010',
    title: 'Partner endpoint timeout',
    status: 'Failed',
    retry: 'retried',
    family: 'webhook',
    meaning: 'The partner endpoint did not respond within the request timeout (TimeoutException).',
    action: [
      'Check partner endpoint availability and response time. The retry job will pick up Failed rows after the configured TTL.',
    ],
  },
  {
    code: 'DSWBHK020',
    title: 'Partner HTTP failure',
    status: 'Failed',
    retry: 'retried',
    family: 'webhook',
    meaning:
      'A non-transient HTTP failure (typically a permanent 4xx other than 401/403/429), or a transient 429/5xx after retries were exhausted. The raw status code and message are included in the transaction row.',
    action: [
      "If the status is 4xx, fix the request shape (e.g. payload schema, content-type, authentication scope) - these don't self-heal. If 5xx, check the partner endpoint.",
    ],
  },
  {
    code: 'DSWBHK030',
    title: 'Circuit breaker open',
    status: 'Failed',
    retry: 'retried',
    family: 'webhook',
    meaning:
      'The per-(tenant, connector) circuit breaker is open - prior failures already exhausted the in-pipeline retries, and this call was short-circuited before reaching the partner.',
    action: [
      'Self-healing - the breaker half-opens after its break duration, and the DB-retry job re-picks Failed rows. No action needed unless the underlying partner endpoint is still unavailable.',
    ],
  },
  {
    code: 'DSCFG001',
    title: 'Back-office not allowed',
    status: 'BackOfficeNotAllowed',
    retry: 'fix-config',
    family: 'config',
    meaning:
      'The connector is flagged as not allowed to send appointments to its back office, and the shared connector layer stopped the message before any delivery code ran (mirrors DSWBHK001 for every connector type).',
    action: ['In the connector settings, allow the connector to send appointments to its back office, then save.'],
  },
  {
    code: 'DSCFG002',
    title: 'Missing required field',
    status: 'InvalidBackOfficeSettings',
    retry: 'fix-config',
    family: 'config',
    meaning:
      'The connector configuration lacks a value every connector needs (its type or its name); the message names the field. Nothing was sent.',
    action: ['Open the connector settings, fill in the named field and save.'],
  },
  {
    code: 'DSCFG003',
    title: 'Back-office returned no data',
    status: 'EmptyBackOffice',
    retry: 'fix-config',
    family: 'config',
    meaning:
      'A lookup the sync depends on came back empty: the connector the message names does not exist for its tenant, or the back office answered a write without the data the sync needs (for example a created event without an id).',
    action: [
      'If the message names a missing connector, create it (or correct the connector id the scheduling platform sends).',
      'If the back office answered without data, check the back-office endpoint, then replay the transaction from the Errors page.',
    ],
  },
  {
    code: 'DSCFG004',
    title: 'Schema mismatch',
    status: 'Failed',
    retry: 'fix-config',
    family: 'config',
    meaning:
      'The appointment message does not match any schema version this connector understands (invalid JSON, a missing or mistyped field, or a newer schema version). The raw message is kept on the transaction row; the message is dead-lettered, never dropped.',
    action: [
      'Read the reason on the row: it names the field and what was expected.',
      'If the sender uses a newer schema version, deploy the connector version that supports it, then replay the transaction from the Errors page. Otherwise correct the sender.',
    ],
  },
  {
    code: 'DSCFG005',
    title: 'Wrong system type',
    status: 'InvalidBackOfficeType',
    retry: 'fix-config',
    family: 'config',
    meaning:
      'The connector type stored for this connector is not one this connector app can deliver to (known types: Exchange, Webhook), or does not match the target the message asks for.',
    action: ['Recreate the connector with the right type (Exchange or Webhook) and save.'],
  },
  {
    code: 'DSCFG006',
    title: 'OAuth credentials unparseable',
    status: 'InvalidBackOfficeSettings',
    retry: 'fix-config',
    family: 'config',
    meaning:
      'The stored credentials of the connector cannot be read: the protected client secret does not decrypt with the current key, or its stored form is corrupt. No token was requested.',
    action: [
      'Enter the client secret again on the connector configuration page and save; it is re-protected with the current key.',
      'If many connectors show this at once, check that the secret-protection key setting was not rotated without re-protecting the stored secrets.',
    ],
  },
  {
    code: 'DSCFG007',
    title: 'Malformed connector URL',
    status: 'WrongUrl',
    retry: 'fix-config',
    family: 'config',
    meaning:
      'An endpoint address on the connector (for example a national-cloud Graph or sign-in authority override) is not a valid https URL.',
    action: ['Correct the address in the connector settings (or clear it to use the public cloud defaults) and save.'],
  },
  {
    code: 'DSCFG008',
    title: 'HTTP request unauthorized',
    status: 'InvalidBackOfficeSettings',
    retry: 'fix-config',
    family: 'config',
    meaning:
      'The back office answered HTTP 401 or 403: it rejected our credentials or signature for this request. Retrying the same request cannot succeed.',
    action: [
      'Check the credentials or signing secret agreed with the back office and the scope it grants, update the connector settings and save.',
    ],
  },
  {
    code: 'DSHTTP001',
    title: 'HTTP transient',
    status: 'Failed',
    retry: 'retried',
    family: 'http',
    meaning:
      'A back office answered HTTP 429 or 5xx, or the connection failed, before a connector-specific rule could specialise it (into DSEX040 or DSWBHK020).',
    action: [
      'Nothing in the normal case: the retry job replays the row with backoff. If it persists, check the health of the back office named on the row.',
    ],
  },
  {
    code: 'DSDB001',
    title: 'Storage transient',
    status: 'Failed',
    retry: 'retried',
    family: 'storage',
    meaning:
      'Table Storage could not be reached or answered a transient error (connection refused or reset, 500, 503 ServerBusy) while a transaction was being read or written. The Service Bus message was not completed and will be delivered again.',
    action: [
      'Nothing in the normal case: Service Bus redelivers the message. If it persists, check the storage account health and the Function App network path to it.',
    ],
  },
  {
    code: 'DSDB002',
    title: 'Storage access denied',
    status: 'Failed',
    retry: 'retried',
    family: 'storage',
    meaning:
      "Table Storage refused the Function App's identity (403 AuthorizationFailure / AuthorizationPermissionMismatch, or 401). The message was not completed and will be delivered again.",
    action: [
      "Grant the Function App's managed identity the Storage Table Data Contributor role on the storage account (infra/ assigns it), and check network rules and firewall settings.",
    ],
  },
  {
    code: 'DSDB003',
    title: 'Concurrency conflict',
    status: 'Failed',
    retry: 'retried',
    family: 'storage',
    meaning:
      'Another instance changed the same row first (412 UpdateConditionNotSatisfied, 409 EntityAlreadyExists). The write was not applied; the message is processed again from the current row.',
    action: ['Nothing: conflicts resolve on the next delivery. A steady stream of them points at duplicate senders.'],
  },
  {
    code: 'DSDB004',
    title: 'Storage timeout',
    status: 'Failed',
    retry: 'retried',
    family: 'storage',
    meaning:
      'Table Storage did not answer in time (408, 500 OperationTimedOut, or a client-side timeout). The message was not completed and will be delivered again.',
    action: ['Nothing in the normal case. If it persists, check the storage account metrics for throttling and latency.'],
  },
  {
    code: 'DSUNK001',
    title: 'Unexpected exception',
    status: 'Failed',
    retry: 'undiagnosed',
    family: 'undiagnosed',
    meaning:
      'No diagnostic rule matched the exception. The exception is recorded verbatim on the transaction row and logged as errorCode=DSUNK001, with a full stack trace in the operational log, so it can be triaged into a new rule. The row stays Failed so the retry job can replay it.',
    action: [
      'If this fires repeatedly, send the transaction ID and error message to Dime.Scheduler support so a typed rule can be added.',
    ],
  },
];

const byCode = new Map(CATALOGUE.map((entry) => [entry.code, entry]));

export function findEntry(code: string): CatalogueEntry | undefined {
  return byCode.get(code.trim().toUpperCase());
}

export function entry(code: string): CatalogueEntry {
  const found = findEntry(code);
  if (!found) throw new Error(`Unknown diagnostic code '${code}': it is not in the catalogue.`);
  return found;
}

export const UNDIAGNOSED_CODE = 'DSUNK001';
