// Package stixpattern parses and evaluates the STIX 2.1 patterning
// language (STIX 2.1 specification, section 9) and translates patterns
// into iocmatch's indicator model (engine/ioc).
//
// # API
//
//   - Parse turns a pattern into an immutable AST (Pattern,
//     ObservationExpr, Qualifier, ComparisonExpr, Comparison, ObjectPath,
//     PathStep, Literal). Errors are *SyntaxError with the byte offset and
//     what was expected. Pattern.String renders canonically and
//     Parse(p.String()) equals p.
//   - Pattern.Match evaluates a pattern exactly against observed-data
//     (ParseObservedBundle reads STIX 2.0 observed-data with embedded
//     "objects" and STIX 2.1 observed-data with "object_refs" to SCOs).
//   - Translate maps a pattern onto the engine's per-event model: Atoms
//     for the fast structures, ioc.Expr trees for compound single-event
//     conditions, or the reason it cannot be honoured on the event stream.
//
// All functions are pure; values are immutable once built and safe for
// concurrent use.
//
// # Grammar
//
// The whole STIX 2.1 grammar (the OASIS STIXPattern.g4): observation
// expressions joined by AND, OR, FOLLOWEDBY with precedence
// FOLLOWEDBY < OR < AND, all left-associative, parentheses; qualifiers
// WITHIN n SECONDS (integer or decimal), REPEATS n TIMES, START t'..' STOP
// t'..', repeatable, binding to the expression on their left; comparison
// expressions with AND (tighter) and OR, parentheses; operators = == !=
// <> < <= > >= IN LIKE MATCHES ISSUBSET ISSUPERSET EXISTS, each but
// EXISTS with an optional NOT prefix; literals int, float, 'string' (with
// \' and \\ the only escapes), b'base64', h'hex', t'timestamp', true,
// false; object paths type:prop with '-' in types (x- custom types
// included), .key, .'quoted key', a quoted first property, [n] (negative
// counts from the end), [*]. Keywords are upper case and true/false lower
// case, as in the 2.1 grammar; whitespace includes the Unicode spaces of
// the grammar; /* */ and // comments are skipped. Beyond the grammar,
// Parse rejects impossible dates (t'2021-02-30T00:00:00Z'), WITHIN 0 and
// REPEATS 0.
//
// # Evaluation (Match): exact
//
// Match follows the specification, and the OASIS reference matcher where
// the text leaves room:
//
//   - comparisons inside one [..] are evaluated on one object at a time:
//     AND means the same object (following _ref/_refs into other objects
//     of the same observed-data), OR means either; comparisons on
//     different object types joined by AND never match;
//   - a path selects values: keys step into dictionaries, [n] and [*] into
//     lists, _ref and _refs properties are replaced by the referenced
//     objects, properties ending in _hex and _bin are decoded to binary;
//     a comparison holds when some selected value passes it, with NOT
//     applied per value;
//   - types: integers and floats compare numerically (exactly, big
//     integers included); strings with strings (code point order);
//     binary (b'...', h'...', *_hex, *_bin) with binary, or with a string whose
//     code points are all below 256; booleans with booleans; a timestamp
//     literal with a JSON string, which must then be a STIX timestamp
//     (else an *EvalError). Any other pairing is false, so != and NOT =
//     are true for it; JSON null equals nothing;
//   - IN requires a homogeneous set (ints and floats mix; otherwise an
//     *EvalError); the empty set contains nothing;
//   - LIKE: % is any run of characters, _ any one character, anchored at
//     both ends, on NFC-normalised strings (pattern and value); binary
//     values are compared as UTF-8 text;
//   - MATCHES: an unanchored search with Go's regexp (RE2) on the
//     NFC-normalised value; binary values are matched byte for byte (each
//     byte one character) when the regex has only code points below 256;
//   - ISSUBSET / ISSUPERSET: CIDR containment for IPv4 and IPv6 (a bare
//     address is a full-length prefix; 4-in-6 unmapped; mixed families do
//     not contain each other); a value that is not an address or prefix
//     does not match; an operand that is not one is an *EvalError;
//   - EXISTS: the path selects at least one value (JSON null included);
//   - observation operators and qualifiers are evaluated over all
//     observed-data: number_observed n counts as n observations; AND,
//     FOLLOWEDBY and REPEATS use distinct observations; FOLLOWEDBY needs
//     latest first_observed on the left <= earliest last_observed on the
//     right; WITHIN n: latest first_observed - earliest last_observed <= n
//     seconds over the observations bound to the expression; START/STOP:
//     every bound observation overlaps [start, stop) (never when
//     start >= stop); qualifiers apply in the order written.
//
// MATCHES uses RE2, not PCRE: no backreferences (\1), no lookahead or
// lookbehind ((?=, (?!, (?<=, (?<!), no atomic groups or possessive
// quantifiers (?>, a*+), no conditionals or recursion, no \Z (use \z);
// $ matches only at the very end (PCRE also before a final newline);
// \w, \d, \s and \b are ASCII-only; repetition counts are limited to
// 1000. Such a regex is an *EvalError from Match and Unsupported from
// Translate, never silently changed. In exchange matching is linear time.
//
// # Translation to the event stream (Translate)
//
// A pattern is evaluable per event when it is one observation expression,
// or an OR of observation expressions, without qualifiers. Observation
// AND, FOLLOWEDBY and every qualifier (WITHIN, REPEATS, START/STOP) need
// correlation across events: NeedsCorrelation is set and the pattern is
// Unsupported on the stream.
//
// Object paths with an event observable (anything else is Unsupported,
// naming the path):
//
//	ipv4-addr:value, ipv6-addr:value            ip (any role)
//	network-traffic:src_ref.value / dst_ref.value  ip, role src / dst
//	network-traffic:src_port / dst_port         port, role src / dst
//	network-traffic:protocols[*]                protocol
//	domain-name:value                           domain
//	url:value                                   url
//	email-addr:value                            email
//	email-message:from_ref.value, sender_ref.value        email, role src
//	email-message:to_refs[*].value, cc_refs, bcc_refs      email, role dst
//	file:hashes.K, x509-certificate:hashes.K,
//	process:binary_ref.hashes.K, process:image_ref.hashes.K  md5/sha1/sha256/sha512
//	    (K in any spelling: MD5, 'SHA-1', SHA1, sha1, 'SHA-256', SHA256, ...)
//	file:name                                   filename
//	file:parent_directory_ref.path              directory of filepath (regex)
//	process:name, process:binary_ref.name, process:image_ref.name  process-name
//	process:command_line                        command-line
//	windows-registry-key:key                    registry-key
//	network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'  user-agent
//
// = and IN on these paths become Atoms when the comparison is a top-level
// alternative of the pattern, not negated, at no particular role (src/dst
// comparisons become ioc.Expr predicates with the role); ISSUBSET on an
// address path becomes a CIDR atom; process:command_line LIKE '%s%' (no
// other wildcard) becomes a command-line substring atom. Everything else
// in one observation becomes an ioc.Expr: != and NOT as negated
// predicates (STIX: some value differs), IN as PredIn, LIKE as an
// anchored (?s) PredRegex (or PredContains for '%s%'), MATCHES as
// PredRegex, ISSUBSET as PredCIDR, EXISTS as PredExists, < <= > >= on
// ports as PredLt/Le/Gt/Ge (decimal operands rounded exactly), comparisons
// whose operand type cannot match the path as false (or, negated, as
// "exists").
//
// Exact on the event stream, given the event model of engine/observe (one
// connection and at most one e-mail message per event; every address,
// domain, URL, e-mail address, file name, hash, process name of an event
// is its own object): OR anywhere (between comparisons and between
// observation expressions); AND between comparisons on network-traffic
// or on email-message; != and NOT
// (some value fails the test; on ipv4-addr/ipv6-addr restricted to the
// family with a prefix trick, since ioc address targets select both
// families); IN and NOT IN; LIKE; MATCHES; ISSUBSET; ISSUPERSET of a
// single address; EXISTS; port ordering; operands of a type the path can
// never hold (false, or "exists" when negated). A disjunct that can
// never match (AND across object types, a value no event can carry) is
// dropped, and a pattern made only of such disjuncts is reported
// Unsupported as "can never match an event".
//
// Approximated on the event stream (deliberately, to use the engine's
// normalised observables; documented here and never silent):
//
//   - values are compared in the engine's normalised form: hashes, domains,
//     e-mail addresses, process names, registry keys and protocols are
//     case-insensitive (LIKE and MATCHES on them get (?i)); URLs are
//     normalised (scheme/host case, default port, fragment);
//   - a domain-name:value atom also matches subdomains, which is the
//     engine's domain semantics (design.md); in an ioc.Expr PredEq on a
//     domain is exact;
//   - = and IN with a CIDR value on an address path ('10.0.0.0/8') mean
//     containment (what producers intend), where the STIX text means
//     string equality with an ipv4-addr whose value is that CIDR;
//   - hash-key spellings are unified ('SHA-256', SHA256, sha256 are one
//     algorithm), where STIX paths are exact dictionary keys;
//   - hash kinds carry no owner: x509-certificate:hashes and the process
//     binary's hashes use the same kinds as file:hashes, so each also
//     matches the other objects' hash observables of that algorithm;
//   - e-mail roles come from the event profiles: from_ref and sender_ref
//     test src addresses, which also include Reply-To; to/cc/bcc test dst;
//   - a path tests every observable of its kind whatever event field it
//     came from: file:name also matches DLL, attachment and Sysmon
//     OriginalFileName/TargetFilename names; the directory of
//     file:parent_directory_ref.path is taken from every file path,
//     process images included; process:name also matches parent and
//     source/target images (in STIX these are other process or file
//     objects of the same observation, which the pattern would not name);
//   - MATCHES and LIKE run on the event value as is, where STIX normalises
//     values to NFC first (identical for NFC input, which is the norm);
//   - values an event can never carry (an invalid IP, a hash of the wrong
//     length, an out-of-range port) are dropped from =/IN, which is exact
//     for events but not for malformed STIX data.
//
// Unsupported on the event stream (reported with the reason): object
// paths without an observable (x509-certificate:serial_number, mac-addr,
// user-account, artifact, software, mutex, autonomous-system, custom x-
// objects, directory:path, list indexes [n], unknown hash algorithms);
// AND of several comparisons on one object of a type an event may hold
// several of (file, process, windows-registry-key, x509-certificate,
// ipv4-addr, ipv6-addr, domain-name, url, email-addr: ioc predicates
// cannot be bound to the same observable, so [file:name = 'x' AND
// file:hashes.MD5 = 'y'] is Unsupported while each comparison alone, or
// their OR, is supported); ordering comparisons on strings; ISSUPERSET
// of a real prefix (events carry single addresses); a domain name as a
// connection endpoint (network-traffic:dst_ref.value = 'c2.example');
// LIKE/MATCHES on ipv4-addr:value / ipv6-addr:value (cannot be limited
// to one family); MATCHES on a directory path; regexes RE2 cannot compile; heterogeneous IN sets;
// patterns that can never match an event; everything needing correlation
// across events (observation AND, FOLLOWEDBY, WITHIN, REPEATS,
// START/STOP).
package stixpattern
