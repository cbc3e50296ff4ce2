package config

import (
	"testing"
)

// TestDeployExample loads the example configuration of a three-replica
// deployment (docs/deploy/almanac.yaml) with the secrets its environment
// file provides, so that the example stays a configuration serve accepts.
func TestDeployExample(t *testing.T) {
	env := map[string]string{
		"ALMANAC_DATABASE_URL":            "postgres://almanac:pw@catalog-db.internal:5432/almanac",
		"ALMANAC_AUTH_OIDC_CLIENT_SECRET": "s3cret",
		"WAREHOUSE_PASSWORD":              "pw",
	}
	cfg, err := LoadConfig("../../../docs/deploy/almanac.yaml", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Search.IndexDir != "/var/lib/almanac/index" || cfg.Auth.Mode != "oidc" || len(cfg.Sources) != 1 || cfg.Log.Format != "json" {
		t.Errorf("example configuration read as %+v", cfg)
	}
}
