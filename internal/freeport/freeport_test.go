package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestWindow(t *testing.T) {
	for _, tc := range []struct {
		ephemeral, lo, hi int
	}{
		{32768, 20000, 32768},
		{49152, 20000, 49152},
		{1024, 61000, 65535},
		{20500, 61000, 65535},
	} {
		lo, hi := window(tc.ephemeral)
		if lo != tc.lo || hi != tc.hi {
			t.Errorf("window(%d) = %d, %d; want %d, %d", tc.ephemeral, lo, hi, tc.lo, tc.hi)
		}
	}
}

func TestParseRange(t *testing.T) {
	if lo, err := parseRange("32768\t60999\n"); err != nil || lo != 32768 {
		t.Errorf("parseRange = %d, %v", lo, err)
	}
	if _, err := parseRange("garbage"); err == nil {
		t.Error("parseRange(garbage) succeeded")
	}
}

// Ports are outside the ephemeral range, never repeated, and bindable when returned.
func TestPortNeverRepeatsAndBinds(t *testing.T) {
	lo, hi := window(ephemeralLow())
	seen := map[int]bool{}
	for range 300 {
		p, err := Port()
		if err != nil {
			t.Fatal(err)
		}
		if p < lo || p >= hi {
			t.Fatalf("port %d outside [%d, %d)", p, lo, hi)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
	// A port returned is bindable by its user.
	p, err := Port()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		t.Fatalf("port %d not bindable: %v", p, err)
	}
	_ = l.Close()
}
