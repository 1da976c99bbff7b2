package alert

import (
	"fmt"
	"strings"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// MarshalJSON implements json.Marshaler with AppendJSON.
func (a *Alert) MarshalJSON() ([]byte, error) {
	return a.AppendJSON(nil), nil
}

// AppendJSON appends the alert's ECS document to dst as one line of
// compact JSON (no newline) and returns the extended slice.
//
// Layout (keys in this order; empty values are omitted):
//
//	@timestamp        processing time (RFC 3339, UTC)
//	ecs.version       ECSVersion
//	event             kind "alert", category ["threat"], type ["indicator"],
//	                  dataset "iocmatch.alert", module "iocmatch",
//	                  id = the alert id, original = the raw event as a string
//	message           a one-line human summary of the hits
//	threat            enrichments[] (one per hit, see below), framework
//	                  "MITRE ATT&CK" when techniques are known, technique.* and
//	                  technique.subtechnique.* (T1071.001 gives technique T1071,
//	                  subtechnique T1071.001), tactic.* (from mitre-attack kill
//	                  chain phases), software.* (malware, type "Malware"),
//	                  group.name (intrusion sets and threat actors), feed.name
//	                  (only when every hit comes from the same feed)
//	<event fields>    ECS events: the event's top-level fieldsets listed in
//	                  Options.ECSFieldsets (source, destination, host, url,
//	                  user, process, file, dns, ...) copied verbatim, so the
//	                  alert pivots like the event in Kibana. Every format:
//	                  source.ip/port, destination.ip/port and related.ip/
//	                  hosts/hash derived from the observables, for the
//	                  fieldsets the event does not carry itself.
//	iocmatch          custom fields: alert_id, event_format, source,
//	                  event_id, event_timestamp, indicator_ids (sorted),
//	                  max_confidence, campaigns, suppressed_count (always),
//	                  suppressed_since, original_truncated, and event: the
//	                  parsed original of a non-ECS JSON event (Zeek, EVE,
//	                  Sysmon, or an ECS event when no fieldset is merged);
//	                  map iocmatch.event as "flattened" in Elasticsearch to
//	                  avoid a mapping explosion.
//
// Each threat.enrichments[] element:
//
//	matched      atomic (the observed value), field (the event field),
//	             id (the indicator id), occurred (@timestamp), type MatchType
//	indicator    type (ECS/STIX indicator type; an array for compounds),
//	             ip, url.full/url.original/url.domain, email.address,
//	             file.hash.*, file.name, file.path, registry.path/hive/key
//	             (as the kind allows; CIDR indicators set no ip: an ECS ip
//	             field cannot hold a prefix), name, description, provider,
//	             confidence (Not Specified/Low/Medium/High, see
//	             ECSConfidence), first_seen (created, else valid_from),
//	             modified_at, reference (first reference URL),
//	             marking.tlp (from a "tlp:*" label)
//	feed.name    the indicator's feed
//	iocmatch     indicator_kind, indicator_value (or expression),
//	             observed_kind, confidence (numeric 0-100), severity,
//	             labels, valid_from, valid_until, pattern, malware,
//	             threat_actors, intrusion_sets, campaigns, techniques,
//	             kill_chain, suppressed_count
func (a *Alert) AppendJSON(dst []byte) []byte {
	e := enc{b: dst}
	e.openObj()
	e.timeField("@timestamp", a.Timestamp)
	e.objKey("ecs")
	e.strField("version", ECSVersion)
	e.closeObj()

	e.objKey("event")
	e.strField("kind", "alert")
	e.strsField("category", []string{"threat"})
	e.strsField("type", []string{"indicator"})
	e.strField("dataset", Dataset)
	e.strField("module", "iocmatch")
	e.strField("id", a.ID)
	if len(a.Original) > 0 {
		e.key("original")
		e.str(string(a.Original))
	}
	e.closeObj()

	e.strField("message", a.Message())
	a.appendThreat(&e)

	for _, m := range a.extra {
		e.key(m.key)
		e.raw(m.val)
	}

	e.objKey("iocmatch")
	e.strField("alert_id", a.ID)
	e.strField("event_format", a.Format)
	e.strField("source", a.Source)
	e.strField("event_id", a.EventID)
	e.strField("event_timestamp", a.EventTimestamp)
	e.strsField("indicator_ids", IndicatorIDs(a.Enrichments))
	if mc := a.MaxConfidence(); mc > 0 {
		e.key("max_confidence")
		e.int(int64(mc))
	}
	e.strsField("campaigns", a.collect(func(ind *ioc.Indicator) []string { return ind.Context.Campaigns }))
	e.key("suppressed_count")
	e.int(a.SuppressedCount)
	e.timeField("suppressed_since", a.SuppressedSince)
	if a.OriginalTruncated {
		e.key("original_truncated")
		e.bool(true)
	}
	if len(a.parsed) > 0 {
		e.key("event")
		e.raw(a.parsed)
	}
	e.closeObj()
	e.closeObj()
	return e.b
}

// Message returns the one-line summary used as the alert's message, e.g.
// "iocmatch: domain malware-c2.example matched dns.question.name
// (SampleRAT)". At most three hits are named.
func (a *Alert) Message() string {
	var b strings.Builder
	b.WriteString("iocmatch: ")
	if n := len(a.Enrichments); n > 1 {
		fmt.Fprintf(&b, "%d indicators matched: ", n)
	}
	for i := range a.Enrichments {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(a.Enrichments)-3)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		en := &a.Enrichments[i]
		ind := en.Indicator
		b.WriteString(ind.Kind.String())
		b.WriteByte(' ')
		if ind.Kind == ioc.KindCompound {
			switch {
			case ind.Pattern != "":
				b.WriteString(ind.Pattern)
			case ind.Expr != nil:
				b.WriteString(ind.Expr.String())
			default:
				b.WriteString(ind.ID)
			}
		} else {
			b.WriteString(ind.Value)
		}
		if en.Field != "" {
			b.WriteString(" matched ")
			b.WriteString(en.Field)
		} else {
			b.WriteString(" matched")
		}
		names := append(append([]string(nil), ind.Context.Malware...), ind.Context.IntrusionSets...)
		names = append(names, ind.Context.ThreatActors...)
		if len(names) == 0 && ind.Name != "" {
			names = []string{ind.Name}
		}
		if len(names) > 0 {
			b.WriteString(" (")
			b.WriteString(strings.Join(names, ", "))
			b.WriteByte(')')
		}
	}
	return b.String()
}

