package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler returns the HTTP handler of the metrics server:
//   - metricsPath (e.g. "/metrics"): the metrics gathered from g, in the
//     Prometheus text or OpenMetrics format;
//   - /healthz: 200 "ok" whenever the process can answer (liveness);
//   - /readyz: 200 "ready" when ready() returns nil, else 503 with the
//     error text (readiness). A nil ready is always ready.
//
// Anything else is 404. The handler is safe for concurrent use.
func Handler(g prometheus.Gatherer, ready func() error, metricsPath string) http.Handler {
	if metricsPath == "" {
		metricsPath = "/metrics"
	}
	metricsH := promhttp.HandlerFor(g, promhttp.HandlerOpts{EnableOpenMetrics: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		switch r.URL.Path {
		case metricsPath:
			metricsH.ServeHTTP(w, r)
		case "/healthz":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("ok\n"))
		case "/readyz":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			if ready != nil {
				if err := ready(); err != nil {
					w.WriteHeader(http.StatusServiceUnavailable)
					_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
					return
				}
			}
			_, _ = w.Write([]byte("ready\n"))
		default:
			http.NotFound(w, r)
		}
	})
}

// Serve listens on addr and serves Handler(g, ready, "/metrics") until ctx
// ends, then shuts down gracefully (in-flight requests get 5 s). It
// returns nil after a shutdown caused by ctx, or the listen/serve error.
func Serve(ctx context.Context, addr string, g prometheus.Gatherer, ready func() error) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: listen %s: %w", addr, err)
	}
	return ServeListener(ctx, ln, Handler(g, ready, "/metrics"))
}

// ServeListener serves h on ln until ctx ends, then shuts down gracefully
// (5 s for in-flight requests) and closes ln. It returns nil after a
// shutdown caused by ctx, or the serve error.
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("metrics: shutdown %s: %w", ln.Addr(), err)
	}
	return nil
}
