// The Service Bus namespace and the appointments queue. SAS (local) auth is off: the app and the
// scheduling platform authenticate with Entra ID. The queue's properties come from
// infra/appointments-queue.json, the same file the local host reads, so Azure and local agree.
param name string
param location string
param tags object = {}
param queueName string
// Not Basic: the queue needs duplicate detection (requiresDuplicateDetection), which Basic lacks.
@allowed(['Standard', 'Premium'])
param skuName string = 'Standard'

var queue = loadJsonContent('../appointments-queue.json')

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: name
  location: location
  tags: tags
  sku: { name: skuName, tier: skuName }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
  }

  resource appointments 'queues' = {
    name: queueName
    properties: {
      maxDeliveryCount: queue.maxDeliveryCount
      lockDuration: queue.lockDuration
      defaultMessageTimeToLive: queue.defaultMessageTimeToLive
      deadLetteringOnMessageExpiration: queue.deadLetteringOnMessageExpiration
      requiresDuplicateDetection: queue.requiresDuplicateDetection
      duplicateDetectionHistoryTimeWindow: queue.duplicateDetectionHistoryTimeWindow
    }
  }
}

output id string = namespace.id
output name string = namespace.name
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output queueName string = namespace::appointments.name
