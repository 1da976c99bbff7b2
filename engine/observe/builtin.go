package observe

import "github.com/iocmatch/iocmatch/engine/ioc"

// Short names for the builtin tables.
const (
	kIP   = ioc.KindIPv4
	kDom  = ioc.KindDomain
	kURL  = ioc.KindURL
	kMail = ioc.KindEmail
	kPort = ioc.KindPort
	kProt = ioc.KindProtocol
	kText = ioc.KindText
	kCmd  = ioc.KindCommandLine
	kUA   = ioc.KindUserAgent
	kFN   = ioc.KindFileName
	kFP   = ioc.KindFilePath
	kProc = ioc.KindProcessName
	kReg  = ioc.KindRegistryKey
	rAny  = ioc.RoleAny
	rSrc  = ioc.RoleSrc
	rDst  = ioc.RoleDst
)

func fv(field string, k ioc.Kind, r ioc.Role) FieldMap {
	return FieldMap{Field: field, Kind: k, Role: r}
}
func fx(field string, k ioc.Kind, r ioc.Role, as Extract) FieldMap {
	return FieldMap{Field: field, Kind: k, Role: r, As: as}
}

// BuiltinProfiles returns fresh copies of the builtin profiles, named
// "ecs", "zeek", "eve" and "sysmon" after their formats. The caller may
// modify them.
func BuiltinProfiles() []Profile {
	return []Profile{ecsProfile(), zeekProfile(), eveProfile(), sysmonProfile()}
}

func hashFields(prefix string) []FieldMap {
	return []FieldMap{
		fv(prefix+".md5", ioc.KindMD5, rAny),
		fv(prefix+".sha1", ioc.KindSHA1, rAny),
		fv(prefix+".sha256", ioc.KindSHA256, rAny),
		fv(prefix+".sha512", ioc.KindSHA512, rAny),
	}
}

func ecsProfile() Profile {
	f := []FieldMap{
		fx("@timestamp", 0, rAny, ExtractTimestamp),
		fx("event.id", 0, rAny, ExtractEventID),
		fv("source.ip", kIP, rSrc),
		fv("destination.ip", kIP, rDst),
		fv("client.ip", kIP, rSrc),
		fv("server.ip", kIP, rDst),
		fv("host.ip", kIP, rAny),
		fv("related.ip", kIP, rAny),
		fx("source.address", 0, rSrc, ExtractHost),
		fx("destination.address", 0, rDst, ExtractHost),
		fx("related.hosts", 0, rAny, ExtractHost),
		fx("related.hash", 0, rAny, ExtractHash),
		fv("source.domain", kDom, rSrc),
		fv("destination.domain", kDom, rDst),
		fv("client.domain", kDom, rSrc),
		fv("server.domain", kDom, rDst),
		fv("source.port", kPort, rSrc),
		fv("destination.port", kPort, rDst),
		fv("client.port", kPort, rSrc),
		fv("server.port", kPort, rDst),
		fv("network.transport", kProt, rAny),
		fv("network.protocol", kProt, rAny),
		fx("url.full", 0, rDst, ExtractURL),
		fx("url.original", 0, rDst, ExtractURL),
		fx("url.path", 0, rDst, ExtractURL),
		fv("url.domain", kDom, rDst),
		fx("url.domain", 0, rDst, ExtractURLHost),
		fx("url.port", 0, rDst, ExtractURLPort),
		fx("url.scheme", 0, rDst, ExtractURLScheme),
		fv("dns.question.name", kDom, rAny),
		fx("dns.answers.data", 0, rAny, ExtractHost),
		fv("dns.resolved_ip", kIP, rAny),
		fv("tls.client.server_name", kDom, rDst),
		fv("tls.client.ja3", ioc.KindJA3, rSrc),
		fv("tls.server.ja3s", ioc.KindJA3S, rDst),
		fv("tls.client.ja4", ioc.KindJA4, rSrc),
		fv("file.name", kFN, rAny),
		fv("file.path", kFP, rAny),
		fv("file.target_path", kFP, rAny),
		fv("process.name", kProc, rAny),
		fx("process.executable", kProc, rAny, ExtractPath),
		fx("process.command_line", kCmd, rAny, ExtractText),
		fv("process.parent.name", kProc, rAny),
		fx("process.parent.executable", kProc, rAny, ExtractPath),
		fx("process.parent.command_line", kCmd, rAny, ExtractText),
		fv("dll.name", kFN, rAny),
		fv("dll.path", kFP, rAny),
		fv("user_agent.original", kUA, rSrc),
		fv("email.from.address", kMail, rSrc),
		fv("email.sender.address", kMail, rSrc),
		fv("email.reply_to.address", kMail, rSrc),
		fv("email.to.address", kMail, rDst),
		fv("email.cc.address", kMail, rDst),
		fv("email.bcc.address", kMail, rDst),
		fv("email.subject", kText, rAny),
		fv("email.attachments.file.name", kFN, rAny),
		fx("http.request.referrer", 0, rAny, ExtractURL),
		fv("registry.path", kReg, rAny),
		fv("registry.key", kReg, rAny),
	}
	f = append(f, hashFields("file.hash")...)
	f = append(f, hashFields("process.hash")...)
	f = append(f, hashFields("process.parent.hash")...)
	f = append(f, hashFields("dll.hash")...)
	f = append(f, hashFields("email.attachments.file.hash")...)
	// Winlogbeat ships Sysmon events as ECS with the original fields under winlog.event_data.
	f = append(f, sysmonFields("winlog.event_data.")...)
	return Profile{Name: "ecs", Format: FormatECS, Fields: f, TextFields: []string{"message", "error.message"}}
}

