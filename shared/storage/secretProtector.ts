import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { UnreadableCredentialsError } from '../diagnostics/domainErrors';

const VERSION = 'v1';

/**
 * Connector secrets are stored encrypted (AES-256-GCM) in the Connectors table; the key is an app
 * setting (a Key Vault reference in Azure). A value that does not decrypt is DSCFG006.
 */
export interface SecretProtector {
  protect(plain: string): string;
  unprotect(stored: string): string;
}

export function parseKey(base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new Error('SECRET_PROTECTION_KEY must be 32 bytes, base64-encoded.');
  return key;
}

export function createSecretProtector(key: Buffer): SecretProtector {
  return {
    protect(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), data.toString('base64')].join(':');
    },
    unprotect(stored) {
      const [version, iv, tag, data] = stored.split(':');
      if (version !== VERSION || !iv || !tag || data === undefined) {
        throw new UnreadableCredentialsError('the stored secret is not in the protected format');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
        decipher.setAuthTag(Buffer.from(tag, 'base64'));
        return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
      } catch {
        throw new UnreadableCredentialsError('the stored secret does not decrypt with the current protection key');
      }
    },
  };
}
