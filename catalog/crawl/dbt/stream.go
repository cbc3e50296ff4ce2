package dbt

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// stream walks a JSON document one member at a time, so that a large
// artifact is never held in memory whole: only the member being decoded
// is. Errors name the file, the byte offset and the path of the member.
type stream struct {
	file string
	dec  *json.Decoder
	// warnings collects values of an unexpected type; the member is kept
	// with what could be decoded.
	warnings []string
}

func newStream(file string, r io.Reader) *stream {
	return &stream{file: file, dec: json.NewDecoder(bufio.NewReaderSize(r, 1<<16))}
}

// errorf reports a failure at the decoder's current offset.
func (s *stream) errorf(path string, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if path == "" {
		return fmt.Errorf("%s: at byte %d: %w", s.file, s.dec.InputOffset(), err)
	}
	return fmt.Errorf("%s: at byte %d in %s: %w", s.file, s.dec.InputOffset(), path, err)
}

func (s *stream) delim(path string, want json.Delim) error {
	tok, err := s.dec.Token()
	if err != nil {
		return s.errorf(path, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return s.errorf(path, fmt.Errorf("want %q, got %v", want, describe(tok)))
	}
	return nil
}

func describe(tok json.Token) string {
	switch t := tok.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", truncate(t, 40))
	case json.Delim:
		return fmt.Sprintf("%q", string(t))
	}
	return fmt.Sprintf("%v", tok)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// object calls member for each member of the object that comes next, with
// its key; member must consume the value (decode or skip). A null stands
// for an empty object.
func (s *stream) object(path string, member func(key string) error) error {
	tok, err := s.dec.Token()
	if err != nil {
		return s.errorf(path, err)
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return s.errorf(path, fmt.Errorf("want an object, got %s", describe(tok)))
	}
	for s.dec.More() {
		tok, err := s.dec.Token()
		if err != nil {
			return s.errorf(path, err)
		}
		key, ok := tok.(string)
		if !ok {
			return s.errorf(path, fmt.Errorf("want a key, got %s", describe(tok)))
		}
		if err := member(key); err != nil {
			return err
		}
	}
	return s.delim(path, '}')
}

// array calls elem for each element of the array that comes next. A null
// stands for an empty array.
func (s *stream) array(path string, elem func(i int) error) error {
	tok, err := s.dec.Token()
	if err != nil {
		return s.errorf(path, err)
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return s.errorf(path, fmt.Errorf("want an array, got %s", describe(tok)))
	}
	for i := 0; s.dec.More(); i++ {
		if err := elem(i); err != nil {
			return err
		}
	}
	return s.delim(path, ']')
}

// decode decodes the next value into v. A value of the wrong type inside
// it is a warning, not an error: the rest of v is decoded.
func (s *stream) decode(path string, v any) error {
	err := s.dec.Decode(v)
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		s.warnings = append(s.warnings, fmt.Sprintf("%s: %s: field %s: want %s, got %s", s.file, path, typeErr.Field, typeErr.Type, typeErr.Value))
		return nil
	}
	if err != nil {
		return s.errorf(path, err)
	}
	return nil
}

// skip consumes the next value. Objects and arrays are walked one member
// at a time rather than buffered whole (a manifest's macros can be most of
// it).
func (s *stream) skip(path string) error {
	_, _, err := s.skipCounting(path)
	return err
}

// skipCounting is skip, returning how many members or elements the value
// has (0 for a scalar) and the key of an object's first member.
func (s *stream) skipCounting(path string) (n int, first string, err error) {
	if !s.dec.More() {
		return 0, "", s.errorf(path, errors.New("missing value"))
	}
	var raw json.RawMessage
	tok, err := s.dec.Token()
	if err != nil {
		return 0, "", s.errorf(path, err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return 0, "", nil // a scalar, consumed
	}
	end := json.Delim('}')
	if d == '[' {
		end = ']'
	} else if d != '{' {
		return 0, "", s.errorf(path, fmt.Errorf("unexpected %q", string(d)))
	}
	for ; s.dec.More(); n++ {
		if d == '{' {
			key, err := s.dec.Token()
			if err != nil {
				return n, first, s.errorf(path, err)
			}
			if n == 0 {
				first, _ = key.(string)
			}
		}
		if err := s.dec.Decode(&raw); err != nil {
			return n, first, s.errorf(path, err)
		}
	}
	return n, first, s.delim(path, end)
}

// end checks that nothing but white space follows the document.
func (s *stream) end() error {
	if _, err := s.dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("data after the end of the document")
		}
		return s.errorf("", err)
	}
	return nil
}

// stringList is a list of strings that the artifacts sometimes write as a
// single string (config.tags, meta.owner).
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = nil
		if one != "" {
			*l = stringList{one}
		}
		return nil
	}
	var many []any
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = nil
	for _, v := range many {
		if s, ok := v.(string); ok && strings.TrimSpace(s) != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// text is a string that the artifacts' schemas also allow as a number:
// dbt 0.19 wrote a test's number of failing rows as its result's message
// (run_results v1 has no failures), and sources.json allows an integer
// error.
type text struct {
	s string
	// number is the value when it was written as an integer.
	number *int64
}

func (t *text) UnmarshalJSON(b []byte) error {
	*t = text{}
	err := json.Unmarshal(b, &t.s)
	if err == nil {
		return nil
	}
	var f float64
	if json.Unmarshal(b, &f) != nil {
		return err // an object, array or boolean: want string
	}
	t.s = string(bytes.TrimSpace(b))
	if n, err := strconv.ParseInt(t.s, 10, 64); err == nil {
		t.number = &n
	}
	return nil
}

// orderedColumns keeps the columns of a node in the order the manifest
// lists them, which a map would lose.
type orderedColumns []manifestColumn

func (c *orderedColumns) UnmarshalJSON(b []byte) error {
	s := &stream{file: "columns", dec: json.NewDecoder(bytes.NewReader(b))}
	*c = nil
	return s.object("", func(key string) error {
		var col manifestColumn
		if err := s.dec.Decode(&col); err != nil {
			var typeErr *json.UnmarshalTypeError
			if !errors.As(err, &typeErr) {
				return err
			}
		}
		if col.Name == "" {
			col.Name = key
		}
		*c = append(*c, col)
		return nil
	})
}

// looseString is a string that the artifacts sometimes write as a number
// or a boolean (a measure's expr: 1); null is "".
type looseString string

func (l *looseString) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*l = ""
	case string:
		*l = looseString(v)
	case float64, bool:
		*l = looseString(strings.TrimSpace(string(b)))
	case map[string]any:
		return &json.UnmarshalTypeError{Value: "object", Type: reflect.TypeFor[string]()}
	default:
		return &json.UnmarshalTypeError{Value: "array", Type: reflect.TypeFor[string]()}
	}
	return nil
}
