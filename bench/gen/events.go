package gen

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// SeqDigits is the number of decimal digits of the sequence number every
// event carries.
const SeqDigits = 12

// MaxSeq is the largest sequence number that fits in SeqDigits digits.
const MaxSeq = 999_999_999_999

// formats lists the event formats Events generates, named like the last
// token of the iocmatch event subject (read-only).
var formats = []string{"ecs", "zeek", "eve", "raw"}

// Formats returns the event formats Events generates ("ecs", "zeek",
// "eve", "raw"), named like the last token of the event subject.
func Formats() []string { return append([]string(nil), formats...) }

// Event is one generated event.
type Event struct {
	Data   []byte
	Format string // "ecs", "zeek", "eve" or "raw": the subject token
	// SeqOffset is the offset in Data of the SeqDigits-digit sequence
	// number (see SetSeq).
	SeqOffset int
	// Planted is the index of the planted indicator in the indicator
	// slice given to NewEvents, or -1 when the event is background only.
	Planted int
}

// EventOptions configure NewEvents.
type EventOptions struct {
	// Format is "ecs", "zeek", "eve", "raw", or "mixed" (each event draws
	// one of the four); "" means "ecs".
	Format string
	// Size is the event size in bytes: events shorter than Size are padded
	// with a free-text field up to Size (events are never cut). 0 means
	// each event is padded to a size drawn uniformly from 300-1,500 bytes.
	Size int
	// HitRatio is the fraction of events carrying a planted hit, 0-1.
	HitRatio float64
	// Seed makes the events reproducible.
	Seed uint64
	// Base is the timestamp of event 0; events are 1 ms apart. Zero means
	// 2026-12-03T09:00:00Z.
	Base time.Time
}

// Events generates events. It is safe for concurrent use.
type Events struct {
	opts  EventOptions
	inds  []*ioc.Indicator
	plant map[string][]int32     // per format: indexes of indicators it can carry
	cidrs map[netip.Prefix]int32 // CIDR indicators: prefix → index
}

// NewEvents returns a generator planting hits on inds. Only indicators of
// kinds generated events can carry are planted (domains, addresses,
// networks, URLs, hashes, JA3 and the compound shapes of Indicators; the
// raw format carries no compound and no JA3). It is an error to ask for
// hits when no indicator can be planted.
func NewEvents(inds []*ioc.Indicator, opts EventOptions) (*Events, error) {
	if opts.Format == "" {
		opts.Format = "ecs"
	}
	if opts.HitRatio < 0 || opts.HitRatio > 1 {
		return nil, fmt.Errorf("gen: hit ratio %g out of range 0-1", opts.HitRatio)
	}
	if opts.Size < 0 || opts.Size > 1<<20 {
		return nil, fmt.Errorf("gen: event size %d out of range 0-1MiB", opts.Size)
	}
	if opts.Base.IsZero() {
		opts.Base = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	}
	fs := formats
	if opts.Format != "mixed" {
		ok := false
		for _, f := range formats {
			ok = ok || f == opts.Format
		}
		if !ok {
			return nil, fmt.Errorf("gen: format %q: want ecs, zeek, eve, raw or mixed", opts.Format)
		}
		fs = []string{opts.Format}
	}
	g := &Events{opts: opts, inds: inds, plant: map[string][]int32{}, cidrs: map[netip.Prefix]int32{}}
	for i, ind := range inds {
		if ind.Kind == ioc.KindCIDRv4 || ind.Kind == ioc.KindCIDRv6 {
			if p, err := netip.ParsePrefix(ind.Value); err == nil {
				if _, dup := g.cidrs[p]; !dup {
					g.cidrs[p] = int32(i)
				}
			}
		}
		pk := plantKindOf(ind)
		if pk == pNone {
			continue
		}
		for _, f := range fs {
			if f == "raw" && (pk == pCompoundDomain || pk == pCompoundIP || pk == pJA3) {
				continue
			}
			g.plant[f] = append(g.plant[f], int32(i))
		}
	}
	if opts.HitRatio > 0 {
		for _, f := range fs {
			if len(g.plant[f]) == 0 {
				return nil, fmt.Errorf("gen: hit ratio %g but no indicator can be planted in %s events", opts.HitRatio, f)
			}
		}
	}
	return g, nil
}

// Plantable returns how many indicators can be planted in events of
// format f.
func (g *Events) Plantable(f string) int { return len(g.plant[f]) }

type plantKind uint8

