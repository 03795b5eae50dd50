/**
 * Every reference to the repository's documentation resolves: `docs/<file>.md` (optionally with a
 * `#anchor`) anywhere in a Markdown or TypeScript file, and every relative Markdown link to a `.md`
 * file, must name an existing file and, when an anchor is given, a heading of that file (slugged as
 * GitHub does). Also: no reference to design notes that are not part of the repository.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SKIPPED_DIRECTORIES = new Set(["node_modules", "cdk.out", "coverage", "dist"]);

/** Repository files with one of `extensions`, skipping dependencies, build output and dot-directories. */
function repositoryFiles(extensions: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (directory: string): void => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      if (entry.name.startsWith(".") || SKIPPED_DIRECTORIES.has(entry.name)) continue;
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (extensions.some((extension) => entry.name.endsWith(extension))) files.push(path);
    }
  };
  walk(ROOT);
  return files.sort();
}

/**
 * GitHub's heading anchor: the rendered text lower-cased, every character that is not a letter, a
 * digit, a space, `-` or `_` removed, spaces turned into `-`; repeated headings get `-1`, `-2`, ….
 */
function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // links and images → their text
    .replace(/<[^>]+>/g, "") // inline HTML tags
    .replace(/`/g, "")
    .replace(/(\*\*|__)(.+?)\1/g, "$2")
    .replace(/(^|\W)[*_](.+?)[*_](?=\W|$)/g, "$1$2");
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors a Markdown file offers: its headings (outside code fences), GitHub-slugged, and explicit `id`/`name` anchors. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const line of markdown.split("\n")) {
    const fenceMatch = /^\s{0,3}(```+|~~~+)/.exec(line);
    if (fenceMatch) {
      const marker = fenceMatch[1] as string;
      if (fence === undefined) fence = marker;
      else if (marker.startsWith(fence)) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const slug = githubSlug(heading[1] as string);
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    for (const explicit of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(explicit[1] as string);
  }
  return anchors;
}

interface Reference {
  from: string;
  line: number;
  target: string; // absolute path
  anchor: string | undefined;
  text: string;
}

/** `docs/<file>.md(#anchor)?` in any file, resolved from the repository root. */
function docsReferences(file: string, content: string): Reference[] {
  const references: Reference[] = [];
  for (const [index, line] of content.split("\n").entries()) {
    for (const match of line.matchAll(/(?<![\w./-])docs\/([\w.-]+\.md)(?:#([\w-]+))?/g)) {
      references.push({
        from: file,
        line: index + 1,
        target: join(ROOT, "docs", match[1] as string),
        anchor: match[2],
        text: match[0],
      });
    }
  }
  return references;
}

/** Relative Markdown links to `.md` files (`[text](path.md#anchor)`, `](#anchor)`), resolved from the file. */
function markdownLinks(file: string, content: string): Reference[] {
  const references: Reference[] = [];
  let inFence = false;
  for (const [index, line] of content.split("\n").entries()) {
    if (/^\s{0,3}(```|~~~)/.test(line)) inFence = !inFence;
    if (inFence) continue;
    for (const match of line.matchAll(/\]\(([^)\s]*?)(?:#([^)\s]+))?\)/g)) {
      const path = match[1] as string;
      if (/^[a-z][a-z0-9+.-]*:/i.test(path)) continue; // http:, mailto:, …
      if (path !== "" && !path.endsWith(".md")) continue;
      references.push({
        from: file,
        line: index + 1,
        target: path === "" ? file : resolve(dirname(file), path),
        anchor: match[2],
        text: match[0],
      });
    }
  }
  return references;
}

function problemsOf(references: Reference[]): string[] {
  const anchorCache = new Map<string, Set<string>>();
  const problems: string[] = [];
  for (const reference of references) {
    const where = `${relative(ROOT, reference.from)}:${reference.line} ${reference.text}`;
    if (!existsSync(reference.target)) {
      problems.push(`${where}: ${relative(ROOT, reference.target)} does not exist`);
      continue;
    }
    if (reference.anchor === undefined) continue;
    let anchors = anchorCache.get(reference.target);
    if (anchors === undefined) {
      anchors = anchorsOf(readFileSync(reference.target, "utf8"));
      anchorCache.set(reference.target, anchors);
    }
    if (!anchors.has(reference.anchor)) {
      problems.push(`${where}: no heading "#${reference.anchor}" in ${relative(ROOT, reference.target)}`);
    }
  }
  return problems;
}

describe("documentation links", () => {
  it("slugs headings as GitHub does", () => {
    assert.equal(
      githubSlug('Stuck AWSPENDING ("A previous rotation isn\'t complete")'),
      "stuck-awspending-a-previous-rotation-isnt-complete",
    );
    assert.equal(githubSlug("`lambda/shared/secret-value.ts`"), "lambdasharedsecret-valuets");
    assert.equal(githubSlug("Reported tokens (`rejectedToken`)"), "reported-tokens-rejectedtoken");
    assert.equal(githubSlug("Alarms: what they mean and what to do"), "alarms-what-they-mean-and-what-to-do");
    assert.equal(githubSlug("See [the guide](deploy.md) now"), "see-the-guide-now");
    assert.equal(githubSlug("snake_case and **bold** and _emphasis_"), "snake_case-and-bold-and-emphasis");
    assert.deepEqual([...anchorsOf("# A\n## A\n```\n# not a heading\n```\n## A")], ["a", "a-1", "a-2"]);
  });

  it("every docs/<file>.md(#anchor) reference in *.md and *.ts names an existing file and heading", () => {
    const references = repositoryFiles([".md", ".ts"]).flatMap((file) =>
      docsReferences(file, readFileSync(file, "utf8")),
    );
    assert.ok(references.length > 20, `found only ${references.length} references: is the scan broken?`);
    assert.deepEqual(problemsOf(references), []);
  });

  it("every relative Markdown link to a .md file resolves, anchors included", () => {
    const references = repositoryFiles([".md"]).flatMap((file) =>
      markdownLinks(file, readFileSync(file, "utf8")),
    );
    assert.ok(references.length > 20, `found only ${references.length} links: is the scan broken?`);
    assert.deepEqual(problemsOf(references), []);
  });

  it("nothing refers to design notes that are not in the repository", () => {
    const pattern =
      /DESIGN( §|\.md)|STYLE\.md|shared\/research|DESIGN\sdocument|research(\/[\w-]+\.md)? §|genesys-cloud-facts\.md/;
    const offenders = repositoryFiles([".md", ".ts"]).flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .flatMap((line, index) => (pattern.test(line) ? [`${relative(ROOT, file)}:${index + 1}`] : [])),
    );
    assert.deepEqual(offenders, []);
  });
});
