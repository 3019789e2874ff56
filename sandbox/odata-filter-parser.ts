// The OData v4 `$filter` grammar, as Graph and Dataverse clients write it: a tokenizer (string
// literals with '' escaping, unquoted GUIDs, numbers, words and property paths) and a
// recursive-descent parser (comparisons, `in`, and/or/not, parentheses,
// startswith/endswith/contains, `any`/`all` lambdas over collections) into a tree. Syntax errors
// carry the position, as the real services' messages do; names and types are checked on the
// tree afterwards (odata-filter.ts), against the entity's schema.
import { ODataError, type ODataType } from './odata';

type Literal = { k: 'lit'; type: ODataType | 'null'; value: string | number | boolean | null };
type Prop = { k: 'prop'; path: string };
export type Node =
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

  /** One left-associative level: `next (op next)*`. */
  function chain(op: 'and' | 'or', next: () => Node): Node {
    let left = next();
    while (isWord(op)) {
      p++;
      left = { k: op, left, right: next() };
    }
    return left;
  }
  function orExpr(): Node {
    return chain('or', andExpr);
  }
  function andExpr(): Node {
    return chain('and', unary);
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