const (
	pNone plantKind = iota
	pDomain
	pIPv4
	pIPv6
	pCIDR
	pURL
	pHash
	pJA3
	pCompoundDomain
	pCompoundIP
)

func plantKindOf(ind *ioc.Indicator) plantKind {
	switch ind.Kind {
	case ioc.KindDomain:
		return pDomain
	case ioc.KindIPv4:
		return pIPv4
	case ioc.KindIPv6:
		return pIPv6
	case ioc.KindCIDRv4, ioc.KindCIDRv6:
		return pCIDR
	case ioc.KindURL:
		return pURL
	case ioc.KindMD5, ioc.KindSHA1, ioc.KindSHA256:
		return pHash
	case ioc.KindJA3:
		return pJA3
	case ioc.KindCompound:
		if _, _, ok := compoundShape(ind); ok {
			if isDomainPred(ind) {
				return pCompoundDomain
			}
			return pCompoundIP
		}
	}
	return pNone
}

// compoundShape recognises AND(domain-or-ip Eq v, port Eq p), the shape
// Indicators generates (and STIX feeds commonly carry).
func compoundShape(ind *ioc.Indicator) (value, port string, ok bool) {
	e := ind.Expr
	if e == nil || e.Op != ioc.OpAnd || len(e.Args) != 2 {
		return "", "", false
	}
	a, b := e.Args[0], e.Args[1]
	if a.Op != ioc.OpPred || b.Op != ioc.OpPred || a.Pred == nil || b.Pred == nil {
		return "", "", false
	}
	pa, pb := a.Pred, b.Pred
	if pa.Negate || pb.Negate || pa.Op != ioc.PredEq || pb.Op != ioc.PredEq || len(pa.Values) != 1 || len(pb.Values) != 1 {
		return "", "", false
	}
	switch pa.Target.Kind {
	case ioc.KindDomain, ioc.KindIPv4:
	default:
		return "", "", false
	}
	if pa.Target.Field != "" || pb.Target.Field != "" || pa.Target.Role == ioc.RoleSrc || pb.Target.Kind != ioc.KindPort || pb.Target.Role == ioc.RoleSrc {
		return "", "", false
	}
	if pa.Target.Kind == ioc.KindIPv4 {
		if a, err := netip.ParseAddr(pa.Values[0]); err != nil || !a.Is4() {
			return "", "", false
		}
	}
	return pa.Values[0], pb.Values[0], true
}

func isDomainPred(ind *ioc.Indicator) bool {
	return ind.Expr.Args[0].Pred.Target.Kind == ioc.KindDomain
}

// ErrSeqRange is returned by SetSeq for a number that does not fit.
var ErrSeqRange = errors.New("gen: sequence number out of range")

// SetSeq overwrites the sequence number of an event in place.
func SetSeq(data []byte, off int, seq uint64) error {
	if seq > MaxSeq {
		return fmt.Errorf("%w: %d", ErrSeqRange, seq)
	}
	if off < 0 || off+SeqDigits > len(data) {
		return fmt.Errorf("gen: sequence offset %d outside a %d-byte event", off, len(data))
	}
	for i := SeqDigits - 1; i >= 0; i-- {
		data[off+i] = byte('0' + seq%10)
		seq /= 10
	}
	return nil
}

