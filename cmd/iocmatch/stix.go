package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/iocmatch/iocmatch/feeds/stixpattern"
)

const stixUsage = `Usage:
  iocmatch stix validate PATTERN...
      Parse each pattern; print "OK: <pattern>" or "ERROR: <pattern>: <reason>".
      Exit status 1 when any pattern is invalid.
  iocmatch stix match --patterns FILE --observed FILE [--stix-version 2.0|2.1]
      Evaluate each pattern of FILE (one per line; blank lines and lines
      starting with # are skipped) against the observed-data file (a bundle,
      an observed-data object or a JSON list of them). Print "MATCH: <pattern>",
      "NO MATCH: <pattern>" or "ERROR: <pattern>: <reason>" per pattern.
      Exit status 1 when any pattern could not be evaluated, or when FILE
      holds no pattern.
  iocmatch stix translate PATTERN...
      Show how each pattern maps onto the engine: fast-path atoms,
      compound per-event expressions, correlation needed, or why it is
      unsupported. Exit status 1 when any pattern is invalid or unsupported.
`

// runStix dispatches the stix subcommands.
func runStix(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, stixUsage)
		return errUsage
	}
	switch args[0] {
	case "validate":
		return stixValidate(e, args[1:])
	case "match":
		return stixMatch(ctx, e, args[1:])
	case "translate":
		return stixTranslate(e, args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, stixUsage)
		return nil
	}
	fmt.Fprintf(e.stderr, "iocmatch stix: unknown subcommand %q\n%s", args[0], stixUsage)
	return errUsage
}

func stixValidate(e *env, patterns []string) error {
	if len(patterns) == 0 {
		fmt.Fprint(e.stderr, "iocmatch stix validate: no pattern given\n"+stixUsage)
		return errUsage
	}
	failed := 0
	for _, src := range patterns {
		if _, err := stixpattern.Parse(src); err != nil {
			failed++
			fmt.Fprintf(e.stdout, "ERROR: %s: %v\n", src, err)
			continue
		}
		fmt.Fprintf(e.stdout, "OK: %s\n", src)
	}
	if failed > 0 {
		return exitError{code: 1}
	}
	return nil
}

func stixMatch(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("iocmatch stix match", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	patternsFile := fs.String("patterns", "", "file of STIX patterns, one per line (# comments and blank lines skipped)")
	observedFile := fs.String("observed", "", "file of STIX observed-data: a bundle, an observed-data object or a JSON list")
	version := fs.String("stix-version", "", "how observed-data names its objects: 2.0 (objects), 2.1 (object_refs); empty = decide per object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *patternsFile == "" || *observedFile == "" || fs.NArg() > 0 {
		fmt.Fprint(e.stderr, "iocmatch stix match: --patterns and --observed are required and no arguments are taken\n")
		fs.PrintDefaults()
		return errUsage
	}
	switch *version {
	case "", "2.0", "2.1":
	default:
		return fmt.Errorf("--stix-version %q: want 2.0 or 2.1", *version)
	}
	data, err := os.ReadFile(*observedFile)
	if err != nil {
		return fmt.Errorf("--observed: %w", err)
	}
	obs, err := stixpattern.ParseObservedBundle(data, *version)
	if err != nil {
		return fmt.Errorf("--observed %s: %w", *observedFile, err)
	}
	pf, err := os.Open(*patternsFile)
	if err != nil {
		return fmt.Errorf("--patterns: %w", err)
	}
	defer pf.Close()
	n, failed, err := matchPatterns(ctx, pf, obs, e.stdout)
	if err != nil {
		return fmt.Errorf("--patterns %s: %w", *patternsFile, err)
	}
	if n == 0 {
		return fmt.Errorf("--patterns %s: no pattern (only blank lines and # comments)", *patternsFile)
	}
	e.log.Debug().Int("observed_data", len(obs)).Int("patterns", n).Int("errors", failed).Msg("stix match done")
	if failed > 0 {
		return exitError{code: 1}
	}
	return nil
}

// matchPatterns evaluates each pattern line of r and writes one result
// line per pattern; it returns the number of patterns and the number of
// them in error.
func matchPatterns(ctx context.Context, r io.Reader, obs []*stixpattern.ObservedData, w io.Writer) (n, failed int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	for sc.Scan() {
		if err := ctx.Err(); err != nil {
			return n, failed, err
		}
		line := strings.TrimSpace(string(bytes.TrimPrefix(sc.Bytes(), []byte("\xef\xbb\xbf"))))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		p, err := stixpattern.Parse(line)
		if err != nil {
			failed++
			fmt.Fprintf(w, "ERROR: %s: %v\n", line, err)
			continue
		}
		ok, err := p.Match(obs)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(w, "ERROR: %s: %v\n", line, err)
		case ok:
			fmt.Fprintf(w, "MATCH: %s\n", line)
		default:
			fmt.Fprintf(w, "NO MATCH: %s\n", line)
		}
	}
	return n, failed, sc.Err()
}

func stixTranslate(e *env, patterns []string) error {
	if len(patterns) == 0 {
		fmt.Fprint(e.stderr, "iocmatch stix translate: no pattern given\n"+stixUsage)
		return errUsage
	}
	failed := 0
	for _, src := range patterns {
		p, err := stixpattern.Parse(src)
		if err != nil {
			failed++
			fmt.Fprintf(e.stdout, "ERROR: %s: %v\n", src, err)
			continue
		}
		t := stixpattern.Translate(p)
		fmt.Fprintf(e.stdout, "PATTERN: %s\n", p)
		if t.Unsupported != "" {
			failed++
			if t.NeedsCorrelation {
				fmt.Fprintf(e.stdout, "  needs correlation: %s\n", t.Unsupported)
			} else {
				fmt.Fprintf(e.stdout, "  unsupported: %s\n", t.Unsupported)
			}
			continue
		}
		for _, a := range t.Atoms {
			fmt.Fprintf(e.stdout, "  atom: %s %s\n", a.Kind, a.Value)
		}
		for _, x := range t.Exprs {
			fmt.Fprintf(e.stdout, "  compound: %s\n", x)
		}
	}
	if failed > 0 {
		return exitError{code: 1}
	}
	return nil
}
