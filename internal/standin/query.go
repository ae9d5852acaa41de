package standin

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// DefaultLimit is the portal's $limit when none is given.
const DefaultLimit = 1000

// queryError is a 400 answer with the portal's error code.
type queryError struct {
	code string
	msg  string
}

func (e *queryError) Error() string { return e.msg }

func malformed(format string, args ...any) error {
	return &queryError{code: "query.compiler.malformed", msg: fmt.Sprintf(format, args...)}
}

// query is a parsed request against one dataset.
type query struct {
	conds  []cond
	byDate bool
	desc   bool
	limit  int
	offset int
}

// parseQuery reads the SODA parameters the stand-in supports and rejects
// every other one, so a client relying on something unsupported finds out.
func parseQuery(d *dataset, vals url.Values) (query, error) {
	q := query{limit: DefaultLimit}
	for name, vs := range vals {
		if len(vs) != 1 {
			return q, malformed("parameter %s given %d times", name, len(vs))
		}
		v := vs[0]
		var err error
		switch name {
		case "$where":
			if !d.hasDate {
				return q, &queryError{code: "query.soql.no-such-column",
					msg: fmt.Sprintf("dataset %s: the stand-in supports $where on date only, and this dataset has no date column", d.id)}
			}
			q.conds, err = parseWhere(v)
		case "$order":
			q.byDate, q.desc, err = parseOrder(d, v)
		case "$limit":
			q.limit, err = nonNegative(name, v)
		case "$offset":
			q.offset, err = nonNegative(name, v)
		case "$$app_token":
		default:
			err = malformed("parameter %q is not supported by the stand-in (supported: $where, $order, $limit, $offset, $$app_token)", name)
		}
		if err != nil {
			return q, err
		}
	}
	return q, nil
}

func nonNegative(name, v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, malformed("%s must be a non-negative integer, got %q", name, v)
	}
	return n, nil
}

func parseOrder(d *dataset, v string) (byDate, desc bool, err error) {
	f := strings.Fields(v)
	if len(f) == 2 {
		switch strings.ToUpper(f[1]) {
		case "ASC":
		case "DESC":
			desc = true
		default:
			return false, false, malformed("could not parse $order %q", v)
		}
		f = f[:1]
	}
	if len(f) != 1 {
		return false, false, malformed("the stand-in supports $order on one column (:id or date), got %q", v)
	}
	switch f[0] {
	case ":id":
		return false, desc, nil
	case "date":
		if d.hasDate {
			return true, desc, nil
		}
	}
	return false, false, malformed("the stand-in supports $order=:id or $order=date, got %q", v)
}

// cond is one comparison "date <op> literal"; ms is the literal's floating
// wall clock in milliseconds.
type cond struct {
	op string // ">=", ">", "<", "<="
	ms int64
}

// parseWhere accepts a conjunction of date comparisons, the forms the client
// sends and the usual spellings of a date range:
//
//	date >= 'T' AND date < 'T'   date > 'T'   date <= 'T'
//	date between 'T' and 'T'     (date >= 'T') AND (date < 'T')
//
// Keywords are case-insensitive; literals are floating timestamps
// (2017-01-01, 2017-01-01T00:00:00, 2017-01-01T00:00:00.000).
func parseWhere(s string) ([]cond, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{src: s, toks: toks}
	if len(toks) == 0 {
		return nil, malformed("empty $where")
	}
	conds, err := p.conj()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, p.fail("unexpected %q", p.toks[p.i].text)
	}
	return conds, nil
}

type tokKind uint8

const (
	tIdent tokKind = iota
	tString
	tNumber
	tOp
	tLParen
	tRParen
)