func zeekProfile() Profile {
	f := []FieldMap{
		fx("ts", 0, rAny, ExtractTimestamp),
		fx("uid", 0, rAny, ExtractEventID),
		fx("fuid", 0, rAny, ExtractEventID),
		fv("proto", kProt, rAny),
		fv("service", kProt, rAny),
		// dns.log
		fv("query", kDom, rAny),
		fx("answers", 0, rAny, ExtractHost),
		// http.log
		fx("host", 0, rDst, ExtractHost),
		fx("host", 0, rDst, ExtractURLHost),
		fx("uri", 0, rDst, ExtractURL),
		fx("referrer", 0, rAny, ExtractURL),
		fv("user_agent", kUA, rSrc),
		// ssl.log and x509.log; certificate.serial is deliberately not mapped.
		fv("server_name", kDom, rDst),
		fv("ja3", ioc.KindJA3, rSrc),
		fv("ja3s", ioc.KindJA3S, rDst),
		fv("ja4", ioc.KindJA4, rSrc),
		fx("san.dns", 0, rAny, ExtractHost),
		fv("san.ip", kIP, rAny),
		// files.log
		fv("md5", ioc.KindMD5, rAny),
		fv("sha1", ioc.KindSHA1, rAny),
		fv("sha256", ioc.KindSHA256, rAny),
		fv("filename", kFN, rAny),
		fv("orig_filenames", kFN, rSrc), // http.log
		fv("resp_filenames", kFN, rDst),
		fv("tx_hosts", kIP, rSrc),
		fv("rx_hosts", kIP, rDst),
		// smtp.log
		fv("mailfrom", kMail, rSrc),
		fv("rcptto", kMail, rDst),
		fv("from", kMail, rSrc),
		fv("to", kMail, rDst),
		fv("reply_to", kMail, rSrc),
		fv("x_originating_ip", kIP, rSrc),
		fv("path", kIP, rAny), // the Received: hops of the message
		fv("helo", kDom, rSrc),
		fv("subject", kText, rAny),
		// notice.log
		fv("src", kIP, rSrc),
		fv("dst", kIP, rDst),
		fv("p", kPort, rDst),
	}
	for _, sep := range []string{".", "_"} {
		f = append(f,
			fv("id"+sep+"orig_h", kIP, rSrc),
			fv("id"+sep+"resp_h", kIP, rDst),
			fv("id"+sep+"orig_p", kPort, rSrc),
			fv("id"+sep+"resp_p", kPort, rDst),
			fx("id"+sep+"resp_p", 0, rDst, ExtractURLPort),
		)
	}
	return Profile{Name: "zeek", Format: FormatZeek, Fields: f, TextFields: []string{"msg", "sub"}}
}

