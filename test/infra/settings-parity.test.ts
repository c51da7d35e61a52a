import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../shared/config/settings';
import { bicepLiteral, bicepObjectVar, bicepParamDefault, read } from './infraText';

const functionModule = read('infra', 'modules', 'function.bicep');
const codeSettings = bicepObjectVar(functionModule, 'codeSettings');
const hostSettings = bicepObjectVar(functionModule, 'hostSettings');

/**
 * Connection strings for local development (Azurite, the local broker). In Azure they stay unset and
 * the identity-based setting of the same connection is used instead; setting one would put a secret
 * in the app settings and take precedence over the identity.
 */
const LOCAL_ONLY: Record<string, string> = {
  ServiceBusConnection: 'ServiceBusConnection__fullyQualifiedNamespace',
  TablesConnection: 'TablesConnection__tableServiceUri',
};

/** What the Functions host and its extensions read themselves; the app code never does. */
const HOST_SETTINGS = [
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'ServiceBusConnection__credential',
  'ServiceBusConnection__clientId',
];

describe('app settings in Azure (infra/modules/function.bicep)', () => {
  it('sets every setting the code reads, except the local-only connection strings, and nothing else', () => {
    const expected = SETTINGS.map((s) => s.name).filter((name) => !(name in LOCAL_ONLY));
    expect([...codeSettings.keys()].sort(), 'codeSettings must list exactly shared/config/settings.ts SETTINGS').toEqual(expected.sort());
  });

  it('keeps the local-only connection strings out, with their identity-based counterparts in', () => {
    for (const [local, identityBased] of Object.entries(LOCAL_ONLY)) {
      expect(SETTINGS.map((s) => s.name), `${local} is still a setting the code reads`).toContain(local);
      expect(codeSettings.has(local) || hostSettings.has(local)).toBe(false);
      expect(codeSettings.get(identityBased), identityBased).toBeDefined();
    }
  });

  it('sets only the host settings on the allowlist, for identity-based AzureWebJobsStorage and the Service Bus trigger', () => {
    expect([...hostSettings.keys()].sort()).toEqual([...HOST_SETTINGS].sort());
    for (const name of hostSettings.keys()) expect(SETTINGS.some((s) => s.name === name), `${name} is read by the code: move it to codeSettings`).toBe(false);
    expect(hostSettings.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    expect(hostSettings.get('ServiceBusConnection__credential')).toBe("'managedidentity'");
    // Flex Consumption takes the runtime from functionAppConfig and rejects these as app settings.
    expect(functionModule).not.toMatch(/FUNCTIONS_WORKER_RUNTIME|FUNCTIONS_EXTENSION_VERSION|AzureWebJobsStorage\s*:/);
  });

  it('gives the site exactly these two lists as its app settings', () => {
    const appSettings = functionModule.match(/appSettings:.*$/gm) ?? [];
    expect(appSettings).toEqual(["appSettings: [for setting in items(union(hostSettings, codeSettings)): { name: setting.key, value: setting.value }]"]);
  });

  it('uses the code defaults for every literal value, so Azure behaves as documented', () => {
    let literals = 0;
    for (const spec of SETTINGS) {
      const literal = codeSettings.has(spec.name) ? bicepLiteral(codeSettings.get(spec.name)!) : undefined;
      if (literal === undefined || spec.default === undefined) continue;
      literals += 1;
      expect(literal, spec.name).toBe(spec.default);
    }
    expect(literals).toBeGreaterThan(10);
    // The queue name is a parameter of main.bicep whose default is the code's default.
    const queueDefault = SETTINGS.find((s) => s.name === 'APPOINTMENTS_QUEUE')?.default;
    expect(bicepParamDefault(read('infra', 'main.bicep'), 'appointmentsQueueName')).toBe(`'${queueDefault}'`);
  });

  it('wires identity, endpoints and the Key Vault reference, and holds no secret value', () => {
    expect(codeSettings.get('AZURE_CLIENT_ID')).toBe('identityClientId');
    expect(codeSettings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toBe("'Authorization=AAD;ClientId=${identityClientId}'");
    expect(codeSettings.get('SECRET_PROTECTION_KEY')).toMatch(/^'@Microsoft\.KeyVault\(VaultName=\$\{keyVaultName\};SecretName=\$\{secretProtectionKeySecretName\}\)'$/);
    expect(functionModule).toMatch(/keyVaultReferenceIdentity: identityId/);
    for (const file of ['main.bicep', 'modules/function.bicep', 'modules/keyvault.bicep', 'main.parameters.json']) {
      const text = read('infra', ...file.split('/'));
      expect(text, file).not.toMatch(/AccountKey=|SharedAccessKey=|InstrumentationKey=|listKeys\(|listConnectionStrings\(|Microsoft\.KeyVault\/vaults\/secrets/);
    }
  });

  it('the README documents every sample value the code does not read (the Functions host\'s own settings)', () => {
    const sample = JSON.parse(read('local.settings.sample.json')) as { Values: Record<string, string> };
    const hostOnly = Object.keys(sample.Values).filter((name) => !SETTINGS.some((s) => s.name === name));
    expect(hostOnly.sort()).toEqual(['AzureWebJobsStorage', 'FUNCTIONS_WORKER_RUNTIME']);
    const readme = read('README.md');
    const table = readme.slice(readme.indexOf('<!-- settings-table:end -->'));
    const rows = [...table.matchAll(/^\| `(\w+)` \| `([^`]*)` \| .+ \|$/gm)].map((m) => [m[1]!, m[2]!] as const);
    for (const name of hostOnly) expect(rows, name).toContainEqual([name, sample.Values[name]]);
  });

  it('local.settings.sample.json leaves the Entra and Graph endpoints empty, so a copy of it keeps npm start local', () => {
    const sample = JSON.parse(read('local.settings.sample.json')) as { Values: Record<string, string> };
    expect(sample.Values.ENTRA_AUTHORITY_HOST).toBe('');
    expect(sample.Values.GRAPH_BASE_URL).toBe('');
    // Azure gets the public cloud explicitly
    expect(bicepLiteral(codeSettings.get('ENTRA_AUTHORITY_HOST')!)).toBe('https://login.microsoftonline.com');
    expect(bicepLiteral(codeSettings.get('GRAPH_BASE_URL')!)).toBe('https://graph.microsoft.com');
  });

  it('local.settings.sample.json lists every setting the code reads', () => {
    const sample = JSON.parse(read('local.settings.sample.json')) as { Values: Record<string, string> };
    const missing = SETTINGS.map((s) => s.name).filter((name) => !(name in sample.Values));
    expect(missing).toEqual([]);
  });
});
