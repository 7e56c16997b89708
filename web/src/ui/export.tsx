// Saving a table as the reader sees it: a CSV file (RFC 4180, UTF-8 with a byte-order mark so
// that spreadsheet programs read Cyrillic) of its header and rows, cell by cell.
import { RefObject } from 'preact';
import { useT } from '../i18n';

/** One cell as a CSV field: quoted when it holds a comma, a quote or a line break. A text a
 * spreadsheet would run as a formula (a citizen's "=HYPERLINK(…)") starts with an apostrophe;
 * signed numbers stay numbers. */
function field(text: string): string {
  const plain = text.replace(/\s+/g, ' ').trim();
  const clean = /^[=+\-@]/.test(plain) && !/^[-+]?\d[\d\s.,]*%?$/.test(plain) ? `'${plain}` : plain;
  return /[",\n]/.test(clean) ? `"${clean.replace(/"/g, '""')}"` : clean;
}

/** The rows of `table` (its own, not those of tables inside it) as CSV text. */
export function tableCsv(table: HTMLTableElement): string {
  const rows = [...table.rows].filter((row) => row.closest('table') === table);
  return rows.map((row) => [...row.cells].map((cell) => field(cell.textContent ?? '')).join(',')).join('\r\n');
}

/** A button that saves the table `table` points at as `name`.csv. */
export function CsvExport({ table, name }: { table: RefObject<HTMLTableElement | null>; name: string }) {
  const { t } = useT();
  const save = () => {
    if (!table.current) return;
    const blob = new Blob(['\ufeff', tableCsv(table.current), '\r\n'], { type: 'text/csv;charset=utf-8' });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `${name}.csv`;
    link.click();
    URL.revokeObjectURL(link.href);
  };
  return (
    <button type="button" class="small export" onClick={save}>
      {t('export_csv')}
    </button>
  );
}
