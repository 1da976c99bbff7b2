package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iocmatch/iocmatch/engine/observe"
)

// maxPublishLine bounds one event line read by publish.
const maxPublishLine = 64 << 20

// runPublish publishes a file of events (JSON lines or raw lines, gzip
// accepted) to NATS, one message per non-empty line.
func runPublish(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	subject := fs.String("subject", "", "subject to publish on (default <events prefix>.<format>, e.g. iocmatch.events.auto)")
	format := fs.String("format", "auto", "event format, the subject's last token: auto, ecs, zeek, eve, sysmon or raw")
	core := fs.Bool("core", false, "publish with core NATS (for stream.mode core; no JetStream acknowledgement)")
	cf := addClientFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: iocmatch publish [flags] FILE|-\n\nPublishes each non-empty line of FILE (JSON lines or raw lines; gzip accepted) as one event.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	f, err := observe.ParseFormat(*format)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	cc, err := cf.resolve()
	if err != nil {
		return err
	}
	subj := *subject
	if subj == "" {
		subj = cc.eventsPrefix + "." + f.String()
	}

	in, closeIn, err := openEvents(fs.Arg(0), e.stdin)
	if err != nil {
		return err
	}
	defer closeIn()

	nc, err := cc.connect(e)
	if err != nil {
		return err
	}
	defer nc.Close()

	start := time.Now()
	var n, failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	fail := func(err error) {
		failed.Add(1)
		errOnce.Do(func() { firstErr = err })
	}
	var js jetstream.JetStream
	if !*core {
		js, err = jetstream.New(nc,
			jetstream.WithPublishAsyncMaxPending(1024),
			jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) { fail(err) }))
		if err != nil {
			return err
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := js.StreamNameBySubject(lctx, subj)
		cancel()
		if err != nil {
			return fmt.Errorf("no JetStream stream stores subject %s (%v): is `iocmatch serve` running? It creates the streams. For stream.mode core use --core", subj, err)
		}
	}

	sc := bufio.NewReaderSize(in, 64<<10)
	line := 0
	for {
		if ctx.Err() != nil {
			break
		}
		b, err := readLine(sc)
		if len(b) > 0 {
			line++
			if *core {
				if perr := nc.Publish(subj, b); perr != nil {
					fail(fmt.Errorf("line %d: %w", line, perr))
				}
			} else if _, perr := js.PublishAsync(subj, b); perr != nil {
				fail(fmt.Errorf("line %d: %w", line, perr))
			}
			n.Add(1)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: line %d: %w", fs.Arg(0), line+1, err)
		}
	}
	if *core {
		// FlushWithContext needs a deadline; the command's context has none.
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := nc.FlushWithContext(fctx)
		cancel()
		if err != nil {
			return fmt.Errorf("flush: %w", err)
		}
	} else {
		select {
		case <-js.PublishAsyncComplete():
		case <-ctx.Done():
			return fmt.Errorf("interrupted with %d publishes unacknowledged", js.PublishAsyncPending())
		case <-time.After(30 * time.Second):
			return fmt.Errorf("timed out waiting for %d acknowledgements", js.PublishAsyncPending())
		}
	}
	el := time.Since(start)
	fmt.Fprintf(e.stderr, "published %d events to %s in %s (%.0f events/s)", n.Load()-failed.Load(), subj, el.Round(time.Millisecond), float64(n.Load())/max(el.Seconds(), 1e-9))
	if failed.Load() > 0 {
		fmt.Fprintf(e.stderr, ", %d failed\n", failed.Load())
		return fmt.Errorf("%d of %d events not published; first error: %w", failed.Load(), n.Load(), firstErr)
	}
	fmt.Fprintln(e.stderr)
	return nil
}

// readLine returns the next line without its line ending (trailing
// carriage returns and white space at the ends kept out), io.EOF after
// the last one.
func readLine(r *bufio.Reader) ([]byte, error) {
	var long []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(chunk) > maxPublishLine {
				return nil, fmt.Errorf("line longer than %d bytes", maxPublishLine)
			}
			long = append(long, chunk...)
			continue
		}
		if long != nil {
			chunk = append(long, chunk...)
		}
		b := bytes.TrimSpace(chunk)
		out := make([]byte, len(b)) // the async publish keeps it until acknowledged
		copy(out, b)
		if err != nil && !errors.Is(err, io.EOF) {
			return out, err
		}
		if errors.Is(err, io.EOF) {
			return out, io.EOF
		}
		return out, nil
	}
}

// openEvents opens path ("-" is stdin), transparently gunzipping.
func openEvents(path string, stdin io.Reader) (io.Reader, func(), error) {
	var r io.Reader
	closeFn := func() {}
	if path == "-" {
		r = stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		r = f
		closeFn = func() { f.Close() }
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(2)
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			closeFn()
			return nil, nil, fmt.Errorf("%s: gzip: %w", path, err)
		}
		c := closeFn
		return gz, func() { gz.Close(); c() }, nil
	}
	return br, closeFn, nil
}