func eveProfile() Profile {
	f := []FieldMap{
		fx("timestamp", 0, rAny, ExtractTimestamp),
		fx("flow_id", 0, rAny, ExtractEventID),
		fv("src_ip", kIP, rSrc),
		fv("dest_ip", kIP, rDst),
		fv("src_port", kPort, rSrc),
		fv("dest_port", kPort, rDst),
		fv("proto", kProt, rAny),
		fv("app_proto", kProt, rAny),
		// dns (EVE v1 and v2)
		fv("dns.rrname", kDom, rAny),
		fx("dns.rdata", 0, rAny, ExtractHost),
		fv("dns.queries.rrname", kDom, rAny),
		fv("dns.answers.rrname", kDom, rAny),
		fx("dns.answers.rdata", 0, rAny, ExtractHost),
		fv("dns.grouped.A", kIP, rAny),
		fv("dns.grouped.AAAA", kIP, rAny),
		fv("dns.grouped.CNAME", kDom, rAny),
		// http
		fx("http.hostname", 0, rDst, ExtractHost),
		fx("http.hostname", 0, rDst, ExtractURLHost),
		fx("http.url", 0, rDst, ExtractURL),
		fx("http.http_port", 0, rDst, ExtractURLPort),
		fx("http.http_refer", 0, rAny, ExtractURL),
		fx("http.redirect", 0, rDst, ExtractURL),
		fv("http.http_user_agent", kUA, rSrc),
		// tls; tls.serial and tls.fingerprint are deliberately not mapped.
		fv("tls.sni", kDom, rDst),
		fv("tls.ja3.hash", ioc.KindJA3, rSrc),
		fv("tls.ja3s.hash", ioc.KindJA3S, rDst),
		fv("tls.ja4", ioc.KindJA4, rSrc),
		fv("quic.sni", kDom, rDst),
		fv("quic.ja4", ioc.KindJA4, rSrc),
		// fileinfo
		fv("fileinfo.md5", ioc.KindMD5, rAny),
		fv("fileinfo.sha1", ioc.KindSHA1, rAny),
		fv("fileinfo.sha256", ioc.KindSHA256, rAny),
		fx("fileinfo.filename", kFN, rAny, ExtractPath),
		// smtp / email
		fv("smtp.helo", kDom, rSrc),
		fv("smtp.mail_from", kMail, rSrc),
		fv("smtp.rcpt_to", kMail, rDst),
		fv("email.from", kMail, rSrc),
		fv("email.to", kMail, rDst),
		fv("email.cc", kMail, rDst),
		// alert text is matched by substring indicators but not scanned:
		// signature names mention domains the event is not about.
		fv("alert.signature", kText, rAny),
	}
	return Profile{Name: "eve", Format: FormatEVE, Fields: f}
}

// sysmonFields maps the Sysmon EventData fields under prefix.
func sysmonFields(prefix string) []FieldMap {
	return []FieldMap{
		fx(prefix+"Image", kProc, rAny, ExtractPath),
		fx(prefix+"ParentImage", kProc, rAny, ExtractPath),
		fx(prefix+"SourceImage", kProc, rSrc, ExtractPath),
		fx(prefix+"TargetImage", kProc, rDst, ExtractPath),
		fx(prefix+"CommandLine", kCmd, rAny, ExtractText),
		fx(prefix+"ParentCommandLine", kCmd, rAny, ExtractText),
		fx(prefix+"Hashes", 0, rAny, ExtractHashes),
		fx(prefix+"Hash", 0, rAny, ExtractHashes),
		fv(prefix+"OriginalFileName", kFN, rAny),
		fv(prefix+"SourceIp", kIP, rSrc),
		fv(prefix+"DestinationIp", kIP, rDst),
		fx(prefix+"SourceHostname", 0, rSrc, ExtractHost),
		fx(prefix+"DestinationHostname", 0, rDst, ExtractHost),
		fv(prefix+"SourcePort", kPort, rSrc),
		fv(prefix+"DestinationPort", kPort, rDst),
		fv(prefix+"Protocol", kProt, rAny),
		fv(prefix+"QueryName", kDom, rAny),
		fx(prefix+"QueryResults", 0, rAny, ExtractDNSResults),
		fv(prefix+"TargetObject", kReg, rAny),
		fx(prefix+"TargetFilename", kFN, rAny, ExtractPath),
		fx(prefix+"ImageLoaded", kFN, rAny, ExtractPath),
		fx(prefix+"UtcTime", 0, rAny, ExtractTimestamp),
		// Windows Security and PowerShell events (4624, 4688, 7045, 4104).
		fv(prefix+"IpAddress", kIP, rSrc),
		fv(prefix+"IpPort", kPort, rSrc),
		fx(prefix+"NewProcessName", kProc, rAny, ExtractPath),
		fx(prefix+"ParentProcessName", kProc, rAny, ExtractPath),
		fx(prefix+"ProcessName", kProc, rAny, ExtractPath),
		fx(prefix+"ServiceFileName", kCmd, rAny, ExtractText),
		fx(prefix+"ImagePath", kCmd, rAny, ExtractText),
		fx(prefix+"ScriptBlockText", kText, rAny, ExtractText),
	}
}

