import { xmlText } from './xml.js';

/**
 * A case report: one self-contained document an examiner files with the
 * evidence. The content is gathered by the caller (image hashes, filesystem
 * facts, subvolumes, check findings, recovered files, timeline) as plain
 * text cells; this module only lays it out, as Markdown or as one HTML page
 * with its style inline (no script, no external reference: it opens the
 * same anywhere, offline, years later).
 */
export type CaseBlock = { kind: 'fields'; rows: [string, string][] } | { kind: 'table'; head: string[]; rows: string[][]; title?: string } | { kind: 'text'; text: string };

export interface CaseSection {
  title: string;
  blocks: CaseBlock[];
}

export interface CaseReport {
  title: string;
  /** When the report was made (ISO 8601, UTC). */
  generated: string;
  /** Lines under the title: what made the report, from what. */
  preface: string[];
  sections: CaseSection[];
}

/**
 * Markdown cell text: characters that would start markup are escaped, a `|`
 * would end the cell and a line break the row. The cells already show the
 * image's bytes as text with control bytes escaped (displayPath); this only
 * keeps that text from being read as Markdown.
 */
export const markdownText = (s: string): string => s.replace(/[\\`*_[\]<>|#~]/g, (c) => `\\${c}`).replace(/\r?\n/g, '<br>');

export function caseReportMarkdown(r: CaseReport): string {
  const out: string[] = [`# ${markdownText(r.title)}`, '', `Generated ${markdownText(r.generated)}.`, ''];
  for (const p of r.preface) out.push(markdownText(p), '');
  for (const s of r.sections) {
    out.push(`## ${markdownText(s.title)}`, '');
    for (const b of s.blocks) {
      if (b.kind === 'text') out.push(markdownText(b.text), '');
      else if (b.kind === 'fields') out.push(...markdownTable(['field', 'value'], b.rows), '');
      else {
        if (b.title) out.push(`**${markdownText(b.title)}**`, '');
        out.push(...(b.rows.length ? markdownTable(b.head, b.rows) : ['(none)']), '');
      }
    }
  }
  return out.join('\n');
}

function markdownTable(head: string[], rows: string[][]): string[] {
  const line = (cells: string[]) => `| ${cells.map(markdownText).join(' | ')} |`;
  return [line(head), `|${head.map(() => '---').join('|')}|`, ...rows.map(line)];
}

const STYLE =
  'body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ccc}' +
  'table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}' +
  'th{background:#f2f2f2}td{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap}p.preface{color:#444;margin:.2em 0}';

export function caseReportHtml(r: CaseReport): string {
  const h = (s: string) => xmlText(s);
  const table = (head: string[], rows: string[][]) =>
    `<table><thead><tr>${head.map((c) => `<th>${h(c)}</th>`).join('')}</tr></thead><tbody>${rows.map((row) => `<tr>${row.map((c) => `<td>${h(c)}</td>`).join('')}</tr>`).join('\n')}</tbody></table>`;
  const out: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${h(r.title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${h(r.title)}</h1>`,
    `<p class="preface">Generated ${h(r.generated)}.</p>`,
    ...r.preface.map((p) => `<p class="preface">${h(p)}</p>`),
  ];
  for (const s of r.sections) {
    out.push(`<div class="section"><h2>${h(s.title)}</h2>`);
    for (const b of s.blocks) {
      if (b.kind === 'text') out.push(`<p>${h(b.text)}</p>`);
      else if (b.kind === 'fields') out.push(table(['field', 'value'], b.rows));
      else {
        if (b.title) out.push(`<h3>${h(b.title)}</h3>`);
        out.push(b.rows.length ? table(b.head, b.rows) : '<p>(none)</p>');
      }
    }
    out.push('</div>');
  }
  out.push('</body></html>', '');
  return out.join('\n');
}
