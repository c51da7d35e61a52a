import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOGUE, findEntry, UNDIAGNOSED_CODE } from '../../shared/diagnostics/catalogue';
import { entraCredentialFor } from '../../shared/telemetry/appInsightsTelemetry';
import { buildWorkbook, WORKBOOK_PANELS } from '../../scripts/build-workbook';
import { filesUnder, infra, read, root } from './infraText';

// No Bicep compiler runs here (no `az bicep`, no network): the templates are checked as text.
const bicepFiles = filesUnder(infra, '.bicep');
const module = (name: string) => read('infra', 'modules', `${name}.bicep`);
const main = read('infra', 'main.bicep');
const alerts = module('alerts');
const codesIn = (text: string) => [...text.matchAll(/\bDS(?:EX|WBHK|CFG|HTTP|DB|UNK)\d{3}\b/g)].map((m) => m[0]);

describe('Bicep (checked as text)', () => {
  it('main.bicep uses every module, and every module, loadJsonContent and loadTextContent path exists', () => {
    const used = [...main.matchAll(/^module \w+ '([^']+)'/gm)].map((m) => m[1]!);
    const modules = bicepFiles.filter((f) => f.includes(join('infra', 'modules'))).map((f) => `modules/${f.split(/[\\/]/).pop()}`);
    expect(used.sort()).toEqual(modules.sort());
    for (const file of bicepFiles) {
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:^module \w+ |load(?:Json|Text)Content\()'([^']+)'/gm)) {
        expect(existsSync(resolve(dirname(file), m[1]!)), `${file}: ${m[1]}`).toBe(true);
      }
    }
  });

  it('every param main.bicep passes to a module is declared by that module', () => {
    for (const block of main.matchAll(/^module \w+ '([^']+)' = \{[\s\S]*?\n  params: \{\n([\s\S]*?)\n  \}\n\}/gm)) {
      const declared = new Set([...read('infra', block[1]!).matchAll(/^param (\w+)/gm)].map((m) => m[1]!));
      const passed = [...block[2]!.matchAll(/^ {4}(\w+):/gm)].map((m) => m[1]!);
      expect(passed.filter((p) => !declared.has(p)), block[1]).toEqual([]);
      const required = [...read('infra', block[1]!).matchAll(/^param (\w+) [\w.]+\s*$/gm)].map((m) => m[1]!);
      expect(required.filter((p) => !passed.includes(p)), `${block[1]}: required params not passed`).toEqual([]);
    }
  });

  it('main.parameters.json only sets params main.bicep declares', () => {
    const params = Object.keys((JSON.parse(read('infra', 'main.parameters.json')) as { parameters: object }).parameters);
    const declared = [...main.matchAll(/^param (\w+)/gm)].map((m) => m[1]!);
    expect(params.filter((p) => !declared.includes(p))).toEqual([]);
    expect(params).toEqual(expect.arrayContaining(['environmentName', 'location', 'principalId', 'actionGroupId']));
  });

  it('the queue properties come from infra/appointments-queue.json, the file the local broker reads', () => {
    const servicebus = module('servicebus');
    expect(servicebus).toMatch(/var queue = loadJsonContent\('\.\.\/appointments-queue\.json'\)/);
    const properties = JSON.parse(read('infra', 'appointments-queue.json')) as Record<string, unknown>;
    expect(Object.keys(properties)).toEqual(expect.arrayContaining(['maxDeliveryCount', 'deadLetteringOnMessageExpiration', 'requiresDuplicateDetection', 'duplicateDetectionHistoryTimeWindow']));
    for (const key of Object.keys(properties)) expect(servicebus, key).toMatch(new RegExp(`^\\s+${key}: queue\\.${key}$`, 'm'));
    const queueBlock = /resource appointments 'queues' = \{[\s\S]*?\n {2}\}/.exec(servicebus)![0];
    expect([...queueBlock.matchAll(/^\s+(\w+): (?!queue\.)/gm)].map((m) => m[1]).filter((k) => k !== 'name' && k !== 'properties')).toEqual([]);
    expect(read('dev', 'serviceBus', 'queueProperties.ts')).toMatch(/'infra', 'appointments-queue\.json'/);
  });

  it('is identity-based: no shared keys, no SAS, no instrumentation-key ingestion', () => {
    expect(module('storage')).toMatch(/allowSharedKeyAccess: false/);
    expect(module('servicebus')).toMatch(/disableLocalAuth: true/);
    expect(module('monitoring')).toMatch(/DisableLocalAuth: true/);
    expect(module('monitoring')).toMatch(/WorkspaceResourceId: logAnalytics\.id/);
    expect(module('keyvault')).toMatch(/enableRbacAuthorization: true/);
    const fn = module('function');
    expect(fn).toMatch(/type: 'UserAssigned'/);
    expect(fn).toMatch(/sku: \{ name: 'FC1', tier: 'FlexConsumption' \}/);
    expect(fn).toMatch(/runtime: \{ name: 'node', version: nodeVersion \}/);
    expect(fn).toMatch(/@allowed\(\['20', '22'\]\)\nparam nodeVersion string = '20'/);
    expect(fn).toMatch(/type: 'blobContainer'[\s\S]*?authentication: \{\s*type: 'UserAssignedIdentity'/);
    expect(fn).toMatch(/'azd-service-name': 'api'/);
  });

  it('offers no Service Bus tier without duplicate detection (Basic has none)', () => {
    const servicebus = module('servicebus');
    const allowed = /@allowed\(\[([^\]]*)\]\)\s*\nparam skuName string = '(\w+)'/.exec(servicebus);
    expect(allowed, 'skuName has an @allowed list').not.toBeNull();
    const tiers = [...allowed![1]!.matchAll(/'(\w+)'/g)].map((m) => m[1]);
    expect(tiers.sort()).toEqual(['Premium', 'Standard']);
    expect(tiers).toContain(allowed![2]);
    expect((JSON.parse(read('infra', 'appointments-queue.json')) as { requiresDuplicateDetection: boolean }).requiresDuplicateDetection).toBe(true);
    expect(main).not.toMatch(/skuName: 'Basic'/);
  });

  it('lets an environment come back after `azd down`: Key Vault createMode recover, purge protection a parameter (off, so --purge works)', () => {
    const keyvault = module('keyvault');
    expect(keyvault).toMatch(/@allowed\(\['default', 'recover'\]\)\nparam createMode string = 'default'/);
    expect(keyvault).toMatch(/^ {4}createMode: createMode$/m);
    expect(keyvault).toMatch(/^param enablePurgeProtection bool = false$/m);
    // never an explicit false (the API rejects it), never a hard-coded true (then `azd down --purge` cannot purge)
    expect(keyvault).toMatch(/^ {4}enablePurgeProtection: enablePurgeProtection \? true : null$/m);
    expect(keyvault).not.toMatch(/enablePurgeProtection: (true|false)\b/);
    expect(keyvault).toMatch(/enableSoftDelete: true/);
    expect(main).toMatch(/@allowed\(\['default', 'recover'\]\)\n@description\([^\n]*\)\nparam keyVaultCreateMode string = 'default'/);
    expect(main).toMatch(/^param keyVaultEnablePurgeProtection bool = false$/m);
    expect(main).toMatch(/^ {4}createMode: keyVaultCreateMode\n {4}enablePurgeProtection: keyVaultEnablePurgeProtection$/m);
    const params = (JSON.parse(read('infra', 'main.parameters.json')) as { parameters: Record<string, { value: string }> }).parameters;
    expect(params.keyVaultCreateMode?.value).toBe('${KEY_VAULT_CREATE_MODE=default}');
    expect(params.keyVaultEnablePurgeProtection?.value).toBe('${KEY_VAULT_PURGE_PROTECTION=false}');
    const readme = read('README.md');
    expect(readme).toContain('azd down --purge');
    expect(readme).toContain('azd env set KEY_VAULT_CREATE_MODE recover');
    expect(readme).toContain('KEY_VAULT_PURGE_PROTECTION');
  });

  it('grants the identity exactly the roles it needs', () => {
    const roles = module('roles');
    const ids: Record<string, string> = {
      'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
      'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
      'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
      'Azure Service Bus Data Receiver': '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0',
      'Azure Service Bus Data Sender': '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39',
      'Monitoring Metrics Publisher': '3913510d-42f4-4e42-8a64-420c390055eb',
      'Key Vault Secrets User': '4633458b-17de-408a-b874-0445c86b69e6',
      'Key Vault Secrets Officer (deployer)': 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
    };
    const inTemplate = [...roles.matchAll(/'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'/g)].map((m) => m[1]);
    expect(inTemplate.sort()).toEqual(Object.values(ids).sort());
    expect([...roles.matchAll(/Microsoft\.Authorization\/roleAssignments@/g)]).toHaveLength(5);
  });

  it('azure.yaml deploys the app as the function service "api"', () => {
    const yaml = read('azure.yaml');
    expect(yaml).toMatch(/^services:\n {2}api:\n {4}project: \.\n {4}language: ts\n {4}host: function$/m);
    expect(yaml).toMatch(/run: node infra\/hooks\/ensure-secret-protection-key\.mjs/);
    expect(existsSync(join(root, 'infra', 'hooks', 'ensure-secret-protection-key.mjs'))).toBe(true);
  });
});

