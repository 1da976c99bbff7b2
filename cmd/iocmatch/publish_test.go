package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/iocmatch/iocmatch/engine/fuzzseed"
)

// linesReference is the obvious definition: split on '\n', trim white
// space, drop empty lines.
func linesReference(data []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			out = append(out, l)
		}
	}
	return out
}

func readAllLines(data []byte, bufSize int) ([][]byte, error) {
	r := bufio.NewReaderSize(bytes.NewReader(data), bufSize)
	var out [][]byte
	for {
		b, err := readLine(r)
		if len(b) > 0 {
			out = append(out, b)
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func TestReadLine(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"one", `{"a":1}`},
		{"crlf and blanks", "a\r\n\r\n  b  \n\n"},
		{"long line over the buffer", string(bytes.Repeat([]byte("x"), 100)) + "\nshort\n"},
	}
	for _, tt := range tests {
		got, err := readAllLines([]byte(tt.in), 16)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		want := linesReference([]byte(tt.in))
		if len(got) != len(want) {
			t.Fatalf("%s: %q, want %q", tt.name, got, want)
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%s: line %d %q, want %q", tt.name, i, got[i], want[i])
			}
		}
	}
}

// FuzzPublishLines: publish's line reader yields exactly the trimmed
// non-empty lines, whatever the bytes and however lines straddle the
// read buffer.
func FuzzPublishLines(f *testing.F) {
	fuzzseed.Add(f)
	f.Add([]byte("a\nb\r\n\n c \n"))
	f.Add([]byte{0, '\n', 0xff, 0xfe, '\n'})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := readAllLines(data, 16)
		if err != nil {
			t.Fatal(err)
		}
		want := linesReference(data)
		if len(got) != len(want) {
			t.Fatalf("%d lines, want %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("line %d %q, want %q", i, got[i], want[i])
			}
		}
	})
}