// ParseSeq reads a SeqDigits-digit sequence number at the start of b.
func ParseSeq(b []byte) (uint64, bool) {
	if len(b) < SeqDigits {
		return 0, false
	}
	var n uint64
	for _, c := range b[:SeqDigits] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// seqMarkers are the strings that precede the sequence number in the
// events of each format (and thus in the event.original of their
// alerts): ECS event.id and raw lines use "bench-", Zeek uids "Cbench",
// EVE flow ids the digits "1000" after `"flow_id":`.
var seqMarkers = []string{"bench-", "Cbench", `"flow_id":1000`, `\"flow_id\":1000`}

// FindSeq finds the sequence number in an event or in a document quoting
// it (an alert), after the first marker present of "bench-" (ECS event
// ids, raw lines), "Cbench" (Zeek uids) and `"flow_id":1000` (EVE, also
// JSON-escaped inside an alert's event.original).
func FindSeq(doc []byte) (uint64, bool) {
	for _, m := range seqMarkers {
		for rest := doc; ; {
			i := bytes.Index(rest, []byte(m))
			if i < 0 {
				break
			}
			rest = rest[i+len(m):]
			if n, ok := ParseSeq(rest); ok {
				return n, true
			}
		}
	}
	return 0, false
}

// Event returns event seq (with seq as its sequence number). The same
// options, indicators and seq always give the same event.
func (g *Events) Event(seq uint64) Event {
	r := rand.New(rand.NewPCG(g.opts.Seed^0x9e3779b97f4a7c15, seq))
	format := g.opts.Format
	if format == "mixed" {
		format = formats[r.IntN(len(formats))]
	}
	planted := -1
	if g.opts.HitRatio > 0 && r.Float64() < g.opts.HitRatio {
		c := g.plant[format]
		planted = int(c[r.IntN(len(c))])
	}
	target := g.opts.Size
	if target == 0 {
		target = 300 + r.IntN(1201)
	}
	b := &builder{buf: make([]byte, 0, max(target, 1500)+64), r: r, seq: seq % (MaxSeq + 1), ts: g.opts.Base.Add(time.Duration(seq%(1<<40)) * time.Millisecond)}
	var p *ioc.Indicator
	if planted >= 0 {
		p = g.inds[planted]
		if pk := plantKindOf(p); pk == pCIDR {
			// The most specific CIDR indicator containing an address wins:
			// plant an address no more specific indicator covers, or
			// expect that one.
			b.cidrAddr, planted = g.cidrAddress(r, p, planted)
		}
	}
	switch format {
	case "ecs":
		b.ecs(p)
	case "zeek":
		b.zeek(p)
	case "eve":
		b.eve(p)
	default:
		b.raw(p)
	}
	b.finish(format, target)
	return Event{Data: b.buf, Format: format, SeqOffset: b.seqOff, Planted: planted}
}

// ---- values -------------------------------------------------------------

var (
	bgDomains = []string{"www.google.com", "login.microsoftonline.com", "cdn.jsdelivr.net", "api.github.com",
		"outlook.office365.com", "update.example-corp.net", "s3.amazonaws.com", "ocsp.digicert.com",
		"fonts.gstatic.com", "slack.com", "teams.microsoft.com", "www.wikipedia.org", "intranet.example-corp.net",
		"time.windows.com", "connectivity-check.ubuntu.com", "dl.delivery.mp.microsoft.com"}
	bgExtV4 = []netip.Prefix{netip.MustParsePrefix("104.16.0.0/12"), netip.MustParsePrefix("142.250.0.0/15"),
		netip.MustParsePrefix("151.101.0.0/16"), netip.MustParsePrefix("13.64.0.0/11"), netip.MustParsePrefix("52.0.0.0/10")}
	bgIntV4 = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.0.0/16")}
	bgV6    = netip.MustParsePrefix("2606:4700::/32")
	bgUAs   = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"curl/8.5.0", "Microsoft-CryptoAPI/10.0", "python-requests/2.32.3"}
	bgPaths   = []string{"/", "/index.html", "/api/v2/status", "/static/app.js", "/login", "/favicon.ico", "/search"}
	bgFiles   = []string{"invoice_2026.pdf", "setup.exe", "report.docx", "update.msi", "photo.jpg", "payload.bin"}
	bgProcs   = []string{"chrome.exe", "explorer.exe", "svchost.exe", "powershell.exe", "outlook.exe", "winword.exe"}
	bgHosts   = []string{"ws-0142", "ws-0087", "srv-db-01", "srv-web-03", "lt-hr-22", "dc-01"}
	bgUsers   = []string{"alice", "bob", "svc_backup", "carol", "dave", "root"}
	padWords  = strings.Fields("connection established session user request completed policy allowed inbound outbound tcp stream reassembly state window bytes packets retransmission handshake agent sensor pipeline queue worker batch normal")
	ports     = []int{443, 443, 443, 80, 53, 22, 3389, 445, 993, 8000}
	httpVerbs = []string{"GET", "GET", "GET", "POST", "HEAD"}
)

type builder struct {
	cidrAddr string // the address planted for a CIDR indicator
	r        *rand.Rand
	seq      uint64
	ts       time.Time
	buf      []byte
	seqOff   int
}

func (b *builder) pick(s []string) string { return s[b.r.IntN(len(s))] }

func (b *builder) extV4() string { return randAddrIn(b.r, bgExtV4[b.r.IntN(len(bgExtV4))]).String() }
func (b *builder) intV4() string { return randAddrIn(b.r, bgIntV4[b.r.IntN(len(bgIntV4))]).String() }
func (b *builder) bgDomain() string {
	if b.r.IntN(4) == 0 {
		return "e" + strconv.Itoa(1000+b.r.IntN(9000)) + ".a.akamaiedge.net"
	}
	return b.pick(bgDomains)
}
func (b *builder) ephemeral() int { return 49152 + b.r.IntN(16000) }

