package stix

// DefaultTranslator translates STIX patterns with package
// feeds/stixpattern. Until that package's Translate is built in, every
// STIX pattern is reported as unsupported with that reason (never dropped
// silently).
func DefaultTranslator(pattern string) (Translation, error) {
	return Translation{Unsupported: "the STIX pattern translator (feeds/stixpattern) is not built in yet"}, nil
}
