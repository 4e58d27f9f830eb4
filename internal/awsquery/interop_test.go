package awsquery_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/berthhq/berth/internal/awsquery"
)

const stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"

// Local mirrors of the STS shapes, as an API package would declare them.

type stsTag struct {
	Key   string
	Value string
}

type policyDescriptor struct {
	Arn *string `query:"arn"` // lower-case on the wire
}

type providedContext struct {
	ProviderArn      *string
	ContextAssertion *string
}

type assumeRoleRequest struct {
	RoleArn           string
	RoleSessionName   string
	Policy            *string
	DurationSeconds   *int32
	ExternalId        *string
	SourceIdentity    *string
	Tags              []stsTag
	TransitiveTagKeys []string
	PolicyArns        []policyDescriptor
	ProvidedContexts  []providedContext
}

type stsCredentials struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

type assumedRoleUser struct {
	AssumedRoleId string
	Arn           string
}

type assumeRoleResult struct {
	Credentials      stsCredentials
	AssumedRoleUser  assumedRoleUser
	SessionTokenSize *int32
	SourceIdentity   *string
}

type getCallerIdentityResult struct {
	UserId  string
	Account string
	Arn     string
}

// fakeSTS answers the few STS actions the interop test needs, using only
// this package, as an API package would.
type fakeSTS struct {
	mu         sync.Mutex
	assumeRole *assumeRoleRequest
	decodeErr  error
}

var expiration = time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)

func (f *fakeSTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		awsquery.WriteError(w, stsNS, "req-bad", http.StatusBadRequest, "MalformedQueryString", err.Error(), true)
		return
	}
	switch action := r.PostForm.Get("Action"); action {
	case "AssumeRole":
		var in assumeRoleRequest
		if err := awsquery.Decode(r.PostForm, &in); err != nil {
			f.mu.Lock()
			f.decodeErr = err
			f.mu.Unlock()
			awsquery.WriteError(w, stsNS, "req-decode", http.StatusBadRequest, "ValidationError", err.Error(), true)
			return
		}
		f.mu.Lock()
		f.assumeRole = &in
		f.mu.Unlock()
		_ = awsquery.WriteResponse(w, action, stsNS, "req-assume", &assumeRoleResult{
			Credentials: stsCredentials{
				AccessKeyId: "ASIAEXAMPLE", SecretAccessKey: "secret/&<key>", SessionToken: "token", Expiration: expiration,
			},
			AssumedRoleUser:  assumedRoleUser{AssumedRoleId: "AROAEXAMPLE:sess", Arn: "arn:aws:sts::123456789012:assumed-role/r/sess"},
			SessionTokenSize: ptr[int32](6),
		})
	case "GetCallerIdentity":
		_ = awsquery.WriteResponse(w, action, stsNS, "req-whoami", &getCallerIdentityResult{
			UserId: "AIDAEXAMPLE", Account: "123456789012", Arn: "arn:aws:iam::123456789012:user/alice",
		})
	case "GetSessionToken": // a modelled error
		awsquery.WriteError(w, stsNS, "req-expired", http.StatusBadRequest, "ExpiredTokenException",
			"The security token included in the request is expired", true)
	default: // an error the STS model does not know
		awsquery.WriteError(w, stsNS, "req-denied", http.StatusForbidden, "AccessDenied",
			"User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:"+action, true)
	}
}

