package observe

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// The bundled README demo events (owned by this package's task) and the
// sample indicators they plant; see /work/notes/sample-iocs.md.
const (
	sampleEvents = "../../testdata/sample/events.jsonl"
	sampleRaw    = "../../testdata/sample/raw.log"
)

type sampleObs struct {
	id  string // event id, or "raw#N"
	obs []ioc.Observable
}

func observeSample(t *testing.T) []sampleObs {
	t.Helper()
	o := newObserver(t, Options{})
	var out []sampleObs
	for _, file := range []string{sampleEvents, sampleRaw} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		n := 0
		for sc.Scan() {
			n++
			var res Result
			if err := o.Observe(sc.Bytes(), FormatAuto, &res); err != nil {
				t.Fatalf("%s line %d: %v", file, n, err)
			}
			checkObservables(t, file, n, &res)
			id := string(res.EventID)
			if file == sampleRaw {
				id = "raw#" + string(rune('0'+n))
			}
			// Copy: the values alias the Observer's buffers.
			obs := make([]ioc.Observable, len(res.Observables))
			for i, ob := range res.Observables {
				ob.Value = bytes.Clone(ob.Value)
				obs[i] = ob
			}
			out = append(out, sampleObs{id, obs})
		}
	}
	return out
}

// TestSampleEvents checks that the bundled sample events plant every
// sample indicator value (and its near-misses) as observables, and that
// the look-alike traps yield nothing.
func TestSampleEvents(t *testing.T) {
	events := observeSample(t)
	if len(events) < 25 {
		t.Fatalf("only %d sample events", len(events))
	}
	count := func(k ioc.Kind, v string) int {
		n := 0
		for _, ev := range events {
			if has(ev.obs, k, v) {
				n++
			}
		}
		return n
	}
	for _, w := range []struct {
		k ioc.Kind
		v string
	}{
		{ioc.KindDomain, "malware-c2.example"},
		{ioc.KindDomain, "www.malware-c2.example"},
		{ioc.KindDomain, "evil-update.test"},
		{ioc.KindDomain, "cdn.evil-update.test"},
		{ioc.KindIPv4, "203.0.113.66"},
		{ioc.KindIPv4, "198.51.100.23"},
		{ioc.KindIPv6, "2001:db8:bad::1"},
		{ioc.KindURL, "http://evil-update.test/payload.exe"},
		{ioc.KindSHA256, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		{ioc.KindMD5, "44d88612fea8a8f36de82e1278abb02f"},
		{ioc.KindJA3, "e7d705a3286e19ea42f587b344ee6865"},
		{ioc.KindEmail, "phish@malware-c2.example"},
		{ioc.KindRegistryKey, `hkey_local_machine\software\microsoft\windows\currentversion\run\samplerat`},
		// near-misses
		{ioc.KindDomain, "notmalware-c2.example"},
		{ioc.KindIPv4, "203.0.113.67"},
		{ioc.KindIPv4, "198.51.101.5"},
	} {
		if count(w.k, w.v) == 0 {
			t.Errorf("no sample event has %s %s", w.k, w.v)
		}
	}
	cmd := 0
	for _, ev := range events {
		for _, ob := range ev.obs {
			if ob.Kind == ioc.KindCommandLine && strings.Contains(string(ob.Value), "-EncodedCommand JAB") {
				cmd++
			}
		}
	}
	if cmd < 2 {
		t.Errorf("%d command lines with -EncodedCommand JAB, want 2", cmd)
	}
	compound := map[string]bool{} // port of each event with destination 203.0.113.80
	for _, ev := range events {
		for _, ob := range ev.obs {
			if ob.Kind == ioc.KindIPv4 && ob.Role == ioc.RoleDst && string(ob.Value) == "203.0.113.80" {
				for _, p := range ev.obs {
					if p.Kind == ioc.KindPort && p.Role == ioc.RoleDst {
						compound[string(p.Value)] = true
					}
				}
			}
		}
	}
	if !compound["4444"] || !compound["443"] {
		t.Errorf("destination 203.0.113.80 ports %v, want 4444 (hit) and 443 (near-miss)", compound)
	}
	for _, ev := range events {
		for _, ob := range ev.obs {
			if ob.Kind == ioc.KindIPv6 && strings.HasPrefix(string(ob.Value), "5c:9c") {
				t.Errorf("event %s: TLS serial read as IPv6 %s", ev.id, ob.Value)
			}
		}
		// The x509 serial and the Sysmon IMPHASH equal the sample MD5 but are not file hashes.
		if ev.id == "" || ev.id == "1001" {
			if has(ev.obs, ioc.KindMD5, "44d88612fea8a8f36de82e1278abb02f") {
				t.Errorf("event %q: serial or IMPHASH emitted as MD5", ev.id)
			}
		}
	}
}
