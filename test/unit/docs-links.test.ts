// The documentation's links stay honest: in README.md, docs/*.md and sandbox/README.md every
// relative link and image points at a file or folder inside the repository (and a `#anchor`
// after a markdown file at one of its headings, as GitHub names them), no text refers to a
// design file outside the repository, and the README stays a front door of at most 250 lines.
// Plain file reads: no server is needed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const README_MAX_LINES = 250;

/** The markdown files whose links are checked, relative to the repository root. */
function documents(): string[] {
  const docs = readdirSync(path.join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs, 'sandbox/README.md'];
}

/** The text with fenced code blocks and inline code spans blanked out, line numbers kept. */
function withoutCode(markdown: string): string[] {
  let fence: string | null = null;
  return markdown.split('\n').map((line) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = null;
      return '';
    }
    if (marker) {
      fence = marker;
      return '';
    }
    return line.replace(/(`+)(?:(?!\1).)+?\1/g, (span) => ' '.repeat(span.length));
  });
}

interface Link {
  line: number;
  target: string;
}

/** Inline links and images, reference definitions, and HTML `href`/`src` attributes. */
function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  withoutCode(markdown).forEach((text, i) => {
    const line = i + 1;
    for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)) {
      links.push({ line, target: m[1]!.replace(/^<|>$/g, '') });
    }
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/.exec(text);
    if (definition) links.push({ line, target: definition[1]! });
    for (const m of text.matchAll(/<(?:a|img)\s[^>]*?\b(?:href|src)\s*=\s*"([^"]+)"/gi)) {
      links.push({ line, target: m[1]! });
    }
  });
  return links;
}

/** GitHub's anchors of a document's headings: lower case, punctuation dropped, spaces to dashes. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = null;
      continue;
    }
    if (marker) {
      fence = marker;
      continue;
    }
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const text = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links: their text
      .replace(/<[^>]+>/g, '') // inline HTML
      .replace(/[`*]/g, '');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

interface Problem {
  file: string;
  line: number;
  target: string;
  problem: string;
}

/** What is wrong with the links of `file` (relative to the root), whose text is `markdown`. */
function checkLinks(file: string, markdown: string): Problem[] {
  const problems: Problem[] = [];
  const dir = path.dirname(path.join(root, file));
  for (const { line, target } of linksOf(markdown)) {
    const report = (problem: string) => problems.push({ file, line, target, problem });
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...: not a file here
    const hash = target.indexOf('#');
    const pathPart = (hash >= 0 ? target.slice(0, hash) : target).replace(/\?.*$/, '');
    const anchor = hash >= 0 ? decodeURIComponent(target.slice(hash + 1)) : null;
    let resolved = path.join(root, file); // a bare `#anchor`: this document
    if (pathPart) {
      if (pathPart.startsWith('/')) {
        report('absolute path: use a path relative to this file');
        continue;
      }
      resolved = path.resolve(dir, decodeURIComponent(pathPart));
      const inside = path.relative(root, resolved);
      if (inside.startsWith('..') || path.isAbsolute(inside)) {
        report('leaves the repository');
        continue;
      }
      if (!existsSync(resolved)) {
        report('no such file or folder');
        continue;
      }
    }
    if (anchor !== null && resolved.endsWith('.md')) {
      const headings = anchorsOf(pathPart ? readFileSync(resolved, 'utf8') : markdown);
      if (!headings.has(anchor)) report(`no heading for #${anchor}`);
    }
  }
  return problems;
}

function lineCount(text: string): number {
  const lines = text.split('\n');
  return text.endsWith('\n') ? lines.length - 1 : lines.length;
}

describe('documentation links', () => {
  const files = documents();

  test('the documents are where the README says', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'docs/design.md', 'sandbox/README.md']));
    for (const file of files) expect(existsSync(path.join(root, file))).toBe(true);
  });

  test.each(files)('%s: every relative link and image resolves inside the repository', (file) => {
    const markdown = readFileSync(path.join(root, file), 'utf8');
    expect(checkLinks(file, markdown)).toEqual([]);
  });

  test.each(files)('%s: no reference to a design file outside the repository', (file) => {
    const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
    const hits = lines
      .map((text, i) => ({ line: i + 1, text }))
      .filter(({ text }) => /ARCHITECTURE\.md|\.\.\/shared\b/i.test(text));
    expect(hits).toEqual([]);
  });

  test(`README.md has at most ${README_MAX_LINES} lines`, () => {
    expect(lineCount(readFileSync(path.join(root, 'README.md'), 'utf8'))).toBeLessThanOrEqual(README_MAX_LINES);
  });

  test('the check has teeth: broken, escaping and anchorless links are reported; code is not read', () => {
    const markdown = [
      '# A page',
      '## Its second heading (with `code`)',
      '[fine](docs/design.md#admission) [fine too](#its-second-heading-with-code) [folder](config/)',
      '![missing image](docs/no-such-picture.png)',
      '[escapes](../shared/design.md)',
      '[no heading](docs/design.md#no-such-heading) [no local heading](#nowhere)',
      '[external](https://learn.microsoft.com/) `[in a code span](nowhere.md)`',
      '```',
      '[in a fence](nowhere.md)',
      '```',
      '[ref]: docs/missing.md',
    ].join('\n');
    expect(checkLinks('README.md', markdown).map(({ line, problem }) => ({ line, problem }))).toEqual([
      { line: 4, problem: 'no such file or folder' },
      { line: 5, problem: 'leaves the repository' },
      { line: 6, problem: 'no heading for #no-such-heading' },
      { line: 6, problem: 'no heading for #nowhere' },
      { line: 11, problem: 'no such file or folder' },
    ]);
  });
});
