// Package natsembed runs a NATS server with JetStream inside the iocmatch
// process, so that `iocmatch serve` works on a fresh machine without an
// external NATS installation, and so that tests can start real servers on
// random ports.
//
// The server is the real nats-server (github.com/nats-io/nats-server/v2)
// started in-process; JetStream keeps its data in Options.StoreDir, so
// streams, consumers and unacknowledged events survive a restart.
//
// A Server is safe for concurrent use; Shutdown may be called more than
// once.
package natsembed

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
)

// DefaultReadyTimeout is how long Start waits for the server to accept
// connections when Options.ReadyTimeout is zero.
const DefaultReadyTimeout = 10 * time.Second

// Options configure an embedded server.
type Options struct {
	// Host is the listen address; "" means 127.0.0.1 (never all
	// interfaces unless asked for).
	Host string
	// Port is the client port; 0 means the NATS default 4222, -1 a random
	// free port (tests).
	Port int
	// StoreDir is the JetStream storage directory, created if absent
	// (mode 0700). Required.
	StoreDir string
	// MaxPayload is the largest message the server accepts, in bytes;
	// 0 means the NATS default (1 MiB). NATS caps it at 64 MiB.
	MaxPayload int32
	// ServerName names the server in logs and in JetStream metadata;
	// "" means "iocmatch-embedded".
	ServerName string
	// ReadyTimeout bounds the wait for the server to accept connections;
	// 0 means DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Configure, when set, is called on the server options after the
	// fields above are applied and before the server starts: the hook
	// for authentication, TLS or any other nats-server option.
	Configure func(*server.Options)
}

// Server is a running embedded NATS server.
type Server struct {
	ns *server.Server
}

// Start starts an embedded NATS server with JetStream and waits until it
// accepts client connections. Server logs go to log: warnings at warn,
// errors at error; notices (the start-up banner, listen addresses) at
// debug, since the caller reports what matters; debug and trace at trace.
func Start(opts Options, log zerolog.Logger) (*Server, error) {
	if opts.StoreDir == "" {
		return nil, errors.New("natsembed: store directory is required")
	}
	if err := os.MkdirAll(opts.StoreDir, 0o700); err != nil {
		return nil, fmt.Errorf("natsembed: store directory %s: %w", opts.StoreDir, err)
	}
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	port := opts.Port
	if port == 0 {
		port = 4222
	}
	name := opts.ServerName
	if name == "" {
		name = "iocmatch-embedded"
	}
	if port > 0 {
		// Fail fast with a clear message instead of waiting for readiness.
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("natsembed: cannot listen on %s:%d (another NATS server or iocmatch running?): %w", host, port, err)
		}
		ln.Close()
	}
	so := &server.Options{
		ServerName: name,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   opts.StoreDir,
		MaxPayload: opts.MaxPayload,
		NoSigs:     true,
		NoLog:      false,
	}
	if opts.Configure != nil {
		opts.Configure(so)
	}
	ns, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("natsembed: server on %s:%d: %w", host, port, err)
	}
	ns.SetLoggerV2(logAdapter{log: log}, log.GetLevel() <= zerolog.TraceLevel, log.GetLevel() <= zerolog.TraceLevel, false)
	go ns.Start()
	wait := opts.ReadyTimeout
	if wait <= 0 {
		wait = DefaultReadyTimeout
	}
	if !ns.ReadyForConnections(wait) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("natsembed: server on %s:%d not ready after %s (port in use? see the log)", host, port, wait)
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("natsembed: server on %s:%d: JetStream did not start (store %s)", host, port, opts.StoreDir)
	}
	return &Server{ns: ns}, nil
}

// ClientURL returns the URL clients connect to, e.g. nats://127.0.0.1:4222.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// NATS returns the underlying nats-server, for tests and advanced use.
func (s *Server) NATS() *server.Server { return s.ns }

// Shutdown stops the server and waits until it has stopped. JetStream
// data stays in the store directory.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// logAdapter routes nats-server logs to zerolog.
type logAdapter struct{ log zerolog.Logger }

func (l logAdapter) Noticef(format string, v ...any) { l.log.Debug().Msgf(format, v...) }
func (l logAdapter) Warnf(format string, v ...any)   { l.log.Warn().Msgf(format, v...) }
func (l logAdapter) Fatalf(format string, v ...any)  { l.log.Error().Msgf(format, v...) }
func (l logAdapter) Errorf(format string, v ...any)  { l.log.Error().Msgf(format, v...) }
func (l logAdapter) Debugf(format string, v ...any)  { l.log.Trace().Msgf(format, v...) }
func (l logAdapter) Tracef(format string, v ...any)  { l.log.Trace().Msgf(format, v...) }