func sysmonProfile() Profile {
	f := []FieldMap{
		fx("EventRecordID", 0, rAny, ExtractEventID),
		fx("RecordNumber", 0, rAny, ExtractEventID),
		fx("winlog.record_id", 0, rAny, ExtractEventID),
		fx("EventTime", 0, rAny, ExtractTimestamp),
		fx("TimeCreated", 0, rAny, ExtractTimestamp),
		fx("@timestamp", 0, rAny, ExtractTimestamp),
		// evtx_dump-style JSON: {"Event":{"System":{...},"EventData":{...}}}
		fx("Event.System.EventRecordID", 0, rAny, ExtractEventID),
		fx("Event.System.TimeCreated.#attributes.SystemTime", 0, rAny, ExtractTimestamp),
	}
	for _, p := range []string{"", "EventData.", "event_data.", "winlog.event_data.", "Event.EventData."} {
		f = append(f, sysmonFields(p)...)
	}
	return Profile{Name: "sysmon", Format: FormatSysmon, Fields: f}
}

// Detection signatures: leaf paths whose presence says which format a
// JSON event is in (see detect).
const (
	sigECSVersion uint16 = 1 << iota
	sigAtTimestamp
	sigEveType
	sigEve
	sigZeekTS
	sigZeek
	sigSysmon
)

var signatures = []struct {
	path string
	bit  uint16
}{
	{"ecs.version", sigECSVersion},
	{"@timestamp", sigAtTimestamp},
	{"event_type", sigEveType},
	{"src_ip", sigEve}, {"dest_ip", sigEve}, {"flow_id", sigEve}, {"timestamp", sigEve},
	{"ts", sigZeekTS},
	{"uid", sigZeek}, {"fuid", sigZeek}, {"id.orig_h", sigZeek}, {"id_orig_h", sigZeek}, {"_path", sigZeek},
	{"certificate.serial", sigZeek}, {"certificate.subject", sigZeek},
	{"EventID", sigSysmon}, {"EventRecordID", sigSysmon}, {"Hashes", sigSysmon}, {"Image", sigSysmon},
	{"UtcTime", sigSysmon}, {"ProcessGuid", sigSysmon}, {"Channel", sigSysmon},
	{"EventData.UtcTime", sigSysmon}, {"EventData.Image", sigSysmon}, {"EventData.ProcessGuid", sigSysmon},
	{"event_data.UtcTime", sigSysmon}, {"event_data.Image", sigSysmon}, {"event_data.ProcessGuid", sigSysmon},
	{"Event.System.EventID", sigSysmon}, {"Event.System.Channel", sigSysmon}, {"Event.EventData.UtcTime", sigSysmon},
	{"winlog.event_id", sigSysmon}, {"winlog.channel", sigSysmon}, {"winlog.provider_name", sigSysmon},
}

// detect picks the JSON format from the signature bits of one event.
func detect(sig uint16) Format {
	switch {
	case sig&sigEveType != 0 && sig&sigEve != 0:
		return FormatEVE
	case sig&sigZeekTS != 0 && sig&sigZeek != 0:
		return FormatZeek
	case sig&sigECSVersion != 0:
		return FormatECS
	case sig&sigSysmon != 0:
		return FormatSysmon
	}
	return FormatECS
}
