// Saving a table as the reader sees it, cell by cell: a CSV file (RFC 4180, UTF-8 with a
// byte-order mark so that spreadsheet programs read Cyrillic) or an Excel workbook (XLSX, by
// write-excel-file, loaded only when asked for), with the numbers as numbers.
import { RefObject } from 'preact';
import { Lang, useT } from '../i18n';

/** One cell as a CSV field: quoted when it holds a comma, a quote or a line break. A text a
 * spreadsheet would run as a formula (a citizen's "=HYPERLINK(…)") starts with an apostrophe;
 * signed numbers stay numbers. */
function field(text: string): string {
  const plain = text.replace(/\s+/g, ' ').trim();
  const clean = /^[=+\-@]/.test(plain) && !/^[-+]?\d[\d\s.,]*%?$/.test(plain) ? `'${plain}` : plain;
  return /[",\n]/.test(clean) ? `"${clean.replace(/"/g, '""')}"` : clean;
}

/** The rows of `table` (its own, not those of tables inside it) as lists of cell texts. */
function tableCells(table: HTMLTableElement): string[][] {
  const rows = [...table.rows].filter((row) => row.closest('table') === table);
  return rows.map((row) => [...row.cells].map((cell) => (cell.textContent ?? '').replace(/\s+/g, ' ').trim()));
}

/** The rows of `table` as CSV text. */
export function tableCsv(table: HTMLTableElement): string {
  return tableCells(table)
    .map((row) => row.map(field).join(','))
    .join('\r\n');
}

/** A cell's text as the number it writes in the page's language ("1 234,5" in Russian,
 * "1,234.5" in English), or null when it is not a plain number (a date, a share with %, a name). */
export function numberIn(text: string, lang: Lang): number | null {
  const digits = text.replace(/[\s\u00a0\u202f]/g, '');
  if (lang === 'ru') return /^-?\d+(,\d+)?$/.test(digits) ? Number(digits.replace(',', '.')) : null;
  return /^-?\d{1,3}(,\d{3})*(\.\d+)?$|^-?\d+(\.\d+)?$/.test(digits) ? Number(digits.replace(/,/g, '')) : null;
}

/** Saves `blob` as the file `name`. */
function save(blob: Blob, name: string): void {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  URL.revokeObjectURL(link.href);
}

/** Buttons that save the table `table` points at as `name`.csv and `name`.xlsx. */
export function TableExport({ table, name }: { table: RefObject<HTMLTableElement | null>; name: string }) {
  const { t, lang } = useT();
  const csv = () => {
    if (table.current) save(new Blob(['\ufeff', tableCsv(table.current), '\r\n'], { type: 'text/csv;charset=utf-8' }), `${name}.csv`);
  };
  const xlsx = async () => {
    if (!table.current) return;
    const [header, ...rows] = tableCells(table.current);
    const { default: writeExcelFile } = await import('write-excel-file/browser');
    const sheet = [
      (header ?? []).map((value) => ({ value, fontWeight: 'bold' as const })),
      ...rows.map((row) => row.map((text) => numberIn(text, lang) ?? text)),
    ];
    save(await writeExcelFile(sheet).toBlob(), `${name}.xlsx`);
  };
  return (
    <span class="export">
      <button type="button" class="small" onClick={csv}>
        {t('export_csv')}
      </button>
      <button type="button" class="small" onClick={xlsx}>
        {t('export_xlsx')}
      </button>
    </span>
  );
}
