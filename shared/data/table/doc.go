// Package table is the pipeline's in-memory table: named, typed columns of
// equal length, stored column by column.
//
// # Kinds and missing values
//
//	Numeric      []float64  NaN is missing
//	Categorical  []int32    codes into a dictionary []string; -1 (Missing) is missing
//	Bool         []int8     0 false, 1 true, -1 (Missing) missing
//	Time         []int64    wall-clock seconds (see below); NoTime is missing
//	Text         []string   "" is missing
//
// Text is for near-unique strings (case numbers) whose dictionary would be as
// big as the column and slow to build; anything with repeated values is
// Categorical.
//
// A Time value is the wall clock as written in the data (Chicago local time,
// no zone) counted in seconds from 1970-01-01T00:00:00 as if it were UTC.
// Wall(s) turns it into a time.Time in UTC whose fields are the wall clock,
// WallSeconds does the reverse. No time-zone arithmetic ever happens.
//
// Dictionaries are append-only and shared: Select, Filter and Keep reuse the
// dictionary slice, so a code means the same string in every table derived
// from another. Never modify a Dict (or any column slice) in place once the
// column is in a table; build a new Column and Set it instead. Concat merges
// dictionaries: the first table's dictionary is kept as is and new strings are
// appended in the order they are met. The empty string is never stored in a
// dictionary: builders turn it into a missing value.
//
// # Building
//
// NewNumeric, NewCategorical, NewBool, NewTime and NewText wrap slices into
// columns; CatBuilder builds a categorical column value by value (AddBytes
// does not allocate for strings already in the dictionary). New assembles
// columns into a table.
//
// # Using
//
//	t.Len(), t.Names(), t.Columns()
//	t.Col(name)              column or nil
//	t.Lookup(name, kind)     column, or an error naming what is wrong
//	t.Set(col)               add or replace a column (in place)
//	t.Drop(names...)         remove columns (in place)
//	t.Rename(old, new)       (in place; the column is copied, not shared)
//	t.Keep(names...)         new table with these columns in this order
//	t.Select(rows)           new table with these rows, every column gathered
//	t.Filter(keep)           Select of the rows where keep(i) is true
//	Concat(tables...)        rows of all tables, same schema, dictionaries merged
//	Equal(a, b)              nil, or the first difference (values, not codes)
//
// Tables are not safe for concurrent mutation; concurrent reads are fine.
package table
