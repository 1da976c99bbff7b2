package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// The strict decoder. go.yaml.in/yaml/v3 with KnownFields reports unknown
// keys and type errors by line only ("field foo not found in type
// config.NATS"); operators need the dotted key. So the document is parsed
// into a yaml.Node tree and walked here alongside the Config struct, which
// gives every error its key path, its line and the offending value.

// defaulter is implemented by list element types that have defaults of
// their own (a new element of a YAML sequence starts from them).
type defaulter interface{ setDefaults() }

// keyAlias maps an alternative YAML key of struct type t to the canonical
// one: a feed's "collection: X" is accepted for "collections: [X]".
func keyAlias(t reflect.Type, key string) (string, bool) {
	if t == reflect.TypeFor[Feed]() && key == "collection" {
		return "collections", true
	}
	return "", false
}

var (
	durationType = reflect.TypeFor[time.Duration]() // read-only
	byteSizeType = reflect.TypeFor[ByteSize]()      // read-only
)

type decoder struct {
	errs   []error
	budget int // nodes left to visit: bounds alias expansion ("billion laughs")
}

// maxNodes bounds the nodes visited while decoding one document, aliases
// expanded; a configuration is a few hundred nodes.
const maxNodes = 100000

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path == "" {
		path = "(document)"
	}
	if n != nil && n.Line > 0 {
		d.errs = append(d.errs, fmt.Errorf("%s: %s (line %d)", path, msg, n.Line))
		return
	}
	d.errs = append(d.errs, fmt.Errorf("%s: %s", path, msg))
}

// decodeInto decodes a YAML document into out (a pointer to a struct
// already holding defaults). It returns every problem found, joined.
func decodeInto(data []byte, out any) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("invalid YAML: %w", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil // empty document: all defaults
	}
	d := &decoder{budget: maxNodes}
	d.value(doc.Content[0], reflect.ValueOf(out).Elem(), "")
	return errors.Join(d.errs...)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "an unsupported node"
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			d.errorf(n, path, "document too large or too many alias expansions (limit %d nodes)", maxNodes)
		}
		return
	}
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.errorf(n, path, "dangling alias")
			return
		}
		n = n.Alias
	}
	if v.Kind() == reflect.Struct && v.Type() != durationType {
		d.structValue(n, v, path)
		return
	}
	if isNull(n) {
		v.SetZero()
		return
	}
	switch {
	case v.Type() == durationType:
		d.duration(n, v, path)
		return
	case v.Type() == byteSizeType:
		d.byteSize(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "want a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "want true or false, got %s", describe(n))
			return
		}
		switch n.Value {
		case "true", "True", "TRUE":
			v.SetBool(true)
		case "false", "False", "FALSE":
			v.SetBool(false)
		default:
			d.errorf(n, path, "want true or false, got %q", n.Value)
		}
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
			d.errorf(n, path, "want an integer, got %s", describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil {
			d.errorf(n, path, "want a number, got %s", describe(n))
			return
		}
		v.SetFloat(f)
	case reflect.Slice:
		d.slice(n, v, path)
	case reflect.Map:
		d.mapValue(n, v, path)
	default:
		d.errorf(n, path, "internal: unsupported field type %s", v.Type())
	}
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "want a Go duration (e.g. \"30s\"), got %s", describe(n))
		return
	}
	if n.Tag == "!!int" && n.Value == "0" {
		v.SetInt(0)
		return
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil || n.Tag != "!!str" {
		d.errorf(n, path, "%q is not a Go duration (e.g. \"30s\", \"5m\", \"1h\")", n.Value)
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) byteSize(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "want a size (e.g. 1048576 or \"1MiB\"), got %s", describe(n))
		return
	}
	b, err := ParseByteSize(n.Value)
	if err != nil {
		d.errorf(n, path, "%v", err)
		return
	}
	v.SetInt(int64(b))
}

func (d *decoder) slice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "want a list, got %s", describe(n))
		return
	}
	if len(n.Content) == 0 {
		v.SetZero() // "[]" is the same as absent: a nil slice
		return
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		elem := out.Index(i)
		if df, ok := elem.Addr().Interface().(defaulter); ok {
			df.setDefaults()
		}
		d.value(c, elem, fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(out)
}

func (d *decoder) mapValue(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want a mapping, got %s", describe(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.errorf(n, path, "internal: map key type %s", v.Type().Key())
		return
	}
	if len(n.Content) == 0 {
		v.SetZero() // "{}" is the same as absent: a nil map
		return
	}
	out := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "want a string key, got %s", describe(k))
			continue
		}
		kp := join(path, k.Value)
		if line, dup := seen[k.Value]; dup {
			d.errorf(k, kp, "duplicate key (first at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(val, elem, kp)
		out.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), elem)
	}
	v.Set(out)
}

func (d *decoder) structValue(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return // "section:" with nothing: keep the defaults
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want a mapping, got %s", describe(n))
		return
	}
	t := v.Type()
	fields := map[string]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		fields[tag] = i
		names = append(names, tag)
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "want a key name, got %s", describe(k))
			continue
		}
		name := k.Value
		kp := join(path, name)
		canon := name
		if a, ok := keyAlias(t, name); ok {
			canon = a
		}
		fi, ok := fields[canon]
		if !ok {
			d.errorf(k, kp, "unknown key (known keys here: %s)", strings.Join(names, ", "))
			continue
		}
		if line, dup := seen[canon]; dup {
			d.errorf(k, kp, "duplicate key (first at line %d)", line)
			continue
		}
		seen[canon] = k.Line
		f := v.Field(fi)
		if canon != name && f.Kind() == reflect.Slice && val.Kind == yaml.ScalarNode && !isNull(val) {
			// "collection: X" -> collections: [X]
			f.Set(reflect.ValueOf([]string{val.Value}))
			continue
		}
		d.value(val, f, kp)
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
