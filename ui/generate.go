package ui

// Each page's templ file compiles to its _templ.go twin. `make generate`
// runs this through `go generate ./...`.
//go:generate go tool templ generate -path .
