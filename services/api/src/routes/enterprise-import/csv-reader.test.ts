import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../errors';
import { type CsvRecord, readCsv } from './csv-reader';

const layout = { required: ['a'], optional: ['b'], otherColumns: 'refuse' } as const;

async function readAll(text: string, l: Parameters<typeof readCsv>[1] = layout) {
  const records: CsvRecord[] = [];
  const result = await readCsv(Readable.from([text]), l, (r) => {
    records.push(r);
  });
  return { records, ...result };
}

describe('readCsv', () => {
  it('hands records on while the body is still arriving', async () => {
    const body = new PassThrough();
    const seen: string[] = [];
    let firstSeen!: () => void;
    const first = new Promise<void>((resolve) => (firstSeen = resolve));
    const done = readCsv(body, layout, (r) => {
      seen.push(r.cells.a);
      firstSeen();
    });
    // csv-parse hands a record on once it has read into the one after it.
    body.write('a,b\n1,x\n2,y\n3,');
    await first; // the end of the file has not been sent yet
    expect(seen[0]).toBe('1');
    body.end('z\n');
    expect(await done).toEqual({ stoppedAt: null });
    expect(seen).toEqual(['1', '2', '3']);
  });

  it('numbers records by their line, past a BOM, CRLF, blank lines and rows of empty cells', async () => {
    const { records } = await readAll('\uFEFFA, B \r\n 1 ,x\r\n\r\n,\r\n"multi\r\nline","two\r\nbreaks\r\n"\r\n3,"q""uote"\r\n4');
    expect(records.map((r) => [r.row, r.cells])).toEqual([
      [2, { a: '1', b: 'x' }],
      [8, { a: 'multi\r\nline', b: 'two\r\nbreaks\r\n' }], // lines 5 to 8
      [9, { a: '3', b: 'q"uote' }],
      [10, { a: '4', b: '' }],
    ]);
    expect(records[3].problems).toEqual([{ path: 'row', code: 'wrong_column_count' }]);
    // The same in a file with LF line ends.
    const lf = await readAll('a,b\n"x\ny",1\n2,3\n');
    expect(lf.records.map((r) => r.row)).toEqual([3, 4]);
  });

  it('flags a NUL character, which Postgres text cannot hold', async () => {
    const { records } = await readAll('a,b\nx\u0000y,z\n');
    expect(records[0].problems).toEqual([{ path: 'a', code: 'invalid_character' }]);
  });

  it('flags a line break or another control character inside a cell: no column is multi-line', async () => {
    const { records } = await readAll('a,b\n"x\r\ny",z\n"x\ny",z\nx\ty,z\nx,y\u0007\nx y,z\n');
    expect(records.map((r) => r.problems)).toEqual([
      [{ path: 'a', code: 'invalid_character' }],
      [{ path: 'a', code: 'invalid_character' }],
      [{ path: 'a', code: 'invalid_character' }],
      [{ path: 'b', code: 'invalid_character' }],
      [],
    ]);
  });

  it('stops at a malformed record, after handing on the ones before it', async () => {
    const { records, stoppedAt } = await readAll('a,b\n1,x\n2,"y"z\n3,w\n');
    expect(records.map((r) => r.cells.a)).toEqual(['1']);
    expect(stoppedAt).toBe(3);
  });

  it('refuses an empty file and a bad header before handing anything on', async () => {
    const problem = async (text: string, l: Parameters<typeof readCsv>[1] = layout) => {
      const err = await readAll(text, l).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      return (err as ApiError).fields;
    };
    expect(await problem('')).toEqual([{ path: 'body', code: 'empty_file' }]);
    expect(await problem('b\n1\n')).toEqual([{ path: 'a', code: 'missing_column' }]);
    expect(await problem('a,c\n1,2\n')).toEqual([{ path: 'c', code: 'unknown_column' }]);
    expect(await problem('"a"x,b\n')).toEqual([{ path: 'header', code: 'malformed_csv' }]);
    expect(await readAll('a,c\n1,2\n', { ...layout, otherColumns: 'ignore' })).toMatchObject({ records: [{ cells: { a: '1', c: '2' } }] });
  });
});
