// The operators' dashboard: every query in infra/queries on one page (infra/workbook.json, generated
// from the .kql files by scripts/build-workbook.ts).
param location string
param tags object = {}
param displayName string
param applicationInsightsId string

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, applicationInsightsId, 'appointment-sync-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: applicationInsightsId
    serializedData: loadTextContent('../workbook.json')
  }
}

output id string = workbook.id
