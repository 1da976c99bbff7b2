package bench

import (
	"bufio"
	"bytes"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// Latency summarises a latency distribution. Percentiles are exact (the
// samples are sorted), nearest-rank.
type Latency struct {
	Count int           `json:"count"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

// summarize sorts samples (nanoseconds) in place and returns their
// percentiles.
func summarize(samples []int64) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	q := func(p float64) time.Duration {
		// nearest rank: the smallest sample with at least p of the
		// samples at or below it.
		i := int(p*float64(len(samples))+0.999999) - 1
		i = min(max(i, 0), len(samples)-1)
		return time.Duration(samples[i])
	}
	return Latency{Count: len(samples), P50: q(0.50), P90: q(0.90), P99: q(0.99), P999: q(0.999), Max: time.Duration(samples[len(samples)-1])}
}

// cpuTime returns the user+system CPU time of the process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS resets the kernel's peak-RSS counter of the process
// (Linux ≥ 4.0: writing 5 to /proc/self/clear_refs); it reports whether
// that worked, i.e. whether the next peakRSS measures from now.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS returns VmHWM of the process in bytes (0 when unavailable).
func peakRSS() uint64 { return procStatusKB("VmHWM:") * 1024 }

func procStatusKB(key string) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte(key)) {
			continue
		}
		fields := bytes.Fields(line[len(key):])
		if len(fields) == 0 {
			return 0
		}
		n, _ := strconv.ParseUint(string(fields[0]), 10, 64)
		return n
	}
	return 0
}

// tsTable maps sequence numbers to send times (UnixNano). Writers and
// readers may run concurrently; chunks are allocated on first write.
type tsTable struct {
	chunks [1 << 14]atomic.Pointer[[1 << 16]atomic.Int64]
}

// maxTableSeq is the first sequence number tsTable cannot hold.
const maxTableSeq = 1 << 30

func (t *tsTable) set(seq uint64, ns int64) {
	c := t.chunks[seq>>16].Load()
	if c == nil {
		n := new([1 << 16]atomic.Int64)
		if !t.chunks[seq>>16].CompareAndSwap(nil, n) {
			n = t.chunks[seq>>16].Load()
		}
		c = n
	}
	c[seq&0xffff].Store(ns)
}

func (t *tsTable) get(seq uint64) int64 {
	if seq >= maxTableSeq {
		return 0
	}
	c := t.chunks[seq>>16].Load()
	if c == nil {
		return 0
	}
	return c[seq&0xffff].Load()
}
