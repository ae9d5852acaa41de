// Package crime is the crime record schema and its I/O.
//
// Schema: the column names (ColID … ColDayTime, the seed's snake_case names),
// Columns (a raw crime table, in order), Kinds (the fixed kind of every known
// column) and Vocab (fixed dictionaries of season and day_time). Codes such
// as iucr, beat and district are categorical strings exactly as given
// ("0631", "006"); id, coordinates are numeric; arrest/domestic bool;
// date/updated_on table.Time (wall clock, no zone); case_number table.Text.
//
// Readers, all streaming, all returning a ReadResult{Table, Rejects}:
//
//	ReadPortalCSV   the data portal's CSV export (Title Case headers, by name)
//	ReadSODA        one page of the portal API's JSON (same table, same rows)
//	ReadCSV         the project's own CSV (snake_case; any extra columns)
//
// A record that cannot be read (field count, quoting, bad date, number or
// boolean) is never dropped silently: it is a Reject with its line and raw
// text, and WriteRejects writes them as CSV. Empty values are missing values,
// not errors.
//
// WriteCSV writes the project's CSV; ReadCSV(WriteCSV(t)) equals t exactly
// (floats round-trip bit for bit). ParseDate parses both portal date formats
// into a table.Time value. FormatRow renders one row for a Reject.
package crime
