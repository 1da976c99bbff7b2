// Command iocmatch is the real-time IoC matching engine: it pulls threat
// intelligence (TAXII 2.1, STIX 2.1, MISP, lists), compiles it into fast
// matchers and matches log events from NATS against it, publishing alerts
// for the SIEM.
//
// This package holds flags, wiring and signals only; the logic lives in
// engine/, feeds/ and bench/. Each subcommand has a file of its own.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/rs/zerolog"
)

// env is what every subcommand receives from main: standard streams and
// the one logger of the process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    zerolog.Logger
}

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":   {"run the engine: consume events from NATS, publish alerts", runServe},
		"match":   {"match a file of events against indicator files, print alerts", runMatch},
		"stix":    {"validate STIX patterns, evaluate them against observed-data", runStix},
		"feeds":   {"pull indicators from a TAXII server", runFeeds},
		"publish": {"publish a file of events to NATS", runPublish},
		"alerts":  {"print alerts as they arrive on NATS", runAlerts},
		"bench":   {"measure end-to-end throughput and latency against raw NATS", runBench},
	}
}

// errUsage marks errors for which the usage text was already printed.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	global := flag.NewFlagSet("iocmatch", flag.ContinueOnError)
	global.SetOutput(stderr)
	level := global.String("log-level", envOr("IOCMATCH_LOG_LEVEL", "info"), "log level: debug, info, warn, error")
	logFormat := global.String("log-format", envOr("IOCMATCH_LOG_FORMAT", "auto"), "log format: auto (console on a terminal, else JSON), json, console")
	cmds := commands()
	global.Usage = func() { usage(stderr, global, cmds) }
	if err := global.Parse(args); err != nil {
		return 2
	}
	rest := global.Args()
	if len(rest) == 0 || rest[0] == "help" || rest[0] == "-h" {
		usage(stderr, global, cmds)
		if len(rest) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := cmds[rest[0]]
	if !ok {
		fmt.Fprintf(stderr, "iocmatch: unknown command %q\n", rest[0])
		usage(stderr, global, cmds)
		return 2
	}
	log, err := newLogger(stderr, *level, *logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "iocmatch: %v\n", err)
		return 2
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, log: log}
	if err := cmd.run(ctx, e, rest[1:]); err != nil {
		if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
			return 2
		}
		var ee exitError
		if errors.As(err, &ee) {
			if ee.err != nil {
				fmt.Fprintf(stderr, "iocmatch %s: %v\n", rest[0], ee.err)
			}
			return ee.code
		}
		fmt.Fprintf(stderr, "iocmatch %s: %v\n", rest[0], err)
		return 1
	}
	return 0
}

// exitError carries a specific exit code (and an optional message).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func usage(w io.Writer, fs *flag.FlagSet, cmds map[string]command) {
	fmt.Fprintf(w, "Usage: iocmatch [global flags] COMMAND [flags] [args]\n\nCommands:\n")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintf(w, "\nGlobal flags:\n")
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nRun 'iocmatch COMMAND -h' for a command's flags.\n")
}

// newLogger builds the process logger. It is the only logger: subcommands
// pass it (or children of it) down to every component.
func newLogger(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || level == "" {
		return zerolog.Logger{}, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	var out io.Writer = w
	switch format {
	case "json":
	case "console":
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05"}
	case "auto":
		if f, ok := w.(*os.File); ok && isTerminal(f) {
			out = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05"}
		}
	default:
		return zerolog.Logger{}, fmt.Errorf("--log-format %q: want auto, json or console", format)
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
