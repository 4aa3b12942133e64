package model

import (
	"math/big"
	"strconv"
)

// Nat is a natural number as Lean's Nat: unbounded and exact. Values below
// 2^64 live in a uint64; larger ones in a big.Int. The representation is
// canonical (big is nil exactly when the value fits in 64 bits), so two Nats are
// equal when their fields say so, without arithmetic. The zero Nat is 0.
type Nat struct {
	small uint64
	big   *big.Int // non-nil only for values >= 2^64; never mutated once set
}

// NatOf returns n as a Nat.
func NatOf(n uint64) Nat { return Nat{small: n} }

// ParseNat parses a decimal string of digits (no sign, no fraction).
func ParseNat(s string) (Nat, bool) {
	if s == "" {
		return Nat{}, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return Nat{}, false
		}
	}
	return natFromDigits([]byte(s)), true
}

// natFromDigits converts a non-empty run of ASCII digits.
func natFromDigits(d []byte) Nat {
	if len(d) <= 19 { // 10^19-1 < 2^64: cannot overflow
		var v uint64
		for _, c := range d {
			v = v*10 + uint64(c-'0')
		}
		return Nat{small: v}
	}
	var v uint64
	for _, c := range d {
		x := uint64(c - '0')
		if v > (^uint64(0)-x)/10 {
			b, _ := new(big.Int).SetString(string(d), 10)
			return Nat{big: b}
		}
		v = v*10 + x
	}
	return Nat{small: v}
}

// NatFromBig returns b as a Nat; ok is false when b is negative.
func NatFromBig(b *big.Int) (n Nat, ok bool) {
	if b.Sign() < 0 {
		return Nat{}, false
	}
	if b.IsUint64() {
		return Nat{small: b.Uint64()}, true
	}
	return Nat{big: new(big.Int).Set(b)}, true
}

// Uint64 returns the value and whether it fits in 64 bits.
func (n Nat) Uint64() (uint64, bool) { return n.small, n.big == nil }

// Big returns the value as a new big.Int.
func (n Nat) Big() *big.Int {
	if n.big != nil {
		return new(big.Int).Set(n.big)
	}
	return new(big.Int).SetUint64(n.small)
}

// Equal reports whether n and m are the same number.
func (n Nat) Equal(m Nat) bool {
	if n.big == nil || m.big == nil {
		return n.big == nil && m.big == nil && n.small == m.small
	}
	return n.big.Cmp(m.big) == 0
}

// Succ returns n+1.
func (n Nat) Succ() Nat {
	if n.big == nil && n.small != ^uint64(0) {
		return Nat{small: n.small + 1}
	}
	return Nat{big: new(big.Int).Add(n.Big(), big.NewInt(1))}
}

// String returns the decimal digits of n.
func (n Nat) String() string {
	if n.big != nil {
		return n.big.String()
	}
	return strconv.FormatUint(n.small, 10)
}

// appendNat appends the decimal digits of n to b.
func appendNat(b []byte, n Nat) []byte {
	if n.big != nil {
		return n.big.Append(b, 10)
	}
	return strconv.AppendUint(b, n.small, 10)
}

// MarshalJSON writes n as a JSON number with every digit.
func (n Nat) MarshalJSON() ([]byte, error) { return appendNat(nil, n), nil }

// natsEqual reports whether two lists of Nats are element-wise equal.
func natsEqual(a, b []Nat) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.big == nil && y.big == nil {
			if x.small != y.small {
				return false
			}
			continue
		}
		if !x.Equal(y) {
			return false
		}
	}
	return true
}
