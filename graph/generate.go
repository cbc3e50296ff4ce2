package graph

// The executor and models come from schema.graphqls (configured by the
// repository's gqlgen.yml); inlinelists then rewrites how the executor
// marshals lists (see graph/internal/inlinelists). `make generate` runs
// these through `go generate ./...`.
//go:generate go tool gqlgen generate
//go:generate go run ./internal/inlinelists generated.go
