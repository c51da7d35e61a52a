import { ConnectorNotAllowedError, ConnectorNotFoundError, MissingConnectorFieldError, WrongConnectorTypeError } from '../diagnostics/domainErrors';
import type { Connector } from '../diagnostics/types';
import type { AppointmentMessage } from '../messages/appointmentMessage';
import { CONNECTOR_TYPES, type ConnectorStore, type ConnectorType, type StoredConnector } from '../storage/connectors';

export interface GatePassed {
  connector: StoredConnector;
  type: ConnectorType;
}

const DIAGNOSIS_CONNECTOR: Record<ConnectorType, Connector> = { Exchange: 'exchange', Webhook: 'webhook' };

/** Which rule group diagnoses a failure: the stored type if known, else what the message expects. */
export function diagnosisConnector(message: AppointmentMessage | undefined, stored: StoredConnector | undefined): Connector | undefined {
  const type = CONNECTOR_TYPES.find((t) => t === message?.connectorType) ?? CONNECTOR_TYPES.find((t) => t === stored?.type);
  return type ? DIAGNOSIS_CONNECTOR[type] : undefined;
}

/**
 * The shared connector layer: the checks every connector type gets before its delivery code runs.
 * Each failure is a typed error the classifier turns into a DSCFG code (or its connector's twin).
 * Storage errors propagate untouched: they are not configuration problems.
 */
export async function passConnectorGate(store: ConnectorStore, message: AppointmentMessage): Promise<GatePassed> {
  return checkConnector(message, await store.get(message.tenantId, message.connectorId));
}

/** The gate's checks on a connector already loaded, so a failed check can still record its config version. */
export function checkConnector(message: AppointmentMessage, connector: StoredConnector | undefined): GatePassed {
  if (!connector) throw new ConnectorNotFoundError(message.tenantId, message.connectorId);
  if (!connector.type) throw new MissingConnectorFieldError('type');
  const expected = message.connectorType;
  const type = CONNECTOR_TYPES.find((t) => t === connector.type);
  if (!type || (expected && expected !== type)) {
    throw new WrongConnectorTypeError(expected ?? CONNECTOR_TYPES.join(' or '), connector.type);
  }
  if (!connector.allowedToSend) throw new ConnectorNotAllowedError(type);
  return { connector, type };
}
