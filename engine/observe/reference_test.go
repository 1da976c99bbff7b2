package observe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// A slow reference for the JSON walker and the ExtractValue mappings:
// decode with encoding/json into any, walk the tree building dotted paths,
// and normalise each mapped value with ioc.Normalize. Random documents
// (seeded) mix nested objects, dotted keys, arrays of objects, escapes,
// and values of every shape; the walker must give the same observables
// (as a multiset: encoding/json maps lose key order).

var refKeys = []string{"source", "destination", "client", "server", "ip", "domain", "port", "file", "hash", "md5",
	"sha256", "name", "user_agent", "original", "email", "from", "to", "address", "x", "meta", "tags", "a.b",
	"source.ip", "destination.domain", "file.hash", "hash.md5", "email.to", "to.address", "\u00e9t\u00e9",
	"Data", "Data", "@Name", "Name", "#text", "Value"}

var refValues = []string{"192.0.2.1", "::ffff:198.51.100.7", "2001:DB8::1", "fe80::1%eth0", "010.1.2.3", "256.1.1.1",
	"Malware-C2.Example.", "evil.test", "b\u00fccher.example", "a..b", "-", " ", "", "203.0.113.66",
	"44D88612FEA8A8F36DE82E1278ABB02F", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "deadbeef",
	"Phish@Malware-C2.example", "bob@[192.0.2.1]", "Mozilla/5.0 (X11)", "payload.exe", "0443", "443", "70000",
	"quote\"back\\slash/", "tab\tnew\nline", "\u0001ctl", "emoji \U0001F600"}

type refGen struct {
	r *rand.Rand
	b bytes.Buffer
}

func (g *refGen) str(s string) {
	// Encode with random escaping: \/ and \u00XX forms where legal.
	g.b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			g.b.WriteByte('\\')
			g.b.WriteRune(c)
		case c < 0x20:
			fmt.Fprintf(&g.b, "\\u%04x", c)
		case c == '/' && g.r.IntN(2) == 0:
			g.b.WriteString(`\/`)
		case c > 0x7f && c <= 0xffff && g.r.IntN(2) == 0:
			fmt.Fprintf(&g.b, "\\u%04x", c)
		case c > 0xffff && g.r.IntN(2) == 0:
			hi, lo := 0xd800+((c-0x10000)>>10), 0xdc00+((c-0x10000)&0x3ff)
			fmt.Fprintf(&g.b, "\\u%04x\\u%04x", hi, lo)
		case c == 'a' && g.r.IntN(4) == 0:
			g.b.WriteString(`\u0061`)
		default:
			g.b.WriteRune(c)
		}
	}
	g.b.WriteByte('"')
}

var refPlanted = []string{"source.ip", "destination.ip", "client.ip", "destination.domain", "source.domain", "destination.port",
	"file.hash.md5", "file.hash.sha256", "file.name", "user_agent.original", "email.to.address", "email.from.address"}

// planted writes a member whose path is a mapped field, split at random
// into nested objects and dotted keys, with a value or an array of them.
func (g *refGen) planted(seen map[string]bool) {
	segs := strings.Split(refPlanted[g.r.IntN(len(refPlanted))], ".")
	if len(segs) > 1 && !seen[segs[0]] && g.r.IntN(4) == 0 {
		// As a name/value pair: {"a":{"Data":[{"@Name":"b","#text":v}]}}.
		last := segs[len(segs)-1]
		for _, k := range segs[:len(segs)-1] {
			g.str(k)
			g.b.WriteString(":{")
		}
		g.b.WriteString(`"Data":[{"@Name":`)
		g.str(last)
		g.b.WriteString(`,"x":[1],"#text":`)
		g.str(refValues[g.r.IntN(len(refValues))])
		g.b.WriteString(`}]`)
		g.b.WriteString(strings.Repeat("}", len(segs)-1))
		seen[segs[0]] = true
		return
	}
	var cut []string // keys, each one or more segments joined by '.'
	for len(segs) > 0 {
		n := 1 + g.r.IntN(len(segs))
		cut = append(cut, strings.Join(segs[:n], "."))
		segs = segs[n:]
	}
	if seen[cut[0]] {
		cut[0] = "dup." + cut[0] // keep top-level keys distinct (not a mapped path)
	}
	seen[cut[0]] = true
	for i, k := range cut {
		g.str(k)
		g.b.WriteByte(':')
		if i < len(cut)-1 {
			g.b.WriteByte('{')
		}
	}
	if g.r.IntN(3) == 0 {
		g.b.WriteByte('[')
		for i, k := 0, 1+g.r.IntN(3); i < k; i++ {
			if i > 0 {
				g.b.WriteByte(',')
			}
			g.value(9)
		}
		g.b.WriteByte(']')
	} else {
		g.value(9)
	}
	g.b.WriteString(strings.Repeat("}", len(cut)-1))
}

