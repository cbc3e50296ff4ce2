// Command inlinelists rewrites gqlgen's generated executor so that a list
// whose selection resolves nothing concurrently is marshalled on the
// calling goroutine. `make generate` runs it after gqlgen.
//
// gqlgen marshals every list of objects with one goroutine per element
// (graphql.MarshalSliceConcurrently), which lets the dataloader calls of
// the elements' resolvers meet in one batch. For lists of plain values —
// a search's hits, facets and matched columns — that parallelism buys
// nothing and costs a goroutine, a wake-up and a wait per element: on two
// cores it was a quarter of what GraphQL added to a search (docs/
// performance.md). gqlgen has no switch for it (99designs/gqlgen#3202,
// #4321), so this step:
//
//   - records, from the generated code, which fields of which types gqlgen
//     resolves concurrently (it wraps them in ResolveConcurrently or
//     Concurrently), into generated_concurrency.go, and
//   - makes every list call the hand-written marshalSlice (graph/slice.go)
//     instead, which decides per selection: inline when nothing selected
//     under the list is one of those fields, gqlgen's way otherwise.
//
// It reads gqlgen's output by its shape, so it runs only after the gqlgen
// versions it was checked with (checkedWith) and fails loudly on any other:
// check the new output still has that shape, then add the version.
//
// Usage (graph/generate.go runs it): go run ./internal/inlinelists generated.go
package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	// Imported for its version in this binary's build information: the
	// gqlgen that go.mod names, and so the one that wrote the input.
	_ "github.com/99designs/gqlgen/graphql"
)

// checkedWith are the gqlgen versions whose generated executor this pass
// was checked against.
var checkedWith = []string{"v0.17.98"}

const (
	from = "graphql.MarshalSliceConcurrently(ctx, "
	to   = "marshalSlice(ctx, sel, "
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: inlinelists graph/generated.go")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "inlinelists:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	if err := checkGqlgen(); err != nil {
		return err
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	fields, err := concurrentFields(path, src)
	if err != nil {
		return err
	}
	if len(fields) == 0 {
		return fmt.Errorf("%s: found no concurrently resolved field: has gqlgen's generated code changed shape?", path)
	}
	n := bytes.Count(src, []byte(from))
	if n == 0 && !bytes.Contains(src, []byte(to)) {
		return fmt.Errorf("%s: no call %q to rewrite: has gqlgen's generated code changed shape?", path, strings.TrimSuffix(from, "ctx, "))
	}
	src = bytes.ReplaceAll(src, []byte(from), []byte(to))
	if err := os.WriteFile(path, src, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(filepath.Dir(path), "generated_concurrency.go"), table(fields), 0o644)
}

// checkGqlgen refuses to rewrite the output of a gqlgen version nobody
// has checked this pass against.
func checkGqlgen() error {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return fmt.Errorf("no build information: run it with go run from the module")
	}
	for _, m := range info.Deps {
		if m.Path != "github.com/99designs/gqlgen" {
			continue
		}
		if m.Replace != nil {
			m = m.Replace
		}
		if !slices.Contains(checkedWith, m.Version) {
			return fmt.Errorf("gqlgen is %s, but this pass was checked only with %s: "+
				"check that the generated executor still marshals lists with graphql.MarshalSliceConcurrently "+
				"and wraps concurrent fields in Concurrently/ResolveConcurrently, then add %s to checkedWith",
				m.Version, strings.Join(checkedWith, ", "), m.Version)
		}
		return nil
	}
	return fmt.Errorf("gqlgen not in the build information")
}

// concurrentFields returns "Type.field" for every field that the generated
// marshaller of Type resolves concurrently.
func concurrentFields(path string, src []byte) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, src, 0)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || fn.Body == nil || !strings.HasPrefix(fn.Name.Name, "_") {
			continue
		}
		typ, cases := typeSwitch(fn.Body)
		if typ == "" {
			continue
		}
		for _, c := range cases {
			for _, e := range c.List {
				lit, ok := e.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING || !callsConcurrently(c) {
					continue
				}
				name, err := strconv.Unquote(lit.Value)
				if err != nil {
					return nil, err
				}
				out = append(out, typ+"."+name)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// typeSwitch finds the `switch field.Name` of an object marshaller and the
// type it marshals (from its __typename case).
func typeSwitch(body *ast.BlockStmt) (string, []*ast.CaseClause) {
	var (
		typ   string
		cases []*ast.CaseClause
	)
	ast.Inspect(body, func(n ast.Node) bool {
		sw, ok := n.(*ast.SwitchStmt)
		if !ok {
			return true
		}
		if sel, ok := sw.Tag.(*ast.SelectorExpr); !ok || sel.Sel.Name != "Name" {
			return true
		}
		for _, s := range sw.Body.List {
			c := s.(*ast.CaseClause)
			cases = append(cases, c)
			if len(c.List) == 1 && isString(c.List[0], "__typename") {
				ast.Inspect(c, func(n ast.Node) bool {
					if call, ok := n.(*ast.CallExpr); ok && isCall(call, "MarshalString") && len(call.Args) == 1 {
						if lit, ok := call.Args[0].(*ast.BasicLit); ok {
							typ, _ = strconv.Unquote(lit.Value)
						}
					}
					return true
				})
			}
		}
		return false
	})
	return typ, cases
}

func callsConcurrently(c *ast.CaseClause) bool {
	found := false
	ast.Inspect(c, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok && (isCall(call, "Concurrently") || isCall(call, "ResolveConcurrently")) {
			found = true
		}
		return !found
	})
	return found
}

func isCall(call *ast.CallExpr, name string) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == name
}

func isString(e ast.Expr, s string) bool {
	lit, ok := e.(*ast.BasicLit)
	return ok && lit.Kind == token.STRING && lit.Value == strconv.Quote(s)
}

func table(fields []string) []byte {
	var b bytes.Buffer
	b.WriteString("// Code generated by graph/internal/inlinelists, DO NOT EDIT.\n\npackage graph\n\n")
	b.WriteString("// concurrentFields are the fields, as \"Type.field\", that gqlgen resolves\n// concurrently: a list whose selection includes one is marshalled with a\n// goroutine per element (see marshalSlice).\n")
	b.WriteString("var concurrentFields = map[string]bool{\n")
	for _, f := range fields {
		fmt.Fprintf(&b, "\t%q: true,\n", f)
	}
	b.WriteString("}\n")
	out, err := format.Source(b.Bytes())
	if err != nil {
		panic(err) // the table above is always valid Go
	}
	return out
}
