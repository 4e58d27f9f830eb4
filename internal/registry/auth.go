package registry

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Tokens are what ECR's GetAuthorizationToken hands out and docker sends
// back as the Basic password of user "AWS": base64url(claims) "."
// base64url(HMAC-SHA256(key, claims part)). Neither part can contain a
// ':', which the AWS CLI's get-login-password splits on.
type tokenClaims struct {
	Account   string `json:"a"`
	Region    string `json:"r"`
	Principal string `json:"p"`
	Expires   int64  `json:"e"` // unix seconds
	// Repo and Digest, when set, limit the token to reading that one blob
	// (the URLs of GetDownloadUrlForLayer).
	Repo   string `json:"n,omitempty"`
	Digest string `json:"d,omitempty"`
}

func (c *tokenClaims) scope() Scope { return Scope{c.Account, c.Region} }

// MintToken returns a registry password for a principal of an account in a
// region, valid for the configured TTL (12 hours by default), and when it
// expires.
func (r *Registry) MintToken(account, region, principalARN string, now time.Time) (token string, expires time.Time) {
	expires = now.Add(r.cfg.TokenTTL).Truncate(time.Second)
	return r.sign(tokenClaims{Account: account, Region: region, Principal: principalARN, Expires: expires.Unix()}), expires
}

// DownloadURL returns a URL that reads one blob of a repository without
// other credentials until it expires (ECR's GetDownloadUrlForLayer).
func (r *Registry) DownloadURL(s Scope, principalARN, repo string, d Digest, now time.Time) string {
	tok := r.sign(tokenClaims{Account: s.Account, Region: s.Region, Principal: principalARN,
		Expires: now.Add(r.cfg.DownloadURLTTL).Unix(), Repo: repo, Digest: string(d)})
	return r.Endpoint() + "/v2/" + repo + "/blobs/" + string(d) + "?token=" + tok
}

// Endpoint is the registry's base URL as clients reach it (ECR's
// proxyEndpoint).
func (r *Registry) Endpoint() string { return r.cfg.Scheme + "://" + r.cfg.Host }

// Host is the host[:port] clients push to; repository URIs start with it.
func (r *Registry) Host() string { return r.cfg.Host }

func (r *Registry) sign(c tokenClaims) string {
	b, _ := json.Marshal(c)
	body := base64.RawURLEncoding.EncodeToString(b)
	mac := hmac.New(sha256.New, r.cfg.TokenKey)
	mac.Write([]byte(body))
	return body + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// parseToken verifies a token's signature and expiry.
func (r *Registry) parseToken(tok string, now time.Time) (*tokenClaims, bool) {
	if len(tok) > 4096 {
		return nil, false
	}
	body, sig, ok := strings.Cut(tok, ".")
	if !ok {
		return nil, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return nil, false
	}
	mac := hmac.New(sha256.New, r.cfg.TokenKey)
	mac.Write([]byte(body))
	if !hmac.Equal(got, mac.Sum(nil)) {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return nil, false
	}
	var c tokenClaims
	if err := json.Unmarshal(raw, &c); err != nil || c.Account == "" || c.Region == "" {
		return nil, false
	}
	if now.Unix() >= c.Expires {
		return nil, false
	}
	return &c, true
}

// basicToken extracts the password of "Authorization: Basic
// base64(AWS:<token>)".
func basicToken(h string) (string, bool) {
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", false
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user != "AWS" {
		return "", false
	}
	return pass, true
}

// ecrHost matches ECR's per-registry host names,
// <account>.dkr.ecr.<region>.<anything>, which name the tenancy a request
// is for; on any other host the token's tenancy is used.
var ecrHost = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.`)

func hostScope(host string) (Scope, bool) {
	m := ecrHost.FindStringSubmatch(host)
	if m == nil {
		return Scope{}, false
	}
	return Scope{Account: m[1], Region: m[2]}, true
}

// authenticate returns the claims of the request's credentials, or the
// error to answer with: UNAUTHORIZED (401, with a Basic challenge) when
// there are none or they do not verify.
func (r *Registry) authenticate(req *http.Request, rt route) (*tokenClaims, *Error) {
	now := r.now()
	if tok, ok := basicToken(req.Header.Get("Authorization")); ok {
		if c, ok := r.parseToken(tok, now); ok && c.Repo == "" {
			return c, nil
		}
	} else if tok := req.URL.Query().Get("token"); tok != "" && rt.kind == routeBlob && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
		if c, ok := r.parseToken(tok, now); ok && c.Repo == rt.name && c.Digest == rt.ref {
			return c, nil
		}
	}
	return nil, newError(CodeUnauthorized, nil, "")
}

func (r *Registry) challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="`+r.Endpoint()+`/",service="ecr.amazonaws.com"`)
}