// MaxConfidence returns the highest indicator confidence (0: unknown).
func (a *Alert) MaxConfidence() int {
	m := 0
	for i := range a.Enrichments {
		m = max(m, a.Enrichments[i].Indicator.Confidence)
	}
	return m
}

// collect returns the sorted, unique union of f over the indicators.
func (a *Alert) collect(f func(*ioc.Indicator) []string) []string {
	var out []string
	for i := range a.Enrichments {
		out = append(out, f(a.Enrichments[i].Indicator)...)
	}
	return sortedUnique(out)
}

func (a *Alert) appendThreat(e *enc) {
	e.objKey("threat")
	var techs, subs []ioc.Technique
	seen := map[string]bool{}
	for i := range a.Enrichments {
		for _, t := range a.Enrichments[i].Indicator.Context.Techniques {
			id := strings.ToUpper(strings.TrimSpace(t.ID))
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			parent, _, isSub := strings.Cut(id, ".")
			if isSub {
				subs = append(subs, ioc.Technique{ID: id, Name: t.Name})
				if !seen[parent] {
					seen[parent] = true
					techs = append(techs, ioc.Technique{ID: parent})
				}
			} else {
				techs = append(techs, ioc.Technique{ID: id, Name: t.Name})
			}
		}
	}
	// A parent added for a subtechnique may also appear with a name later.
	for i := range a.Enrichments {
		for _, t := range a.Enrichments[i].Indicator.Context.Techniques {
			id := strings.ToUpper(strings.TrimSpace(t.ID))
			for j := range techs {
				if techs[j].ID == id && techs[j].Name == "" {
					techs[j].Name = t.Name
				}
			}
		}
	}
	sortTechniques(techs)
	sortTechniques(subs)
	tactics := a.tactics()
	if len(techs) > 0 || len(tactics) > 0 {
		e.strField("framework", "MITRE ATT&CK")
	}

	e.key("enrichments")
	e.openArr()
	for i := range a.Enrichments {
		a.appendEnrichment(e, &a.Enrichments[i])
	}
	e.closeArr()

	feed := ""
	for i := range a.Enrichments {
		f := a.Enrichments[i].Indicator.Feed
		if i == 0 {
			feed = f
		} else if f != feed {
			feed = ""
			break
		}
	}
	if feed != "" {
		e.objKey("feed")
		e.strField("name", feed)
		e.closeObj()
	}
	if groups := a.collect(func(ind *ioc.Indicator) []string {
		return append(append([]string(nil), ind.Context.IntrusionSets...), ind.Context.ThreatActors...)
	}); len(groups) > 0 {
		e.objKey("group")
		e.strsField("name", groups)
		e.closeObj()
	}
	if malware := a.collect(func(ind *ioc.Indicator) []string { return ind.Context.Malware }); len(malware) > 0 {
		e.objKey("software")
		e.strsField("name", malware)
		e.strField("type", "Malware")
		e.closeObj()
	}
	if len(tactics) > 0 {
		e.objKey("tactic")
		ids, names, refs := make([]string, len(tactics)), make([]string, len(tactics)), make([]string, len(tactics))
		for i, t := range tactics {
			ids[i], names[i], refs[i] = t.id, t.name, "https://attack.mitre.org/tactics/"+t.id+"/"
		}
		e.strsField("id", ids)
		e.strsField("name", names)
		e.strsField("reference", refs)
		e.closeObj()
	}
	if len(techs) > 0 {
		e.objKey("technique")
		appendTechniques(e, techs)
		if len(subs) > 0 {
			e.objKey("subtechnique")
			appendTechniques(e, subs)
			e.closeObj()
		}
		e.closeObj()
	}
	e.closeObj()
}