func (g *refGen) value(depth int) {
	n := g.r.IntN(10)
	if depth > 4 && n < 4 {
		n = 6 // a scalar
	}
	switch n {
	case 0, 1, 2:
		g.b.WriteByte('{')
		seen := map[string]bool{}
		if depth == 0 {
			// Planted mapped fields first (distinct top-level keys from the pool's).
			for i, k := 0, 1+g.r.IntN(3); i < k; i++ {
				if i > 0 {
					g.b.WriteByte(',')
				}
				g.planted(seen)
			}
			g.b.WriteString(`,"_":0`)
			seen["_"] = true
		}
		for i, k := 0, g.r.IntN(4); i < k; i++ {
			key := refKeys[g.r.IntN(len(refKeys))]
			group := key // pair keys of a kind count as duplicates
			switch key {
			case "@Name":
				group = "Name"
			case "#text":
				group = "Value"
			}
			if seen[group] {
				continue // encoding/json keeps only the last duplicate
			}
			seen[group] = true
			if len(seen) > 1 || depth == 0 {
				g.b.WriteByte(',')
			}
			g.str(key)
			g.b.WriteString(strings.Repeat(" ", g.r.IntN(2)) + ":")
			g.value(depth + 1)
		}
		g.b.WriteByte('}')
	case 3:
		g.b.WriteByte('[')
		for i, k := 0, g.r.IntN(4); i < k; i++ {
			if i > 0 {
				g.b.WriteString(",\n")
			}
			g.value(depth + 1)
		}
		g.b.WriteByte(']')
	case 4:
		g.b.WriteString([]string{"true", "false", "null", "-0.5e+3", "443", "0", "1e2", "-7"}[g.r.IntN(8)])
	case 5:
		// Raw escapes encoding/json decodes leniently: lone surrogates.
		g.b.WriteString([]string{`"lone \ud83d x"`, `"\ude00"`, `"Evil\u002Etest"`, `"\ud83d\u0041"`}[g.r.IntN(4)])
	default:
		g.str(refValues[g.r.IntN(len(refValues))])
	}
}

// refObserve is the reference: encoding/json + ioc.Normalize.
func refObserve(t *testing.T, data []byte, fields map[string][]FieldMap) []string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("reference decode: %v", err)
	}
	var out []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if path == "Data" || strings.HasSuffix(path, ".Data") {
				// A name/value pair object gives its value at <parent>.<name>.
				name, text := pairOf(x)
				if name != nil && text != nil {
					walk(strings.TrimSuffix(path, "Data")+*name, *text)
				}
			}
			for k, c := range x {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, c)
			}
		case []any:
			for _, c := range x {
				walk(path, c)
			}
		case string, json.Number:
			s, num := "", false
			if n, ok := x.(json.Number); ok {
				s, num = string(n), true
			} else {
				s = x.(string)
			}
			if strings.TrimSpace(s) == "-" {
				return
			}
			for _, fm := range fields[path] {
				if num && fm.Kind != ioc.KindPort {
					continue
				}
				k := fm.Kind
				if k == ioc.KindDomain {
					if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil && a.Zone() == "" {
						k = ioc.KindIPv4
					}
				}
				nk, nv, err := ioc.Normalize(k, s)
				if err != nil || nv == "" {
					continue
				}
				out = append(out, fmt.Sprintf("%s|%s|%s|%s", nk, fm.Role, fm.Field, nv))
			}
		}
	}
	walk("", v)
	slices.Sort(out)
	return out
}

// pairOf returns the name and value strings of a name/value pair object
// (the last of each kind in document order is not knowable from a map,
// so the generator never writes two of a kind).
func pairOf(m map[string]any) (name, text *string) {
	for _, k := range []string{"@Name", "Name"} {
		if s, ok := m[k].(string); ok {
			name = &s
		}
	}
	for _, k := range []string{"#text", "text", "Value", "content"} {
		if s, ok := m[k].(string); ok {
			text = &s
		}
	}
	return name, text
}