describe('alert rules', () => {
  it('name only catalogued codes, and the transient rule exactly the retried ones it watches', () => {
    const alertQueries = filesUnder(join(infra, 'queries', 'alerts'), '.kql').map((f) => readFileSync(f, 'utf8'));
    const named = [...new Set([...codesIn(alerts), ...codesIn(main), ...alertQueries.flatMap(codesIn)])];
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((code) => !findEntry(code))).toEqual([]);
    const transient = codesIn(read('infra', 'queries', 'alerts', 'transient-failures.kql'));
    expect(transient.sort()).toEqual(['DSEX040', 'DSHTTP001', 'DSWBHK010', 'DSWBHK020', 'DSWBHK030']);
    for (const code of transient) expect(findEntry(code)?.retry, code).toBe('retried');
    expect([...new Set(codesIn(read('infra', 'queries', 'alerts', 'undiagnosed-failure.kql')))]).toEqual([UNDIAGNOSED_CODE]);
    expect(CATALOGUE.find((e) => e.code === UNDIAGNOSED_CODE)?.retry).toBe('undiagnosed');
  });

  it('has the four rules, each loading its query, with an action group parameter and the transient threshold as a parameter', () => {
    for (const file of ['undiagnosed-failure', 'transient-failures', 'retry-backlog-growing']) {
      expect(alerts).toMatch(new RegExp(`query: loadTextContent\\('\\.\\./queries/alerts/${file}\\.kql'\\)`));
    }
    expect(alerts).toMatch(/windowSize: 'PT15M'[\s\S]*?undiagnosed-failure\.kql[\s\S]*?threshold: 0\n/);
    expect(alerts).toMatch(/transient-failures\.kql'\)\n\s+timeAggregation: 'Total'\n\s+metricMeasureColumn: 'failures'\n\s+operator: 'GreaterThan'\n\s+threshold: transientFailureThreshold/);
    expect(alerts).toMatch(/retry-backlog-growing\.kql'\)\n\s+timeAggregation: 'Maximum'\n\s+metricMeasureColumn: 'backlog'/);
    expect(alerts).toMatch(/metricName: 'DeadletteredMessages'[\s\S]*?values: \[appointmentsQueueName\]/);
    expect(alerts).toMatch(/^param actionGroupId string = ''$/m);
    expect([...alerts.matchAll(/actions: \{ actionGroups: actionGroups \}/g)]).toHaveLength(3);
    expect(main).toMatch(/actionGroupId: actionGroupId/);
  });
});

describe('workbook', () => {
  it('is infra/workbook.json as built from the queries (run `npx tsx scripts/build-workbook.ts` after editing one)', () => {
    expect(read('infra', 'workbook.json')).toBe(buildWorkbook());
    const dashboard = filesUnder(join(infra, 'queries'), '.kql').filter((f) => !f.includes(join('queries', 'alerts')));
    expect(WORKBOOK_PANELS.map((p) => p.file).sort()).toEqual(dashboard.map((f) => f.split(/[\\/]/).pop()).sort());
    const workbook = JSON.parse(read('infra', 'workbook.json')) as { items: Array<{ type: number; content: { query?: string } }> };
    expect(workbook.items.filter((i) => i.type === 3).map((i) => i.content.query)).toContain(read('infra', 'queries', 'failures-by-error-code.kql').trimEnd());
    expect(module('workbook')).toMatch(/serializedData: loadTextContent\('\.\.\/workbook\.json'\)/);
    expect(module('workbook')).toMatch(/sourceId: applicationInsightsId/);
  });
});

describe('telemetry to Application Insights with local auth disabled', () => {
  it('asks for a managed identity token when APPLICATIONINSIGHTS_AUTHENTICATION_STRING says Authorization=AAD', () => {
    expect(entraCredentialFor(undefined)).toBeUndefined();
    expect(entraCredentialFor('')).toBeUndefined();
    expect(entraCredentialFor('Authorization=Key')).toBeUndefined();
    expect(entraCredentialFor('Authorization=AAD;ClientId=00000000-0000-0000-0000-000000000001')?.constructor.name).toBe('ManagedIdentityCredential');
    expect(entraCredentialFor('authorization=aad')?.constructor.name).toBe('ManagedIdentityCredential');
  });
});
