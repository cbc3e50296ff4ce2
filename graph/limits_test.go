package graph

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// TestCountTokens checks what the lexer-level counts see: named spreads
// but not inline fragments, directives wherever they are, comments as
// tokens that separate nothing, nesting of braces and brackets, and the
// first name that is too long.
func TestCountTokens(t *testing.T) {
	long := strings.Repeat("n", maxNameBytes+1)
	tests := []struct {
		doc  string
		want tokenCounts
	}{
		{"", tokenCounts{}},
		{"{ a }", tokenCounts{tokens: 3, nesting: 1}},
		{"{ ...F ... on Q { a } ... { b } ... @include(if: true) { c } }", tokenCounts{tokens: 25, directives: 1, spreads: 1, nesting: 2}},
		{"{ ... # comment\n F }", tokenCounts{tokens: 5, spreads: 1, nesting: 1}},
		{`query($v: [[Int]] = [[1]]) @a { f(x: {y: [{z: 1}]}) @b }`, tokenCounts{tokens: 39, directives: 2, nesting: 4}},
		{"{ a } } } { b }", tokenCounts{tokens: 8, nesting: 1}},
		{"{ " + long + " " + long + " }", tokenCounts{tokens: 4, nesting: 1, longName: struct{ Len, Line, Column int }{maxNameBytes + 1, 1, 3}}},
		{"{ a \"unterminated }", tokenCounts{tokens: 2, nesting: 1}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, countTokens(tt.doc), cmp.AllowUnexported(tokenCounts{})); diff != "" {
			t.Errorf("countTokens(%.60q) (-want +got):\n%s", tt.doc, diff)
		}
	}
}

// TestValidationWork checks what validating a document is counted to
// cost: each operation and fragment definition with every fragment it
// reaches, once each, whether spread once or many times.
func TestValidationWork(t *testing.T) {
	tests := []struct {
		doc  string
		want int
	}{
		// operation 1, field a 1
		{"{ a }", 2},
		// a field counts one more for every 16 bytes of its name
		{"{ " + strings.Repeat("a", 32) + " }", 4},
		// operation 1, f 1, argument 1, list 1, two items 2; directive 1,
		// its argument 1 and value 1
		{"{ f(x: [1, 2]) @include(if: true) }", 9},
		// operation 1 + spreads 2 + F (definition 1, b 1, c 1) once;
		// fragment F 3 again on its own
		{"{ ...F ...F } fragment F on Q { b c }", 6 + 3},
		// F reaches G: the operation walks both, F walks G, G itself
		{"{ ...F } fragment F on Q { ...G } fragment G on Q { c }", (2 + 2 + 2) + (2 + 2) + 2},
		// a cycle is walked once per walk
		{"{ ...F } fragment F on Q { ...F }", (2 + 2) + (2 + 2)},
		// a variable with a default value and a directive
		{"query($v: Int = 1 @d) { a }", 2 + 3},
		// an undefined spread costs its selection only
		{"{ ...X }", 2},
	}
	for _, tt := range tests {
		doc, err := parser.ParseQuery(&ast.Source{Input: tt.doc})
		if err != nil {
			t.Fatalf("%q: %v", tt.doc, err)
		}
		if got := validationWork(doc, 1<<30); got != tt.want {
			t.Errorf("validationWork(%q) = %d, want %d", tt.doc, got, tt.want)
		}
	}
	// Past the limit it stops counting: a chain of n fragments costs n²
	// to validate, but no more than the limit to count.
	var chain strings.Builder
	chain.WriteString("{ ...F0 }")
	for i := range 5000 {
		fmt.Fprintf(&chain, " fragment F%d on Q { ...F%d }", i, i+1)
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: chain.String()})
	if err != nil {
		t.Fatal(err)
	}
	if got := validationWork(doc, 1000); got <= 1000 || got > 1100 {
		t.Errorf("a chain of 5000 fragments counted to %d with a limit of 1000, want just above 1000", got)
	}
}

// FuzzCheckDocument feeds checkDocument any text: it never panics; its
// counts of directives and spreads agree with gqlparser's parse of the
// same text; and a document it lets through is validated with at most 21
// errors, within the limits it checked.
func FuzzCheckDocument(f *testing.F) {
	files, err := filepath.Glob("../docs/graphql/*.graphql")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed documents: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, s := range []string{
		"{ __typename @a @a @a }",
		"{ __typename ...F ...F ...F } fragment F on Query { __typename }",
		"{ ...F0 } fragment F0 on Query { ...F1 ...F1 } fragment F1 on Query { __typename }",
		"query($v: Int = 1 @skip(if: true)) @include(if: $v) { a: __typename(x: [[1], {y: $v}]) ... on Query @d { b } }",
		"{ ... # c\n F }",
		"{ d: dataset { a: name } d: dataset { a: description } }",
		`{ dataset(name: """x""" namespace: "\u00e9") { name } }`,
		"{ a { b { c { d } } } } { x } query q { y } mutation m { z }",
	} {
		f.Add(s)
	}
	schema := NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema()
	f.Fuzz(func(t *testing.T, query string) {
		refused := checkDocument(query)
		doc, err := parser.ParseQuery(&ast.Source{Input: query})
		if err != nil {
			return
		}
		c := countTokens(query)
		if d, s := astCounts(doc); d != c.directives || s != c.spreads {
			t.Fatalf("counted %d directives and %d spreads by tokens, %d and %d by the parse", c.directives, c.spreads, d, s)
		}
		if refused != nil {
			return
		}
		if c.tokens > maxDocumentTokens || c.directives > maxDocumentDirectives || c.spreads > maxDocumentSpreads ||
			c.nesting > maxDocumentNesting || c.longName.Len > 0 {
			t.Fatalf("let through a document over a limit: %+v", c)
		}
		if n := countFields(doc); n > maxDocumentFields {
			t.Fatalf("let through %d fields", n)
		}
		if w := validationWork(doc, maxValidationWork); w > maxValidationWork {
			t.Fatalf("let through a document costing %d", w)
		}
		if errs := validator.ValidateWithRules(schema, doc, validationRules()); len(errs) > maxErrors+1 {
			t.Fatalf("validation listed %d errors", len(errs))
		}
	})
}

// astCounts counts the directives and fragment spreads of a parsed
// document.
func astCounts(doc *ast.QueryDocument) (directives, spreads int) {
	var set func(ast.SelectionSet)
	set = func(s ast.SelectionSet) {
		for _, sel := range s {
			switch sel := sel.(type) {
			case *ast.Field:
				directives += len(sel.Directives)
				set(sel.SelectionSet)
			case *ast.InlineFragment:
				directives += len(sel.Directives)
				set(sel.SelectionSet)
			case *ast.FragmentSpread:
				directives += len(sel.Directives)
				spreads++
			}
		}
	}
	for _, op := range doc.Operations {
		directives += len(op.Directives)
		for _, v := range op.VariableDefinitions {
			directives += len(v.Directives)
		}
		set(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		directives += len(f.Directives)
		set(f.SelectionSet)
	}
	return directives, spreads
}
