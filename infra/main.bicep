// Appointment sync connector: everything `azd up` creates, in one resource group.
// Identity-based throughout: no keys, connection strings with secrets, or secret values in this template.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names and tags every resource.')
param environmentName string

@minLength(1)
@description('Azure region of every resource (one that offers Flex Consumption).')
param location string

@description('Object id of the user or service principal running azd (AZURE_PRINCIPAL_ID): may create the protection key in Key Vault. Empty: none.')
param principalId string = ''

@allowed(['User', 'ServicePrincipal', 'Group'])
param principalType string = 'User'

@description('Resource id of an existing action group the alerts notify (ALERT_ACTION_GROUP_ID). Empty: alerts fire without notifying.')
param actionGroupId string = ''

@allowed(['20', '22'])
@description('Node.js version of the Functions runtime.')
param nodeVersion string = '20'

@description('Service Bus queue the scheduling platform sends appointment messages to (APPOINTMENTS_QUEUE).')
param appointmentsQueueName string = 'appointments'

@allowed(['default', 'recover'])
@description('KEY_VAULT_CREATE_MODE: recover brings back the soft-deleted Key Vault of this environment (after `azd down` without --purge), with its secret protection key.')
param keyVaultCreateMode string = 'default'

@description('KEY_VAULT_PURGE_PROTECTION: purge protection on the Key Vault (irreversible; then `azd down --purge` cannot purge it and only KEY_VAULT_CREATE_MODE=recover brings the environment back).')
param keyVaultEnablePurgeProtection bool = false

@minValue(1)
@description('Transient failures (DSEX040, DSWBHK010, DSWBHK020, DSWBHK030, DSHTTP001) in 15 minutes that fire the transient alert.')
param transientFailureThreshold int = 50

@minValue(1)
@description('Due rows of a growing retry backlog that fire the backlog alert.')
param retryBacklogMinDue int = 100

var tags = { 'azd-env-name': environmentName }
var token = toLower(uniqueString(subscription().id, environmentName, location))
var abbrs = {
  resourceGroup: 'rg-'
  identity: 'id-'
  logAnalytics: 'log-'
  applicationInsights: 'appi-'
  storage: 'st'
  serviceBus: 'sb-'
  keyVault: 'kv-'
  plan: 'plan-'
  functionApp: 'func-'
  alert: 'alert-'
}
var deploymentContainerName = 'app-package-${take(token, 8)}'
var secretProtectionKeySecretName = 'secret-protection-key'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourceGroup}${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.identity}${token}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.logAnalytics}${token}'
    applicationInsightsName: '${abbrs.applicationInsights}${token}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: take('${abbrs.storage}${token}', 24)
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    name: '${abbrs.serviceBus}${token}'
    location: location
    tags: tags
    queueName: appointmentsQueueName
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: take('${abbrs.keyVault}${token}', 24)
    location: location
    tags: tags
    createMode: keyVaultCreateMode
    enablePurgeProtection: keyVaultEnablePurgeProtection
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  scope: rg
  params: {
    identityPrincipalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    serviceBusNamespaceName: serviceBus.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

module functionApp 'modules/function.bicep' = {
  name: 'function'
  scope: rg
  dependsOn: [roles]
  params: {
    name: '${abbrs.functionApp}${token}'
    planName: '${abbrs.plan}${token}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: '${storage.outputs.blobEndpoint}${deploymentContainerName}'
    tableServiceUri: storage.outputs.tableEndpoint
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
    appointmentsQueueName: serviceBus.outputs.queueName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultName: keyVault.outputs.name
    secretProtectionKeySecretName: secretProtectionKeySecretName
    nodeVersion: nodeVersion
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    namePrefix: '${abbrs.alert}${token}'
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    serviceBusNamespaceId: serviceBus.outputs.id
    appointmentsQueueName: serviceBus.outputs.queueName
    actionGroupId: actionGroupId
    transientFailureThreshold: transientFailureThreshold
    retryBacklogMinDue: retryBacklogMinDue
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    location: location
    tags: tags
    displayName: 'Appointment sync: failures and retries (${environmentName})'
    applicationInsightsId: monitoring.outputs.applicationInsightsId
  }
}

// azd stores these in the environment (.azure/<env>/.env); the post-provision hook reads the Key Vault ones.
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.uri
output SECRET_PROTECTION_KEY_SECRET_NAME string = secretProtectionKeySecretName
output SERVICEBUS_FULLY_QUALIFIED_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output APPOINTMENTS_QUEUE string = serviceBus.outputs.queueName
output APPLICATIONINSIGHTS_RESOURCE_ID string = monitoring.outputs.applicationInsightsId
output WORKBOOK_ID string = workbook.outputs.id
