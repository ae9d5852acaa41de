package standin

import "unicode/utf8"

// humanAddress is the (always empty) human_address of a location, as the
// portal sends it: a JSON document inside a JSON string.
const humanAddress = `"human_address":"{\"address\": \"\", \"city\": \"\", \"state\": \"\", \"zip\": \"\"}"`

// appendJSON renders rows as the portal does: an array of flat objects, one
// per line, every value a string except booleans, empty values left out.
func (d *dataset) appendJSON(b []byte, rows []int32) []byte {
	b = append(b, '[')
	for i, r := range rows {
		if i > 0 {
			b = append(b, '\n', ',')
		}
		b = d.appendObject(b, int(r))
	}
	return append(b, ']', '\n')
}

func (d *dataset) appendObject(b []byte, row int) []byte {
	b = append(b, '{')
	first := true
	for i := range d.fields {
		f := &d.fields[i]
		v := d.val(row, f.slot)
		if v == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.key...)
		switch f.kind {
		case kBool:
			b = append(b, v...) // stored as exactly "true" or "false"
		case kLocation:
			b = append(b, `{"latitude":`...)
			b = appendString(b, v)
			b = append(b, `,"longitude":`...)
			b = appendString(b, d.val(row, f.slot+1))
			b = append(b, ',')
			b = append(b, humanAddress...)
			b = append(b, '}')
		default:
			b = appendString(b, v)
		}
	}
	return append(b, '}')
}

// appendCSV renders rows as the portal's .csv: a header of field names, then
// every non-empty value quoted; empty values are empty.
func (d *dataset) appendCSV(b []byte, rows []int32) []byte {
	for i := range d.fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCSVField(b, d.fields[i].name)
	}
	b = append(b, '\n')
	for _, r := range rows {
		for i := range d.fields {
			f := &d.fields[i]
			if i > 0 {
				b = append(b, ',')
			}
			v := d.val(int(r), f.slot)
			if v == "" {
				continue
			}
			if f.kind == kLocation {
				b = append(b, "\"("...)
				b = appendCSVText(b, v)
				b = append(b, ", "...)
				b = appendCSVText(b, d.val(int(r), f.slot+1))
				b = append(b, ")\""...)
				continue
			}
			b = appendCSVField(b, v)
		}
		b = append(b, '\n')
	}
	return b
}

func appendCSVField(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendCSVText(b, s)
	return append(b, '"')
}

func appendCSVText(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, s[start:i+1]...)
			b = append(b, '"')
			start = i + 1
		}
	}
	return append(b, s[start:]...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping like encoding/json minus
// its HTML escaping (the portal does not escape <, >, &). Invalid UTF-8
// becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' { // valid JSON, but break JavaScript
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
