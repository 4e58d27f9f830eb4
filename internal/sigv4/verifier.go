package sigv4

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Credentials is what a key lookup returns: the secret and who owns the key.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string // non-empty for temporary credentials; the request must then carry exactly this X-Amz-Security-Token
	Account         string // 12-digit account id that owns the key
	PrincipalARN    string // e.g. arn:aws:iam::000000000000:root
	UserID          string // e.g. the account id for root, AIDA... for users
}

// KeyLookup returns the credentials of an access key id, or an error wrapping
// ErrKeyNotFound when the key is unknown or inactive.
type KeyLookup func(ctx context.Context, accessKeyID string) (Credentials, error)

// Verifier checks SigV4 signatures. It caches derived signing keys, so it
// must not be copied after first use; it is safe for concurrent use.
type Verifier struct {
	Lookup  KeyLookup
	Now     func() time.Time // nil = time.Now
	MaxSkew time.Duration    // 0 = 5 * time.Minute

	keys keyCache
}

// DefaultMaxSkew is the clock skew allowed when Verifier.MaxSkew is zero: the
// five minutes of the IAM guide.
const DefaultMaxSkew = 5 * time.Minute

// Result is a verified (or, with ParseRequest, merely parsed) request.
type Result struct {
	AccessKeyID string
	Date        time.Time // from X-Amz-Date / Date
	Region      string    // credential scope region
	Service     string    // credential scope service
	Presigned   bool
	Credentials Credentials // zero for ParseRequest
}

// Verify checks r (whose body has already been read into body; r.Body is not
// read) signed for service, the signing name the routed API expects, e.g.
// "ecs", "sts". A rejected request gives an *Error; any other error (the
// lookup failing for another reason than ErrKeyNotFound) is returned as is.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte, service string) (*Result, error) {
	if v.Lookup == nil {
		return nil, errors.New("sigv4: Verifier.Lookup is nil")
	}
	var a authInfo
	if err := parseAuth(r, &a); err != nil {
		return nil, err
	}
	if err := a.checkScope(service); err != nil {
		return nil, err
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	if err := a.checkTime(now(), skew); err != nil {
		return nil, err
	}

	c := getCanon()
	defer putCanon(c)
	if err := c.prepare(r, body, &a); err != nil {
		return nil, err
	}

	creds, err := v.Lookup(ctx, a.accessKeyID)
	if err != nil {
		if errors.Is(err, ErrKeyNotFound) {
			return nil, newError(ErrUnknownKey, msgInvalidToken)
		}
		return nil, err
	}
	if creds.SecretAccessKey == "" {
		// Anyone could sign with an empty secret: a store fault, not a client one.
		return nil, errors.New("sigv4: lookup returned an empty secret for " + a.accessKeyID)
	}

	key := v.keys.get(creds.SecretAccessKey, a.scopeDate, a.region, a.service)
	if !c.match(&key, &a, false) {
		if a.tokenInQuery && c.match(&key, &a, true) {
			// Signed without the token, which was appended afterwards: the
			// token is not bound to the signature.
			return nil, newError(ErrInvalidToken, msgInvalidToken)
		}
		return nil, newError(ErrSignature, msgSignatureMismatch)
	}

	// Checked whether or not the token is signed, as AWS does.
	switch {
	case creds.SessionToken == "" && a.hasToken,
		creds.SessionToken != "" && !a.hasToken,
		a.hasToken && !constantTimeEqual(a.token, creds.SessionToken):
		return nil, newError(ErrInvalidToken, msgInvalidToken)
	}

	return &Result{
		AccessKeyID: a.accessKeyID,
		Date:        a.date,
		Region:      a.region,
		Service:     a.service,
		Presigned:   a.presigned,
		Credentials: creds,
	}, nil
}

// ParseRequest parses the Authorization header or presigned query without
// checking the signature or the key; used by the gateway's --auth=permissive
// mode (any key accepted, region still taken from the scope). It returns
// ErrMissingAuth, ErrIncomplete, or ErrScope when the scope's region is not a
// valid region name (the caller builds ARNs from it); it checks neither the
// clock, the scope's service and date, nor the session token.
func ParseRequest(r *http.Request) (*Result, error) {
	var a authInfo
	if err := parseAuth(r, &a); err != nil {
		return nil, err
	}
	if !validRegion(a.region) {
		return nil, newError(ErrScope, msgInvalidRegion)
	}
	return &Result{
		AccessKeyID: a.accessKeyID,
		Date:        a.date,
		Region:      a.region,
		Service:     a.service,
		Presigned:   a.presigned,
	}, nil
}
