//! CSV rows read so that one broken row costs only itself. A quote that opens a field and never
//! closes would make any CSV reader take every following line as part of that field, silently,
//! until the next quote character or the end of the file. Here a row is first gathered as whole
//! lines while its quotes are open; when its quote never closes, or the lines it gathered do not
//! make a row of the header's width, its first line is reported as bad and the lines after it are
//! read again as rows of their own.

use super::BadRow;
use crate::error::{AppError, Result};
use csv::StringRecord;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};

/// The most bytes one row may span: ten times what intake accepts in all of a request's texts.
/// A quoted field running past it is taken as a quote that never closes.
pub const MAX_ROW_BYTES: usize = 1 << 20;

/// Where a scan over a row's bytes stands with respect to quotes (RFC 4180: a quote opens a field
/// only at its start, and a doubled quote inside a quoted field is one quote character).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum QuoteState {
    /// At the start of a field: a quote here opens a quoted field.
    #[default]
    FieldStart,
    /// Inside a field that did not start with a quote: quotes are plain characters.
    Unquoted,
    /// Inside a quoted field: a line break belongs to the field.
    Quoted,
    /// Just after a quote inside a quoted field: another quote is an escaped quote, anything else
    /// closes the field.
    QuoteInQuoted,
}

impl QuoteState {
    /// The state after `bytes`.
    fn after(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self = match (self, b) {
                (QuoteState::FieldStart, b'"') => QuoteState::Quoted,
                (QuoteState::Quoted, b'"') => QuoteState::QuoteInQuoted,
                (QuoteState::Quoted, _) => QuoteState::Quoted,
                (QuoteState::QuoteInQuoted, b'"') => QuoteState::Quoted,
                (_, b',' | b'\n' | b'\r') => QuoteState::FieldStart,
                _ => QuoteState::Unquoted,
            };
        }
        self
    }

    /// Whether a quoted field is still open.
    fn is_open(self) -> bool {
        self == QuoteState::Quoted
    }
}

/// A source of CSV rows after its header, each a record or the reason it is bad.
pub struct CsvRows {
    input: Box<dyn BufRead>,
    /// Lines to read again (line number, bytes) before reading on.
    replay: VecDeque<(u64, Vec<u8>)>,
    /// Number of the next line `input` gives.
    next_line: u64,
    headers: StringRecord,
    fields: FieldParser,
}

impl CsvRows {
    /// Reads the header row of `input`.
    pub fn new(input: impl Read + 'static) -> Result<Self> {
        let mut rows = CsvRows {
            input: Box::new(BufReader::with_capacity(1 << 16, input)),
            replay: VecDeque::new(),
            next_line: 1,
            headers: StringRecord::new(),
            fields: FieldParser::default(),
        };
        let gathered = rows.gather()?.ok_or_else(|| AppError::Input("the file is empty: no header row".into()))?;
        if gathered.open {
            return Err(AppError::Input("the header row opens a quote that never closes".into()));
        }
        rows.headers = rows.fields.parse(&gathered.bytes).map_err(AppError::Input)?;
        Ok(rows)
    }

    /// The header row's fields.
    pub fn headers(&self) -> &StringRecord {
        &self.headers
    }

    /// Appends the next line, read again or read on, to `row`; its number, or `None` at the end.
    fn line(&mut self, row: &mut Vec<u8>) -> Result<Option<u64>> {
        if let Some((number, line)) = self.replay.pop_front() {
            row.extend_from_slice(&line);
            return Ok(Some(number));
        }
        if self.input.read_until(b'\n', row)? == 0 {
            return Ok(None);
        }
        self.next_line += 1;
        Ok(Some(self.next_line - 1))
    }

    /// The lines of the next row: one line, and more while a quoted field is open.
    fn gather(&mut self) -> Result<Option<Gathered>> {
        let mut bytes = Vec::new();
        let Some(start) = self.line(&mut bytes)? else { return Ok(None) };
        let mut state = QuoteState::default().after(&bytes);
        let mut line_starts = vec![0];
        while state.is_open() && bytes.len() <= MAX_ROW_BYTES {
            let from = bytes.len();
            if self.line(&mut bytes)?.is_none() {
                break;
            }
            state = state.after(&bytes[from..]);
            line_starts.push(from);
        }
        Ok(Some(Gathered { start, bytes, line_starts, open: state.is_open() }))
    }

    /// Puts back all but the first of a bad row's lines, to be read again as rows; how many.
    fn read_again(&mut self, row: Gathered) -> usize {
        let ends = row.line_starts.iter().skip(1).copied().chain([row.bytes.len()]);
        let lines: Vec<(u64, Vec<u8>)> = row.line_starts.iter().zip(ends).enumerate().skip(1)
            .map(|(offset, (&from, to))| (row.start + offset as u64, row.bytes[from..to].to_vec()))
            .collect();
        let again = lines.len();
        for line in lines.into_iter().rev() {
            self.replay.push_front(line);
        }
        again
    }

