package awsapi

import "context"

// Caller is who made a request and where it is aimed: the tenancy every API
// package scopes its work to.
type Caller struct {
	RequestID    string
	Account      string // the account that owns the access key
	Region       string // the region of the credential scope
	AccessKeyID  string
	PrincipalARN string
	UserID       string
	SourceIP     string
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller of the request ctx belongs to. Every context
// the gateway passes to an operation has one.
func CallerFrom(ctx context.Context) *Caller {
	c, _ := ctx.Value(callerKey{}).(*Caller)
	if c == nil {
		return &Caller{}
	}
	return c
}
