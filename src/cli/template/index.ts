/**
 * Go templates as docker's --format uses them.
 *
 *   const t = compile('{{.Name | lower}}');  t.execute({ Name: 'X' }) → "x"
 *   formatRows('table {{.Repository}}\t{{.ID}}', rows, { Repository: 'REPOSITORY', ID: 'IMAGE ID' })
 *     → the aligned table with docker's header row
 *
 * Errors carry docker's wording ("template parsing error: template: :1: ...").
 */
import { parseTemplate, TemplateError, type Node } from './parse';
import { BASIC_FUNCS, HEADER_FUNCS, Executor, type TemplateFunc } from './exec';
import { TabWriter } from '../format/tabwriter';

export { TemplateError } from './parse';
export { GO_TYPE, GO_JSON, goJSON, goString, marshalFields, type GoStruct } from './value';

export class Template {
  constructor(
    private readonly nodes: Node[],
    private readonly funcs: Record<string, TemplateFunc>,
  ) {}

  /**
   * Run against `data`; throws TemplateError (with .partial output so far) on failure.
   * `raw`: data is decoded daemon JSON (inspect), see Executor.
   */
  execute(data: unknown, funcs?: Record<string, TemplateFunc>, raw = false): string {
    return new Executor(funcs ?? this.funcs, raw).run(this.nodes, data);
  }
}

/** Parse a template with docker's functions (plus `extra`). Throws TemplateError. */
export function compile(src: string, extra: Record<string, TemplateFunc> = {}): Template {
  const funcs = { ...BASIC_FUNCS, ...extra };
  return new Template(parseTemplate(src, new Set(Object.keys(funcs))), funcs);
}

/** Docker's Format kinds. */
export function isTableFormat(f: string): boolean {
  return f.startsWith('table');
}

/** docker's Context.preFormat: strip "table", "json" → {{json .}}, trim spaces, \t and \n escapes. */
export function preFormat(format: string): string {
  let f = format;
  if (isTableFormat(f)) f = f.slice('table'.length);
  else if (f === 'json') f = '{{json .}}';
  f = f.replace(/^ +| +$/g, '');
  return f.replace(/\\t|\\n/g, (m) => (m === '\\t' ? '\t' : '\n'));
}

/** A parse or execution error as docker prints it. */
export class FormatError extends Error {}

function wrapError(e: unknown): never {
  if (e instanceof TemplateError) throw new FormatError(`template parsing error: ${e.message}`);
  throw e;
}

/**
 * docker's formatter.Context.Write: each row rendered and followed by a newline; for table
 * formats a header row rendered from `header` (field name → column title, e.g. ID → "IMAGE ID")
 * with the header functions, and the whole aligned by the tabwriter.
 */
export function formatRows(format: string, rows: readonly unknown[], header: Record<string, string>): string {
  let tmpl: Template;
  try {
    tmpl = compile(preFormat(format));
  } catch (e) {
    wrapError(e);
  }
  let body = '';
  for (const row of rows) {
    try {
      body += tmpl.execute(row) + '\n';
    } catch (e) {
      wrapError(e);
    }
  }
  if (!isTableFormat(format)) return body;
  let head: string;
  try {
    head = tmpl.execute(header, { ...HEADER_FUNCS });
  } catch (e) {
    head = (e as { partial?: string }).partial ?? '';
  }
  const tw = new TabWriter(10, 3);
  tw.write(head + '\n' + body);
  return tw.flush();
}

/** Render one value with a user template (inspect -f, version -f, info -f): output + "\n". */
export function formatOne(format: string, value: unknown): string {
  let tmpl: Template;
  try {
    tmpl = compile(format === 'json' ? '{{json .}}' : format);
  } catch (e) {
    wrapError(e);
  }
  try {
    return tmpl.execute(value, undefined, true) + '\n';
  } catch (e) {
    wrapError(e);
  }
}
