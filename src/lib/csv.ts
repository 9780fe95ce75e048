/**
 * A small RFC 4180 CSV reader for the console's imports: comma-separated, fields optionally in
 * double quotes (a quote inside is doubled; a quoted field may span lines), CRLF or LF, a UTF-8
 * byte-order mark ignored, blank lines skipped. Each row keeps the line it starts on, so an error
 * can name it. No dependency is installed for this; the format is small enough to read here.
 */
export interface CsvRow {
  /** 1-based line of the file where the row starts. */
  line: number;
  cells: string[];
}

export class CsvSyntaxError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.line = line;
    this.name = 'CsvSyntaxError';
  }
}

export function parseCsv(text: string): CsvRow[] {
  const src = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const rows: CsvRow[] = [];
  let line = 1;
  let i = 0;
  while (i < src.length) {
    const start = line;
    const cells: string[] = [];
    let cell = '';
    let quotedAt = 0;
    for (;;) {
      if (i >= src.length) {
        cells.push(cell);
        break;
      }
      const ch = src[i]!;
      if (quotedAt) {
        if (ch === '"') {
          if (src[i + 1] === '"') {
            cell += '"';
            i += 2;
            continue;
          }
          quotedAt = 0;
          i++;
          const next = src[i];
          if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r')
            throw new CsvSyntaxError(
              line,
              'a closing quote must end the field (write "" for a quote inside)',
            );
          continue;
        }
        if (ch === '\n') line++;
        cell += ch;
        i++;
        continue;
      }
      if (ch === '"' && cell === '') {
        quotedAt = line;
        i++;
        continue;
      }
      if (ch === ',') {
        cells.push(cell);
        cell = '';
        i++;
        continue;
      }
      if (ch === '\r' || ch === '\n') {
        cells.push(cell);
        i += ch === '\r' && src[i + 1] === '\n' ? 2 : 1;
        line++;
        break;
      }
      cell += ch;
      i++;
    }
    if (quotedAt) throw new CsvSyntaxError(quotedAt, 'a quoted field is never closed');
    if (cells.length === 1 && cells[0]!.trim() === '') continue;
    rows.push({ line: start, cells });
  }
  return rows;
}

/** One field as CSV writes it: quoted when it holds a comma, quote or line break. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) || /^\s|\s$/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

export function toCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return `${[header, ...rows].map((r) => r.map(csvField).join(',')).join('\n')}\n`;
}

/** A problem in one line of an import, as the preview lists it. */
export interface LineError {
  line: number;
  message: string;
}

/**
 * Rows as records keyed by the header row (first row). The header must contain `required` and
 * may contain `optional`; a header naming any other column throws. A row with more cells than
 * the header is left out and reported in `errors`.
 */
export function csvRecords(
  rows: CsvRow[],
  columns: { required: readonly string[]; optional?: readonly string[] },
): { records: { line: number; get: (col: string) => string }[]; errors: LineError[] } {
  const head = rows[0];
  if (!head)
    throw new CsvSyntaxError(
      1,
      `the file is empty: the first line names the columns (${columns.required.join(',')})`,
    );
  const names = head.cells.map((c) => c.trim().toLowerCase());
  const known = new Set([...columns.required, ...(columns.optional ?? [])]);
  for (const n of names)
    if (!known.has(n))
      throw new CsvSyntaxError(head.line, `unknown column "${n}" (columns: ${[...known].join(', ')})`);
  for (const r of columns.required)
    if (!names.includes(r)) throw new CsvSyntaxError(head.line, `the column "${r}" is missing`);
  const errors: LineError[] = [];
  const records = [];
  for (const r of rows.slice(1)) {
    if (r.cells.length > names.length) {
      errors.push({
        line: r.line,
        message: `${r.cells.length} cells, but the header names ${names.length} columns`,
      });
      continue;
    }
    records.push({
      line: r.line,
      get: (col: string) => {
        const at = names.indexOf(col);
        return at < 0 ? '' : (r.cells[at] ?? '').trim();
      },
    });
  }
  return { records, errors };
}

/** A cell holding a list: items separated by `|`, blanks dropped. */
export function csvList(cell: string): string[] {
  return cell
    .split('|')
    .map((s) => s.trim())
    .filter(Boolean);
}
