// Key Vault (RBAC) for the key that encrypts connector secrets in the Connectors table. The template
// creates no secret value: infra/hooks/ensure-secret-protection-key.mjs creates it once, after
// provisioning, so `azd up` never rotates it (rotating it would make every stored secret unreadable).
//
// The vault's name is fixed per environment (uniqueString of subscription, environment and region), so
// after `azd down` its soft-deleted copy holds the name: `azd down --purge` purges it, or `azd up` with
// createMode 'recover' brings it back with its key. Purge protection (irreversible once on) makes the
// purge impossible for the retention period; then only 'recover' lets the environment come back.
param name string
param location string
param tags object = {}

@description('default: create the vault (or update it); recover: bring back the soft-deleted vault of this name, secrets included.')
@allowed(['default', 'recover'])
param createMode string = 'default'

@description('Purge protection: a deleted vault cannot be purged for the retention period. Irreversible once enabled.')
param enablePurgeProtection bool = false

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    createMode: createMode
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // The API rejects an explicit false ("cannot be set to false"): leave it unset when off.
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
