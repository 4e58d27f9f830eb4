package awsquery_test

import (
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/awsquery"
)

const assumeRoleBody = "Action=AssumeRole&Version=2011-06-15" +
	"&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=sess&DurationSeconds=900" +
	"&Policy=%7B%22Version%22%3A%222012-10-17%22%7D&ExternalId=ext" +
	"&Tags.member.1.Key=team&Tags.member.1.Value=a&Tags.member.2.Key=env&Tags.member.2.Value=prod" +
	"&TransitiveTagKeys.member.1=team&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"

func BenchmarkDecodeAssumeRole(b *testing.B) {
	form, err := url.ParseQuery(assumeRoleBody)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var in assumeRoleRequest
		if err := awsquery.Decode(form, &in); err != nil {
			b.Fatal(err)
		}
	}
}

var benchResult = &assumeRoleResult{
	Credentials: stsCredentials{
		AccessKeyId: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "token",
		Expiration: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	},
	AssumedRoleUser:  assumedRoleUser{AssumedRoleId: "AROAEXAMPLE:sess", Arn: "arn:aws:sts::123456789012:assumed-role/r/sess"},
	SessionTokenSize: ptr[int32](6),
}

func BenchmarkMarshalAssumeRole(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := awsquery.Marshal("AssumeRole", stsNS, "req-1", benchResult); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteResponseAssumeRole(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		if err := awsquery.WriteResponse(rec, "AssumeRole", stsNS, "req-1", benchResult); err != nil {
			b.Fatal(err)
		}
	}
}
