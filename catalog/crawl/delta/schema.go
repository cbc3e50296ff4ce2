package delta

import (
	"encoding/json"
	"fmt"
	"strings"

	"almanac/catalog"
)

// field is a field of a Delta schema (the Spark StructType JSON). Type is
// a primitive name ("long", "decimal(10,2)") or a nested struct, array or
// map.
type field struct {
	Name     string          `json:"name"`
	Type     json.RawMessage `json:"type"`
	Nullable bool            `json:"nullable"`
	Metadata map[string]any  `json:"metadata"`
}

type complexType struct {
	Type         string          `json:"type"`
	Fields       []field         `json:"fields"`
	ElementType  json.RawMessage `json:"elementType"`
	KeyType      json.RawMessage `json:"keyType"`
	ValueType    json.RawMessage `json:"valueType"`
	ContainsNull bool            `json:"containsNull"`
}

// maxDepth bounds the nesting of a schema, against hostile logs.
const maxDepth = 64

// parseSchema flattens a table schema into columns: a struct column is
// listed with type "struct", followed by its fields as "parent.child".
// Arrays and maps keep their element types in the type text
// ("array<struct<a:int>>") and are not expanded. A field's "comment"
// metadata is its description; column mapping's physical names are not
// shown (the logical names are what people query).
func parseSchema(s string) ([]catalog.Column, error) {
	if s == "" {
		return nil, nil
	}
	var root complexType
	if err := json.Unmarshal([]byte(s), &root); err != nil {
		return nil, err
	}
	if root.Type != "struct" {
		return nil, fmt.Errorf("want a struct, got %q", root.Type)
	}
	var cols []catalog.Column
	var walk func(prefix string, fields []field, depth int) error
	walk = func(prefix string, fields []field, depth int) error {
		if depth > maxDepth {
			return fmt.Errorf("nested deeper than %d levels", maxDepth)
		}
		for _, f := range fields {
			name := prefix + f.Name
			typ, nested, err := typeText(f.Type, depth)
			if err != nil {
				return fmt.Errorf("field %s: %w", name, err)
			}
			c := catalog.Column{Name: name, Ordinal: len(cols) + 1, Type: typ, Nullable: f.Nullable}
			if comment, ok := f.Metadata["comment"].(string); ok {
				c.Description = comment
			}
			cols = append(cols, c)
			if nested != nil {
				cols[len(cols)-1].Type = "struct"
				if err := walk(name+".", nested, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := walk("", root.Fields, 0)
	return cols, err
}

// typeText renders a type; for a struct it also returns its fields.
func typeText(raw json.RawMessage, depth int) (string, []field, error) {
	if depth > maxDepth {
		return "", nil, fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	var prim string
	if json.Unmarshal(raw, &prim) == nil {
		return prim, nil, nil
	}
	var ct complexType
	if err := json.Unmarshal(raw, &ct); err != nil {
		return "", nil, fmt.Errorf("unreadable type %.40s", raw)
	}
	switch ct.Type {
	case "struct":
		parts := make([]string, 0, len(ct.Fields))
		for _, f := range ct.Fields {
			t, _, err := typeText(f.Type, depth+1)
			if err != nil {
				return "", nil, err
			}
			parts = append(parts, f.Name+":"+t)
		}
		return "struct<" + strings.Join(parts, ",") + ">", ct.Fields, nil
	case "array":
		t, _, err := typeText(ct.ElementType, depth+1)
		return "array<" + t + ">", nil, err
	case "map":
		k, _, err := typeText(ct.KeyType, depth+1)
		if err != nil {
			return "", nil, err
		}
		v, _, err := typeText(ct.ValueType, depth+1)
		return "map<" + k + "," + v + ">", nil, err
	}
	return "", nil, fmt.Errorf("unknown type %q", ct.Type)
}