type token struct {
	kind tokKind
	text string // for tString the unquoted value
	pos  int
}

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, malformed("Could not parse SoQL query %q: unterminated string at character %d", s, i+1)
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' { // '' is a quote inside a string
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, token{tString, b.String(), i})
			i = j + 1
		case c == '(':
			toks = append(toks, token{tLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")", i})
			i++
		case strings.IndexByte("<>=!", c) >= 0:
			j := i + 1
			if j < len(s) && (s[j] == '=' || c == '<' && s[j] == '>') {
				j++
			}
			toks = append(toks, token{tOp, s[i:j], i})
			i = j
		case c >= '0' && c <= '9' || c == '-' || c == '.':
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			toks = append(toks, token{tNumber, s[i:j], i})
			i = j
		case c == '_' || c == ':' || c == '@' || c|0x20 >= 'a' && c|0x20 <= 'z':
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] == ':' || s[j] == '@' ||
				s[j] >= '0' && s[j] <= '9' || s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z') {
				j++
			}
			toks = append(toks, token{tIdent, s[i:j], i})
			i = j
		case c == '`':
			j := strings.IndexByte(s[i+1:], '`')
			if j < 0 {
				return nil, malformed("Could not parse SoQL query %q: unterminated `identifier` at character %d", s, i+1)
			}
			toks = append(toks, token{tIdent, s[i+1 : i+1+j], i})
			i += j + 2
		default:
			return nil, malformed("Could not parse SoQL query %q: unexpected character %q at character %d", s, c, i+1)
		}
	}
	return toks, nil
}

type parser struct {
	src  string
	toks []token
	i    int
}

func (p *parser) fail(format string, args ...any) error {
	at := len(p.src)
	if p.i < len(p.toks) {
		at = p.toks[p.i].pos
	}
	return malformed("Could not parse SoQL query %q at character %d: %s", p.src, at+1, fmt.Sprintf(format, args...))
}

func (p *parser) peek() (token, bool) {
	if p.i < len(p.toks) {
		return p.toks[p.i], true
	}
	return token{}, false
}

func (p *parser) keyword(kw string) bool {
	t, ok := p.peek()
	if ok && t.kind == tIdent && strings.EqualFold(t.text, kw) {
		p.i++
		return true
	}
	return false
}

// conj := term { AND term }
func (p *parser) conj() ([]cond, error) {
	var out []cond
	for {
		c, err := p.term()
		if err != nil {
			return nil, err
		}
		out = append(out, c...)
		if p.keyword("and") {
			continue
		}
		if t, ok := p.peek(); ok && t.kind == tIdent && strings.EqualFold(t.text, "or") {
			return nil, p.fail("OR is not supported by the stand-in (only AND of date comparisons)")
		}
		return out, nil
	}
}

// term := '(' conj ')' | date op literal | date BETWEEN literal AND literal
func (p *parser) term() ([]cond, error) {
	t, ok := p.peek()
	if !ok {
		return nil, p.fail("expected a comparison, found the end of the query")
	}
	if t.kind == tLParen {
		p.i++
		c, err := p.conj()
		if err != nil {
			return nil, err
		}
		if t, ok := p.peek(); !ok || t.kind != tRParen {
			return nil, p.fail("expected )")
		}
		p.i++
		return c, nil
	}
	if t.kind != tIdent || strings.EqualFold(t.text, "and") || strings.EqualFold(t.text, "or") || strings.EqualFold(t.text, "not") {
		return nil, p.fail("expected a column, found %q", t.text)
	}
	if t.text != "date" {
		return nil, p.fail("the stand-in filters on column date only, not %q", t.text)
	}
	p.i++
	if p.keyword("between") {
		lo, err := p.literal()
		if err != nil {
			return nil, err
		}
		if !p.keyword("and") {
			return nil, p.fail("expected AND in BETWEEN")
		}
		hi, err := p.literal()
		if err != nil {
			return nil, err
		}
		return []cond{{">=", lo}, {"<=", hi}}, nil
	}
	op, ok := p.peek()
	if !ok || op.kind != tOp {
		return nil, p.fail("expected a comparison operator after date")
	}
	switch op.text {
	case ">=", ">", "<", "<=":
	default:
		return nil, p.fail("operator %s is not supported by the stand-in (>=, >, <, <=, BETWEEN)", op.text)
	}
	p.i++
	v, err := p.literal()
	if err != nil {
		return nil, err
	}
	return []cond{{op.text, v}}, nil
}