// plantValues turns a planted indicator into the values an event carries.
type plantValues struct {
	kind   plantKind
	domain string // domain to show (the indicator or a subdomain of it)
	ip     string // address (IPv4/IPv6/inside a CIDR)
	url    string
	hash   string
	hkind  ioc.Kind
	port   int
}

func (b *builder) plantOf(p *ioc.Indicator) plantValues {
	if p == nil {
		return plantValues{}
	}
	pv := plantValues{kind: plantKindOf(p)}
	switch pv.kind {
	case pDomain:
		pv.domain = p.Value
		if b.r.IntN(2) == 0 {
			pv.domain = b.pick([]string{"www.", "a1.", "dl.", "x.y."}) + p.Value
		}
	case pIPv4, pIPv6:
		pv.ip = p.Value
	case pCIDR:
		pv.ip = b.cidrAddr
	case pURL:
		pv.url = p.Value
	case pHash, pJA3:
		pv.hash, pv.hkind = p.Value, p.Kind
	case pCompoundDomain, pCompoundIP:
		v, port, _ := compoundShape(p)
		pv.port, _ = strconv.Atoi(port)
		if pv.kind == pCompoundDomain {
			pv.domain = v
		} else {
			pv.ip = v
		}
	}
	return pv
}

// ---- JSON writing ---------------------------------------------------------

func (b *builder) raw(p *ioc.Indicator) {
	pv := b.plantOf(p)
	src := b.intV4()
	host := b.pick(bgHosts)
	ts := b.ts.Format("Jan _2 15:04:05")
	shape := b.r.IntN(5)
	switch pv.kind {
	case pDomain:
		shape = 1
	case pIPv4, pIPv6, pCIDR:
		shape = 0
	case pURL:
		shape = 2
	case pHash:
		shape = 3
	}
	switch shape {
	case 0: // sshd
		ip := b.extV4()
		if pv.ip != "" {
			ip = pv.ip
		}
		b.buf = fmt.Appendf(b.buf, "<38>%s %s sshd[%d]: Failed password for %s from %s port %d ssh2 rid=", ts, host, 1000+b.r.IntN(60000), b.pick(bgUsers), ip, b.ephemeral())
		b.seqHere("bench-")
	case 1: // named query log
		d := b.bgDomain()
		if pv.domain != "" {
			d = pv.domain
		}
		b.buf = fmt.Appendf(b.buf, "<30>%s %s named[%d]: client @0x7f%08x %s#%d (%s): query: %s IN A +E(0)K (%s) rid=", ts, host, 500+b.r.IntN(3000), b.r.Uint32(), src, b.ephemeral(), d, d, b.intV4())
		b.seqHere("bench-")
	case 2, 4: // Apache combined log with a referrer
		ref := "https://" + b.bgDomain() + b.pick(bgPaths)
		if pv.url != "" {
			ref = pv.url
		}
		b.buf = fmt.Appendf(b.buf, `%s - %s [%s] "%s %s HTTP/1.1" %s %d "%s" "%s" rid=`, src, b.pick(bgUsers), b.ts.Format("02/Jan/2006:15:04:05 -0700"),
			b.pick(httpVerbs), b.pick(bgPaths), b.pick([]string{"200", "200", "304", "404", "302"}), 200+b.r.IntN(90000), ref, b.pick(bgUAs))
		b.seqHere("bench-")
	case 3: // endpoint protection
		h := randHex(b.r, 64)
		if pv.hash != "" {
			h = pv.hash
		}
		b.buf = fmt.Appendf(b.buf, `<44>%s %s edr-agent[%d]: quarantine action=blocked user=%s file="C:\Users\%s\Downloads\%s" hash=%s rid=`, ts, host, 2000+b.r.IntN(5000), b.pick(bgUsers), b.pick(bgUsers), b.pick(bgFiles), h)
		b.seqHere("bench-")
	}
}

func (b *builder) seqHere(marker string) {
	b.buf = append(b.buf, marker...)
	b.seqOff = len(b.buf)
	b.buf = append(b.buf, "000000000000"...)
	_ = SetSeq(b.buf, b.seqOff, b.seq)
}

