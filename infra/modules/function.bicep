// The Function App on Flex Consumption, running as the user-assigned identity.
// App settings come in two lists, both checked by test/infra/settings-parity.test.ts:
//  - codeSettings: exactly the settings in shared/config/settings.ts (SETTINGS) that apply in Azure;
//  - hostSettings: what the Functions host and its Service Bus extension read themselves.
// ServiceBusConnection and TablesConnection (connection strings, local development only) are never
// set here: in Azure their identity-based counterparts (__fullyQualifiedNamespace, __tableServiceUri) are.
param name string
param planName string
param location string
param tags object = {}
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerUrl string
param tableServiceUri string
param serviceBusFullyQualifiedNamespace string
param appointmentsQueueName string
param applicationInsightsConnectionString string
param keyVaultName string
@description('Name of the Key Vault secret holding SECRET_PROTECTION_KEY (base64 of 32 random bytes).')
param secretProtectionKeySecretName string
@allowed(['20', '22'])
param nodeVersion string = '20'
@minValue(1)
param maximumInstanceCount int = 100
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

var hostSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identityClientId
}

var codeSettings = {
  APPOINTMENTS_QUEUE: appointmentsQueueName
  ServiceBusConnection__fullyQualifiedNamespace: serviceBusFullyQualifiedNamespace
  TablesConnection__tableServiceUri: tableServiceUri
  STORAGE_REQUEST_TIMEOUT_MS: '10000'
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
  SECRET_PROTECTION_KEY: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${secretProtectionKeySecretName})'
  ENTRA_AUTHORITY_HOST: 'https://login.microsoftonline.com'
  GRAPH_BASE_URL: 'https://graph.microsoft.com'
  GRAPH_MAX_CONCURRENCY_PER_MAILBOX: '4'
  GRAPH_REQUEST_TIMEOUT_MS: '30000'
  WEBHOOK_TIMEOUT_MS: '10000'
  WEBHOOK_MAX_ATTEMPTS: '3'
  WEBHOOK_RETRY_BASE_DELAY_MS: '500'
  WEBHOOK_DELIVERY_BUDGET_MS: '60000'
  WEBHOOK_BREAKER_FAILURE_THRESHOLD: '5'
  WEBHOOK_BREAKER_BREAK_MS: '60000'
  RETRY_SWEEP_SCHEDULE: '0 */5 * * * *'
  RETRY_SWEEP_MAX_ROWS: '1000'
  RETRY_SWEEP_MAX_SECONDS: '120'
  RETRY_SWEEP_LEASE_MINUTES: '30'
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with the user-assigned identity (it holds Key Vault Secrets User).
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [for setting in items(union(hostSettings, codeSettings)): { name: setting.key, value: setting.value }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: { name: 'node', version: nodeVersion }
    }
  }

  // azd deploys with Entra ID; publishing with basic credentials stays off.
  resource scm 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: { allow: false }
  }
  resource ftp 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: { allow: false }
  }
}

output id string = site.id
output name string = site.name
output defaultHostName string = site.properties.defaultHostName
