// A small OData v4 `$filter` parser and evaluator: the forms Graph and Dataverse clients send
// (comparisons, and/or/not, parentheses, startswith/endswith/contains, `any` lambdas over
// collections, string literals with '' escaping, unquoted GUIDs, null, numbers, booleans).
// Errors carry the position, as the real services' messages do, and the types of both sides
// of a comparison are checked against a per-entity schema, so a quoted GUID compared with a
// Guid column fails here exactly as it fails in Dataverse.

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

type Literal = { k: 'lit'; type: ODataType | 'null'; value: string | number | boolean | null };
type Prop = { k: 'prop'; path: string };
type Node =
  | Literal
  | Prop
  | { k: 'cmp'; op: string; left: Node; right: Node }
  | { k: 'and' | 'or'; left: Node; right: Node }
  | { k: 'not'; expr: Node }
  | { k: 'fn'; name: string; args: Node[] }
  | { k: 'any' | 'all'; collection: string; variable: string; body: Node | null };

type Token = { t: 'str' | 'word' | 'num' | 'guid' | '(' | ')' | ',' | ':' | 'eof'; v: string; pos: number };

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/;

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',' || c === ':') {
      out.push({ t: c, v: c, pos: i });
      i++;
      continue;
    }
    if (c === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length)
          throw new ODataError(
            `Syntax error: unterminated string literal at position ${start} in '${text}'.`,
            'syntax',
          );
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i];
        i++;
      }
      out.push({ t: 'str', v: value, pos: start });
      continue;
    }
    const guid = GUID.exec(text.slice(i));
    if (guid && !/[\w-]/.test(text[i + guid[0].length] ?? '')) {
      out.push({ t: 'guid', v: guid[0].toLowerCase(), pos: i });
      i += guid[0].length;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(text.slice(i));
    if (num && !/[A-Za-z_]/.test(text[i + num[0].length] ?? '')) {
      out.push({ t: 'num', v: num[0], pos: i });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_@$][\w.@$]*(\/[A-Za-z_][\w.]*)*/.exec(text.slice(i));
    if (word) {
      out.push({ t: 'word', v: word[0], pos: i });
      i += word[0].length;
      continue;
    }
    throw new ODataError(`Syntax error at position ${i} in '${text}'.`, 'syntax');
  }
  out.push({ t: 'eof', v: '', pos: text.length });
  return out;
}

const COMPARISON = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const FUNCTIONS = new Set(['startswith', 'endswith', 'contains']);

/** Parses `$filter` text into a tree; throws ODataError on malformed input. */
export function parseFilter(text: string): Node {
  const tokens = tokenize(text);
  let p = 0;
  const peek = () => tokens[p]!;
  const fail = (tok: Token): never => {
    throw new ODataError(`Syntax error at position ${tok.pos} in '${text}'.`, 'syntax');
  };
  const expect = (t: Token['t']) => {
    const tok = peek();
    if (tok.t !== t) fail(tok);
    p++;
    return tok;
  };
  const isWord = (v: string) => peek().t === 'word' && peek().v.toLowerCase() === v;

  function orExpr(): Node {
    let left = andExpr();
    while (isWord('or')) {
      p++;
      left = { k: 'or', left, right: andExpr() };
    }
    return left;
  }
  function andExpr(): Node {
    let left = unary();
    while (isWord('and')) {
      p++;
      left = { k: 'and', left, right: unary() };
    }
    return left;
  }
  function unary(): Node {
    if (isWord('not')) {
      p++;
      return { k: 'not', expr: unary() };
    }
    const left = operand();
    const tok = peek();
    if (tok.t === 'word' && COMPARISON.has(tok.v.toLowerCase())) {
      p++;
      return { k: 'cmp', op: tok.v.toLowerCase(), left, right: operand() };
    }
    if (tok.t === 'word' && tok.v.toLowerCase() === 'in') {
      // `prop in ('a', 'b')`: the same as `prop eq 'a' or prop eq 'b'`.
      p++;
      expect('(');
      let tree: Node = { k: 'cmp', op: 'eq', left, right: operand() };
      while (peek().t === ',') {
        p++;
        tree = { k: 'or', left: tree, right: { k: 'cmp', op: 'eq', left, right: operand() } };
      }
      expect(')');
      return tree;
    }
    return left;
  }
  function operand(): Node {
    const tok = peek();
    if (tok.t === '(') {
      p++;
      const inner = orExpr();
      expect(')');
      return inner;
    }
    if (tok.t === 'str') {
      p++;
      return { k: 'lit', type: 'string', value: tok.v };
    }
    if (tok.t === 'guid') {
      p++;
      return { k: 'lit', type: 'guid', value: tok.v };
    }
    if (tok.t === 'num') {
      p++;
      return { k: 'lit', type: 'int', value: Number(tok.v) };
    }
    if (tok.t === 'word') {
      const lower = tok.v.toLowerCase();
      if (lower === 'null') {
        p++;
        return { k: 'lit', type: 'null', value: null };
      }
      if (lower === 'true' || lower === 'false') {
        p++;
        return { k: 'lit', type: 'bool', value: lower === 'true' };
      }
      p++;
      if (peek().t === '(' && FUNCTIONS.has(lower)) {
        p++;
        const args: Node[] = [operand()];
        while (peek().t === ',') {
          p++;
          args.push(operand());
        }
        expect(')');
        if (args.length !== 2) fail(tok);
        return { k: 'fn', name: lower, args };
      }
      // Lambda: `assignedLicenses/any(x:x/skuId eq <guid>)`.
      const lambda = /^(.*)\/(any|all)$/i.exec(tok.v);
      if (lambda && peek().t === '(') {
        p++;
        if (peek().t === ')') {
          p++;
          return { k: 'any', collection: lambda[1]!, variable: '', body: null };
        }
        const variable = expect('word').v;
        expect(':');
        const body = orExpr();
        expect(')');
        return { k: lambda[2]!.toLowerCase() as 'any' | 'all', collection: lambda[1]!, variable, body };
      }
      if (peek().t === '(') fail(peek());
      return { k: 'prop', path: tok.v };
    }
    return fail(tok);
  }

  const tree = orExpr();
  if (peek().t !== 'eof') fail(peek());
  return tree;
}

export interface FilterContext {
  /** Type name used in messages, e.g. `microsoft.graph.user` or `Microsoft.Dynamics.CRM.systemuser`. */
  typeName: string;
  schema: EntitySchema;
}

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

type Row = Record<string, unknown>;

function read(row: Row, path: string): unknown {
  let value: unknown = row;
  for (const part of path.split('/')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Row)[part];
  }
  return value;
}

function norm(value: unknown): unknown {
  // Both services compare strings and GUIDs case-insensitively (SQL collation, directory rules).
  return typeof value === 'string' ? value.toLowerCase() : value;
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
