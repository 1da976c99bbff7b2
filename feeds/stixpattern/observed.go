package stixpattern

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// ObservedData is one STIX observed-data object reduced to what pattern
// evaluation needs: its time window, how many times it was observed, and
// its cyber-observable objects as generic JSON values (decoded with
// json.Number for numbers).
//
// An ObservedData is read-only during Match; several goroutines may
// evaluate patterns against the same values concurrently.
type ObservedData struct {
	ID             string
	FirstObserved  time.Time
	LastObserved   time.Time
	NumberObserved int64
	// Objects are the observation's objects keyed by the identifier that
	// _ref properties use: the "objects" dictionary keys ("0", "1", ...)
	// for STIX 2.0, the SCO ids of object_refs for STIX 2.1. References
	// resolve only among the objects of the same observation.
	Objects map[string]map[string]any
	// Keys lists the keys of Objects in a stable order (input order for
	// 2.1, sorted for 2.0). When nil, Match sorts the keys itself.
	Keys []string
}

// maxObservedBytes bounds the input ParseObservedBundle accepts.
const maxObservedBytes = 256 << 20

// ParseObservedBundle decodes observed-data for Match. The input may be a
// STIX bundle, a single observed-data object, or a JSON array mixing
// bundles, observed-data and SCOs. version selects how observed-data
// names its objects: "2.0" (embedded "objects" dictionary), "2.1"
// ("object_refs" to SCOs in the same input; an embedded "objects"
// dictionary is used when object_refs is absent), or "" to decide per
// observed-data (object_refs when present, else objects).
//
// Errors name the observed-data (id or position) and the property.
func ParseObservedBundle(data []byte, version string) ([]*ObservedData, error) {
	switch version {
	case "", "2.0", "2.1":
	default:
		return nil, fmt.Errorf("stixpattern: unknown STIX version %q (want 2.0, 2.1 or empty for auto)", version)
	}
	if len(data) > maxObservedBytes {
		return nil, fmt.Errorf("stixpattern: observed-data input of %d bytes is too large", len(data))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top any
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("stixpattern: observed-data: %w", err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("stixpattern: observed-data: trailing data after the JSON value")
	}
	c := collector{index: map[string]map[string]any{}}
	if err := c.walk(top, "input"); err != nil {
		return nil, err
	}
	out := make([]*ObservedData, 0, len(c.observed))
	for _, o := range c.observed {
		od, err := c.build(o.obj, o.where, version)
		if err != nil {
			return nil, err
		}
		out = append(out, od)
	}
	return out, nil
}

type located struct {
	obj   map[string]any
	where string
}

type collector struct {
	observed []located
	index    map[string]map[string]any // objects by id, for object_refs
}

func (c *collector) walk(v any, where string) error {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			if err := c.walk(e, where+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		typ, _ := x["type"].(string)
		switch typ {
		case "bundle":
			objs, ok := x["objects"].([]any)
			if !ok && x["objects"] != nil {
				return fmt.Errorf("stixpattern: %s: bundle objects is not a list", where)
			}
			for i, e := range objs {
				if err := c.walk(e, fmt.Sprintf("%s.objects[%d]", where, i)); err != nil {
					return err
				}
			}
			return nil
		case "observed-data":
			c.observed = append(c.observed, located{x, where})
		}
		if id, ok := x["id"].(string); ok {
			c.index[id] = x
		}
		return nil
	}
	return fmt.Errorf("stixpattern: %s: want a STIX object, bundle or list, got %s", where, jsonType(v))
}

func (c *collector) build(o map[string]any, where, version string) (*ObservedData, error) {
	od := &ObservedData{}
	if id, ok := o["id"].(string); ok {
		od.ID = id
		where = "observed-data " + id
	} else {
		where = "observed-data at " + where
	}
	var err error
	if od.FirstObserved, err = timeProp(o, "first_observed"); err != nil {
		return nil, fmt.Errorf("stixpattern: %s: %w", where, err)
	}
	if od.LastObserved, err = timeProp(o, "last_observed"); err != nil {
		return nil, fmt.Errorf("stixpattern: %s: %w", where, err)
	}
	if od.LastObserved.Before(od.FirstObserved) {
		return nil, fmt.Errorf("stixpattern: %s: last_observed %s is before first_observed %s", where,
			od.LastObserved.Format(time.RFC3339Nano), od.FirstObserved.Format(time.RFC3339Nano))
	}
	n, ok := o["number_observed"].(json.Number)
	if !ok {
		return nil, fmt.Errorf("stixpattern: %s: number_observed missing or not a number", where)
	}
	if od.NumberObserved, err = strconv.ParseInt(string(n), 10, 64); err != nil || od.NumberObserved < 1 {
		return nil, fmt.Errorf("stixpattern: %s: number_observed %s: want an integer >= 1", where, n)
	}
	refs, hasRefs := o["object_refs"]
	useRefs := hasRefs && version != "2.0"
	if version == "2.1" && !hasRefs && o["objects"] == nil {
		return nil, fmt.Errorf("stixpattern: %s: STIX 2.1 observed-data without object_refs", where)
	}
	od.Objects = map[string]map[string]any{}
	if useRefs {
		list, ok := refs.([]any)
		if !ok {
			return nil, fmt.Errorf("stixpattern: %s: object_refs is not a list", where)
		}
		for i, r := range list {
			id, ok := r.(string)
			if !ok {
				return nil, fmt.Errorf("stixpattern: %s: object_refs[%d] is not a string", where, i)
			}
			obj, ok := c.index[id]
			if !ok {
				return nil, fmt.Errorf("stixpattern: %s: object_refs[%d] %s not found in the input", where, i, id)
			}
			if _, dup := od.Objects[id]; !dup {
				od.Keys = append(od.Keys, id)
			}
			od.Objects[id] = obj
		}
		return od, nil
	}
	raw, ok := o["objects"]
	if !ok && hasRefs {
		return nil, fmt.Errorf("stixpattern: %s: STIX 2.0 observed-data without objects (it has object_refs, a STIX 2.1 observation: read it as 2.1 or auto)", where)
	}
	if !ok {
		return nil, fmt.Errorf("stixpattern: %s: neither objects nor object_refs", where)
	}
	objs, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("stixpattern: %s: objects is not a dictionary", where)
	}
	for k, v := range objs {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("stixpattern: %s: objects[%q] is not an object", where, k)
		}
		od.Objects[k] = m
		od.Keys = append(od.Keys, k)
	}
	sort.Strings(od.Keys)
	return od, nil
}

func timeProp(o map[string]any, name string) (time.Time, error) {
	s, ok := o[name].(string)
	if !ok {
		return time.Time{}, fmt.Errorf("%s missing or not a string", name)
	}
	t, err := parseTimestamp(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: %w", name, s, err)
	}
	return t, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	case []byte:
		return "binary"
	}
	return fmt.Sprintf("%T", v)
}
