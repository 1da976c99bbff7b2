package observe

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Benchmarks of Observe per format, each next to the baseline of
// encoding/json.Unmarshal of the same event into map[string]any (which
// only decodes: no extraction, no normalisation).
//
//	go test -run '^$' -bench . -benchmem -count 6 ./engine/observe | tee new.txt
//	benchstat old.txt new.txt

type benchEvent struct {
	name string
	data []byte
}

var benchEvents = []benchEvent{
	{"ecs", []byte(`{"@timestamp":"2026-12-03T10:00:00.000Z","ecs":{"version":"8.11.0"},"event":{"id":"evt-0001","kind":"event","category":["network"],"dataset":"network_traffic.flow"},"source":{"ip":"192.0.2.10","port":51514},"destination":{"ip":"198.51.100.23","port":443,"domain":"www.example.com"},"network":{"transport":"tcp","protocol":"tls"},"tls":{"client":{"ja3":"e7d705a3286e19ea42f587b344ee6860","server_name":"www.example.com"}},"host":{"name":"ws-01","ip":["192.0.2.10"]},"user_agent":{"original":"Mozilla/5.0 (Windows NT 10.0; Win64; x64)"}}`)},
	{"zeek", []byte(`{"_path":"dns","ts":"2026-12-03T10:01:00.000000Z","uid":"CqKst53mF3det3eDV9","id.orig_h":"192.0.2.20","id.orig_p":41772,"id.resp_h":"192.0.2.53","id.resp_p":53,"proto":"udp","trans_id":36329,"rtt":0.00087,"query":"www.example.com","qclass":1,"qclass_name":"C_INTERNET","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,"RD":true,"RA":true,"Z":0,"answers":["cdn.example.net","198.51.100.23"],"TTLs":[300.0,300.0],"rejected":false}`)},
	{"eve", []byte(`{"timestamp":"2026-12-03T10:03:01.000000+0000","flow_id":1234567890123456,"in_iface":"eth0","event_type":"http","src_ip":"192.0.2.41","src_port":49200,"dest_ip":"198.51.100.80","dest_port":80,"proto":"TCP","tx_id":0,"http":{"hostname":"www.example.com","url":"/index.html?q=1","http_user_agent":"Mozilla/5.0","http_content_type":"text/html","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":5120}}`)},
	{"sysmon", []byte(`{"EventID":1,"EventRecordID":98765,"Channel":"Microsoft-Windows-Sysmon/Operational","UtcTime":"2026-12-03 10:04:00.123","ProcessGuid":"{00000000-0000-0000-0000-000000000001}","ProcessId":4242,"Image":"C:\\Windows\\System32\\notepad.exe","CommandLine":"notepad.exe C:\\Users\\bob\\todo.txt","CurrentDirectory":"C:\\Users\\bob\\","User":"CORP\\bob","ParentImage":"C:\\Windows\\explorer.exe","Hashes":"SHA1=3395856CE81F2B7382DEE72602F798B642F14141,MD5=44D88612FEA8A8F36DE82E1278ABB021,SHA256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A01,IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744"}`)},
	// ecs-message is shaped like the events of the end-to-end benchmark
	// (bench/gen): an ECS flow event padded with a free-text message.
	{"ecs-message", []byte(`{"@timestamp":"2026-12-03T09:00:00.002Z","ecs":{"version":"8.11.0"},"event":{"id":"bench-000000000002","kind":"event","dataset":"network_traffic.flow","module":"network_traffic"},"host":{"name":"ws-0142","os":"windows"},"agent":{"type":"packetbeat","version":"8.11.3"},"source":{"ip":"192.0.2.115","port":51140},"destination":{"ip":"198.51.100.244","port":443},"network":{"transport":"tcp","direction":"outbound","bytes":47591},"message":"connection established session user request completed policy allowed inbound outbound tcp stream reassembly state window bytes packets handshake agent sensor"}`)},
	// raw-note is a syslog line padded with a note, as in bench/gen.
	{"raw-note", []byte(`<30>Dec  3 09:00:00 srv-db-01 named[1265]: client @0x7fc6a8474a 192.0.2.182#63530 (login.example.com): query: login.example.com IN A +E(0)K (198.51.100.127) rid=bench-000000000000 note="request established established sensor worker user session request batch inbound allowed session user bytes queue window tcp worker bytes sensor completed completed queue session sensor allowed request sensor state agent inbound outbound sensor outbound completed worker outbound pipeline"`)},
	{"raw", []byte(`198.51.100.7 - - [03/Dec/2026:10:05:00 +0000] "GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.example/presentations/logstash-monitorama-2013/" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36"`)},
}

func BenchmarkObserve(b *testing.B) {
	for _, ev := range benchEvents {
		b.Run(ev.name, func(b *testing.B) {
			o := newObserver(b, Options{})
			var res Result
			b.ReportAllocs()
			b.SetBytes(int64(len(ev.data)))
			for b.Loop() {
				if err := o.Observe(ev.data, FormatAuto, &res); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(res.Observables)), "obs/op")
		})
		if ev.name == "raw" || ev.name == "raw-note" {
			continue
		}
		b.Run(ev.name+"/baseline-json-map", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(ev.data)))
			for b.Loop() {
				var m map[string]any
				if err := json.Unmarshal(ev.data, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWalk measures the JSON walker alone (validation, path
// tracking, table lookups) against encoding/json.Valid.
func BenchmarkWalk(b *testing.B) {
	ev := benchEvents[0].data
	b.Run("walker", func(b *testing.B) {
		o := newObserver(b, Options{})
		b.ReportAllocs()
		b.SetBytes(int64(len(ev)))
		for b.Loop() {
			o.pending = o.pending[:0]
			if err := o.walk(ev, FormatECS); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-json-valid", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(ev)))
		for b.Loop() {
			if !json.Valid(ev) {
				b.Fatal("invalid")
			}
		}
	})
}

// BenchmarkCorpus observes real log lines from a corpus directory given
// by $IOCMATCH_CORPUS (with logs/apache/access.log and
// logs/zeek/*.json.gz); it is skipped when the variable is unset.
func BenchmarkCorpus(b *testing.B) {
	dir := os.Getenv("IOCMATCH_CORPUS")
	if dir == "" {
		b.Skip("IOCMATCH_CORPUS not set")
	}
	for _, name := range []string{"logs/apache/access.log", "logs/zeek/dns.json.gz", "logs/zeek/ssl.json.gz", "logs/zeek/x509.json.gz"} {
		lines := readLines(b, filepath.Join(dir, name), 20000)
		if len(lines) == 0 {
			continue
		}
		b.Run(filepath.Base(name), func(b *testing.B) {
			o := newObserver(b, Options{})
			var res Result
			var size, obs int
			for _, l := range lines {
				size += len(l)
			}
			b.ReportAllocs()
			b.SetBytes(int64(size / len(lines)))
			i := 0
			for b.Loop() {
				if err := o.Observe(lines[i], FormatAuto, &res); err != nil {
					b.Fatalf("line %d: %v", i, err)
				}
				obs += len(res.Observables)
				if i++; i == len(lines) {
					i = 0
				}
			}
			b.ReportMetric(float64(obs)/float64(b.N), "obs/op")
		})
	}
}

func readLines(b *testing.B, path string, max int) [][]byte {
	f, err := os.Open(path)
	if err != nil {
		b.Logf("skipping %s: %v", path, err)
		return nil
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			b.Fatal(err)
		}
		r = zr
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	var out [][]byte
	for sc.Scan() && len(out) < max {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	return out
}
