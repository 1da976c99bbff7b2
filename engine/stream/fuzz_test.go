package stream

import (
	"strings"
	"testing"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
)

// FuzzDeadLetterSubject: whatever the reason (it comes from decoders and
// may carry anything), the dead-letter subject is a valid literal subject
// of exactly one token under the prefix.
func FuzzDeadLetterSubject(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte("malformed"))
	f.Add([]byte(""))
	f.Add([]byte("a.b c>*\t\n"))
	top := DefaultTopology()
	f.Fuzz(func(t *testing.T, reason []byte) {
		s := top.DeadLetterSubject(string(reason))
		if err := validSubject(s, false); err != nil {
			t.Fatalf("subject %q for reason %q: %v", s, reason, err)
		}
		tok, ok := strings.CutPrefix(s, top.DeadLetterSubjectPrefix+".")
		if !ok || tok == "" || strings.Contains(tok, ".") {
			t.Fatalf("subject %q: want one token under %s", s, top.DeadLetterSubjectPrefix)
		}
	})
}
