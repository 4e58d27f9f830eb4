package lb

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"time"
)

// Stickiness cookie names, as ALB names them. The CORS twins carry the
// same value with SameSite=None; Secure.
const (
	cookieTarget     = "AWSALB"
	cookieTargetCORS = "AWSALBCORS"
	cookieGroup      = "AWSALBTG"
	cookieGroupCORS  = "AWSALBTGCORS"
)

// Kinds of stickiness cookie.
const (
	stickyTarget byte = 'T'
	stickyGroup  byte = 'G'
)

// maxCookieLen bounds what open will try to decode.
const maxCookieLen = 1024

// cookieCodec seals stickiness cookies: like ALB's, their content is
// encrypted and cannot be read or forged by clients. The key is random per
// plane, so stickiness does not survive a restart.
type cookieCodec struct{ aead cipher.AEAD }

func newCookieCodec() (*cookieCodec, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return newCookieCodecKey(key)
}

func newCookieCodecKey(key []byte) (*cookieCodec, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &cookieCodec{aead: aead}, nil
}

// stickyValue is what a stickiness cookie says.
type stickyValue struct {
	kind    byte
	group   [8]byte // the target group's id
	expires time.Time
	target  string // "id:port" for target cookies
}

// seal encodes v: base64url(nonce | AES-GCM(kind | group | expiry | target)).
func (c *cookieCodec) seal(v stickyValue) string {
	ns := c.aead.NonceSize()
	plain := make([]byte, 0, 1+8+8+len(v.target))
	plain = append(plain, v.kind)
	plain = append(plain, v.group[:]...)
	plain = binary.BigEndian.AppendUint64(plain, uint64(v.expires.Unix()))
	plain = append(plain, v.target...)
	buf := make([]byte, ns, ns+len(plain)+c.aead.Overhead())
	_, _ = rand.Read(buf)
	buf = c.aead.Seal(buf, buf[:ns], plain, nil)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// open decodes a cookie value; ok is false for anything this plane did not
// seal.
func (c *cookieCodec) open(s string) (v stickyValue, ok bool) {
	if len(s) > maxCookieLen {
		return v, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	ns := c.aead.NonceSize()
	if err != nil || len(raw) < ns+c.aead.Overhead() {
		return v, false
	}
	plain, err := c.aead.Open(nil, raw[:ns], raw[ns:], nil)
	if err != nil || len(plain) < 17 {
		return v, false
	}
	v.kind = plain[0]
	copy(v.group[:], plain[1:9])
	v.expires = time.Unix(int64(binary.BigEndian.Uint64(plain[9:17])), 0)
	v.target = string(plain[17:])
	return v, true
}

// read returns the valid, unexpired cookie of kind named name.
func (c *cookieCodec) read(ri *reqInfo, name string, kind byte, now time.Time) (stickyValue, bool) {
	val, ok := ri.cookie(name)
	if !ok {
		return stickyValue{}, false
	}
	v, ok := c.open(val)
	if !ok || v.kind != kind || !now.Before(v.expires) {
		return stickyValue{}, false
	}
	return v, true
}

// setCookies returns the Set-Cookie values of the cookie and its CORS
// twin. ALB uses Expires rather than Max-Age, and renews the expiry on
// every response.
func (c *cookieCodec) setCookies(name, corsName string, v stickyValue) []string {
	val := c.seal(v)
	a := http.Cookie{Name: name, Value: val, Expires: v.expires, Path: "/"}
	b := http.Cookie{Name: corsName, Value: val, Expires: v.expires, Path: "/", SameSite: http.SameSiteNoneMode, Secure: true}
	return []string{a.String(), b.String()}
}