func newSTSClient(t *testing.T) (*sts.Client, *fakeSTS) {
	t.Helper()
	fake := &fakeSTS{}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client := sts.New(sts.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
	return client, fake
}

// TestSDKAssumeRole sends a request built by aws-sdk-go-v2's own STS
// serializer, decodes it with Decode, and has the SDK parse the response
// written by WriteResponse.
func TestSDKAssumeRole(t *testing.T) {
	client, fake := newSTSClient(t)
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	out, err := client.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::123456789012:role/r"),
		RoleSessionName: aws.String("sess"),
		Policy:          aws.String(policy),
		DurationSeconds: aws.Int32(900),
		ExternalId:      aws.String("ext id & more"),
		Tags: []ststypes.Tag{
			{Key: aws.String("team"), Value: aws.String("a b=c&d")},
			{Key: aws.String("ünïcode"), Value: aws.String("")},
		},
		TransitiveTagKeys: []string{"team", "ünïcode"},
		PolicyArns: []ststypes.PolicyDescriptorType{
			{Arn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")},
			{Arn: aws.String("arn:aws:iam::123456789012:policy/p")},
		},
		ProvidedContexts: []ststypes.ProvidedContext{
			{ProviderArn: aws.String("arn:aws:iam::aws:contextProvider/IdentityCenter"), ContextAssertion: aws.String("abc")},
		},
	})
	if err != nil {
		t.Fatalf("AssumeRole = %v", err)
	}

	fake.mu.Lock()
	got, decodeErr := fake.assumeRole, fake.decodeErr
	fake.mu.Unlock()
	if decodeErr != nil {
		t.Fatalf("Decode(SDK AssumeRole request) = %v", decodeErr)
	}
	want := &assumeRoleRequest{
		RoleArn:           "arn:aws:iam::123456789012:role/r",
		RoleSessionName:   "sess",
		Policy:            &policy,
		DurationSeconds:   ptr[int32](900),
		ExternalId:        ptr("ext id & more"),
		Tags:              []stsTag{{"team", "a b=c&d"}, {"ünïcode", ""}},
		TransitiveTagKeys: []string{"team", "ünïcode"},
		PolicyArns: []policyDescriptor{
			{ptr("arn:aws:iam::aws:policy/ReadOnlyAccess")}, {ptr("arn:aws:iam::123456789012:policy/p")},
		},
		ProvidedContexts: []providedContext{
			{ProviderArn: ptr("arn:aws:iam::aws:contextProvider/IdentityCenter"), ContextAssertion: ptr("abc")},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode(SDK AssumeRole request) = %+v; want %+v", got, want)
	}

	if c := out.Credentials; c == nil || aws.ToString(c.AccessKeyId) != "ASIAEXAMPLE" ||
		aws.ToString(c.SecretAccessKey) != "secret/&<key>" || aws.ToString(c.SessionToken) != "token" ||
		c.Expiration == nil || !c.Expiration.Equal(expiration) {
		t.Errorf("AssumeRole().Credentials = %+v; want ASIAEXAMPLE, secret/&<key>, token, %v", out.Credentials, expiration)
	}
	if u := out.AssumedRoleUser; u == nil || aws.ToString(u.Arn) != "arn:aws:sts::123456789012:assumed-role/r/sess" ||
		aws.ToString(u.AssumedRoleId) != "AROAEXAMPLE:sess" {
		t.Errorf("AssumeRole().AssumedRoleUser = %+v", out.AssumedRoleUser)
	}
	if aws.ToInt32(out.SessionTokenSize) != 6 || out.SourceIdentity != nil {
		t.Errorf("AssumeRole() SessionTokenSize, SourceIdentity = %v, %v; want 6, nil", out.SessionTokenSize, out.SourceIdentity)
	}
	if id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); id != "req-assume" {
		t.Errorf("AssumeRole() request id = %q; want req-assume", id)
	}
}

// TestSDKEmptyList checks the SDK's "TransitiveTagKeys=" for an empty,
// non-nil list decodes to an empty, non-nil slice (Smithy EmptyQueryLists).
func TestSDKEmptyList(t *testing.T) {
	client, fake := newSTSClient(t)
	_, err := client.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s"),
		TransitiveTagKeys: []string{},
	})
	if err != nil {
		t.Fatalf("AssumeRole = %v", err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if got := fake.assumeRole; got == nil || got.TransitiveTagKeys == nil || len(got.TransitiveTagKeys) != 0 || got.Tags != nil {
		t.Errorf("Decode(SDK AssumeRole with empty TransitiveTagKeys) = %+v; want TransitiveTagKeys [] and Tags nil", got)
	}
}

func TestSDKGetCallerIdentity(t *testing.T) {
	client, _ := newSTSClient(t)
	out, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity = %v", err)
	}
	if aws.ToString(out.Account) != "123456789012" || aws.ToString(out.UserId) != "AIDAEXAMPLE" ||
		aws.ToString(out.Arn) != "arn:aws:iam::123456789012:user/alice" {
		t.Errorf("GetCallerIdentity() = %s, %s, %s", aws.ToString(out.Account), aws.ToString(out.UserId), aws.ToString(out.Arn))
	}
	if id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); id != "req-whoami" {
		t.Errorf("GetCallerIdentity() request id = %q; want req-whoami", id)
	}
}

// TestSDKErrors checks the SDK reads WriteError's code, message and request
// id, both for an error the STS model declares and for one it does not.
func TestSDKErrors(t *testing.T) {
	client, _ := newSTSClient(t)
	tests := []struct {
		name     string
		call     func() error
		wantCode string
		wantMsg  string
		wantID   string
		wantType any
	}{
		{"modelled", func() error {
			_, err := client.GetSessionToken(context.Background(), &sts.GetSessionTokenInput{})
			return err
		}, "ExpiredTokenException", "The security token included in the request is expired", "req-expired", &ststypes.ExpiredTokenException{}},
		{"unmodelled", func() error {
			_, err := client.GetAccessKeyInfo(context.Background(), &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String("AKIAEXAMPLEEXAMPLE")})
			return err
		}, "AccessDenied", "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:GetAccessKeyInfo", "req-denied", &smithy.GenericAPIError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("call = %v; want a smithy.APIError", err)
			}
			if apiErr.ErrorCode() != tt.wantCode || apiErr.ErrorMessage() != tt.wantMsg {
				t.Errorf("APIError = %q, %q; want %q, %q", apiErr.ErrorCode(), apiErr.ErrorMessage(), tt.wantCode, tt.wantMsg)
			}
			if reflect.TypeOf(apiErr) != reflect.TypeOf(tt.wantType) {
				t.Errorf("APIError type = %T; want %T", apiErr, tt.wantType)
			}
			var respErr *awshttp.ResponseError
			if !errors.As(err, &respErr) || respErr.ServiceRequestID() != tt.wantID {
				t.Errorf("request id of %v = %v; want %q", err, respErr, tt.wantID)
			}
		})
	}
}