func (b *builder) str(key, v string) {
	b.buf = append(b.buf, '"')
	b.buf = append(b.buf, key...)
	b.buf = append(b.buf, `":`...)
	b.buf = strconv.AppendQuote(b.buf, v)
	b.buf = append(b.buf, ',')
}

func (b *builder) num(key string, v int) {
	b.buf = append(b.buf, '"')
	b.buf = append(b.buf, key...)
	b.buf = append(b.buf, `":`...)
	b.buf = strconv.AppendInt(b.buf, int64(v), 10)
	b.buf = append(b.buf, ',')
}

func (b *builder) open(key string) {
	b.buf = append(b.buf, '"')
	b.buf = append(b.buf, key...)
	b.buf = append(b.buf, `":{`...)
}

func (b *builder) close() {
	if b.buf[len(b.buf)-1] == ',' {
		b.buf = b.buf[:len(b.buf)-1]
	}
	b.buf = append(b.buf, "},"...)
}

// netShape draws the shape of a network event for the planted values pv
// (0 connection, 1 DNS, 2 HTTP, 3 TLS, 4 file; a planted value forces the
// shapes that can carry it) and its destination address and port (the
// planted ones when pv has them). ecs, zeek and eve share it.
func (b *builder) netShape(pv plantValues) (shape int, dst, dport string) {
	shape = b.r.IntN(5)
	switch pv.kind {
	case pIPv4, pIPv6, pCIDR, pCompoundIP:
		shape = 0
	case pDomain:
		shape = []int{1, 2, 3}[b.r.IntN(3)]
	case pURL:
		shape = 2
	case pJA3, pCompoundDomain:
		shape = 3
	case pHash:
		shape = 4
	}
	dst, dport = b.extV4(), b.pick([]string{"443", "80"})
	if pv.ip != "" {
		dst = pv.ip
	}
	if pv.port != 0 {
		dport = strconv.Itoa(pv.port)
	}
	return shape, dst, dport
}

