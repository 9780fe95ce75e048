import { describe, expect, it } from 'vitest';
import { CsvSyntaxError, csvRecords, parseCsv, toCsv } from '../../src/lib/csv.ts';
import { jsonValueLines, parseUploadedJson } from '../../src/lib/json-lines.ts';

/** The console imports' CSV reader and JSON line finder: each problem must name the right line. */
describe('parseCsv', () => {
  it('reads quoted cells with commas, doubled quotes and line breaks, keeping the line each row starts on', () => {
    const rows = parseCsv('\uFEFFa,b\r\n"x, y","say ""hi"""\n\n"multi\nline",z\nlast,');
    expect(rows).toEqual([
      { line: 1, cells: ['a', 'b'] },
      { line: 2, cells: ['x, y', 'say "hi"'] },
      { line: 4, cells: ['multi\nline', 'z'] },
      { line: 6, cells: ['last', ''] },
    ]);
  });

  it('names the line of an unclosed quote and of text after a closing quote', () => {
    expect(() => parseCsv('a\n"open,b\nc')).toThrow(new CsvSyntaxError(2, 'a quoted field is never closed'));
    expect(() => parseCsv('a,b\n"x"y,1')).toThrow(/line 2: a closing quote/);
  });

  it('round-trips what toCsv writes', () => {
    const cells = [['k', 'with, comma', 'a "quote"', ' padded ', 'two\nlines']];
    expect(parseCsv(toCsv(['a', 'b', 'c', 'd', 'e'], cells))[1]!.cells).toEqual(cells[0]);
  });

  it('refuses unknown and missing columns by name; reports a row with too many cells and keeps the others', () => {
    expect(() => csvRecords(parseCsv('key,nope\n'), { required: ['key'] })).toThrow(/unknown column "nope"/);
    expect(() => csvRecords(parseCsv('name\n'), { required: ['key'], optional: ['name'] })).toThrow(
      /the column "key" is missing/,
    );
    const { records, errors } = csvRecords(parseCsv('key,name\na,A\nb,B,extra\n'), {
      required: ['key', 'name'],
    });
    expect(records.map((r) => [r.line, r.get('key')])).toEqual([[2, 'a']]);
    expect(errors).toEqual([{ line: 3, message: '3 cells, but the header names 2 columns' }]);
  });
});

describe('JSON lines', () => {
  it('finds the line of every value down to the given depth', () => {
    const text =
      '{\n  "accounts": [\n    {"id": "a"},\n    {\n      "id": "b",\n      "domains": ["x", "y"]\n    }\n  ]\n}';
    const lines = jsonValueLines(text);
    expect(lines.get('accounts')).toBe(2);
    expect(lines.get('accounts.0')).toBe(3);
    expect(lines.get('accounts.1')).toBe(4);
    expect(lines.get('accounts.1.domains.1')).toBe(6);
  });

  it('says on which line a syntax error is', () => {
    expect(parseUploadedJson('{\n "a": 1,\n "b": ]\n}')).toMatchObject({ ok: false, line: 3 });
  });
});

describe('JSON syntax errors', () => {
  it('names the line for errors JSON.parse gives no position for, and survives deep nesting', () => {
    expect(parseUploadedJson('[\n1,\n2,\n}')).toMatchObject({ ok: false, line: 4 });
    expect(parseUploadedJson(`${'['.repeat(100_000)}`)).toMatchObject({ ok: false });
  });
});

describe('JSON duplicate keys', () => {
  it('reports a key given twice in one object with its line (JSON.parse would keep the last silently)', () => {
    const twice: { path: string; line: number }[] = [];
    jsonValueLines('{\n "links": {\n  "a": "x",\n  "a": "y"\n },\n "b": {"a": 1}\n}', 6, twice);
    expect(twice).toEqual([{ path: 'links.a', line: 4 }]);
  });
});
