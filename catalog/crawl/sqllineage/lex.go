package sqllineage

import (
	"strings"
	"unicode/utf8"
)

// This file splits SQL of a dialect into tokens, so that the normaliser
// (normalize.go) rewrites only code: never the inside of a string
// literal, a quoted identifier or a comment. Each token keeps where it
// starts in the SQL as written, so that a position PostgreSQL's parser
// reports in the normalised SQL maps back to the model's own text.

type tokKind uint8

const (
	tkWord   tokKind = iota + 1 // unquoted identifier or keyword
	tkQuoted                    // quoted identifier
	tkString                    // string literal
	tkNumber                    // number, or a positional parameter ($1)
	tkPunct                     // operator or punctuation
)

// token is one token of SQL. out is its text in PostgreSQL's syntax: a
// word as written, an identifier quoted with double quotes, a string
// literal in single quotes. Whitespace and comments are not tokens: sp
// says that some preceded the token.
type token struct {
	kind tokKind
	out  string
	// val is a word lower-cased, a quoted identifier's name, a string's
	// value.
	val string
	pos int  // byte offset in the SQL as written
	sp  bool // whitespace or a comment before it
	// star and groupAll mark what the rewrites leave for the extractor
	// (see normalized).
	star     *starRule
	groupAll bool
}

// is reports whether t is the word w (lower case).
func (t token) is(w string) bool { return t.kind == tkWord && t.val == w }

// isPunct reports whether t is the punctuation p.
func (t token) isPunct(p string) bool { return t.kind == tkPunct && t.out == p }

// isName reports whether t may be (part of) a name.
func (t token) isName() bool { return t.kind == tkWord || t.kind == tkQuoted }

// lexError is a string, quoted identifier or comment left open.
type lexError struct {
	pos  int
	what string
}

// multiPunct are the operators of more than one character the
// normaliser needs whole; any other operator character is a token of
// its own (they are written back side by side, as they were).
var multiPunct = []string{"::", ":=", "=>", "->>", "->", "<=>", "<=", ">=", "<>", "!=", "||"}

// lex splits sql into tokens as dialect d writes it.
func lex(sql string, d Dialect) ([]token, *lexError) {
	r := d.rules()
	toks := make([]token, 0, len(sql)/4)
	sp := false
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			sp = true
			continue
		case c == '-' && strings.HasPrefix(sql[i:], "--"), c == '#' && r.hashComments:
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
			sp = true
			continue
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			end := commentEnd(sql, i, r.nestedComments)
			if end < 0 {
				return nil, &lexError{i, "comment"}
			}
			i = end
			sp = true
			continue
		}
		t := token{pos: i, sp: sp}
		sp = false
		switch {
		case c == '\'' || (c == '"' && r.doubleQuotedStrings):
			end, val, ok := stringEnd(sql, i, r.backslashEscapes)
			if !ok {
				return nil, &lexError{i, "string literal"}
			}
			t.kind, t.val, t.out = tkString, val, pgString(val)
			if !r.backslashEscapes && !r.doubleQuotedStrings && c == '\'' {
				t.out = sql[i:end] // as written: PostgreSQL reads it the same
			}
			i = end
		case c == '"' || (c == '`' && r.backticks):
			end, name, ok := quotedEnd(sql, i)
			if !ok {
				return nil, &lexError{i, "quoted identifier"}
			}
			t.kind, t.val, t.out = tkQuoted, name, pgIdent(name)
			i = end
		case c == '$' && r.dollarStrings && dollarTag(sql[i:]) != "":
			tag := dollarTag(sql[i:])
			end := strings.Index(sql[i+len(tag):], tag)
			if end < 0 {
				return nil, &lexError{i, "dollar-quoted string"}
			}
			val := sql[i+len(tag) : i+len(tag)+end]
			i += len(tag) + end + len(tag)
			t.kind, t.val, t.out = tkString, val, pgString(val)
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(sql) && sql[i+1] >= '0' && sql[i+1] <= '9' || c == '$' && i+1 < len(sql) && sql[i+1] >= '0' && sql[i+1] <= '9':
			j := numberEnd(sql, i)
			t.kind, t.out = tkNumber, sql[i:j]
			i = j
		case isWordStart(sql, i):
			j := i
			for j < len(sql) && isWordPart(sql, j) {
				_, n := utf8.DecodeRuneInString(sql[j:])
				j += n
			}
			word := sql[i:j]
			// A string with a prefix: E'…', B'…', X'…', N'…' (PostgreSQL),
			// r'…', b'…', rb'…' (BigQuery, Spark).
			if j < len(sql) && (sql[j] == '\'' || sql[j] == '"' && r.doubleQuotedStrings) && stringPrefix(word, r) {
				end, val, ok := stringEnd(sql, j, r.backslashEscapes || strings.EqualFold(word, "e"))
				if !ok {
					return nil, &lexError{i, "string literal"}
				}
				t.kind, t.val, t.out = tkString, val, pgString(val)
				if !r.rawPrefixes { // PostgreSQL's own prefixes
					t.out = sql[i:end]
				}
				i = end
				break
			}
			t.kind, t.out, t.val = tkWord, word, strings.ToLower(word)
			i = j
		default:
			t.kind = tkPunct
			t.out = sql[i : i+1]
			for _, p := range multiPunct {
				if strings.HasPrefix(sql[i:], p) {
					t.out = p
					break
				}
			}
			if c >= utf8.RuneSelf { // a character PostgreSQL will reject: keep it whole
				_, n := utf8.DecodeRuneInString(sql[i:])
				t.out = sql[i : i+n]
			}
			i += len(t.out)
		}
		toks = append(toks, t)
	}
	return toks, nil
}

