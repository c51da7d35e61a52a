import { createRequire } from 'node:module';

/**
 * Kusto.Language (Microsoft's KQL parser and semantic analyzer, compiled to JavaScript) from
 * @kusto/language-service-next: works offline, no download. It defines `globalThis.Kusto`.
 */
interface KustoDiagnostic {
  Severity: string;
  Message: string;
  Start: number;
}
interface KustoList<T> {
  Count: number;
  getItem(i: number): T;
}
interface KustoCode {
  GetDiagnostics(): KustoList<KustoDiagnostic>;
}
interface KustoGlobal {
  Language: {
    KustoCode: { ParseAndAnalyze(text: string, globals: unknown): KustoCode };
    GlobalState: { Default: { WithDatabase(db: unknown): unknown } };
    Symbols: {
      TableSymbol: { $ctor7: new (name: string, schema: string, description: string | null) => unknown };
      DatabaseSymbol: { $ctor1: new (name: string, members: unknown[], isOpen: boolean) => unknown };
    };
  };
}

const load = createRequire(__filename);
load('@kusto/language-service-next/bridge.js');
load('@kusto/language-service-next/Kusto.Language.Bridge.js');
const Kusto = (globalThis as unknown as { Kusto: KustoGlobal }).Kusto;

// The Application Insights tables the queries read, with the columns they have in the portal's Logs
// (classic App Insights schema: queries scoped to the component, as the alert rules and workbook are).
const common =
  'timestamp:datetime, customDimensions:dynamic, customMeasurements:dynamic, operation_Name:string, operation_Id:string, operation_ParentId:string, ' +
  'session_Id:string, user_Id:string, client_Type:string, cloud_RoleName:string, cloud_RoleInstance:string, appId:string, appName:string, iKey:string, ' +
  'sdkVersion:string, itemId:string, itemType:string, itemCount:int';
export const APP_INSIGHTS_TABLES: Record<string, string> = {
  exceptions:
    `(${common}, problemId:string, handledAt:string, type:string, message:string, assembly:string, method:string, outerType:string, outerMessage:string, ` +
    'outerAssembly:string, outerMethod:string, innermostType:string, innermostMessage:string, innermostAssembly:string, innermostMethod:string, severityLevel:int, details:dynamic)',
  traces: `(${common}, message:string, severityLevel:int)`,
  customEvents: `(${common}, name:string)`,
};

const S = Kusto.Language.Symbols;
const database = new S.DatabaseSymbol.$ctor1(
  'applicationinsights',
  Object.entries(APP_INSIGHTS_TABLES).map(([name, schema]) => new S.TableSymbol.$ctor7(name, schema, null)),
  false,
);
const globals = Kusto.Language.GlobalState.Default.WithDatabase(database);

/** Syntax and semantic errors (unknown tables, columns, functions, type errors) of one query. */
export function kqlErrors(query: string): string[] {
  const diagnostics = Kusto.Language.KustoCode.ParseAndAnalyze(query, globals).GetDiagnostics();
  const errors: string[] = [];
  for (let i = 0; i < diagnostics.Count; i += 1) {
    const d = diagnostics.getItem(i);
    if (d.Severity === 'Error') errors.push(`${d.Message} (at ${d.Start}: "${query.slice(d.Start, d.Start + 30)}")`);
  }
  return errors;
}
