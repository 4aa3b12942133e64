package model

import (
	"math/big"
	"testing"
)

func TestNatExactBeyond64Bits(t *testing.T) {
	for _, tc := range []struct {
		digits string
		small  bool
	}{
		{"0", true},
		{"18446744073709551615", true},  // 2^64-1
		{"18446744073709551616", false}, // 2^64
		{"340282366920938463463374607431768211457", false},
		{"99999999999999999999", false},
	} {
		n, ok := ParseNat(tc.digits)
		if !ok {
			t.Fatalf("ParseNat(%s) failed", tc.digits)
		}
		if n.String() != tc.digits {
			t.Errorf("ParseNat(%s).String() = %s", tc.digits, n)
		}
		if _, fits := n.Uint64(); fits != tc.small {
			t.Errorf("%s: fits in 64 bits = %v, want %v", tc.digits, fits, tc.small)
		}
		want, _ := new(big.Int).SetString(tc.digits, 10)
		if n.Big().Cmp(want) != 0 {
			t.Errorf("%s: Big() = %s", tc.digits, n.Big())
		}
	}
	a, _ := ParseNat("340282366920938463463374607431768211457")
	b, _ := ParseNat("340282366920938463463374607431768211456")
	if a.Equal(b) || !a.Equal(a) || !b.Succ().Equal(a) {
		t.Fatal("big Nat comparison is not exact")
	}
	max := NatOf(^uint64(0))
	if max.Succ().String() != "18446744073709551616" {
		t.Fatalf("(2^64-1)+1 = %s", max.Succ())
	}
	if max.Equal(max.Succ()) || NatOf(5).Equal(a) {
		t.Fatal("small and big Nats compare equal")
	}
	for _, bad := range []string{"", "-1", "1.5", "1e3", "x"} {
		if _, ok := ParseNat(bad); ok {
			t.Errorf("ParseNat(%q) accepted", bad)
		}
	}
	if _, ok := NatFromBig(big.NewInt(-1)); ok {
		t.Error("NatFromBig(-1) accepted")
	}
}

// TestNatDigits: the 8-digits-at-a-time conversion agrees with the plain one.
func TestNatDigits(t *testing.T) {
	for _, s := range []string{"0", "7", "12345678", "99999999", "10000000", "191417231308", "1234567890123456789",
		"12345678901234567", "18446744073709551615", "18446744073709551616", "123456789012345678901234567890"} {
		var p parser
		p.b = []byte(s + ",")
		n, err := p.nat("x", -1)
		if err != nil || n.String() != s || p.i != len(s) {
			t.Errorf("%s: got %v at %d, %v", s, n, p.i, err)
		}
	}
	for _, s := range []string{"01234567", "12345678.5", "123456789e3"} {
		var p parser
		p.b = []byte(s)
		if n, err := p.nat("x", -1); err == nil {
			t.Errorf("%s: accepted as %v", s, n)
		}
	}
}
