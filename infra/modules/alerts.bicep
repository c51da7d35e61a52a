// Alert rules on the app's own telemetry (Application Insights) and on the queue (Service Bus
// metrics). The queries live in infra/queries/alerts/*.kql, where tests parse them.
param location string
param tags object = {}
param namePrefix string
param applicationInsightsId string
param serviceBusNamespaceId string
param appointmentsQueueName string
@description('Resource id of an action group to notify; empty: the rules fire without notifying anyone.')
param actionGroupId string = ''
@description('Transient failures (DSEX040, DSWBHK010, DSWBHK020, DSWBHK030, DSHTTP001) in 15 minutes above which the transient alert fires.')
@minValue(1)
param transientFailureThreshold int = 50
@description('Due rows of a growing or never-draining retry backlog above which the backlog alert fires.')
@minValue(1)
param retryBacklogMinDue int = 100

var actionGroups = empty(actionGroupId) ? [] : [actionGroupId]

resource undiagnosed 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-undiagnosed-failure'
  location: location
  tags: tags
  properties: {
    displayName: 'Undiagnosed failure (DSUNK001)'
    description: 'A failure no classifier rule explains (DSUNK001) in the last 15 minutes. Run infra/queries/undiagnosed-with-stacks.kql for the stacks.'
    severity: 1
    enabled: true
    scopes: [applicationInsightsId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: loadTextContent('../queries/alerts/undiagnosed-failure.kql')
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: true
    actions: { actionGroups: actionGroups }
  }
}

resource transient 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-transient-failures'
  location: location
  tags: tags
  properties: {
    displayName: 'Transient failures above threshold'
    description: 'More than ${transientFailureThreshold} transient failures (DSEX040, DSWBHK010, DSWBHK020, DSWBHK030, DSHTTP001) in 15 minutes: a back office or partner is throttling or down. They are retried automatically.'
    severity: 2
    enabled: true
    scopes: [applicationInsightsId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: loadTextContent('../queries/alerts/transient-failures.kql')
          timeAggregation: 'Total'
          metricMeasureColumn: 'failures'
          operator: 'GreaterThan'
          threshold: transientFailureThreshold
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: true
    actions: { actionGroups: actionGroups }
  }
}

resource retryBacklog 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-retry-backlog-growing'
  location: location
  tags: tags
  properties: {
    displayName: 'Retry backlog keeps growing'
    description: 'Over the last hour every retry sweep pass stopped with rows left, or the rows due grew by half. Run infra/queries/retry-sweep-outcomes.kql.'
    severity: 2
    enabled: true
    scopes: [applicationInsightsId]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: loadTextContent('../queries/alerts/retry-backlog-growing.kql')
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'backlog'
          operator: 'GreaterThan'
          threshold: retryBacklogMinDue
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: true
    actions: { actionGroups: actionGroups }
  }
}

// Messages Service Bus gave up on (maxDeliveryCount reached, or expired): they are in the queue's
// dead-letter subqueue and no transaction row may exist for them.
resource deadLettered 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-dead-lettered-messages'
  location: 'global'
  tags: tags
  properties: {
    description: 'The ${appointmentsQueueName} queue has dead-lettered messages. Inspect them in the portal (Service Bus Explorer, dead-letter subqueue).'
    severity: 1
    enabled: true
    scopes: [serviceBusNamespaceId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'DeadletteredMessages'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [
            { name: 'EntityName', operator: 'Include', values: [appointmentsQueueName] }
          ]
          timeAggregation: 'Maximum'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    autoMitigate: true
    actions: [for id in actionGroups: { actionGroupId: id }]
  }
}

output ruleIds array = [undiagnosed.id, transient.id, retryBacklog.id, deadLettered.id]