func TestWalkerAgainstReference(t *testing.T) {
	o := newObserver(t, Options{})
	// The ExtractValue mappings of the ECS profile that the key pool can reach.
	fields := map[string][]FieldMap{}
	for _, fm := range ecsProfile().Fields {
		if fm.As == ExtractValue {
			fields[fm.Field] = append(fields[fm.Field], fm)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	g := &refGen{r: r}
	var res Result
	checked, hits, corrupt := 0, 0, 0
	for i := 0; i < 100000; i++ {
		g.b.Reset()
		g.value(0)
		for g.b.Len() > 0 && g.b.Bytes()[0] != '{' { // the top level must be an object
			g.b.Reset()
			g.value(0)
		}
		doc := bytes.Clone(g.b.Bytes())
		err := o.Observe(doc, FormatECS, &res)
		if err != nil {
			t.Fatalf("doc %d %s: %v", i, doc, err)
		}
		checkObservables(t, "random", i, &res)
		var got []string
		for _, ob := range res.Observables {
			if _, ok := fields[ob.Field]; !ok {
				continue // another extractor (e.g. destination.address as a host)
			}
			got = append(got, fmt.Sprintf("%s|%s|%s|%s", ob.Kind, ob.Role, ob.Field, ob.Value))
		}
		slices.Sort(got)
		want := refObserve(t, doc, fields)
		if !slices.Equal(got, want) {
			t.Fatalf("doc %d %s:\n got %q\nwant %q", i, doc, got, want)
		}
		checked++
		hits += len(got)

		// Corrupt the document: accept/reject must agree with encoding/json.
		bad := bytes.Clone(doc)
		switch pos := r.IntN(len(bad)); r.IntN(3) {
		case 0:
			bad[pos] = "{}[]\",:\\ x0-e.\x01"[r.IntN(15)]
		case 1:
			bad = slices.Delete(bad, pos, pos+1)
		case 2:
			bad = slices.Insert(bad, pos, "{}[]\",:\\ x0-e."[r.IntN(14)])
		}
		err = o.Observe(bad, FormatECS, &res)
		if errors.Is(err, ErrTooDeep) {
			continue
		}
		if validObject(bad) != (err == nil) {
			t.Fatalf("corrupted doc %q: json.Valid %v, Observe %v", bad, json.Valid(bad), err)
		}
		if err != nil {
			corrupt++
		}
	}
	if hits < 50000 || corrupt < 30000 {
		t.Errorf("weak test: %d documents, %d observables, %d rejected corruptions", checked, hits, corrupt)
	}
	t.Logf("%d documents, %d observables, %d rejected corruptions", checked, hits, corrupt)
}

// TestTextHashesAgainstReference: on seeded random text, the scanner
// emits exactly the hex runs of hash length bounded by non-hex bytes
// (the regexp reference), and every address it emits occurs in the text.
func TestTextHashesAgainstReference(t *testing.T) {
	hexRun := regexp.MustCompile(`[0-9a-fA-F]+`)
	pieces := []string{" ", "=", ":", "@", ".", "-", "_", "/", "\\", "\"", "x", "G", "é", "http://", "https://h.example/",
		"203.0.113.66", "::ffff:198.51.100.7", "2001:db8::1", "phish@", "evil.test", "5C:9C:AA:01:02:03:04:05"}
	r := rand.New(rand.NewPCG(3, 4))
	o := newObserver(t, Options{})
	var res Result
	total := 0
	for i := 0; i < 5000; i++ {
		var b strings.Builder
		for j, n := 0, 1+r.IntN(12); j < n; j++ {
			if r.IntN(3) == 0 {
				hl := []int{31, 32, 33, 40, 64, 128, 8}[r.IntN(7)]
				for k := 0; k < hl; k++ {
					b.WriteByte("0123456789abcdefABCDEF"[r.IntN(22)])
				}
			} else {
				b.WriteString(pieces[r.IntN(len(pieces))])
			}
		}
		line := b.String()
		if err := o.Observe([]byte(line), FormatRaw, &res); err != nil {
			t.Fatal(err)
		}
		checkObservables(t, "text", i, &res)
		var got, want []string
		for _, ob := range res.Observables {
			switch {
			case ob.Kind.IsHash():
				got = append(got, string(ob.Value))
			case ob.Kind == ioc.KindIPv4 && !strings.Contains(line, string(ob.Value)):
				t.Errorf("line %q: address %s not in the text", line, ob.Value)
			}
		}
		for _, m := range hexRun.FindAllString(line, -1) {
			if ioc.HashKindForLen(len(m)) != ioc.KindInvalid {
				want = append(want, strings.ToLower(m))
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("line %q:\n got %q\nwant %q", line, got, want)
		}
		total += len(want)
	}
	if total < 1000 {
		t.Errorf("weak test: %d hashes", total)
	}
}

// validObject reports whether data is valid JSON whose top-level value is an
// object: what Observe accepts for a fixed JSON format.
func validObject(data []byte) bool {
	return json.Valid(data) && bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{"))
}
