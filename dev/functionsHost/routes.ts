/**
 * Azure Functions route templates (`transactions/{tenant}/{id}`, `errors/{code?}`) matched the way the
 * host's ASP.NET routing does for the cases this app uses: literal segments beat parameters, an
 * optional parameter may be absent, `{name:constraint}` keeps its name (constraints are not checked).
 */
export interface RouteTemplate {
  template: string;
  segments: Array<{ literal: string } | { param: string; optional: boolean }>;
  literals: number;
}

export function parseRoute(template: string): RouteTemplate {
  const segments = template
    .split('/')
    .filter((s) => s.length > 0)
    .map((segment) => {
      const m = /^\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}?]*)?(\?)?\}$/.exec(segment);
      return m ? { param: m[1]!, optional: m[2] === '?' } : { literal: segment.toLowerCase() };
    });
  return { template, segments, literals: segments.filter((s) => 'literal' in s).length };
}

export function matchRoute(route: RouteTemplate, path: string): Record<string, string> | undefined {
  const parts = path.split('/').filter((s) => s.length > 0);
  const params: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i += 1) {
    const segment = route.segments[i]!;
    const part = parts[i];
    if ('literal' in segment) {
      if (part === undefined || part.toLowerCase() !== segment.literal) return undefined;
    } else if (part === undefined) {
      if (!segment.optional) return undefined;
    } else {
      try {
        params[segment.param] = decodeURIComponent(part);
      } catch {
        return undefined;
      }
    }
  }
  return parts.length <= route.segments.length ? params : undefined;
}

/** Most literal segments first, so `transactions/summary` wins over `transactions/{tenant}/{id}`-like templates. */
export function byPrecedence(a: RouteTemplate, b: RouteTemplate): number {
  return b.literals - a.literals || b.segments.length - a.segments.length;
}
