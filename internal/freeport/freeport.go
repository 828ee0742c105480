package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// lowest is the lowest port handed out: above the registered ports most services use.
const lowest = 20000

var (
	mu    sync.Mutex
	given = map[int]bool{}
)

// Port returns a loopback port that is free now, outside the kernel's ephemeral range and not
// returned before by this process.
func Port() (int, error) {
	lo, hi := window(ephemeralLow())
	mu.Lock()
	defer mu.Unlock()
	for range 200 {
		p := lo + rand.IntN(hi-lo)
		if given[p] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		_ = l.Close()
		given[p] = true
		return p, nil
	}
	return 0, fmt.Errorf("no free loopback port in %d-%d after 200 tries", lo, hi-1)
}

// Addr is Port as "127.0.0.1:PORT".
func Addr() (string, error) {
	p, err := Port()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}

// window is the range [lo, hi) ports are drawn from, given the first ephemeral port.
func window(ephemeral int) (int, int) {
	if ephemeral-lowest < 1000 {
		// A machine whose ephemeral range starts low: draw above it instead.
		return 61000, 65535
	}
	return lowest, ephemeral
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's default 32768 when
// it cannot be read).
func ephemeralLow() int {
	const fallback = 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return fallback
	}
	lo, err := parseRange(string(b))
	if err != nil {
		return fallback
	}
	return lo
}

func parseRange(s string) (int, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, errors.New("want two fields")
	}
	return strconv.Atoi(f[0])
}