func sortTechniques(ts []ioc.Technique) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].ID < ts[j-1].ID; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

// appendTechniques writes id, name and reference as parallel arrays;
// name is written only when every technique has one, so that the
// arrays stay aligned.
func appendTechniques(e *enc, ts []ioc.Technique) {
	ids, names, refs := make([]string, len(ts)), make([]string, len(ts)), make([]string, len(ts))
	allNamed := true
	for i, t := range ts {
		ids[i] = t.ID
		names[i] = t.Name
		allNamed = allNamed && t.Name != ""
		refs[i] = "https://attack.mitre.org/techniques/" + strings.ReplaceAll(t.ID, ".", "/") + "/"
	}
	e.strsField("id", ids)
	if allNamed {
		e.strsField("name", names)
	}
	e.strsField("reference", refs)
}

type tactic struct{ id, name string }

// tactics maps the mitre-attack kill chain phases of the indicators to
// ATT&CK enterprise tactics, sorted by id.
func (a *Alert) tactics() []tactic {
	var out []tactic
	seen := map[string]bool{}
	for i := range a.Enrichments {
		for _, kc := range a.Enrichments[i].Indicator.Context.KillChain {
			chain, phase, ok := strings.Cut(kc, ":")
			if !ok || !strings.EqualFold(chain, "mitre-attack") {
				continue
			}
			id, name := attackTactic(strings.ToLower(phase))
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, tactic{id, name})
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].id < out[j-1].id; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// attackTactic returns the ATT&CK enterprise tactic of a kill chain
// phase name ("command-and-control" -> TA0011 "Command and Control").
func attackTactic(phase string) (id, name string) {
	switch phase {
	case "reconnaissance":
		return "TA0043", "Reconnaissance"
	case "resource-development":
		return "TA0042", "Resource Development"
	case "initial-access":
		return "TA0001", "Initial Access"
	case "execution":
		return "TA0002", "Execution"
	case "persistence":
		return "TA0003", "Persistence"
	case "privilege-escalation":
		return "TA0004", "Privilege Escalation"
	case "defense-evasion":
		return "TA0005", "Defense Evasion"
	case "credential-access":
		return "TA0006", "Credential Access"
	case "discovery":
		return "TA0007", "Discovery"
	case "lateral-movement":
		return "TA0008", "Lateral Movement"
	case "collection":
		return "TA0009", "Collection"
	case "exfiltration":
		return "TA0010", "Exfiltration"
	case "command-and-control":
		return "TA0011", "Command and Control"
	case "impact":
		return "TA0040", "Impact"
	}
	return "", ""
}

func (a *Alert) appendEnrichment(e *enc, en *Enrichment) {
	ind := en.Indicator
	e.openObj()

	e.objKey("matched")
	e.strField("atomic", en.Matched)
	e.strField("field", en.Field)
	e.strField("id", ind.ID)
	e.timeField("occurred", a.Timestamp)
	e.strField("type", MatchType)
	e.closeObj()

	e.objKey("indicator")
	if ind.Kind == ioc.KindCompound {
		e.strsField("type", compoundTypes(ind.Expr))
	} else {
		e.strField("type", ECSIndicatorType(ind.Kind))
	}
	appendIndicatorValue(e, ind)
	e.strField("name", ind.Name)
	e.strField("description", ind.Description)
	e.strField("provider", ind.Provider)
	e.strField("confidence", ECSConfidence(ind.Confidence))
	if !ind.Created.IsZero() {
		e.timeField("first_seen", ind.Created)
	} else {
		e.timeField("first_seen", ind.ValidFrom)
	}
	e.timeField("modified_at", ind.Modified)
	e.strField("reference", reference(ind))
	if tlp := tlpMarking(ind.Labels); tlp != "" {
		e.objKey("marking")
		e.strField("tlp", tlp)
		e.closeObj()
	}
	e.closeObj()

	if ind.Feed != "" {
		e.objKey("feed")
		e.strField("name", ind.Feed)
		e.closeObj()
	}

	e.objKey("iocmatch")
	e.strField("indicator_kind", ind.Kind.String())
	if ind.Kind == ioc.KindCompound {
		if ind.Expr != nil {
			e.strField("expression", ind.Expr.String())
		}
	} else {
		e.strField("indicator_value", ind.Value)
	}
	e.strField("observed_kind", en.ObservedKind.String())
	if ind.Confidence > 0 {
		e.key("confidence")
		e.int(int64(ind.Confidence))
	}
	e.strField("severity", ind.Severity)
	e.strsField("labels", ind.Labels)
	e.timeField("valid_from", ind.ValidFrom)
	e.timeField("valid_until", ind.ValidUntil)
	e.strField("pattern", ind.Pattern)
	c := &ind.Context
	e.strsField("malware", c.Malware)
	e.strsField("threat_actors", c.ThreatActors)
	e.strsField("intrusion_sets", c.IntrusionSets)
	e.strsField("campaigns", c.Campaigns)
	if len(c.Techniques) > 0 {
		ids := make([]string, len(c.Techniques))
		for i, t := range c.Techniques {
			ids[i] = t.ID
		}
		e.strsField("techniques", ids)
	}
	e.strsField("kill_chain", c.KillChain)
	if en.SuppressedCount > 0 {
		e.key("suppressed_count")
		e.int(en.SuppressedCount)
	}
	e.closeObj()

	e.closeObj()
}

// appendIndicatorValue writes the ECS indicator field that holds the
// indicator's value, as its kind allows.
func appendIndicatorValue(e *enc, ind *ioc.Indicator) {
	v := ind.Value
	switch ind.Kind {
	case ioc.KindIPv4, ioc.KindIPv6:
		e.strField("ip", v)
	case ioc.KindDomain:
		e.objKey("url")
		e.strField("domain", v)
		e.closeObj()
	case ioc.KindURL:
		e.objKey("url")
		e.strField("full", v)
		e.strField("original", v)
		if h := ioc.URLHost(v); h != "" && !isIP(h) {
			e.strField("domain", h)
		}
		if scheme, _, ok := strings.Cut(v, "://"); ok {
			e.strField("scheme", scheme)
		}
		e.closeObj()
	case ioc.KindEmail:
		e.objKey("email")
		e.strField("address", v)
		e.closeObj()
	case ioc.KindMD5, ioc.KindSHA1, ioc.KindSHA256, ioc.KindSHA512:
		e.objKey("file")
		e.objKey("hash")
		e.strField(strings.ToLower(ind.Kind.String()), v)
		e.closeObj()
		e.closeObj()
	case ioc.KindFileName:
		e.objKey("file")
		e.strField("name", v)
		e.closeObj()
	case ioc.KindFilePath:
		e.objKey("file")
		e.strField("path", v)
		e.closeObj()
	case ioc.KindRegistryKey:
		e.objKey("registry")
		hive, key := registryHive(v)
		e.strField("hive", hive)
		e.strField("key", key)
		e.strField("path", v)
		e.closeObj()
	}
}

func isIP(h string) bool {
	_, _, err := ioc.Normalize(ioc.KindIPv4, h)
	return err == nil
}

// registryHive splits a normalised registry key into the ECS hive
// abbreviation and the key below it.
func registryHive(v string) (hive, key string) {
	h, rest, _ := strings.Cut(v, `\`)
	switch h {
	case "hkey_local_machine":
		hive = "HKLM"
	case "hkey_current_user":
		hive = "HKCU"
	case "hkey_classes_root":
		hive = "HKCR"
	case "hkey_users":
		hive = "HKU"
	case "hkey_current_config":
		hive = "HKCC"
	default:
		return "", ""
	}
	return hive, rest
}

// ECSIndicatorType returns the ECS threat indicator type (the STIX cyber
// observable type) of an indicator kind, or "" when ECS has none (JA3,
// JA3S, JA4, user agents, free-text substrings).
func ECSIndicatorType(k ioc.Kind) string {
	switch k {
	case ioc.KindIPv4, ioc.KindCIDRv4:
		return "ipv4-addr"
	case ioc.KindIPv6, ioc.KindCIDRv6:
		return "ipv6-addr"
	case ioc.KindDomain:
		return "domain-name"
	case ioc.KindURL:
		return "url"
	case ioc.KindEmail:
		return "email-addr"
	case ioc.KindMD5, ioc.KindSHA1, ioc.KindSHA256, ioc.KindSHA512, ioc.KindFileName, ioc.KindFilePath:
		return "file"
	case ioc.KindRegistryKey:
		return "windows-registry-key"
	case ioc.KindProcessName, ioc.KindCommandLine:
		return "process"
	case ioc.KindPort:
		return "port"
	}
	return ""
}

// compoundTypes returns the sorted ECS indicator types of the targets
// of a compound expression.
func compoundTypes(x *ioc.Expr) []string {
	var out []string
	var walk func(*ioc.Expr, int)
	walk = func(x *ioc.Expr, depth int) {
		if x == nil || depth > 64 {
			return
		}
		if x.Pred != nil {
			if t := ECSIndicatorType(x.Pred.Target.Kind); t != "" {
				out = append(out, t)
			}
		}
		for _, a := range x.Args {
			walk(a, depth+1)
		}
	}
	walk(x, 0)
	return sortedUnique(out)
}

// ECSConfidence maps a 0-100 confidence to the ECS indicator confidence
// keyword, the None/Low/Med/High scale of STIX 2.1 Appendix A: 1-29
// "Low", 30-69 "Medium", 70-100 "High". 0 is "Not Specified", because 0
// means unknown in the indicator model (STIX "None" is never produced).
func ECSConfidence(c int) string {
	switch {
	case c <= 0:
		return "Not Specified"
	case c < 30:
		return "Low"
	case c < 70:
		return "Medium"
	}
	return "High"
}

// reference returns the first reference URL, preferring one that is not
// an ATT&CK technique page.
func reference(ind *ioc.Indicator) string {
	first := ""
	for _, r := range ind.Context.References {
		if r.URL == "" {
			continue
		}
		if !strings.EqualFold(r.Source, "mitre-attack") {
			return r.URL
		}
		if first == "" {
			first = r.URL
		}
	}
	return first
}

// tlpMarking returns the ECS TLP marking of the first "tlp:<color>" label
// (TLP 1.0 and 2.0 colours), or "".
func tlpMarking(labels []string) string {
	for _, l := range labels {
		p, c, ok := strings.Cut(l, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(p), "tlp") {
			continue
		}
		c = strings.ToUpper(strings.TrimSpace(c))
		switch c {
		case "WHITE", "CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED":
			return c
		}
	}
	return ""
}
