package misp

import (
	"testing"

	"github.com/iocmatch/iocmatch/engine/ioc"
)

// MISP x509 fingerprints map to hash kinds, like STIX x509-certificate:hashes.*.
func TestX509Fingerprints(t *testing.T) {
	ev := `{"Event":{"uuid":"5a3e0000-0000-4000-8000-00000000b000","info":"certs","Attribute":[
	 {"uuid":"5a3e0000-0000-4000-8000-00000000b001","type":"x509-fingerprint-sha1","value":"A94A8FE5CCB19BA61C4C0873D391E987982FBBD3","to_ids":true},
	 {"uuid":"5a3e0000-0000-4000-8000-00000000b002","type":"x509-fingerprint-md5","value":"44d88612fea8a8f36de82e1278abb02f","to_ids":true},
	 {"uuid":"5a3e0000-0000-4000-8000-00000000b003","type":"x509-fingerprint-sha256","value":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","to_ids":true}]}}`
	inds, rep, err := ParseEvents([]byte(ev), Options{Feed: "misp"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[ioc.Kind]string{
		ioc.KindSHA1:   "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
		ioc.KindMD5:    "44d88612fea8a8f36de82e1278abb02f",
		ioc.KindSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	}
	if len(inds) != len(want) {
		t.Fatalf("got %d indicators, want %d (report %+v)", len(inds), len(want), rep)
	}
	for _, i := range inds {
		if want[i.Kind] != i.Value {
			t.Errorf("indicator %s %s %q not expected", i.ID, i.Kind, i.Value)
		}
	}
}
