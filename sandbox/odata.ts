// The OData v4 query options the emulated Graph and Dataverse share: the per-entity schema
// that names and types each property, the error their handlers turn into each service's own
// body, `$select` with projection, and `$orderby`. `$filter` is parsed in odata-filter-parser.ts
// and checked and evaluated in odata-filter.ts, on the schema and row reading defined here.

export type ODataType = 'string' | 'guid' | 'int' | 'bool' | 'datetime' | 'collection';

/** Property name -> type; a collection's item properties are given as `name/sub`. */
export type EntitySchema = Record<string, ODataType>;

export class ODataError extends Error {
  constructor(
    message: string,
    /** `syntax`: malformed; `property`: unknown property; `type`: incompatible operand types. */
    readonly kind: 'syntax' | 'property' | 'type',
  ) {
    super(message);
  }
}

export interface FilterContext {
  /** Type name used in messages, e.g. `microsoft.graph.user` or `Microsoft.Dynamics.CRM.systemuser`. */
  typeName: string;
  schema: EntitySchema;
}

export type Row = Record<string, unknown>;

/** The value at a `/`-separated property path, or undefined where the path leaves the row. */
export function read(row: Row, path: string): unknown {
  let value: unknown = row;
  for (const part of path.split('/')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Row)[part];
  }
  return value;
}

export function norm(value: unknown): unknown {
  // Both services compare strings and GUIDs case-insensitively (SQL collation, directory rules).
  return typeof value === 'string' ? value.toLowerCase() : value;
}

/** Splits and checks a `$select` list; unknown names throw ODataError('property'). */
export function parseSelect(text: string | null, ctx: FilterContext): string[] | null {
  if (text === null || text.trim() === '') return null;
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!ctx.schema[name]) {
      throw new ODataError(`Could not find a property named '${name}' on type '${ctx.typeName}'.`, 'property');
    }
  }
  return names;
}

/** Keeps the selected properties (plus annotations such as `@odata.etag`). */
export function project<T extends object>(row: T, select: string[] | null, always: string[] = []): Partial<T> {
  if (!select) return row;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (key.startsWith('@') || select.includes(key) || always.includes(key)) out[key] = value;
  }
  return out as Partial<T>;
}

/** Parses `$orderby` (`name [asc|desc], ...`) into a comparator; unknown names throw ODataError. */
export function compileOrderBy(text: string | null, ctx: FilterContext): ((a: Row, b: Row) => number) | null {
  if (text === null || text.trim() === '') return null;
  const keys = text.split(',').map((part) => {
    const m = /^\s*([\w/]+)(?:\s+(asc|desc))?\s*$/i.exec(part);
    if (!m) throw new ODataError(`Syntax error in $orderby: '${text}'.`, 'syntax');
    if (!ctx.schema[m[1]!]) {
      throw new ODataError(`Could not find a property named '${m[1]}' on type '${ctx.typeName}'.`, 'property');
    }
    return { path: m[1]!, desc: (m[2] ?? 'asc').toLowerCase() === 'desc' };
  });
  return (a, b) => {
    for (const k of keys) {
      // Nulls sort first in ascending order, as in SQL Server.
      const x = norm(read(a, k.path) ?? null) as string | number | boolean | null;
      const y = norm(read(b, k.path) ?? null) as string | number | boolean | null;
      if (x === y) continue;
      const cmp = x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
      return k.desc ? -cmp : cmp;
    }
    return 0;
  };
}
