/** Transaction Status values as the platform's operators know them (spec: "Status" column). */
export const STATUSES = [
  'InvalidBackOfficeSettings',
  'Skipped',
  'EmptyBackOffice',
  'Failed',
  'BackOfficeNotAllowed',
  'WrongUrl',
  'InvalidBackOfficeType',
] as const;
export type Status = (typeof STATUSES)[number];

/** Every row that is not a failure carries one of these; they never come from the classifier. */
export type OutcomeStatus = Status | 'Succeeded';

export const RETRY_CLASSES = ['fix-config', 'retried', 'n/a', 'undiagnosed'] as const;
export type RetryClass = (typeof RETRY_CLASSES)[number];

export type Connector = 'exchange' | 'webhook';
export type CodeFamily = Connector | 'config' | 'http' | 'storage' | 'undiagnosed';

export interface CatalogueEntry {
  code: string;
  title: string;
  status: Status;
  retry: RetryClass;
  family: CodeFamily;
  /** 💡 what it means */
  meaning: string;
  /** 🛠️ what to do: one paragraph or numbered steps */
  action: string[];
  /** optional caution shown under the steps */
  note?: string;
}

export interface Resource {
  number: string;
  name: string;
  email?: string;
}

/** What the caller knows when a failure happens; every field is optional. */
export interface DiagnosisContext {
  connector?: Connector;
  /** Where in the pipeline the failure happened: storage failures are told apart from delivery ones. */
  stage?: 'config' | 'deliver' | 'record';
  operation?: 'create' | 'update' | 'delete';
  tenantId?: string;
  clientId?: string;
  resource?: Resource;
  timeoutMs?: number;
  /** Values that must never appear in a message (client secrets, signing secrets, tokens). */
  secrets?: readonly string[];
}

export interface Diagnosis {
  code: string;
  status: Status;
  retry: RetryClass;
  title: string;
  /** The text after the code, already redacted and bounded. */
  text: string;
  /** `[CODE] text`: what goes on Transaction.Message. */
  message: string;
  /** The name of the rule that matched (DSUNK001: 'unmatched'), for the operational log. */
  rule: string;
  /** DSUNK001 only: the full stack (redacted) for the operational log, never for the row. */
  stack?: string;
  /** Seconds the back office asked us to wait, when it said so. */
  retryAfterSeconds?: number;
}
