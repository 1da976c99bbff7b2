package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// runAlerts prints alerts from the alerts stream, one JSON document per
// line: those stored, then (with --follow) new ones as they arrive.
func runAlerts(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("alerts", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	follow := fs.Bool("follow", false, "keep running and print alerts as they arrive (Ctrl-C to stop)")
	newOnly := fs.Bool("new", false, "with --follow: skip the alerts already stored")
	kind := fs.String("kind", "", "only alerts of this indicator kind (the subject's last token, e.g. domain, ipv4)")
	core := fs.Bool("core", false, "subscribe with core NATS (no alerts stream; implies --follow --new)")
	cf := addClientFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: iocmatch alerts [flags]\n\nPrints the alerts in the alerts stream as JSON lines and exits; with --follow keeps printing new ones.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	cc, err := cf.resolve()
	if err != nil {
		return err
	}
	filter := cc.top.AlertsSubjectPrefix + ".>"
	if *kind != "" {
		filter = cc.top.AlertSubject(*kind)
	}
	nc, err := cc.connect(e)
	if err != nil {
		return err
	}
	defer nc.Close()
	out := bufio.NewWriterSize(e.stdout, 64<<10)
	defer out.Flush()
	write := func(data []byte) error {
		if _, err := out.Write(data); err != nil {
			return err
		}
		if len(data) == 0 || data[len(data)-1] != '\n' {
			if err := out.WriteByte('\n'); err != nil {
				return err
			}
		}
		return nil
	}

	if *core {
		ch := make(chan *nats.Msg, 1024)
		sub, err := nc.ChanSubscribe(filter, ch)
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", filter, err)
		}
		defer sub.Unsubscribe()
		for {
			select {
			case <-ctx.Done():
				return nil
			case m := <-ch:
				if err := write(m.Data); err != nil {
					return err
				}
				if len(ch) == 0 {
					if err := out.Flush(); err != nil {
						return err
					}
				}
			}
		}
	}

	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	st, err := js.Stream(ctx, cc.top.AlertsStream)
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("no alerts stream %s on %s: has `iocmatch serve` run against this NATS?", cc.top.AlertsStream, nc.ConnectedUrlRedacted())
		}
		return fmt.Errorf("alerts stream %s: %w", cc.top.AlertsStream, err)
	}
	policy := jetstream.DeliverAllPolicy
	if *follow && *newOnly {
		policy = jetstream.DeliverNewPolicy
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}, DeliverPolicy: policy})
	if err != nil {
		return fmt.Errorf("alerts stream %s: consumer: %w", cc.top.AlertsStream, err)
	}

	if !*follow {
		// Print what is stored, then exit: stop when the consumer reports
		// nothing pending, or when nothing arrives for a while (no stored
		// alert matches the filter).
		info, err := cons.Info(ctx)
		if err != nil {
			return fmt.Errorf("alerts stream %s: %w", cc.top.AlertsStream, err)
		}
		if info.NumPending == 0 {
			fmt.Fprintf(e.stderr, "no alerts stored in %s (%s)\n", cc.top.AlertsStream, filter)
			return nil
		}
		it, err := cons.Messages()
		if err != nil {
			return fmt.Errorf("alerts stream %s: %w", cc.top.AlertsStream, err)
		}
		defer it.Stop()
		n := 0
		for ctx.Err() == nil {
			m, err := it.Next(jetstream.NextMaxWait(2 * time.Second))
			if err != nil {
				if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					break
				}
				return fmt.Errorf("alerts stream %s: %w", cc.top.AlertsStream, err)
			}
			if err := write(m.Data()); err != nil {
				return err
			}
			n++
			md, err := m.Metadata()
			if err == nil && md.NumPending == 0 {
				break
			}
		}
		fmt.Fprintf(e.stderr, "%d alerts\n", n)
		return nil
	}

	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("alerts stream %s: %w", cc.top.AlertsStream, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	fmt.Fprintf(e.stderr, "following %s on %s (Ctrl-C to stop)\n", filter, nc.ConnectedUrlRedacted())
	for {
		m, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("alerts stream %s: %w", cc.top.AlertsStream, err)
		}
		if err := write(m.Data()); err != nil {
			return err
		}
		if md, err := m.Metadata(); err != nil || md.NumPending == 0 {
			if err := out.Flush(); err != nil {
				return err
			}
		}
	}
}
