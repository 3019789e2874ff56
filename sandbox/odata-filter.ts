// OData v4 `$filter` semantics over a tree from odata-filter-parser.ts: property names and the
// types of both sides of a comparison are checked against a per-entity schema before any row is
// read, so a quoted GUID compared with a Guid column fails here exactly as it fails in
// Dataverse; evaluation compares strings and GUIDs case-insensitively, as both services do.
import { type FilterContext, ODataError, type ODataType, type Row, norm, read } from './odata';
import { type Node, parseFilter } from './odata-filter-parser';

type EdmName = 'Edm.String' | 'Edm.Guid' | 'Edm.Int32' | 'Edm.Boolean' | 'Edm.DateTimeOffset' | 'Collection';
const EDM: Record<ODataType, EdmName> = {
  string: 'Edm.String',
  guid: 'Edm.Guid',
  int: 'Edm.Int32',
  bool: 'Edm.Boolean',
  datetime: 'Edm.DateTimeOffset',
  collection: 'Collection',
};

/** Checks property names and operand types; throws ODataError like the services do. */
export function checkFilter(node: Node, ctx: FilterContext, scope: Map<string, string> = new Map()): void {
  const typeOf = (n: Node): ODataType | 'null' | 'bool' => {
    if (n.k === 'lit') return n.type;
    if (n.k === 'prop') return propType(n.path, ctx, scope);
    checkFilter(n, ctx, scope);
    return 'bool';
  };
  switch (node.k) {
    case 'lit':
    case 'prop':
      typeOf(node);
      return;
    case 'and':
    case 'or':
      checkFilter(node.left, ctx, scope);
      checkFilter(node.right, ctx, scope);
      return;
    case 'not':
      checkFilter(node.expr, ctx, scope);
      return;
    case 'fn': {
      for (const a of node.args) {
        const t = typeOf(a);
        if (t !== 'string') {
          throw new ODataError(
            `No function signature for the function with name '${node.name}' matches the specified arguments.`,
            'type',
          );
        }
      }
      return;
    }
    case 'any':
    case 'all': {
      if (propType(node.collection, ctx, scope) !== 'collection') {
        throw new ODataError(`The '${node.collection}' property is not a collection.`, 'type');
      }
      if (node.body) {
        const inner = new Map(scope);
        inner.set(node.variable, node.collection);
        checkFilter(node.body, ctx, inner);
      }
      return;
    }
    case 'cmp': {
      const l = typeOf(node.left);
      const r = typeOf(node.right);
      if (l === 'null' || r === 'null') return;
      const numeric = (t: string) => t === 'int';
      if (l !== r && !(numeric(l) && numeric(r))) {
        const name = (t: ODataType | 'null' | 'bool') => (t === 'null' ? 'null' : EDM[t]);
        const kind = node.op === 'eq' ? 'Equal' : node.op === 'ne' ? 'NotEqual' : node.op;
        throw new ODataError(
          `A binary operator with incompatible types was detected. Found operand types '${name(l)}' and '${name(r)}' for operator kind '${kind}'.`,
          'type',
        );
      }
      return;
    }
  }
}

function propType(path: string, ctx: FilterContext, scope: Map<string, string>): ODataType {
  const [head, ...rest] = path.split('/');
  const collection = head !== undefined ? scope.get(head) : undefined;
  const key = collection !== undefined ? [collection, ...rest].join('/') : path;
  const type = ctx.schema[key];
  if (!type) {
    const name = key.split('/').pop() ?? key;
    throw new ODataError(`Could not find a property named '${name}' on type '${ctx.typeName}'.`, 'property');
  }
  return type;
}

function evaluate(node: Node, row: Row, vars: Map<string, unknown>): unknown {
  switch (node.k) {
    case 'lit':
      return node.value;
    case 'prop': {
      const [head, ...rest] = node.path.split('/');
      if (head !== undefined && vars.has(head)) {
        const item = vars.get(head);
        return rest.length ? read(item as Row, rest.join('/')) : item;
      }
      return read(row, node.path) ?? null;
    }
    case 'and':
      return evaluate(node.left, row, vars) === true && evaluate(node.right, row, vars) === true;
    case 'or':
      return evaluate(node.left, row, vars) === true || evaluate(node.right, row, vars) === true;
    case 'not':
      return evaluate(node.expr, row, vars) !== true;
    case 'fn': {
      const [a, b] = node.args.map((n) => evaluate(n, row, vars));
      if (typeof a !== 'string' || typeof b !== 'string') return false;
      const x = a.toLowerCase();
      const y = b.toLowerCase();
      return node.name === 'startswith' ? x.startsWith(y) : node.name === 'endswith' ? x.endsWith(y) : x.includes(y);
    }
    case 'any':
    case 'all': {
      const items = read(row, node.collection);
      const list = Array.isArray(items) ? items : [];
      if (!node.body) return list.length > 0;
      const test = (item: unknown) => evaluate(node.body!, row, new Map(vars).set(node.variable, item)) === true;
      return node.k === 'any' ? list.some(test) : list.every(test);
    }
    case 'cmp': {
      const l = norm(evaluate(node.left, row, vars));
      const r = norm(evaluate(node.right, row, vars));
      switch (node.op) {
        case 'eq':
          return (l ?? null) === (r ?? null);
        case 'ne':
          return (l ?? null) !== (r ?? null);
        default: {
          if (l === null || r === null || l === undefined || r === undefined) return false;
          const a = l as string | number;
          const b = r as string | number;
          return node.op === 'gt' ? a > b : node.op === 'ge' ? a >= b : node.op === 'lt' ? a < b : a <= b;
        }
      }
    }
  }
}

/** Parses and checks `text` once; the returned predicate is applied to each row. */
export function compileFilter(text: string, ctx: FilterContext): (row: Row) => boolean {
  const tree = parseFilter(text);
  checkFilter(tree, ctx);
  return (row) => evaluate(tree, row, new Map()) === true;
}