// commentEnd returns the offset after the block comment at i, or -1.
func commentEnd(sql string, i int, nested bool) int {
	depth := 0
	for j := i; j+1 < len(sql); j++ {
		switch {
		case sql[j] == '/' && sql[j+1] == '*':
			if depth == 0 || nested {
				depth++
			}
			j++
		case sql[j] == '*' && sql[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1
			}
		}
	}
	return -1
}

// stringEnd reads the string literal quoted at i: '…', "…", or tripled
// (”'…”', """…"""). A doubled quote is one quote; with backslash
// escapes, a backslash escapes the next character.
func stringEnd(sql string, i int, backslash bool) (end int, val string, ok bool) {
	q := sql[i]
	if strings.HasPrefix(sql[i:], strings.Repeat(string(q), 3)) && backslash {
		closing := strings.Repeat(string(q), 3)
		var b strings.Builder
		for j := i + 3; j < len(sql); j++ {
			switch {
			case sql[j] == '\\' && j+1 < len(sql):
				b.WriteByte(unescape(sql[j+1]))
				j++
			case strings.HasPrefix(sql[j:], closing):
				return j + 3, b.String(), true
			default:
				b.WriteByte(sql[j])
			}
		}
		return 0, "", false
	}
	var b strings.Builder
	for j := i + 1; j < len(sql); j++ {
		switch {
		case sql[j] == '\\' && backslash && j+1 < len(sql):
			b.WriteByte(unescape(sql[j+1]))
			j++
		case sql[j] == q && j+1 < len(sql) && sql[j+1] == q:
			b.WriteByte(q)
			j++
		case sql[j] == q:
			return j + 1, b.String(), true
		default:
			b.WriteByte(sql[j])
		}
	}
	return 0, "", false
}

// unescape is the character a backslash escape stands for, as far as a
// lineage cares: the quote or backslash itself, else the letter (\n is
// "n"; the value of a literal is never a column).
func unescape(c byte) byte { return c }

// quotedEnd reads the identifier quoted at i with " or `: a doubled
// quote is one quote.
func quotedEnd(sql string, i int) (end int, name string, ok bool) {
	q := sql[i]
	var b strings.Builder
	for j := i + 1; j < len(sql); j++ {
		switch {
		case sql[j] == q && j+1 < len(sql) && sql[j+1] == q:
			b.WriteByte(q)
			j++
		case sql[j] == '\\' && q == '`' && j+1 < len(sql) && sql[j+1] == '`':
			b.WriteByte(q) // BigQuery escapes a backtick with a backslash
			j++
		case sql[j] == q:
			return j + 1, b.String(), true
		default:
			b.WriteByte(sql[j])
		}
	}
	return 0, "", false
}

// dollarTag returns the opening $tag$ of a dollar-quoted string at the
// start of s, or "".
func dollarTag(s string) string {
	for j := 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '$':
			return s[:j+1]
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 1 && c >= '0' && c <= '9':
		default:
			return ""
		}
	}
	return ""
}

// numberEnd returns the offset after the number at i: digits with a
// fraction and an exponent, a hexadecimal number, or $n.
func numberEnd(sql string, i int) int {
	j := i + 1
	if sql[i] == '0' && j < len(sql) && (sql[j] == 'x' || sql[j] == 'X') {
		for j++; j < len(sql) && isHex(sql[j]); j++ {
		}
		return j
	}
	for ; j < len(sql); j++ {
		c := sql[j]
		switch {
		case c >= '0' && c <= '9', c == '_' && j+1 < len(sql) && sql[j+1] >= '0' && sql[j+1] <= '9':
		case c == '.' && sql[i] != '$' && !(j+1 < len(sql) && (sql[j+1] == '.' || isWordStart(sql, j+1))):
		case (c == 'e' || c == 'E') && sql[i] != '$' && j+1 < len(sql) && (sql[j+1] >= '0' && sql[j+1] <= '9' || (sql[j+1] == '-' || sql[j+1] == '+') && j+2 < len(sql) && sql[j+2] >= '0' && sql[j+2] <= '9'):
			j++
		default:
			return j
		}
	}
	return j
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isWordStart(sql string, i int) bool {
	c := sql[i]
	if c >= utf8.RuneSelf {
		r, _ := utf8.DecodeRuneInString(sql[i:])
		return r != utf8.RuneError && r != '\u00a0'
	}
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isWordPart(sql string, i int) bool {
	c := sql[i]
	return isWordStart(sql, i) || c >= '0' && c <= '9' || c == '$'
}

// stringPrefix reports whether word, written right before a quote, is
// the prefix of a string literal in dialect r.
func stringPrefix(word string, r *dialectRules) bool {
	switch strings.ToLower(word) {
	case "e", "b", "x", "n":
		return true
	case "r", "rb", "br":
		return r.rawPrefixes
	}
	return false
}

// pgString writes a string literal for PostgreSQL (standard conforming
// strings: a backslash is a backslash).
func pgString(val string) string {
	return "'" + strings.ReplaceAll(val, "'", "''") + "'"
}

// pgIdent writes a quoted identifier for PostgreSQL.
func pgIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
