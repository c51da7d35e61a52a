/** `%NAME%` in binding metadata is an app setting reference, as in the Functions host. */
export function resolveSetting(value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(/%([^%]+)%/g, (_m, name: string) => {
    const resolved = env[name];
    if (resolved === undefined || resolved === '') throw new Error(`App setting '${name}' is not set (referenced as %${name}%).`);
    return resolved;
  });
}