    /// The next row, or why it is bad.
    fn next_row(&mut self) -> Result<Option<std::result::Result<StringRecord, BadRow>>> {
        let Some(row) = self.gather()? else { return Ok(None) };
        let line = row.start;
        if row.open {
            let reason = if row.bytes.len() > MAX_ROW_BYTES {
                format!("a quote opened on this line is still open after {} KiB", MAX_ROW_BYTES / 1024)
            } else {
                "a quote opened on this line never closes".to_owned()
            };
            let again = self.read_again(row);
            return Ok(Some(Err(BadRow { line, reason: format!("{reason}; the {again} lines after it are read as rows of their own") })));
        }
        let mut record = match self.fields.parse(&row.bytes) {
            Ok(record) => record,
            Err(reason) => return Ok(Some(Err(BadRow { line, reason }))),
        };
        if record.len() != self.headers.len() {
            let mut reason = format!("{} fields where the header has {}", record.len(), self.headers.len());
            if row.line_starts.len() > 1 {
                let again = self.read_again(row);
                reason.push_str(&format!("; a quoted field runs over {again} more lines, which are read as rows of their own"));
            }
            return Ok(Some(Err(BadRow { line, reason })));
        }
        let mut position = csv::Position::new();
        position.set_line(line);
        record.set_position(Some(position));
        Ok(Some(Ok(record)))
    }
}

impl Iterator for CsvRows {
    /// A row, the reason a row is bad, or a failure to read the input at all.
    type Item = Result<std::result::Result<StringRecord, BadRow>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row().transpose()
    }
}

/// The lines one row was gathered from.
struct Gathered {
    /// Number of its first line.
    start: u64,
    /// Its lines, line breaks included.
    bytes: Vec<u8>,
    /// Where each line starts in `bytes`.
    line_starts: Vec<usize>,
    /// Whether a quote was still open at the end of the input or past [`MAX_ROW_BYTES`].
    open: bool,
}

/// Splits one whole row into fields, reusing its parser and buffers from row to row.
struct FieldParser {
    core: csv_core::Reader,
    output: Vec<u8>,
    ends: Vec<usize>,
}

impl Default for FieldParser {
    fn default() -> Self {
        FieldParser { core: csv_core::Reader::new(), output: Vec::new(), ends: Vec::new() }
    }
}

impl FieldParser {
    /// The fields of `row`, or why it is not text.
    fn parse(&mut self, row: &[u8]) -> std::result::Result<StringRecord, String> {
        self.core.reset();
        self.output.resize(self.output.len().max(row.len()), 0);
        self.ends.resize(self.ends.len().max(row.len() + 1), 0);
        let (result, _, written, fields) = self.core.read_record(row, &mut self.output, &mut self.ends);
        let (written, fields) = match result {
            csv_core::ReadRecordResult::Record => (written, fields),
            _ => {
                let (_, _, more, last) = self.core.read_record(&[], &mut self.output[written..], &mut self.ends[fields..]);
                (written + more, fields + last)
            }
        };
        let mut record = csv::ByteRecord::with_capacity(written, fields);
        let mut from = 0;
        for &end in &self.ends[..fields] {
            record.push_field(&self.output[from..end]);
            from = end;
        }
        StringRecord::from_byte_record(record).map_err(|e| format!("not UTF-8 text: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Vec<(u64, Vec<String>)>, Vec<BadRow>) {
        let rows = CsvRows::new(std::io::Cursor::new(text.as_bytes().to_vec())).expect("header");
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        for row in rows {
            match row.expect("readable") {
                Ok(record) => good.push((record.position().map_or(0, |p| p.line()), record.iter().map(str::to_owned).collect())),
                Err(b) => bad.push(b),
            }
        }
        (good, bad)
    }

    #[test]
    fn quoted_line_breaks_and_escaped_quotes_stay_in_their_field() {
        let (good, bad) = read("id,text,addr\n1,\"two\nlines, \"\"quoted\"\"\",a\n2,plain \"mid\" quote,b\r\n");
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(good, vec![
            (2, vec!["1".into(), "two\nlines, \"quoted\"".into(), "a".into()]),
            (4, vec!["2".into(), "plain \"mid\" quote".into(), "b".into()]),
        ]);
    }

    #[test]
    fn a_quote_that_never_closes_costs_only_its_own_line() {
        let (good, bad) = read("id,text,addr\n1,\"broken,a\n2,good,b\n3,good,c\n");
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, 2);
        assert!(bad[0].reason.contains("never closes"), "{}", bad[0].reason);
        assert_eq!(good.iter().map(|(line, f)| (*line, f[0].as_str())).collect::<Vec<_>>(), vec![(3, "2"), (4, "3")]);
    }

    #[test]
    fn a_quote_closed_by_a_later_row_does_not_swallow_the_rows_between() {
        let (good, bad) = read("id,text,addr\n1,\"broken,a\n2,good,b\n3,\"quoted, fine\",c\n4,last,d\n");
        assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), vec![2]);
        assert_eq!(good.iter().map(|(line, f)| (*line, f[0].as_str())).collect::<Vec<_>>(), vec![(3, "2"), (4, "3"), (5, "4")]);
    }

    #[test]
    fn a_row_of_the_wrong_width_is_named_with_its_line() {
        let (good, bad) = read("a,b\n1,2\n1,2,3\n");
        assert_eq!(good.len(), 1);
        assert_eq!(bad, vec![BadRow { line: 3, reason: "3 fields where the header has 2".into() }]);
    }

    #[test]
    fn a_header_with_an_open_quote_or_no_header_is_refused() {
        assert!(CsvRows::new(std::io::Cursor::new(b"\"a,b\n1,2\n".to_vec())).is_err());
        assert!(CsvRows::new(std::io::Cursor::new(Vec::new())).is_err());
    }
}