func (p *parser) literal() (int64, error) {
	t, ok := p.peek()
	if !ok {
		return 0, p.fail("expected a timestamp literal, found the end of the query")
	}
	if t.kind != tString {
		return 0, p.fail("type mismatch: date compares with a floating timestamp literal like '2017-01-01T00:00:00', not %s", t.text)
	}
	ts, err := parseLiteral(t.text)
	if err != nil {
		return 0, p.fail("%q is not a floating timestamp", t.text)
	}
	p.i++
	return ts, nil
}

// parseLiteral accepts the SoQL floating timestamp forms, without a zone.
func parseLiteral(s string) (int64, error) {
	if len(s) != 10 && (len(s) < 19 || s[10] != 'T') {
		return 0, fmt.Errorf("bad timestamp %q", s)
	}
	t, err := parseFloating(s)
	if err != nil {
		return 0, err
	}
	return t.UnixMilli(), nil
}

// span turns conditions into positions [lo, hi) of the date-sorted index.
func (d *dataset) span(conds []cond) (lo, hi int) {
	lo, hi = 0, d.n
	sd := d.sortedDates
	for _, c := range conds {
		switch c.op {
		case ">=":
			lo = max(lo, sort.Search(len(sd), func(k int) bool { return sd[k] >= c.ms }))
		case ">":
			lo = max(lo, sort.Search(len(sd), func(k int) bool { return sd[k] > c.ms }))
		case "<":
			hi = min(hi, sort.Search(len(sd), func(k int) bool { return sd[k] >= c.ms }))
		case "<=":
			hi = min(hi, sort.Search(len(sd), func(k int) bool { return sd[k] > c.ms }))
		}
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// selectRows returns the rows of a page, in order.
func (d *dataset) selectRows(q query) []int32 {
	lo, hi := 0, d.n
	if len(q.conds) > 0 {
		lo, hi = d.span(q.conds)
	}
	total := hi - lo
	if q.offset >= total || q.limit == 0 {
		return nil
	}
	count := min(q.limit, total-q.offset)
	out := make([]int32, count)
	// at maps the k-th row of the (ascending) ordered range to a row index.
	var at func(k int) int32
	switch {
	case q.byDate:
		at = func(k int) int32 { return d.byDate[lo+k] }
	case lo == 0 && hi == d.n:
		at = func(k int) int32 { return d.byID[k] }
	default:
		ranks := d.idRanks(lo, hi)
		at = func(k int) int32 { return d.byID[ranks[k]] }
	}
	for i := range out {
		k := q.offset + i
		if q.desc {
			k = total - 1 - k
		}
		out[i] = at(k)
	}
	return out
}

// idRanks returns the :id ranks of the rows in date positions [lo, hi),
// sorted; a few recent ranges are cached because paging asks for the same
// range once per page.
func (d *dataset) idRanks(lo, hi int) []int32 {
	d.cacheMu.Lock()
	defer d.cacheMu.Unlock()
	for i, c := range d.cache {
		if c.lo == lo && c.hi == hi {
			// Move to front.
			copy(d.cache[1:i+1], d.cache[:i])
			d.cache[0] = c
			return c.ranks
		}
	}
	ranks := make([]int32, hi-lo)
	for k := range ranks {
		ranks[k] = d.rank[d.byDate[lo+k]]
	}
	slices.Sort(ranks)
	const keep = 8
	d.cache = append([]rankCache{{lo, hi, ranks}}, d.cache...)
	if len(d.cache) > keep {
		d.cache = d.cache[:keep]
	}
	return ranks
}
