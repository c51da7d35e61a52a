// The one identity the app runs as: Storage, Service Bus, Key Vault and Application Insights all
// trust it through role assignments (no keys, no connection strings with secrets).
param name string
param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