func (b *builder) ecs(p *ioc.Indicator) {
	pv := b.plantOf(p)
	shape, dst, dport := b.netShape(pv) // 0 conn, 1 dns, 2 http, 3 tls, 4 file
	dp, _ := strconv.Atoi(dport)
	b.buf = append(b.buf, '{')
	b.str("@timestamp", b.ts.Format("2006-01-02T15:04:05.000Z"))
	b.open("ecs")
	b.str("version", "8.11.0")
	b.close()
	b.open("event")
	b.buf = append(b.buf, `"id":"bench-`...)
	b.seqOff = len(b.buf)
	b.buf = append(b.buf, "000000000000\","...)
	_ = SetSeq(b.buf, b.seqOff, b.seq)
	b.str("kind", "event")
	ds := [...]string{"network_traffic.flow", "network_traffic.dns", "network_traffic.http", "network_traffic.tls", "endpoint.events.file"}[shape]
	b.str("dataset", ds)
	b.str("module", strings.SplitN(ds, ".", 2)[0])
	b.close()
	b.open("host")
	b.str("name", b.pick(bgHosts))
	b.str("os", "windows")
	b.close()
	b.open("agent")
	b.str("type", "packetbeat")
	b.str("version", "8.11.3")
	b.close()
	if shape != 4 {
		b.open("source")
		b.str("ip", b.intV4())
		b.num("port", b.ephemeral())
		b.close()
		b.open("destination")
		b.str("ip", dst)
		b.num("port", dp)
		if shape == 3 && pv.domain != "" {
			b.str("domain", pv.domain)
		}
		b.close()
		b.open("network")
		b.str("transport", "tcp")
		b.str("direction", "outbound")
		b.num("bytes", 200+b.r.IntN(50000))
		b.close()
	}
	switch shape {
	case 1:
		d := b.bgDomain()
		if pv.domain != "" {
			d = pv.domain
		}
		b.open("dns")
		b.str("type", "query")
		b.open("question")
		b.str("name", d)
		b.str("type", "A")
		b.close()
		b.buf = fmt.Appendf(b.buf, `"answers":[{"type":"A","data":%q}],`, b.extV4())
		b.close()
	case 2:
		u := "https://" + b.bgDomain() + b.pick(bgPaths)
		if pv.url != "" {
			u = pv.url
		} else if pv.domain != "" {
			u = "https://" + pv.domain + b.pick(bgPaths)
		}
		b.open("url")
		b.str("full", u)
		b.close()
		b.open("http")
		b.open("request")
		b.str("method", b.pick(httpVerbs))
		b.close()
		b.open("response")
		b.num("status_code", 200)
		b.close()
		b.close()
		b.open("user_agent")
		b.str("original", b.pick(bgUAs))
		b.close()
	case 3:
		sni := b.bgDomain()
		if pv.domain != "" {
			sni = pv.domain
		}
		ja3 := randHex(b.r, 32)
		if pv.kind == pJA3 {
			ja3 = pv.hash
		}
		b.open("tls")
		b.str("version", "1.3")
		b.open("client")
		b.str("server_name", sni)
		b.str("ja3", ja3)
		b.close()
		b.close()
	case 4:
		hashes := map[ioc.Kind]string{ioc.KindSHA256: randHex(b.r, 64), ioc.KindSHA1: randHex(b.r, 40), ioc.KindMD5: randHex(b.r, 32)}
		if pv.kind == pHash {
			hashes[pv.hkind] = pv.hash
		}
		user := b.pick(bgUsers)
		name := b.pick(bgFiles)
		b.open("file")
		b.str("name", name)
		b.str("path", `C:\Users\`+user+`\Downloads\`+name)
		b.num("size", 1000+b.r.IntN(5_000_000))
		b.open("hash")
		b.str("md5", hashes[ioc.KindMD5])
		b.str("sha1", hashes[ioc.KindSHA1])
		b.str("sha256", hashes[ioc.KindSHA256])
		b.close()
		b.close()
		b.open("process")
		b.str("name", b.pick(bgProcs))
		b.num("pid", 1000+b.r.IntN(30000))
		b.close()
		b.open("user")
		b.str("name", user)
		b.close()
	}
}

func (b *builder) zeek(p *ioc.Indicator) {
	pv := b.plantOf(p)
	shape, dst, dport := b.netShape(pv) // 0 conn, 1 dns, 2 http, 3 ssl, 4 files
	if shape == 2 {
		dport = "80" // http.log: plain HTTP
	}
	dp, _ := strconv.Atoi(dport)
	b.buf = append(b.buf, '{')
	b.buf = strconv.AppendFloat(append(b.buf, `"ts":`...), float64(b.ts.UnixMicro())/1e6, 'f', 6, 64)
	b.buf = append(b.buf, `,"uid":"Cbench`...)
	b.seqOff = len(b.buf)
	b.buf = append(b.buf, "000000000000\","...)
	_ = SetSeq(b.buf, b.seqOff, b.seq)
	if shape == 4 {
		b.str("fuid", "F"+label(b.r, "", 16))
		b.buf = fmt.Appendf(b.buf, `"tx_hosts":[%q],"rx_hosts":[%q],`, b.extV4(), b.intV4())
		b.str("source", "HTTP")
		b.num("depth", 0)
		b.buf = append(b.buf, `"analyzers":["MD5","SHA1","SHA256"],`...)
		b.str("mime_type", "application/x-dosexec")
		b.str("filename", b.pick(bgFiles))
		b.num("seen_bytes", 1000+b.r.IntN(900000))
		hashes := map[ioc.Kind]string{ioc.KindSHA256: randHex(b.r, 64), ioc.KindSHA1: randHex(b.r, 40), ioc.KindMD5: randHex(b.r, 32)}
		if pv.kind == pHash {
			hashes[pv.hkind] = pv.hash
		}
		b.str("md5", hashes[ioc.KindMD5])
		b.str("sha1", hashes[ioc.KindSHA1])
		b.str("sha256", hashes[ioc.KindSHA256])
		return
	}
	b.str("id.orig_h", b.intV4())
	b.num("id.orig_p", b.ephemeral())
	b.str("id.resp_h", dst)
	b.num("id.resp_p", dp)
	switch shape {
	case 0:
		b.str("proto", "tcp")
		b.str("service", "ssl")
		b.buf = fmt.Appendf(b.buf, `"duration":%.6f,`, b.r.Float64()*30)
		b.num("orig_bytes", b.r.IntN(20000))
		b.num("resp_bytes", b.r.IntN(200000))
		b.str("conn_state", "SF")
		b.str("history", "ShADadfF")
		b.num("orig_pkts", 5+b.r.IntN(100))
		b.num("resp_pkts", 5+b.r.IntN(150))
	case 1:
		d := b.bgDomain()
		if pv.domain != "" {
			d = pv.domain
		}
		b.str("proto", "udp")
		b.num("trans_id", b.r.IntN(65536))
		b.str("query", d)
		b.num("qtype", 1)
		b.str("qtype_name", "A")
		b.str("rcode_name", "NOERROR")
		b.buf = fmt.Appendf(b.buf, `"AA":false,"TC":false,"RD":true,"RA":true,"answers":[%q],"TTLs":[300.0],"rejected":false,`, b.extV4())
	case 2:
		host, uri := b.bgDomain(), b.pick(bgPaths)
		if pv.domain != "" {
			host = pv.domain
		}
		referrer := ""
		if strings.HasPrefix(pv.url, "http://") {
			// Zeek splits a plain-HTTP URL into host and uri.
			host, uri = splitURL(pv.url)
		} else if pv.url != "" {
			referrer = pv.url // HTTPS URLs reach http.log as referrers only
		}
		b.num("trans_depth", 1)
		b.str("method", b.pick(httpVerbs))
		b.str("host", host)
		b.str("uri", uri)
		b.str("version", "1.1")
		if referrer != "" {
			b.str("referrer", referrer)
		}
		b.str("user_agent", b.pick(bgUAs))
		b.num("request_body_len", 0)
		b.num("response_body_len", b.r.IntN(100000))
		b.num("status_code", 200)
		b.str("status_msg", "OK")
	case 3:
		sni := b.bgDomain()
		if pv.domain != "" {
			sni = pv.domain
		}
		ja3 := randHex(b.r, 32)
		if pv.kind == pJA3 {
			ja3 = pv.hash
		}
		b.str("version", "TLSv13")
		b.str("cipher", "TLS_AES_256_GCM_SHA384")
		b.str("curve", "x25519")
		b.str("server_name", sni)
		b.buf = append(b.buf, `"resumed":false,"established":true,`...)
		b.str("ja3", ja3)
		b.str("ja3s", randHex(b.r, 32))
	}
}

func (b *builder) eve(p *ioc.Indicator) {
	pv := b.plantOf(p)
	shape, dst, dport := b.netShape(pv) // 0 flow/alert, 1 dns, 2 http, 3 tls, 4 fileinfo
	if shape == 2 {
		dport = "80" // EVE http: plain HTTP
	}
	dp, _ := strconv.Atoi(dport)
	et := [...]string{"flow", "dns", "http", "tls", "fileinfo"}[shape]
	b.buf = append(b.buf, '{')
	b.str("timestamp", b.ts.Format("2006-01-02T15:04:05.000000-0700"))
	b.buf = append(b.buf, `"flow_id":1000`...)
	b.seqOff = len(b.buf)
	b.buf = append(b.buf, "000000000000,"...)
	_ = SetSeq(b.buf, b.seqOff, b.seq)
	b.str("in_iface", "eth1")
	b.str("event_type", et)
	b.str("src_ip", b.intV4())
	b.num("src_port", b.ephemeral())
	b.str("dest_ip", dst)
	b.num("dest_port", dp)
	b.str("proto", "TCP")
	switch shape {
	case 0:
		b.str("app_proto", "tls")
		b.open("flow")
		b.num("pkts_toserver", 5+b.r.IntN(100))
		b.num("pkts_toclient", 5+b.r.IntN(100))
		b.num("bytes_toserver", b.r.IntN(30000))
		b.num("bytes_toclient", b.r.IntN(300000))
		b.str("start", b.ts.Format("2006-01-02T15:04:05.000000-0700"))
		b.str("state", "closed")
		b.str("reason", "timeout")
		b.close()
	case 1:
		d := b.bgDomain()
		if pv.domain != "" {
			d = pv.domain
		}
		b.open("dns")
		b.num("version", 2)
		b.str("type", "answer")
		b.num("id", b.r.IntN(65536))
		b.str("rrname", d)
		b.str("rrtype", "A")
		b.str("rcode", "NOERROR")
		b.buf = fmt.Appendf(b.buf, `"answers":[{"rrname":%q,"rrtype":"A","ttl":300,"rdata":%q}],`, d, b.extV4())
		b.close()
	case 2:
		host, path := b.bgDomain(), b.pick(bgPaths)
		if pv.domain != "" {
			host = pv.domain
		}
		referrer := ""
		if strings.HasPrefix(pv.url, "http://") {
			host, path = splitURL(pv.url)
		} else if pv.url != "" {
			referrer = pv.url
		}
		b.open("http")
		b.str("hostname", host)
		b.str("url", path)
		if referrer != "" {
			b.str("http_refer", referrer)
		}
		b.str("http_user_agent", b.pick(bgUAs))
		b.str("http_content_type", "text/html")
		b.str("http_method", b.pick(httpVerbs))
		b.str("protocol", "HTTP/1.1")
		b.num("status", 200)
		b.num("length", b.r.IntN(100000))
		b.close()
	case 3:
		sni := b.bgDomain()
		if pv.domain != "" {
			sni = pv.domain
		}
		ja3 := randHex(b.r, 32)
		if pv.kind == pJA3 {
			ja3 = pv.hash
		}
		b.open("tls")
		b.str("subject", "CN="+sni)
		b.str("issuerdn", "C=US, O=Let's Encrypt, CN=R11")
		b.str("sni", sni)
		b.str("version", "TLS 1.3")
		b.open("ja3")
		b.str("hash", ja3)
		b.close()
		b.close()
	case 4:
		hashes := map[ioc.Kind]string{ioc.KindSHA256: randHex(b.r, 64), ioc.KindSHA1: randHex(b.r, 40), ioc.KindMD5: randHex(b.r, 32)}
		if pv.kind == pHash {
			hashes[pv.hkind] = pv.hash
		}
		b.str("app_proto", "http")
		b.open("fileinfo")
		b.str("filename", "/download/"+b.pick(bgFiles))
		b.str("md5", hashes[ioc.KindMD5])
		b.str("sha1", hashes[ioc.KindSHA1])
		b.str("sha256", hashes[ioc.KindSHA256])
		b.buf = append(b.buf, `"stored":false,`...)
		b.num("size", b.r.IntN(5_000_000))
		b.num("tx_id", 0)
		b.close()
	}
}

// finish pads the event up to target bytes with a free-text field (JSON:
// "message" for ECS, "tags" for Zeek, metadata flowbits for EVE; raw: a
// trailing quoted note) and closes it.
func (b *builder) finish(format string, target int) {
	if format == "raw" {
		if need := target - len(b.buf) - 8; need > 0 || len(b.buf) < target {
			need = max(need, 1)
			b.buf = append(b.buf, ` note="`...)
			b.words(need)
			b.buf = append(b.buf, '"')
		}
		return
	}
	var open, closing string
	switch format {
	case "ecs":
		open, closing = `"message":"`, `"}`
	case "zeek":
		open, closing = `"tags":["`, `"]}`
	default:
		open, closing = `"metadata":{"flowbits":["`, `"]}}`
	}
	if need := target - len(b.buf) - len(open) - len(closing); need > 0 || len(b.buf) < target {
		need = max(need, 1) // a pad field at all overshoots a close target a little
		b.buf = append(b.buf, open...)
		b.words(need)
		if format != "ecs" { // array of words
			n := len(b.buf) - need
			for i := n; i < len(b.buf); i++ {
				if b.buf[i] == ' ' {
					b.buf[i] = '_'
				}
			}
		}
		b.buf = append(b.buf, closing...)
		return
	}
	b.buf[len(b.buf)-1] = '}' // replace the trailing comma
}

// words appends exactly n bytes of space-separated pad words.
func (b *builder) words(n int) {
	end := len(b.buf) + n
	for len(b.buf) < end {
		w := b.pick(padWords)
		if len(b.buf) > end-n { // not the first word
			b.buf = append(b.buf, ' ')
		}
		b.buf = append(b.buf, w...)
	}
	b.buf = b.buf[:end]
	if b.buf[end-1] == ' ' {
		b.buf[end-1] = 'x'
	}
}

// splitURL splits an absolute URL into host and path (with query).
func splitURL(u string) (host, path string) {
	rest := u[strings.Index(u, "://")+3:]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i], rest[i:]
	}
	return rest, "/"
}

// cidrAddress picks an address inside the CIDR indicator p (index idx)
// that no more specific CIDR indicator contains, trying a few random
// ones; when every try is covered it returns the last address and the
// index of the most specific indicator containing it, which is then the
// indicator the event is expected to hit.
func (g *Events) cidrAddress(r *rand.Rand, p *ioc.Indicator, idx int) (string, int) {
	pfx, err := netip.ParsePrefix(p.Value)
	if err != nil {
		return "", idx
	}
	var a netip.Addr
	best := idx
	for range 32 {
		a = randAddrIn(r, pfx)
		best = idx
		for bits := a.BitLen(); bits > pfx.Bits(); bits-- {
			q, _ := a.Prefix(bits)
			if j, ok := g.cidrs[q]; ok {
				best = int(j)
				break
			}
		}
		if best == idx {
			break
		}
	}
	return a.String(), best
}
