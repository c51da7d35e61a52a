// azd postprovision hook: makes sure Key Vault holds SECRET_PROTECTION_KEY (base64 of 32 random
// bytes), creating it only when it does not exist yet. An existing key is never replaced: it
// encrypts every connector secret in the Connectors table, and a new one would make them unreadable.
// No dependencies (it runs before `npm ci`): a token from `azd auth token`, then the Key Vault REST API.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const vault = process.env.AZURE_KEY_VAULT_ENDPOINT;
const name = process.env.SECRET_PROTECTION_KEY_SECRET_NAME ?? 'secret-protection-key';
if (!vault) {
  console.error('AZURE_KEY_VAULT_ENDPOINT is not set: run this through `azd provision` / `azd up`.');
  process.exit(1);
}

const { token } = JSON.parse(
  execFileSync('azd', ['auth', 'token', '--scope', 'https://vault.azure.net/.default', '--output', 'json'], {
    encoding: 'utf8',
    shell: process.platform === 'win32',
  }),
);
const url = `${vault.replace(/\/$/, '')}/secrets/${encodeURIComponent(name)}?api-version=7.4`;
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A role assignment made by this very deployment can take a few minutes to apply: retry 403s.
async function call(method, body) {
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch(url, { method, headers, body });
    if (response.status !== 403 || attempt >= 20) return response;
    console.log(`Key Vault answered 403 (role assignment not applied yet); retrying in 15 s (${attempt}/20)…`);
    await sleep(15_000);
  }
}

const existing = await call('GET');
if (existing.ok) {
  console.log(`Key Vault secret ${name} exists; left as it is.`);
} else if (existing.status === 404) {
  const value = randomBytes(32).toString('base64');
  const created = await call('PUT', JSON.stringify({ value, contentType: 'base64; AES-256-GCM key for connector secrets' }));
  if (!created.ok) {
    console.error(`Could not create ${name}: ${created.status} ${await created.text()}`);
    process.exit(1);
  }
  console.log(`Created Key Vault secret ${name}. Restart the function app if it started before the secret existed.`);
} else {
  console.error(`Could not read ${name}: ${existing.status} ${await existing.text()}`);
  process.exit(1);
}
