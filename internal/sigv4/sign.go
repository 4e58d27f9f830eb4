package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
)

// stringToSignMax bounds the string to sign built on the stack; the scope
// parts are validated before, so only an odd request takes the slow path.
const stringToSignMax = 256

// appendStringToSign writes
// AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex SHA-256 of the canonical request>.
func appendStringToSign(dst []byte, a *authInfo, creqHash *[32]byte) []byte {
	dst = append(dst, algorithmHMAC...)
	dst = append(dst, '\n')
	dst = append(dst, a.amzDate[:]...)
	dst = append(dst, '\n')
	dst = append(dst, a.scope...)
	dst = append(dst, '\n')
	return hex.AppendEncode(dst, creqHash[:])
}

// signature is HMAC-SHA256(key, string to sign).
func signature(key *[32]byte, a *authInfo, creqHash *[32]byte) [32]byte {
	var buf [stringToSignMax]byte
	sts := appendStringToSign(buf[:0], a, creqHash)
	return hmacSHA256(key, sts)
}

// hmacSHA256 computes HMAC-SHA256 with a 32-byte key on the stack: crypto/hmac
// allocates two digests per call, and this runs once per request.
func hmacSHA256(key *[32]byte, msg []byte) [32]byte {
	const block = 64
	if len(msg) > stringToSignMax {
		// Copies, so that key and msg stay on the caller's stack.
		m := hmac.New(sha256.New, append([]byte(nil), key[:]...))
		m.Write(append([]byte(nil), msg...))
		return [32]byte(m.Sum(nil))
	}
	var inner [block + stringToSignMax]byte
	var outer [block + sha256.Size]byte
	for i := 0; i < block; i++ {
		inner[i], outer[i] = 0x36, 0x5c
	}
	for i, b := range key {
		inner[i] ^= b
		outer[i] ^= b
	}
	n := copy(inner[block:], msg)
	ih := sha256.Sum256(inner[:block+n])
	copy(outer[block:], ih[:])
	return sha256.Sum256(outer[:])
}

// deriveKey computes kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func deriveKey(secret, date, region, service string) [32]byte {
	k := hmacSum([]byte("AWS4"+secret), date)
	k = hmacSum(k, region)
	k = hmacSum(k, service)
	k = hmacSum(k, terminator)
	var out [32]byte
	copy(out[:], k)
	return out
}

func hmacSum(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// sigEqual compares the client's hex signature with want in constant time.
// AWS signatures are lowercase hex; anything else does not match.
func sigEqual(provided string, want *[32]byte) bool {
	if len(provided) != 2*len(want) {
		return false
	}
	var got [32]byte
	for i := range got {
		hi, ok1 := lowerHexValue(provided[2*i])
		lo, ok2 := lowerHexValue(provided[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		got[i] = hi<<4 | lo
	}
	return hmac.Equal(got[:], want[:])
}

func lowerHexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// constantTimeEqual compares two strings without an early exit on the first
// difference (their lengths are not secret).
func constantTimeEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

// defaultKeyCacheSize bounds the signing-key cache: one entry per
// (secret, day, region, service) in use, so a few hundred cover a busy
// gateway for a day.
const defaultKeyCacheSize = 1024

// keyCache holds derived signing keys, bounded, evicting the oldest entry
// first. The zero value is ready to use.
type keyCache struct {
	mu   sync.RWMutex
	m    map[cacheKey][32]byte
	ring []cacheKey // insertion order, for eviction
	next int
	max  int // 0 = defaultKeyCacheSize
}

type cacheKey struct{ secret, date, region, service string }

func (c *keyCache) get(secret, date, region, service string) [32]byte {
	k := cacheKey{secret, date, region, service}
	c.mu.RLock()
	key, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return key
	}
	key = deriveKey(secret, date, region, service)
	// The scope strings point into the request; keep copies only.
	k = cacheKey{strings.Clone(secret), strings.Clone(date), strings.Clone(region), strings.Clone(service)}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		max := c.max
		if max <= 0 {
			max = defaultKeyCacheSize
		}
		c.m = make(map[cacheKey][32]byte, max)
		c.ring = make([]cacheKey, max)
	}
	if _, ok := c.m[k]; ok {
		return key
	}
	if len(c.m) >= len(c.ring) {
		delete(c.m, c.ring[c.next])
	}
	c.ring[c.next] = k
	c.next = (c.next + 1) % len(c.ring)
	c.m[k] = key
	return key
}
