package awsapi

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthhq/berth/internal/awsquery"
	"github.com/berthhq/berth/internal/sigv4"
)

// Auth modes.
const (
	AuthStrict     = "strict"     // every request must carry a valid signature by a known key
	AuthPermissive = "permissive" // any key is accepted and signatures are not checked
)

// Config configures a Gateway.
type Config struct {
	// Auth is AuthStrict (the default) or AuthPermissive.
	Auth string
	// DefaultAccount owns requests signed with unknown keys in permissive mode.
	DefaultAccount string
	// DefaultRegion is used in permissive mode when a request has no scope.
	DefaultRegion string
	// MaxBodyBytes caps request bodies, compressed and decompressed.
	MaxBodyBytes int64
	// Logger receives the gateway's logs.
	Logger *slog.Logger
	// Registerer receives the gateway's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Validate fills defaults and checks the configuration.
func (c *Config) Validate() error {
	if c.Auth == "" {
		c.Auth = AuthStrict
	}
	if c.Auth != AuthStrict && c.Auth != AuthPermissive {
		return fmt.Errorf("awsapi: auth mode %q is not %q or %q", c.Auth, AuthStrict, AuthPermissive)
	}
	if c.DefaultAccount == "" {
		c.DefaultAccount = "000000000000"
	}
	if c.DefaultRegion == "" {
		c.DefaultRegion = "us-east-1"
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 16 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Deps are what a Gateway needs from the rest of the server.
type Deps struct {
	// Verifier checks signatures and looks up access keys.
	Verifier *sigv4.Verifier
}

// Gateway is the http.Handler of every AWS API Berth speaks.
type Gateway struct {
	cfg      Config
	log      *slog.Logger
	verifier *sigv4.Verifier

	json  map[string]*jsonRoute // by X-Amz-Target prefix
	query map[string]*queryRoute

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

type jsonRoute struct {
	svc *JSONService
	ops map[string]*jsonOp
}

type jsonOp struct {
	name    string
	handler JSONHandler
	m       opMetrics
}

type queryRoute struct {
	svc *QueryService
	ops map[string]*queryOp
}

type queryOp struct {
	name    string
	handler QueryHandler
	m       opMetrics
}

type opMetrics struct {
	latency prometheus.Observer
	ok      prometheus.Counter
	service string
}

// New returns a Gateway with no APIs registered.
func New(cfg Config, deps Deps) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Verifier == nil && cfg.Auth == AuthStrict {
		return nil, errors.New("awsapi: strict auth needs a verifier")
	}
	g := &Gateway{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "awsapi"),
		verifier: deps.Verifier,
		json:     map[string]*jsonRoute{},
		query:    map[string]*queryRoute{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "berth", Subsystem: "awsapi", Name: "requests_total",
			Help: "AWS API requests by service, operation and result code.",
		}, []string{"service", "operation", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "berth", Subsystem: "awsapi", Name: "request_duration_seconds",
			Help:    "AWS API request latency by service and operation.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"service", "operation"}),
	}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(g.requests); err != nil {
			return nil, err
		}
		if err := cfg.Registerer.Register(g.latency); err != nil {
			return nil, err
		}
	}
	if cfg.Auth == AuthPermissive {
		g.log.Warn("AUTH IS PERMISSIVE: any access key is accepted and no signature is checked; never expose this endpoint beyond a trusted machine")
	}
	return g, nil
}

func (g *Gateway) metricsFor(service, op string) opMetrics {
	return opMetrics{
		latency: g.latency.WithLabelValues(service, op),
		ok:      g.requests.WithLabelValues(service, op, "OK"),
		service: service,
	}
}

// RegisterJSON adds an awsJson API. Call before serving.
func (g *Gateway) RegisterJSON(svc *JSONService) {
	r := &jsonRoute{svc: svc, ops: map[string]*jsonOp{}}
	for name, h := range svc.Ops {
		r.ops[name] = &jsonOp{name: name, handler: h, m: g.metricsFor(svc.SigningName, name)}
	}
	g.json[svc.TargetPrefix] = r
}

// RegisterQuery adds an awsQuery API. Call before serving.
func (g *Gateway) RegisterQuery(svc *QueryService) {
	r := &queryRoute{svc: svc, ops: map[string]*queryOp{}}
	for name, h := range svc.Ops {
		r.ops[name] = &queryOp{name: name, handler: h, m: g.metricsFor(svc.SigningName, name)}
	}
	g.query[svc.Version] = r
}

// Handles reports whether r is an AWS API request this gateway routes (a
// JSON target or a query form); other paths belong to other handlers.
func (g *Gateway) Handles(r *http.Request) bool {
	if r.Header.Get("X-Amz-Target") != "" {
		return true
	}
	if r.URL.Path != "/" {
		return false
	}
	if r.Method == http.MethodPost {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		return ct == "application/x-www-form-urlencoded"
	}
	return r.URL.Query().Get("Action") != ""
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID()
	w.Header().Set("x-amzn-RequestId", id)
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		g.serveJSON(w, r, id, target, start)
		return
	}
	g.serveQuery(w, r, id, start)
}

func (g *Gateway) serveJSON(w http.ResponseWriter, r *http.Request, id, target string, start time.Time) {
	prefix, opName, _ := strings.Cut(target, ".")
	route := g.json[prefix]
	if route == nil {
		writeJSONError(w, nil, &Error{Code: "UnknownOperationException", Message: fmt.Sprintf("The target %q names no API that Berth serves.", target)})
		return
	}
	svc := route.svc
	w.Header().Set("Content-Type", "application/x-amz-json-"+svc.JSONVersion)
	if r.Method != http.MethodPost {
		writeJSONError(w, svc, &Error{Code: "UnknownOperationException", Message: "awsJson requests must use POST."})
		return
	}
	raw, err := g.readBody(r)
	if err != nil {
		writeJSONError(w, svc, err.(*Error))
		return
	}
	caller, aerr := g.authenticate(r, raw, svc.SigningName, false)
	if aerr != nil {
		g.count(svc.SigningName, opName, aerr.Code)
		writeJSONError(w, svc, aerr)
		return
	}
	caller.RequestID = id
	op := route.ops[opName]
	if op == nil {
		g.count(svc.SigningName, "unknown", "UnknownOperationException")
		writeJSONError(w, svc, &Error{Code: "UnknownOperationException", Message: fmt.Sprintf("Operation %s of %s is not implemented by Berth.", opName, prefix)})
		return
	}
	body, derr := g.decompress(r, raw)
	if derr != nil {
		g.count(svc.SigningName, opName, derr.Code)
		writeJSONError(w, svc, derr)
		return
	}
	ctx := WithCaller(r.Context(), caller)
	out, err := op.handler(ctx, body)
	if err != nil {
		e := g.toAPIError(err, svc.MapError, svc.ServerErrorCode, caller, opName)
		g.count(svc.SigningName, opName, e.Code)
		op.m.latency.Observe(time.Since(start).Seconds())
		writeJSONError(w, svc, e)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		e := g.toAPIError(err, nil, svc.ServerErrorCode, caller, opName)
		writeJSONError(w, svc, e)
		return
	}
	if bytes.Equal(b, []byte("null")) {
		b = []byte("{}")
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	op.m.ok.Inc()
	op.m.latency.Observe(time.Since(start).Seconds())
}

func (g *Gateway) serveQuery(w http.ResponseWriter, r *http.Request, id string, start time.Time) {
	raw, err := g.readBody(r)
	if err != nil {
		awsquery.WriteError(w, "", id, err.(*Error).status(), err.(*Error).Code, err.(*Error).Message, true)
		return
	}
	body, derr := g.decompress(r, raw)
	if derr != nil {
		awsquery.WriteError(w, "", id, derr.status(), derr.Code, derr.Message, true)
		return
	}
	form := r.URL.Query()
	if r.Method == http.MethodPost {
		bodyForm, perr := url.ParseQuery(string(body))
		if perr != nil {
			awsquery.WriteError(w, "", id, http.StatusBadRequest, "MalformedQueryString", "The request body is not a valid form.", true)
			return
		}
		for k, v := range bodyForm {
			form[k] = append(form[k], v...)
		}
	}
	version, action := form.Get("Version"), form.Get("Action")
	route := g.query[version]
	if route == nil {
		code, msg := "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", action, version)
		if version == "" {
			code, msg = "MissingParameter", "The request must contain the parameter Version."
		}
		awsquery.WriteError(w, "", id, http.StatusBadRequest, code, msg, true)
		return
	}
	svc := route.svc
	caller, aerr := g.authenticate(r, raw, svc.SigningName, true)
	if aerr != nil {
		g.count(svc.SigningName, action, aerr.Code)
		awsquery.WriteError(w, svc.Namespace, id, aerr.status(), aerr.Code, aerr.Message, !aerr.Server)
		return
	}
	caller.RequestID = id
	op := route.ops[action]
	if op == nil {
		g.count(svc.SigningName, "unknown", "InvalidAction")
		msg := fmt.Sprintf("Could not find operation %s for version %s", action, version)
		if action == "" {
			msg = "The request must contain the parameter Action."
		}
		awsquery.WriteError(w, svc.Namespace, id, http.StatusBadRequest, "InvalidAction", msg, true)
		return
	}
	ctx := WithCaller(r.Context(), caller)
	out, err := op.handler(ctx, form)
	if err != nil {
		e := g.toAPIError(err, svc.MapError, svc.ServerErrorCode, caller, action)
		g.count(svc.SigningName, action, e.Code)
		op.m.latency.Observe(time.Since(start).Seconds())
		awsquery.WriteError(w, svc.Namespace, id, e.status(), e.Code, e.Message, !e.Server)
		return
	}
	if err := awsquery.WriteResponse(w, action, svc.Namespace, id, out); err != nil {
		g.log.Error("write query response", "request_id", id, "err", err)
		return
	}
	op.m.ok.Inc()
	op.m.latency.Observe(time.Since(start).Seconds())
}

func (g *Gateway) count(service, op, code string) {
	g.requests.WithLabelValues(service, op, code).Inc()
}

// toAPIError turns an operation's error into the error the client gets. An
// error nobody classified is logged with the request id and reported as a
// generic server error, never with its internal detail.
func (g *Gateway) toAPIError(err error, mapErr func(error) *Error, serverCode string, c *Caller, op string) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	if mapErr != nil {
		if e := mapErr(err); e != nil {
			return e
		}
	}
	if serverCode == "" {
		serverCode = "InternalFailure"
	}
	g.log.Error("operation failed", "request_id", c.RequestID, "operation", op, "err", err)
	return &Error{Code: serverCode, Message: "An internal error occurred. The request id " + c.RequestID + " identifies it in the server log.", Server: true}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readBody reads the whole body, refusing more than the cap.
func (g *Gateway) readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > g.cfg.MaxBodyBytes {
		return nil, tooLarge(g.cfg.MaxBodyBytes)
	}
	if r.Body == nil {
		return nil, nil
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	n, err := buf.ReadFrom(io.LimitReader(r.Body, g.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, &Error{Code: "SerializationException", Message: "The request body could not be read."}
	}
	if n > g.cfg.MaxBodyBytes {
		return nil, tooLarge(g.cfg.MaxBodyBytes)
	}
	return bytes.Clone(buf.Bytes()), nil
}

func tooLarge(max int64) *Error {
	return &Error{Code: "RequestEntityTooLargeException", Status: http.StatusRequestEntityTooLarge,
		Message: fmt.Sprintf("The request body is larger than the %d bytes this endpoint accepts.", max)}
}

// decompress undoes Content-Encoding: gzip (which SDKs use for some
// operations) within the same cap; the signature covers the compressed bytes.
func (g *Gateway) decompress(r *http.Request, raw []byte) ([]byte, *Error) {
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if enc == "" || enc == "identity" {
		return raw, nil
	}
	if enc != "gzip" {
		return nil, &Error{Code: "UnsupportedMediaTypeException", Status: http.StatusUnsupportedMediaType, Message: fmt.Sprintf("Content-Encoding %q is not supported.", enc)}
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, &Error{Code: "SerializationException", Message: "The gzip request body is corrupt."}
	}
	out, err := io.ReadAll(io.LimitReader(zr, g.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, &Error{Code: "SerializationException", Message: "The gzip request body is corrupt."}
	}
	if int64(len(out)) > g.cfg.MaxBodyBytes {
		return nil, tooLarge(g.cfg.MaxBodyBytes)
	}
	return out, nil
}

// authenticate verifies the request's signature for service and returns the
// caller it establishes.
func (g *Gateway) authenticate(r *http.Request, body []byte, service string, query bool) (*Caller, *Error) {
	c := &Caller{SourceIP: sourceIP(r)}
	if g.cfg.Auth == AuthPermissive {
		res, err := sigv4.ParseRequest(r)
		c.Account, c.Region = g.cfg.DefaultAccount, g.cfg.DefaultRegion
		c.PrincipalARN = "arn:aws:iam::" + g.cfg.DefaultAccount + ":root"
		c.UserID = g.cfg.DefaultAccount
		if err == nil {
			c.Region, c.AccessKeyID = res.Region, res.AccessKeyID
			if g.verifier != nil && g.verifier.Lookup != nil {
				if cred, lerr := g.verifier.Lookup(r.Context(), res.AccessKeyID); lerr == nil {
					c.Account, c.PrincipalARN, c.UserID = cred.Account, cred.PrincipalARN, cred.UserID
				}
			}
		}
		return c, nil
	}
	res, err := g.verifier.Verify(r.Context(), r, body, service)
	if err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) {
			return nil, authError(se, query)
		}
		g.log.Error("verify signature", "err", err)
		return nil, &Error{Code: "InternalFailure", Message: "The request could not be authenticated.", Server: true}
	}
	c.Account, c.Region, c.AccessKeyID = res.Credentials.Account, res.Region, res.AccessKeyID
	c.PrincipalARN, c.UserID = res.Credentials.PrincipalARN, res.Credentials.UserID
	return c, nil
}

// authError names a signature failure as the protocol's clients expect.
func authError(e *sigv4.Error, query bool) *Error {
	var code string
	status := http.StatusForbidden
	switch e.Kind {
	case sigv4.ErrMissingAuth:
		code = pick(query, "MissingAuthenticationToken", "MissingAuthenticationTokenException")
	case sigv4.ErrIncomplete:
		code = pick(query, "IncompleteSignature", "IncompleteSignatureException")
		status = http.StatusBadRequest
	case sigv4.ErrUnknownKey, sigv4.ErrInvalidToken:
		code = pick(query, "InvalidClientTokenId", "UnrecognizedClientException")
	default: // ErrSignature, ErrExpired, ErrScope
		code = pick(query, "SignatureDoesNotMatch", "InvalidSignatureException")
	}
	return &Error{Code: code, Message: e.Message, Status: status}
}

func pick(query bool, q, j string) string {
	if query {
		return q
	}
	return j
}

func writeJSONError(w http.ResponseWriter, svc *JSONService, e *Error) {
	code := e.Code
	if svc != nil && svc.JSONVersion == "1.0" && svc.Namespace != "" {
		code = svc.Namespace + "#" + e.Code
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	}
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{code, e.Message})
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(e.status())
	_, _ = w.Write(b)
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// newRequestID returns a random UUID-shaped request id.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:16])
	return string(out[:])
}
