// Key Vault (RBAC) for the key that encrypts connector secrets in the Connectors table. The template
// creates no secret value: infra/hooks/ensure-secret-protection-key.mjs creates it once, after
// provisioning, so `azd up` never rotates it (rotating it would make every stored secret unreadable).
param name string
param location string
param tags object = {}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
